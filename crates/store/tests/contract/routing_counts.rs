//! Each agent's load is a counter the store keeps with every change of a
//! conversation's assignee or status (migration 0018). A seeded walk
//! through every routing operation (arrivals, manual assignment and
//! transfer, forced beyond capacity, unassignment, resolution, reopening,
//! capacity and availability changes, going offline and being requeued,
//! deactivation and removal) checks after every step that each agent's
//! load equals their open conversations counted one by one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use switchboard_core::ids::{ConversationId, NodeId, UserId};
use switchboard_core::model::{
    Availability, ConversationStatus, ManualAssignment, NewInbound, User,
};
use switchboard_store::{Store, StoreError};

use crate::fixtures::{agent_with, all_conversations, online, tenant};
use crate::harness::Clocked;

const STEPS: usize = 120;

/// A small deterministic generator (xorshift), so a failing step replays.
struct Steps(u64);

impl Steps {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Every agent's load as the store reports it, against their open
/// conversations counted.
async fn assert_loads(
    store: &Arc<dyn Store>,
    agents: &[User],
    conversations: &[ConversationId],
    step: &str,
) {
    let all = all_conversations(store, agents[0].account_id).await;
    assert_eq!(all.len(), conversations.len(), "{step}");
    let mut counted: HashMap<UserId, u32> = HashMap::new();
    for c in all.iter().filter(|c| c.status == ConversationStatus::Open) {
        if let Some(assignee) = &c.assignee {
            *counted.entry(assignee.id).or_default() += 1;
        }
    }
    for agent in agents {
        let Some(state) = store.agent(agent.id).await.expect("read agent") else {
            continue; // deactivated or removed: no agent now
        };
        let expected = counted.get(&agent.id).copied().unwrap_or(0);
        assert_eq!(state.load, expected, "{} after {step}", agent.name);
    }
    for state in store.agents(agents[0].account_id).await.expect("agents") {
        let expected = counted.get(&state.user.id).copied().unwrap_or(0);
        assert_eq!(
            state.load, expected,
            "{} listed after {step}",
            state.user.name
        );
    }
}

async fn loads_are_counted_through_every_operation(Clocked { store, clock }: Clocked) {
    let acme = tenant(&store, "acme").await;
    let node = NodeId::new();
    let mut agents = Vec::new();
    for name in ["ann", "bob", "cid", "dee"] {
        let agent = agent_with(&store, &acme, name, 3).await;
        online(&store, &agent, node).await;
        agents.push(agent);
    }
    let owner = acme.owner.id;
    let mut conversations: Vec<ConversationId> = Vec::new();
    let mut steps = Steps(0x5eed_1234_abcd_0001);
    for n in 0..STEPS {
        let pick = |steps: &mut Steps, list: &[ConversationId]| list[steps.below(list.len())];
        let agent = agents[steps.below(agents.len())].id;
        let op = if conversations.is_empty() {
            0
        } else {
            steps.below(9)
        };
        let step = match op {
            0 | 1 => {
                let arrival = store
                    .record_inbound(NewInbound {
                        inbox_id: acme.inbox.id,
                        handle: &format!("customer-{n}"),
                        contact_name: None,
                        body: "hello",
                    })
                    .await
                    .expect("inbound");
                conversations.push(arrival.conversation.id);
                "an arrival"
            }
            2 => {
                let conversation = pick(&mut steps, &conversations);
                let forced = steps.below(2) == 0;
                match store
                    .assign(ManualAssignment {
                        conversation,
                        assignee: agent,
                        actor: owner,
                        force: forced,
                    })
                    .await
                {
                    Ok(_) | Err(StoreError::AtCapacity { .. } | StoreError::Conflict(_)) => {}
                    Err(e) => panic!("assign: {e:?}"),
                }
                "an assignment"
            }
            3 => {
                let conversation = pick(&mut steps, &conversations);
                match store.unassign(conversation, owner).await {
                    Ok(_) | Err(StoreError::Conflict(_)) => {}
                    Err(e) => panic!("unassign: {e:?}"),
                }
                "an unassignment"
            }
            4 | 5 => {
                let conversation = pick(&mut steps, &conversations);
                store.resolve(conversation, owner).await.expect("resolve");
                "a resolution"
            }
            6 => {
                let conversation = pick(&mut steps, &conversations);
                store.reopen(conversation, owner).await.expect("reopen");
                "a reopening"
            }
            7 => {
                let capacity = steps.below(5) as u32;
                store.set_capacity(agent, capacity).await.expect("capacity");
                "a capacity change"
            }
            _ => {
                let availability = match steps.below(2) {
                    0 => Availability::Away,
                    _ => Availability::Available,
                };
                store
                    .set_availability(agent, availability)
                    .await
                    .expect("availability");
                "an availability change"
            }
        };
        assert_loads(
            &store,
            &agents,
            &conversations,
            &format!("step {n}: {step}"),
        )
        .await;
    }

    // an agent offline long enough is requeued; others take what they can
    store
        .set_online(agents[0].id, node, false)
        .await
        .expect("offline");
    clock.advance(Duration::from_secs(600));
    store
        .requeue_offline(Duration::from_secs(60))
        .await
        .expect("requeue");
    assert_loads(&store, &agents, &conversations, "requeueing").await;
    store
        .deactivate_user(agents[1].id)
        .await
        .expect("deactivate");
    assert_loads(&store, &agents, &conversations, "deactivation").await;
    store.remove_user(agents[2].id).await.expect("remove");
    assert_loads(&store, &agents, &conversations, "removal").await;
}

contract_tests!(loads_are_counted_through_every_operation);
