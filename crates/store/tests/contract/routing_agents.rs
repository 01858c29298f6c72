//! Agents: availability, capacity, consoles on nodes, and what happens to
//! the queue and to their conversations when those change.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::Role;
use switchboard_core::ids::{NodeId, UserId};
use switchboard_core::model::{AssignmentKind, Availability, NewUser, User};
use switchboard_store::{Store, StoreError};

use crate::fixtures::{
    HASH, Tenant, agent_with, assignee, conversation, history, inbound, load, next_millisecond,
    online, position, queue, routed_ids, tenant,
};
use crate::harness::Clocked;

/// A viewer of the tenant's account: a user who never answers.
async fn viewer(store: &Arc<dyn Store>, tenant: &Tenant) -> User {
    store
        .create_user(NewUser {
            account_id: tenant.account.id,
            email: "viewer@acme.example",
            name: "viewer",
            password_hash: HASH,
            role: Role::Viewer,
            capacity: 5,
        })
        .await
        .expect("viewer")
}

/// Away, offline, capacity-0 agents and viewers get nothing; the
/// conversation waits until someone may take it.
async fn away_offline_and_zero_capacity_get_nothing(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let node = NodeId::new();
    let away = agent_with(&store, &acme, "away", 5).await;
    online(&store, &away, node).await;
    store
        .set_availability(away.id, Availability::Away)
        .await
        .expect("away");
    let _offline = agent_with(&store, &acme, "offline", 5).await;
    let zero = agent_with(&store, &acme, "zero", 0).await;
    online(&store, &zero, node).await;
    let viewer = viewer(&store, &acme).await;
    online(&store, &viewer, node).await;
    assert_eq!(store.agent(viewer.id).await.expect("read"), None);

    let arrived = inbound(&store, &acme.inbox, "carol", "hello").await;
    let conv = arrived.conversation.id;
    assert_eq!(arrived.conversation.assignee, None);
    assert_eq!(arrived.conversation.queue_position, Some(1));
    assert_eq!(routed_ids(&arrived.routed), vec![conv]);
    assert!(arrived.routed.agents.is_empty(), "no load changed");
    assert_eq!(history(&store, conv).await, vec![]);

    // a raised capacity serves the queue
    let raised = store.set_capacity(zero.id, 1).await.expect("capacity");
    assert_eq!(routed_ids(&raised), vec![conv]);
    assert_eq!(raised.conversations[0].assignee, Some(zero.as_ref()));
    assert_eq!(raised.conversations[0].queue_position, None);
    let state = &raised.agents[0];
    assert_eq!(
        (state.user.id, state.capacity, state.load, state.online),
        (zero.id, 1, 1, true)
    );

    // the next one waits for the away agent to come back
    let next = conversation(&store, &acme, "dave").await;
    assert_eq!(position(&store, next).await, Some(1));
    let back = store
        .set_availability(away.id, Availability::Available)
        .await
        .expect("available");
    assert_eq!(routed_ids(&back), vec![next]);
    assert_eq!(assignee(&store, next).await, Some(away.id));
    let state = back
        .agents
        .iter()
        .find(|a| a.user.id == away.id)
        .expect("away");
    assert_eq!(
        (state.availability, state.load),
        (Availability::Available, 1)
    );
}

/// Online is a console on any node; a dead node's consoles go, and a node
/// starting alone forgets those of earlier runs.
async fn consoles_per_node(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let (a, b) = (NodeId::new(), NodeId::new());
    let ann = agent_with(&store, &acme, "ann", 2).await;
    let bob = agent_with(&store, &acme, "bob", 2).await;
    assert!(
        !store
            .agent(ann.id)
            .await
            .expect("read")
            .expect("agent")
            .online
    );
    online(&store, &ann, a).await;
    online(&store, &ann, b).await;
    online(&store, &bob, b).await;

    let routed = store.forget_node_agents(a).await.expect("forget a");
    assert!(routed.agents.is_empty(), "ann is still on b");
    assert!(
        store
            .agent(ann.id)
            .await
            .expect("read")
            .expect("agent")
            .online
    );

    let routed = store.forget_node_agents(b).await.expect("forget b");
    let mut gone: Vec<_> = routed
        .agents
        .iter()
        .map(|s| (s.user.id, s.online))
        .collect();
    gone.sort();
    assert_eq!(gone, vec![(ann.id, false), (bob.id, false)]);

    online(&store, &ann, a).await;
    online(&store, &bob, b).await;
    let routed = store.forget_agents_except(a).await.expect("forget others");
    let gone: Vec<_> = routed.agents.iter().map(|s| s.user.id).collect();
    assert_eq!(gone, vec![bob.id]);
    let routed = store.set_online(ann.id, a, false).await.expect("offline");
    assert!(!routed.agents[0].online);

    let unknown = store.set_online(UserId::new(), a, true).await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
}

/// An agent coming online drains the queue up to capacity, oldest first.
async fn coming_online_drains_the_queue_in_order(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let ann = agent_with(&store, &acme, "ann", 3).await;
    let mut waiting = Vec::new();
    for n in 0..5 {
        waiting.push(conversation(&store, &acme, &format!("c{n}")).await);
    }
    let routed = online(&store, &ann, NodeId::new()).await;
    assert_eq!(routed_ids(&routed), waiting, "3 assigned, 2 moved up");
    for conv in &waiting[..3] {
        assert_eq!(assignee(&store, *conv).await, Some(ann.id));
    }
    assert_eq!(queue(&store, acme.account.id).await, waiting[3..]);
    assert_eq!(routed.agents.len(), 1);
    assert_eq!((routed.agents[0].load, routed.agents[0].online), (3, true));
}

