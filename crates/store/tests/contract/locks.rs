//! The active role and the fenced write (invariant 1).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use switchboard_core::ids::{ConversationId, NodeId, UserId};
use switchboard_core::model::{Acquired, Appended};
use switchboard_store::{Store, StoreError};
use tokio::task::JoinSet;

use crate::fixtures::{
    LEASE, SHORT_LEASE, agent, append, conversation, grant, last_seq, seqs, tenant,
};
use crate::harness::Clocked;

async fn acquire_held_force_regrant(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let (ann, bob) = (
        agent(&store, &acme, "ann").await,
        agent(&store, &acme, "bob").await,
    );
    let conv = conversation(&store, &acme, "carol").await;
    let node = NodeId::new();
    assert_eq!(store.lock_state(conv).await.expect("state").epoch, 0);

    assert_eq!(grant(&store, conv, ann.id, node, false, LEASE).await, 1);
    let held = store
        .acquire_lock(conv, bob.id, node, false, LEASE)
        .await
        .expect("acquire");
    assert_eq!(
        held,
        Acquired::Held {
            holder: ann.as_ref(),
            epoch: 1
        }
    );

    assert_eq!(
        grant(&store, conv, ann.id, node, false, LEASE).await,
        2,
        "re-grant bumps the epoch"
    );
    let other = NodeId::new();
    assert_eq!(
        grant(&store, conv, bob.id, other, true, LEASE).await,
        3,
        "force takes over"
    );

    let state = store.lock_state(conv).await.expect("state");
    assert_eq!(state.holder, Some(bob.as_ref()));
    assert_eq!(state.epoch, 3);
    assert_eq!(state.node, Some(other));
    let held = store
        .acquire_lock(conv, ann.id, node, false, LEASE)
        .await
        .expect("acquire");
    assert_eq!(
        held,
        Acquired::Held {
            holder: bob.as_ref(),
            epoch: 3
        }
    );
    assert_eq!(
        store.lock_state(conv).await.expect("state").epoch,
        3,
        "a refusal grants nothing"
    );
}

