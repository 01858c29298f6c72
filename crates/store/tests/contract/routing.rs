//! Routing, one scenario at a time: who gets a conversation, the queue,
//! manual assignment, resolving and reopening.

use std::sync::Arc;

use switchboard_core::Role;
use switchboard_core::ids::{NodeId, UserId};
use switchboard_core::model::{AssignmentKind, ConversationStatus, ManualAssignment, NewUser};
use switchboard_store::{Store, StoreError};

use crate::fixtures::{
    HASH, agent_with, assignee, conversation, history, inbound, load, next_millisecond, online,
    position, queue, read, routed_ids, tenant,
};
use crate::harness::Clocked;

/// The least loaded agent gets a new conversation; among equals, the one
/// who waited longest since their last assignment.
async fn least_loaded_then_longest_waiting(Clocked { store, clock }: Clocked) {
    let acme = tenant(&store, "acme").await;
    let node = NodeId::new();
    let ann = agent_with(&store, &acme, "ann", 5).await;
    let bob = agent_with(&store, &acme, "bob", 5).await;
    online(&store, &ann, node).await;
    online(&store, &bob, node).await;

    // nobody assigned yet: a tie broken by id (ann was created first)
    let first = inbound(&store, &acme.inbox, "c1", "hi").await;
    assert_eq!(first.conversation.assignee, Some(ann.as_ref()));
    assert_eq!(first.conversation.queue_position, None);
    assert_eq!(routed_ids(&first.routed), vec![first.conversation.id]);
    let ann_state = first.routed.agents.iter().find(|a| a.user.id == ann.id);
    assert_eq!(ann_state.map(|a| a.load), Some(1));
    assert_eq!(
        history(&store, first.conversation.id).await,
        vec![(AssignmentKind::Auto, Some(ann.id), None)]
    );
    next_millisecond(&clock);

    // the least loaded: bob
    let second = conversation(&store, &acme, "c2").await;
    assert_eq!(assignee(&store, second).await, Some(bob.id));
    next_millisecond(&clock);

    // ann resolves hers, then takes the next (least loaded again)
    store
        .resolve(first.conversation.id, ann.id)
        .await
        .expect("resolve");
    let third = conversation(&store, &acme, "c3").await;
    assert_eq!(assignee(&store, third).await, Some(ann.id));
    next_millisecond(&clock);

    // equal loads: bob was assigned longest ago
    let fourth = conversation(&store, &acme, "c4").await;
    assert_eq!(assignee(&store, fourth).await, Some(bob.id));
    assert_eq!((load(&store, &ann).await, load(&store, &bob).await), (1, 2));
}

/// By hand: refused beyond capacity, unless forced (recorded as such).
async fn manual_assignment_respects_capacity_unless_forced(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let ann = agent_with(&store, &acme, "ann", 1).await;
    let first = conversation(&store, &acme, "c1").await;
    let second = conversation(&store, &acme, "c2").await;

    // offline agents may be assigned by hand, within capacity
    let routed = store
        .assign(ManualAssignment {
            conversation: first,
            assignee: ann.id,
            actor: acme.owner.id,
            force: false,
        })
        .await
        .expect("assign");
    assert_eq!(routed_ids(&routed), vec![first, second], "c2 moved up");
    assert_eq!(routed.conversations[1].queue_position, Some(1));
    assert_eq!(routed.agents[0].load, 1);
    assert_eq!(
        history(&store, first).await,
        vec![(AssignmentKind::Manual, Some(ann.id), Some(acme.owner.id))]
    );

    let refused = store
        .assign(ManualAssignment {
            conversation: second,
            assignee: ann.id,
            actor: acme.owner.id,
            force: false,
        })
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::AtCapacity {
                load: 1,
                capacity: 1
            })
        ),
        "{refused:?}"
    );
    assert_eq!(assignee(&store, second).await, None);
    assert_eq!(position(&store, second).await, Some(1));

    store
        .assign(ManualAssignment {
            conversation: second,
            assignee: ann.id,
            actor: acme.owner.id,
            force: true,
        })
        .await
        .expect("forced");
    assert_eq!(assignee(&store, second).await, Some(ann.id));
    assert_eq!(load(&store, &ann).await, 2);
    assert_eq!(
        history(&store, second).await,
        vec![(AssignmentKind::Forced, Some(ann.id), Some(acme.owner.id))]
    );
    assert!(queue(&store, acme.account.id).await.is_empty());
}

