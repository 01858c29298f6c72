//! Invariant 3 under load: many callers at once (on Postgres through
//! several stores, as several nodes hold them), and still no agent beyond
//! capacity, no conversation assigned twice, the queue served in arrival
//! order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use switchboard_core::ids::{ConversationId, NodeId, UserId};
use switchboard_core::model::{AssignmentKind, ConversationStatus, Inbound, NewInbound, User};
use switchboard_store::Store;
use tokio::task::JoinSet;

use crate::fixtures::{
    agent_with, all_conversations, assignee, history, load, online, queue, tenant,
};

const AGENTS: usize = 10;
const CAPACITY: u32 = 5;
const ARRIVALS: usize = 1000;

/// 1,000 conversations arrive at once for 10 agents of capacity 5: 50 are
/// assigned, 5 each; 950 wait, in the order they entered the queue. Then
/// capacity frees, once and then 55 times at once, and the oldest waiting
/// are served first.
async fn concurrent_arrivals_never_exceed_capacity(stores: Vec<Arc<dyn Store>>) {
    let store = stores[0].clone();
    let acme = tenant(&store, "acme").await;
    let node = NodeId::new();
    let mut agents: Vec<User> = Vec::new();
    for n in 0..AGENTS {
        let agent = agent_with(&store, &acme, &format!("agent{n}"), CAPACITY).await;
        online(&store, &agent, node).await;
        agents.push(agent);
    }
    let agent_ids: HashSet<UserId> = agents.iter().map(|a| a.id).collect();

    let mut tasks = JoinSet::new();
    for n in 0..ARRIVALS {
        let store = stores[n % stores.len()].clone();
        let inbox = acme.inbox.id;
        tasks.spawn(async move {
            store
                .record_inbound(NewInbound {
                    inbox_id: inbox,
                    handle: &format!("customer-{n}"),
                    contact_name: None,
                    body: "hello",
                })
                .await
                .expect("record inbound")
        });
    }
    let arrivals: Vec<Inbound> = tasks.join_all().await;

    // what each caller was told: assigned within capacity, or a place
    let mut entered: Vec<(u64, ConversationId)> = Vec::new();
    let mut assigned: HashMap<UserId, Vec<ConversationId>> = HashMap::new();
    for arrival in &arrivals {
        assert!(arrival.created);
        for state in &arrival.routed.agents {
            assert!(state.load <= CAPACITY, "over capacity: {state:?}");
        }
        match (
            &arrival.conversation.assignee,
            arrival.conversation.queue_position,
        ) {
            (Some(agent), None) => {
                assert!(agent_ids.contains(&agent.id));
                assigned
                    .entry(agent.id)
                    .or_default()
                    .push(arrival.conversation.id);
            }
            (None, Some(place)) => entered.push((place, arrival.conversation.id)),
            other => panic!("neither assigned nor queued: {other:?}"),
        }
    }
    assert_eq!(assigned.values().map(Vec::len).sum::<usize>(), AGENTS * 5);
    for agent in &agents {
        assert_eq!(assigned[&agent.id].len(), CAPACITY as usize);
        assert_eq!(load(&store, agent).await, CAPACITY);
    }
    entered.sort_unstable();
    let places: Vec<u64> = entered.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        places,
        (1..=950).collect::<Vec<_>>(),
        "each entered at the back"
    );
    // nothing left the queue meanwhile: the order is the order of entry
    let mut waiting: Vec<ConversationId> = entered.iter().map(|(_, id)| *id).collect();
    assert_eq!(queue(&store, acme.account.id).await, waiting);

    // what is stored agrees, and each was assigned once
    let stored = all_conversations(&store, acme.account.id).await;
    assert_eq!(stored.len(), ARRIVALS);
    let mut per_agent: HashMap<UserId, u32> = HashMap::new();
    for conv in &stored {
        if let Some(agent) = &conv.assignee {
            *per_agent.entry(agent.id).or_default() += 1;
        }
    }
    assert!(per_agent.values().all(|&n| n == CAPACITY), "{per_agent:?}");
    for (agent, convs) in &assigned {
        for conv in convs {
            assert_eq!(
                history(&store, *conv).await,
                vec![(AssignmentKind::Auto, Some(*agent), None)]
            );
        }
    }

    // one resolved: the oldest waiting is that agent's, the rest move up
    let freed = agents[3].id;
    let done = assigned[&freed][0];
    let routed = store.resolve(done, freed).await.expect("resolve");
    assert_eq!(assignee(&store, waiting[0]).await, Some(freed));
    assert_eq!(routed.conversations.len(), 1 + 1 + 949);
    assert_eq!(routed.conversations[0].status, ConversationStatus::Resolved);
    assert_eq!(routed.conversations[1].id, waiting[0]);
    assert!(
        routed.conversations[2..]
            .iter()
            .zip(1..)
            .all(|(c, place)| c.id == waiting[place] && c.queue_position == Some(place as u64)),
        "those behind moved up by one"
    );
    waiting.remove(0);
    assert_eq!(queue(&store, acme.account.id).await, waiting);

    // a newcomer comes online: the five oldest are theirs, in order
    let late = agent_with(&store, &acme, "late", CAPACITY).await;
    let routed = online(&store, &late, node).await;
    assert_eq!(
        routed.conversations[..5]
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        waiting[..5]
    );
    for conv in &waiting[..5] {
        assert_eq!(assignee(&store, *conv).await, Some(late.id));
    }
    waiting.drain(..5);
    assert_eq!(queue(&store, acme.account.id).await, waiting);
    agents.push(late);

    // every open assignment resolved at once, from every store: as many of
    // the oldest waiting are served, each once, nobody beyond capacity
    let open: Vec<(ConversationId, UserId)> = all_conversations(&store, acme.account.id)
        .await
        .into_iter()
        .filter(|c| c.status == ConversationStatus::Open)
        .filter_map(|c| c.assignee.map(|a| (c.id, a.id)))
        .collect();
    assert_eq!(open.len(), (AGENTS + 1) * CAPACITY as usize);
    let mut tasks = JoinSet::new();
    for (n, (conv, agent)) in open.iter().copied().enumerate() {
        let store = stores[n % stores.len()].clone();
        tasks.spawn(async move { store.resolve(conv, agent).await.expect("resolve") });
    }
    for routed in tasks.join_all().await {
        for state in &routed.agents {
            assert!(state.load <= CAPACITY, "over capacity: {state:?}");
        }
    }
    let served: Vec<ConversationId> = waiting.drain(..open.len()).collect();
    assert_eq!(queue(&store, acme.account.id).await, waiting);
    for agent in &agents {
        assert_eq!(load(&store, agent).await, CAPACITY);
    }
    for conv in served {
        let lines = history(&store, conv).await;
        assert_eq!(lines.len(), 1, "assigned once: {lines:?}");
        assert_eq!(lines[0].0, AssignmentKind::Auto);
    }
}

node_contract_tests!(3; concurrent_arrivals_never_exceed_capacity);