async fn unknown_conversation_or_user(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let unknown = ConversationId::new();
    let acquired = store
        .acquire_lock(unknown, acme.owner.id, NodeId::new(), false, LEASE)
        .await;
    assert!(
        matches!(acquired, Err(StoreError::NotFound)),
        "{acquired:?}"
    );
    assert!(matches!(
        store.lock_state(unknown).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        !store
            .release_lock(unknown, acme.owner.id, 1)
            .await
            .expect("release")
    );
    let appended = append(&store, unknown, acme.owner.id, 1, "c1").await;
    assert!(
        matches!(appended, Err(StoreError::NotFound)),
        "{appended:?}"
    );

    let conv = conversation(&store, &acme, "carol").await;
    let ghost = store
        .acquire_lock(conv, UserId::new(), NodeId::new(), false, LEASE)
        .await;
    assert!(matches!(ghost, Err(StoreError::NotFound)), "{ghost:?}");
    assert_eq!(store.lock_state(conv).await.expect("state").epoch, 0);
}

async fn release_needs_holder_and_epoch(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let (ann, bob) = (
        agent(&store, &acme, "ann").await,
        agent(&store, &acme, "bob").await,
    );
    let conv = conversation(&store, &acme, "carol").await;
    let node = NodeId::new();
    let epoch = grant(&store, conv, ann.id, node, false, LEASE).await;
    let before = store.lock_state(conv).await.expect("state");

    assert!(
        !store
            .release_lock(conv, ann.id, epoch + 1)
            .await
            .expect("release")
    );
    assert!(
        !store
            .release_lock(conv, ann.id, epoch - 1)
            .await
            .expect("release")
    );
    assert!(
        !store
            .release_lock(conv, ann.id, u64::MAX)
            .await
            .expect("release")
    );
    assert!(
        !store
            .release_lock(conv, bob.id, epoch)
            .await
            .expect("release")
    );
    assert_eq!(
        store.lock_state(conv).await.expect("state"),
        before,
        "nothing changed"
    );

    assert!(
        store
            .release_lock(conv, ann.id, epoch)
            .await
            .expect("release")
    );
    let after = store.lock_state(conv).await.expect("state");
    assert_eq!(
        (after.holder, after.epoch, after.node),
        (None, epoch, None),
        "the epoch stays"
    );
    assert!(
        !store
            .release_lock(conv, ann.id, epoch)
            .await
            .expect("release twice")
    );
    assert_eq!(
        grant(&store, conv, bob.id, node, false, LEASE).await,
        epoch + 1
    );
}

/// The heart of invariant 1: a holder that was taken over writes with its
/// old epoch, bypassing every check above the store, and is refused.
async fn stale_epoch_is_fenced(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let (ann, bob) = (
        agent(&store, &acme, "ann").await,
        agent(&store, &acme, "bob").await,
    );
    let conv = conversation(&store, &acme, "carol").await;
    let e1 = grant(&store, conv, ann.id, NodeId::new(), false, LEASE).await;
    let e2 = grant(&store, conv, bob.id, NodeId::new(), true, LEASE).await;
    assert_eq!(e2, e1 + 1);
    let seq_before = last_seq(&store, conv).await;

    let stale = append(&store, conv, ann.id, e1, "ann-1").await;
    assert!(matches!(stale, Err(StoreError::Fenced)), "{stale:?}");
    let wrong_author = append(&store, conv, ann.id, e2, "ann-2").await;
    assert!(
        matches!(wrong_author, Err(StoreError::Fenced)),
        "{wrong_author:?}"
    );
    let future_epoch = append(&store, conv, bob.id, e2 + 1, "bob-0").await;
    assert!(
        matches!(future_epoch, Err(StoreError::Fenced)),
        "{future_epoch:?}"
    );
    let huge_epoch = append(&store, conv, bob.id, u64::MAX, "bob-0").await;
    assert!(
        matches!(huge_epoch, Err(StoreError::Fenced)),
        "{huge_epoch:?}"
    );
    assert_eq!(
        last_seq(&store, conv).await,
        seq_before,
        "a refused write consumes no seq"
    );
    assert_eq!(seqs(&store, conv).await, vec![1], "nothing stored");

    let fresh = append(&store, conv, bob.id, e2, "bob-1")
        .await
        .expect("holder writes");
    assert_eq!(fresh.message().seq, seq_before + 1, "gap-free");

    // a re-grant fences the grantee's own older epoch too
    let e3 = grant(&store, conv, bob.id, NodeId::new(), false, LEASE).await;
    let old = append(&store, conv, bob.id, e2, "bob-2").await;
    assert!(matches!(old, Err(StoreError::Fenced)), "{old:?}");
    append(&store, conv, bob.id, e3, "bob-2")
        .await
        .expect("current epoch writes");
    assert_eq!(seqs(&store, conv).await, vec![1, 2, 3]);

    // released: nobody may write
    assert!(store.release_lock(conv, bob.id, e3).await.expect("release"));
    let released = append(&store, conv, bob.id, e3, "bob-3").await;
    assert!(matches!(released, Err(StoreError::Fenced)), "{released:?}");
}

async fn expired_lease_is_fenced_and_free(Clocked { store, clock }: Clocked) {
    let acme = tenant(&store, "acme").await;
    let (ann, bob) = (
        agent(&store, &acme, "ann").await,
        agent(&store, &acme, "bob").await,
    );
    let conv = conversation(&store, &acme, "carol").await;
    let epoch = grant(&store, conv, ann.id, NodeId::new(), false, SHORT_LEASE).await;
    clock.advance(SHORT_LEASE - Duration::from_millis(1));
    assert_eq!(
        store.lock_state(conv).await.expect("state").holder,
        Some(ann.as_ref()),
        "valid to its last millisecond"
    );

    clock.advance(Duration::from_millis(1));
    let state = store.lock_state(conv).await.expect("state");
    assert_eq!((state.holder, state.epoch, state.node), (None, epoch, None));
    let read = store
        .conversation(conv)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read.answered_by, None, "a lapsed lease answers nobody");

    let late = append(&store, conv, ann.id, epoch, "late").await;
    assert!(matches!(late, Err(StoreError::Fenced)), "{late:?}");
    assert_eq!(last_seq(&store, conv).await, 1);

    assert_eq!(
        grant(&store, conv, bob.id, NodeId::new(), false, LEASE).await,
        epoch + 1
    );
}