/// Another account's user, a viewer, an unknown user, a resolved
/// conversation: refused, and nothing written.
async fn assignments_across_accounts_are_refused(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let gus = agent_with(&store, &globex, "gus", 5).await;
    let viewer = store
        .create_user(NewUser {
            account_id: acme.account.id,
            email: "vic@acme.example",
            name: "Vic",
            password_hash: HASH,
            role: Role::Viewer,
            capacity: 5,
        })
        .await
        .expect("viewer");
    let conv = conversation(&store, &acme, "carol").await;
    let request = |assignee: UserId| ManualAssignment {
        conversation: conv,
        assignee,
        actor: acme.owner.id,
        force: true,
    };

    for refused in [
        store.assign(request(gus.id)).await,
        store.assign(request(UserId::new())).await,
    ] {
        assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    }
    let refused = store.assign(request(viewer.id)).await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("without conversations.answer")),
        "{refused:?}"
    );
    let unknown = store
        .assign(ManualAssignment {
            conversation: switchboard_core::ids::ConversationId::new(),
            ..request(acme.owner.id)
        })
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
    assert_eq!(assignee(&store, conv).await, None);
    assert_eq!(load(&store, &gus).await, 0);
    assert_eq!(history(&store, conv).await, vec![]);

    store.resolve(conv, acme.owner.id).await.expect("resolve");
    let refused = store.assign(request(acme.owner.id)).await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(m)) if m == "the conversation is resolved"),
        "{refused:?}"
    );
    for refused in [
        store.unassign(conv, acme.owner.id).await,
        store.auto_assign(conv).await,
    ] {
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "{refused:?}"
        );
    }
}

/// A transfer frees the previous agent's capacity, which serves the queue.
async fn a_transfer_frees_capacity_for_the_queue(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let node = NodeId::new();
    let ann = agent_with(&store, &acme, "ann", 1).await;
    let bob = agent_with(&store, &acme, "bob", 1).await;
    online(&store, &ann, node).await;
    let held = conversation(&store, &acme, "c1").await;
    let waiting = conversation(&store, &acme, "c2").await;
    assert_eq!(assignee(&store, held).await, Some(ann.id));
    assert_eq!(position(&store, waiting).await, Some(1));

    let routed = store
        .assign(ManualAssignment {
            conversation: held,
            assignee: bob.id,
            actor: acme.owner.id,
            force: false,
        })
        .await
        .expect("transfer");
    assert_eq!(routed_ids(&routed), vec![held, waiting]);
    assert_eq!(routed.conversations[0].assignee, Some(bob.as_ref()));
    assert_eq!(routed.conversations[1].assignee, Some(ann.as_ref()));
    let loads: Vec<_> = routed.agents.iter().map(|a| (a.user.id, a.load)).collect();
    assert_eq!(loads, vec![(bob.id, 1)], "ann's load is where it was");
    assert_eq!(
        history(&store, held).await,
        vec![
            (AssignmentKind::Auto, Some(ann.id), None),
            (AssignmentKind::Manual, Some(bob.id), Some(acme.owner.id)),
        ]
    );
}

/// Unassigned: to the back of the queue, behind those already waiting.
async fn unassign_goes_to_the_back_of_the_queue(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let ann = agent_with(&store, &acme, "ann", 5).await;
    let held = conversation(&store, &acme, "held").await;
    store
        .assign(ManualAssignment {
            conversation: held,
            assignee: ann.id,
            actor: acme.owner.id,
            force: false,
        })
        .await
        .expect("assign");
    let first = conversation(&store, &acme, "first").await;
    let second = conversation(&store, &acme, "second").await;

    let routed = store.unassign(held, acme.owner.id).await.expect("unassign");
    assert_eq!(routed_ids(&routed), vec![held]);
    assert_eq!(routed.conversations[0].queue_position, Some(3));
    assert_eq!(routed.agents[0].load, 0);
    assert_eq!(
        queue(&store, acme.account.id).await,
        vec![first, second, held]
    );
    assert_eq!(
        history(&store, held).await.last(),
        Some(&(AssignmentKind::Unassigned, None, Some(acme.owner.id)))
    );
    let again = store.unassign(held, acme.owner.id).await.expect("again");
    assert!(again.conversations.is_empty(), "already waiting");

    // resolving a queued one moves those behind it up
    let routed = store.resolve(first, ann.id).await.expect("resolve");
    assert_eq!(routed_ids(&routed), vec![first, second, held]);
    assert_eq!(queue(&store, acme.account.id).await, vec![second, held]);
}