/// Conversations of agents offline too long go back to the queue.
async fn requeue_offline_agents_conversations(Clocked { store, clock }: Clocked) {
    let acme = tenant(&store, "acme").await;
    let node = NodeId::new();
    let ann = agent_with(&store, &acme, "ann", 2).await;
    let bob = agent_with(&store, &acme, "bob", 2).await;
    online(&store, &ann, node).await;
    let first = conversation(&store, &acme, "c1").await;
    let second = conversation(&store, &acme, "c2").await;
    store
        .set_online(ann.id, node, false)
        .await
        .expect("offline");

    let routed = store
        .requeue_offline(Duration::from_secs(3600))
        .await
        .expect("requeue");
    assert_eq!(routed, Default::default(), "not offline that long");
    assert_eq!(assignee(&store, first).await, Some(ann.id));

    next_millisecond(&clock);
    let routed = store
        .requeue_offline(Duration::from_millis(1))
        .await
        .expect("requeue");
    assert_eq!(routed_ids(&routed), vec![first, second]);
    assert_eq!(queue(&store, acme.account.id).await, vec![first, second]);
    assert_eq!(load(&store, &ann).await, 0);
    assert_eq!(
        history(&store, first).await.last(),
        Some(&(AssignmentKind::Requeued, None, None))
    );

    // bob comes: they are his, in order; requeueing again finds nothing
    online(&store, &bob, node).await;
    assert_eq!(assignee(&store, first).await, Some(bob.id));
    assert_eq!(assignee(&store, second).await, Some(bob.id));
    let routed = store
        .requeue_offline(Duration::ZERO)
        .await
        .expect("requeue");
    assert!(routed.conversations.is_empty());
}

/// An account's agents are listed as each reads alone: its users who
/// answer, never a viewer, never another account's.
async fn an_accounts_agents_are_listed_as_each_reads(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let other = tenant(&store, "other").await;
    let node = NodeId::new();
    let ann = agent_with(&store, &acme, "ann", 2).await;
    online(&store, &ann, node).await;
    let bob = agent_with(&store, &acme, "bob", 0).await;
    let _stranger = agent_with(&store, &other, "stranger", 2).await;
    let viewer = viewer(&store, &acme).await;
    inbound(&store, &acme.inbox, "carol", "hello").await;

    let listed = store.agents(acme.account.id).await.expect("agents");
    let mut ids: Vec<UserId> = listed.iter().map(|a| a.user.id).collect();
    let mut expected = vec![acme.owner.id, ann.id, bob.id];
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected, "the owner answers too; the viewer does not");
    assert!(!ids.contains(&viewer.id));
    for state in &listed {
        let alone = store.agent(state.user.id).await.expect("agent");
        assert_eq!(Some(state), alone.as_ref(), "listed as read alone");
    }
    let ann_state = listed.iter().find(|a| a.user.id == ann.id).expect("ann");
    assert_eq!(
        (ann_state.online, ann_state.load, ann_state.capacity),
        (true, 1, 2),
        "ann is online and was given carol"
    );
}

/// The first console serves the queue; one more, on another node, changes
/// nothing routing sees (and answers nothing); the agent stays online until
/// their last console closes, and the first console after that serves the
/// queue again.
async fn a_second_console_changes_nothing_until_the_last_one_closes(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let (a, b) = (NodeId::new(), NodeId::new());
    let ann = agent_with(&store, &acme, "ann", 1).await;
    let carol = conversation(&store, &acme, "carol").await;
    let first = online(&store, &ann, a).await;
    assert_eq!(
        routed_ids(&first),
        vec![carol],
        "the first console serves the queue"
    );
    assert!(first.agents[0].online);

    let dave = conversation(&store, &acme, "dave").await;
    assert_eq!(position(&store, dave).await, Some(1), "ann is full");
    let second = online(&store, &ann, b).await;
    assert_eq!(
        second,
        Default::default(),
        "a second console changes nothing"
    );
    let again = online(&store, &ann, b).await;
    assert_eq!(again, Default::default(), "nor does the same one twice");

    let closed = store.set_online(ann.id, a, false).await.expect("close a");
    assert!(
        closed.agents.iter().all(|s| s.online),
        "ann is still on b: {closed:?}"
    );
    let state = store.agent(ann.id).await.expect("read").expect("agent");
    assert!(state.online);
    let closed = store.set_online(ann.id, b, false).await.expect("close b");
    assert_eq!(closed.agents.len(), 1);
    assert!(
        !closed.agents[0].online,
        "the last console took ann offline"
    );

    // room again (carol resolved) while offline: the next first console serves
    store.resolve(carol, ann.id).await.expect("resolve");
    assert_eq!(
        position(&store, dave).await,
        Some(1),
        "offline: nothing moves"
    );
    let back = online(&store, &ann, b).await;
    assert_eq!(routed_ids(&back), vec![dave]);
    assert_eq!(assignee(&store, dave).await, Some(ann.id));
}

contract_tests!(
    an_accounts_agents_are_listed_as_each_reads,
    away_offline_and_zero_capacity_get_nothing,
    a_second_console_changes_nothing_until_the_last_one_closes,
    consoles_per_node,
    coming_online_drains_the_queue_in_order,
    requeue_offline_agents_conversations,
);