async fn duplicate_client_msg_id_stores_once(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let (ann, bob) = (
        agent(&store, &acme, "ann").await,
        agent(&store, &acme, "bob").await,
    );
    let conv = conversation(&store, &acme, "carol").await;
    let epoch = grant(&store, conv, ann.id, NodeId::new(), false, LEASE).await;

    let Appended::Stored(first) = append(&store, conv, ann.id, epoch, "c1")
        .await
        .expect("append")
    else {
        panic!("the first append stores");
    };
    let again = append(&store, conv, ann.id, epoch, "c1")
        .await
        .expect("append again");
    assert_eq!(again, Appended::Duplicate(first.clone()));

    // the retry of an acknowledged write still answers after a takeover
    grant(&store, conv, bob.id, NodeId::new(), true, LEASE).await;
    let retry = append(&store, conv, ann.id, epoch, "c1")
        .await
        .expect("retry");
    assert_eq!(retry, Appended::Duplicate(first.clone()));
    assert_eq!(seqs(&store, conv).await, vec![1, 2]);

    // the same client id in another conversation is another message
    let other = conversation(&store, &acme, "dave").await;
    let e = grant(&store, other, ann.id, NodeId::new(), false, LEASE).await;
    let elsewhere = append(&store, other, ann.id, e, "c1")
        .await
        .expect("append");
    assert!(matches!(elsewhere, Appended::Stored(ref m) if m.id != first.id));
}

async fn concurrent_duplicates_store_once(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let ann = agent(&store, &acme, "ann").await;
    let conv = conversation(&store, &acme, "carol").await;
    let epoch = grant(&store, conv, ann.id, NodeId::new(), false, LEASE).await;

    let mut tasks = JoinSet::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.spawn(async move { append(&store, conv, ann.id, epoch, "same").await });
    }
    let results: Vec<Appended> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|r| r.expect("every append answers"))
        .collect();
    let stored = results
        .iter()
        .filter(|r| matches!(r, Appended::Stored(_)))
        .count();
    assert_eq!(stored, 1, "{results:?}");
    let ids: HashSet<_> = results.iter().map(|r| r.message().id).collect();
    assert_eq!(ids.len(), 1, "all answer the same message");
    assert_eq!(seqs(&store, conv).await, vec![1, 2]);
    assert_eq!(last_seq(&store, conv).await, 2, "duplicates consume no seq");
}

async fn concurrent_acquires_grant_once(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let conv = conversation(&store, &acme, "carol").await;
    let mut users = Vec::new();
    for n in 0..50 {
        users.push(agent(&store, &acme, &format!("agent{n}")).await);
    }

    let mut tasks = JoinSet::new();
    for user in &users {
        let (store, user) = (store.clone(), user.id);
        tasks.spawn(async move {
            let answer = store
                .acquire_lock(conv, user, NodeId::new(), false, LEASE)
                .await;
            (user, answer.expect("every acquire answers"))
        });
    }
    let answers = tasks.join_all().await;
    let winners: Vec<_> = answers
        .iter()
        .filter(|(_, a)| matches!(a, Acquired::Granted { .. }))
        .map(|(user, _)| *user)
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (_, answer) in &answers {
        match answer {
            Acquired::Granted { epoch } => assert_eq!(*epoch, 1),
            Acquired::Held { holder, epoch } => assert_eq!((holder.id, *epoch), (winners[0], 1)),
        }
    }
    let state = store.lock_state(conv).await.expect("state");
    assert_eq!(
        (state.holder.map(|h| h.id), state.epoch),
        (Some(winners[0]), 1)
    );
}