/// Resolved: out of the queue and off the agent's load, the assignee kept;
/// reopened (by a person or by the customer): routed like a new one.
async fn resolve_and_reopen_route_again(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let node = NodeId::new();
    let ann = agent_with(&store, &acme, "ann", 1).await;
    online(&store, &ann, node).await;
    let conv = conversation(&store, &acme, "carol").await;
    let waiting = conversation(&store, &acme, "dave").await;
    assert_eq!(position(&store, waiting).await, Some(1));

    // resolving frees ann, who takes the oldest waiting
    let routed = store.resolve(conv, ann.id).await.expect("resolve");
    assert_eq!(routed_ids(&routed), vec![conv, waiting]);
    let resolved = read(&store, conv).await;
    assert_eq!(resolved.status, ConversationStatus::Resolved);
    assert_eq!(resolved.assignee, Some(ann.as_ref()), "kept as history");
    assert_eq!(resolved.queue_position, None);
    assert_eq!(assignee(&store, waiting).await, Some(ann.id));
    assert_eq!(load(&store, &ann).await, 1);
    let again = store.resolve(conv, ann.id).await.expect("again");
    assert!(again.conversations.is_empty());

    // reopened while ann is full: it waits
    let routed = store.reopen(conv, acme.owner.id).await.expect("reopen");
    assert_eq!(routed_ids(&routed), vec![conv]);
    let reopened = read(&store, conv).await;
    assert_eq!(
        (reopened.status, reopened.assignee, reopened.queue_position),
        (ConversationStatus::Open, None, Some(1))
    );
    assert!(
        store
            .reopen(conv, acme.owner.id)
            .await
            .expect("again")
            .conversations
            .is_empty()
    );

    // ann resolves the other: the reopened one is hers
    store.resolve(waiting, ann.id).await.expect("resolve");
    assert_eq!(assignee(&store, conv).await, Some(ann.id));
    assert_eq!(
        history(&store, conv).await,
        vec![
            (AssignmentKind::Auto, Some(ann.id), None),
            (AssignmentKind::Resolved, None, Some(ann.id)),
            (AssignmentKind::Reopened, None, Some(acme.owner.id)),
            (AssignmentKind::Auto, Some(ann.id), None),
        ]
    );

    // the customer writing to a resolved conversation reopens it, routed
    store.resolve(conv, ann.id).await.expect("resolve");
    let written = inbound(&store, &acme.inbox, "carol", "me again").await;
    assert!(!written.created);
    assert_eq!(written.conversation.status, ConversationStatus::Open);
    assert_eq!(written.conversation.assignee, Some(ann.as_ref()));
    assert_eq!(routed_ids(&written.routed), vec![conv]);
    assert_eq!(
        history(&store, conv).await[4..],
        [
            (AssignmentKind::Resolved, None, Some(ann.id)),
            (AssignmentKind::Reopened, None, None),
            (AssignmentKind::Auto, Some(ann.id), None),
        ]
    );
    // a message to an open conversation routes nothing
    let more = inbound(&store, &acme.inbox, "carol", "still there?").await;
    assert_eq!(more.routed, Default::default());
    assert_eq!(more.conversation.assignee, Some(ann.as_ref()));
}

/// `auto_assign` queues an open unassigned conversation and serves the
/// queue; an assigned one is left alone.
async fn auto_assign_routes_now(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let ann = agent_with(&store, &acme, "ann", 1).await;
    let conv = conversation(&store, &acme, "carol").await;
    let routed = store.auto_assign(conv).await.expect("auto assign");
    assert!(routed.conversations.is_empty(), "already queued");
    assert_eq!(position(&store, conv).await, Some(1));

    // online without the store serving the queue
    let node = NodeId::new();
    online(&store, &ann, node).await;
    assert_eq!(assignee(&store, conv).await, Some(ann.id));
    let routed = store.auto_assign(conv).await.expect("auto assign");
    assert!(routed.conversations.is_empty(), "already assigned");
    let unknown = store
        .auto_assign(switchboard_core::ids::ConversationId::new())
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
}

contract_tests!(
    least_loaded_then_longest_waiting,
    manual_assignment_respects_capacity_unless_forced,
    assignments_across_accounts_are_refused,
    a_transfer_frees_capacity_for_the_queue,
    unassign_goes_to_the_back_of_the_queue,
    resolve_and_reopen_route_again,
    auto_assign_routes_now,
);