async fn renew_extends_only_live_leases(Clocked { store, clock }: Clocked) {
    let acme = tenant(&store, "acme").await;
    let ann = agent(&store, &acme, "ann").await;
    let (node, other) = (NodeId::new(), NodeId::new());
    let lapsing = conversation(&store, &acme, "a").await;
    let live = conversation(&store, &acme, "b").await;
    let elsewhere = conversation(&store, &acme, "c").await;
    let released = conversation(&store, &acme, "d").await;
    grant(&store, lapsing, ann.id, node, false, SHORT_LEASE).await;
    let live_epoch = grant(&store, live, ann.id, node, false, SHORT_LEASE * 40).await;
    grant(&store, elsewhere, ann.id, other, false, LEASE).await;
    let e = grant(&store, released, ann.id, node, false, LEASE).await;
    assert!(
        store
            .release_lock(released, ann.id, e)
            .await
            .expect("release")
    );

    clock.advance(SHORT_LEASE);
    let renewed = store.renew_locks(node, LEASE).await.expect("renew");
    assert_eq!(renewed, vec![(live, live_epoch)]);
    assert_eq!(
        store.lock_state(lapsing).await.expect("state").holder,
        None,
        "no resurrection"
    );
    let state = store.lock_state(live).await.expect("state");
    assert_eq!(
        (state.holder, state.epoch),
        (Some(ann.as_ref()), live_epoch),
        "renewal keeps the epoch"
    );
    clock.advance(SHORT_LEASE * 40);
    assert_eq!(
        store.lock_state(live).await.expect("state").holder,
        Some(ann.as_ref()),
        "renewed from now: valid past the end of its first lease"
    );
    assert!(
        store
            .renew_locks(NodeId::new(), LEASE)
            .await
            .expect("renew")
            .is_empty()
    );
}

async fn release_node_locks_and_all_but_one(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let ann = agent(&store, &acme, "ann").await;
    let (dead, alive, previous) = (NodeId::new(), NodeId::new(), NodeId::new());
    let a = conversation(&store, &acme, "a").await;
    let b = conversation(&store, &acme, "b").await;
    let c = conversation(&store, &acme, "c").await;
    let d = conversation(&store, &acme, "d").await;
    let ea = grant(&store, a, ann.id, dead, false, LEASE).await;
    grant(&store, b, ann.id, dead, false, LEASE).await;
    grant(&store, c, ann.id, alive, false, LEASE).await;
    grant(&store, d, ann.id, previous, false, LEASE).await;

    let mut cleared = store.release_node_locks(dead).await.expect("release node");
    cleared.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(cleared, expected);
    let state = store.lock_state(a).await.expect("state");
    assert_eq!((state.holder, state.epoch, state.node), (None, ea, None));
    let fenced = append(&store, a, ann.id, ea, "late").await;
    assert!(matches!(fenced, Err(StoreError::Fenced)), "{fenced:?}");
    assert!(
        store
            .release_node_locks(dead)
            .await
            .expect("again")
            .is_empty()
    );

    assert_eq!(
        store
            .release_locks_except(alive)
            .await
            .expect("release others"),
        1
    );
    assert_eq!(store.lock_state(d).await.expect("state").holder, None);
    assert_eq!(
        store.lock_state(c).await.expect("state").holder,
        Some(ann.as_ref())
    );
    assert_eq!(store.release_locks_except(alive).await.expect("again"), 0);
}

/// Many writers at once, some of them stale: every live writer's messages
/// land gap-free in order, every stale one is refused and takes no seq,
/// whatever the store does to commit them together.
async fn concurrent_appends_across_conversations(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let (ann, bob) = (
        agent(&store, &acme, "ann").await,
        agent(&store, &acme, "bob").await,
    );
    let mut live = Vec::new();
    for i in 0..8 {
        let conv = conversation(&store, &acme, &format!("contact-{i}")).await;
        let stale = grant(&store, conv, bob.id, NodeId::new(), false, LEASE).await;
        let epoch = grant(&store, conv, ann.id, NodeId::new(), true, LEASE).await;
        live.push((conv, epoch, stale));
    }
    let mut tasks = Vec::new();
    for (conv, epoch, stale) in live.clone() {
        for round in 0..10 {
            let writer = store.clone();
            tasks.push(tokio::spawn(async move {
                let id = format!("ann-{round}");
                (conv, true, append(&writer, conv, ann.id, epoch, &id).await)
            }));
            let writer = store.clone();
            tasks.push(tokio::spawn(async move {
                let id = format!("bob-{round}");
                (conv, false, append(&writer, conv, bob.id, stale, &id).await)
            }));
        }
    }
    for task in tasks {
        let (conv, is_live, result) = task.await.expect("task");
        if is_live {
            assert!(
                matches!(result, Ok(Appended::Stored(_))),
                "{conv:?}: {result:?}"
            );
        } else {
            assert!(
                matches!(result, Err(StoreError::Fenced)),
                "{conv:?}: {result:?}"
            );
        }
    }
    for (conv, _, _) in live {
        // One inbound message, then ann's ten: 1..=11 without a gap.
        assert_eq!(seqs(&store, conv).await, (1..=11).collect::<Vec<_>>());
        assert_eq!(last_seq(&store, conv).await, 11);
    }
}

/// Many roles read at once are each as read alone; unknown ids are left out.
async fn lock_states_read_many_roles_at_once(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let ann = agent(&store, &acme, "ann").await;
    let node = NodeId::new();
    let held = conversation(&store, &acme, "carol").await;
    let free = conversation(&store, &acme, "dave").await;
    let released = conversation(&store, &acme, "erin").await;
    grant(&store, held, ann.id, node, false, LEASE).await;
    grant(&store, held, ann.id, node, false, LEASE).await;
    let epoch = grant(&store, released, ann.id, node, false, LEASE).await;
    store
        .release_lock(released, ann.id, epoch)
        .await
        .expect("release");
    let unknown = ConversationId::new();
    assert!(store.lock_states(&[]).await.expect("none").is_empty());
    let mut states = store
        .lock_states(&[held, unknown, free, released])
        .await
        .expect("states");
    states.sort_by_key(|(id, _)| *id);
    let mut alone = Vec::new();
    for id in [held, free, released] {
        alone.push((id, store.lock_state(id).await.expect("state")));
    }
    alone.sort_by_key(|(id, _)| *id);
    assert_eq!(
        states, alone,
        "each as read alone, the unknown one left out"
    );
    let of = |id| {
        states
            .iter()
            .find(|(c, _)| *c == id)
            .map(|(_, s)| s.clone())
    };
    let held_state = of(held).expect("held");
    assert_eq!(
        (held_state.holder, held_state.epoch),
        (Some(ann.as_ref()), 2)
    );
    let free_state = of(free).expect("free");
    assert_eq!((free_state.holder, free_state.epoch), (None, 0));
    let released_state = of(released).expect("released");
    assert_eq!((released_state.holder, released_state.epoch), (None, epoch));
}

contract_tests!(
    concurrent_appends_across_conversations,
    lock_states_read_many_roles_at_once,
    acquire_held_force_regrant,
    unknown_conversation_or_user,
    release_needs_holder_and_epoch,
    stale_epoch_is_fenced,
    expired_lease_is_fenced_and_free,
    duplicate_client_msg_id_stores_once,
    concurrent_duplicates_store_once,
    concurrent_acquires_grant_once,
    renew_extends_only_live_leases,
    release_node_locks_and_all_but_one,
);
