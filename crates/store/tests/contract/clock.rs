//! The store's clock. A manual clock (what the other tests run on) drives
//! every time the store records and judges, on both backends and on every
//! path a write takes; the backend's own clock, what production runs,
//! moves by itself.

use std::time::Duration;

use chrono::Utc;
use switchboard_core::ids::NodeId;
use switchboard_core::model::{Acquired, AssignmentKind};
use switchboard_store::StoreError;

use crate::fixtures::{
    LEASE, SHORT_LEASE, agent, agent_with, append, conversation, grant, inbound, online, read,
    tenant, wait_lapsed,
};
use crate::harness::{Clocked, OnBackendClock};

/// Far from any real time, so that no real clock could pass for it.
const FAR: Duration = Duration::from_secs(1000 * 24 * 60 * 60);

/// Accounts, users, inboxes, messages (of a new customer, of a follow-up,
/// to a resolved conversation, outbound), assignments: each carries the
/// time the manual clock shows; login sessions expire by it.
async fn records_carry_the_clocks_time(Clocked { store, clock }: Clocked) {
    clock.advance(FAR);
    let now = clock.now();
    let acme = tenant(&store, "acme").await;
    assert_eq!(
        (
            acme.account.created_at,
            acme.owner.created_at,
            acme.inbox.created_at
        ),
        (now, now, now)
    );
    let ann = agent_with(&store, &acme, "ann", 2).await;
    let stored = store.user(ann.id).await.expect("read").expect("exists");
    assert_eq!(stored.created_at, now);
    let node = NodeId::new();
    online(&store, &ann, node).await;

    clock.advance(Duration::from_secs(5));
    let first = inbound(&store, &acme.inbox, "carol", "hi").await;
    let conv = first.conversation.id;
    let now = clock.now();
    assert_eq!(first.message.created_at, now);
    assert_eq!(first.conversation.last_message_at, Some(now));
    assert_eq!(first.conversation.assignee, Some(ann.as_ref()));
    let log = store.assignment_log(conv).await.expect("log");
    assert_eq!((log[0].kind, log[0].at), (AssignmentKind::Auto, now));

    clock.advance(Duration::from_secs(5));
    let epoch = grant(&store, conv, ann.id, node, false, LEASE).await;
    let reply = append(&store, conv, ann.id, epoch, "r1")
        .await
        .expect("append")
        .into_message();
    assert_eq!(reply.created_at, clock.now());
    assert_eq!(read(&store, conv).await.last_message_at, Some(clock.now()));

    clock.advance(Duration::from_secs(1));
    let followup = inbound(&store, &acme.inbox, "carol", "thanks").await;
    assert_eq!(followup.message.created_at, clock.now());

    store.resolve(conv, ann.id).await.expect("resolve");
    clock.advance(Duration::from_secs(1));
    let reopened = inbound(&store, &acme.inbox, "carol", "one more thing").await;
    let now = clock.now();
    assert_eq!(reopened.message.created_at, now);
    assert_eq!(reopened.conversation.last_message_at, Some(now));
    let log = store.assignment_log(conv).await.expect("log");
    let last = log.last().expect("a line");
    assert_eq!((last.kind, last.at), (AssignmentKind::Auto, now));

    // a session valid for an hour of real time expired long ago here
    store
        .create_login_session(b"real", ann.id, Utc::now() + chrono::Duration::hours(1))
        .await
        .expect("login");
    assert_eq!(store.login_session_user(b"real").await.expect("read"), None);
    store
        .create_login_session(b"store", ann.id, now + chrono::Duration::seconds(1))
        .await
        .expect("login");
    let user = store.login_session_user(b"store").await.expect("read");
    assert_eq!(user.map(|u| u.id), Some(ann.id));
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        store.login_session_user(b"store").await.expect("read"),
        None
    );
}

/// A lease holds to its last millisecond on the manual clock and lapses at
/// its end, for the grant that judges it as for the fenced write.
async fn leases_are_judged_on_the_clock(Clocked { store, clock }: Clocked) {
    let acme = tenant(&store, "acme").await;
    let (ann, bob) = (
        agent(&store, &acme, "ann").await,
        agent(&store, &acme, "bob").await,
    );
    let conv = conversation(&store, &acme, "carol").await;
    let lease = Duration::from_secs(10);
    let epoch = grant(&store, conv, ann.id, NodeId::new(), false, lease).await;

    clock.advance(lease - Duration::from_millis(1));
    let held = store
        .acquire_lock(conv, bob.id, NodeId::new(), false, LEASE)
        .await
        .expect("acquire");
    assert_eq!(
        held,
        Acquired::Held {
            holder: ann.as_ref(),
            epoch
        }
    );
    let last = append(&store, conv, ann.id, epoch, "last")
        .await
        .expect("the holder writes to the end")
        .into_message();
    assert_eq!(last.created_at, clock.now());

    clock.advance(Duration::from_millis(1));
    let late = append(&store, conv, ann.id, epoch, "late").await;
    assert!(matches!(late, Err(StoreError::Fenced)), "{late:?}");
    assert_eq!(
        grant(&store, conv, bob.id, NodeId::new(), false, LEASE).await,
        epoch + 1
    );
}

/// What production runs: times near the real time, and a lease that
/// lapses as real time passes (waited for, polling with a deadline).
async fn the_backends_own_clock_moves_by_itself(OnBackendClock(store): OnBackendClock) {
    let before = Utc::now() - chrono::Duration::seconds(2);
    let acme = tenant(&store, "acme").await;
    let after = Utc::now() + chrono::Duration::seconds(2);
    assert!(
        (before..after).contains(&acme.account.created_at),
        "{before} <= {} < {after}",
        acme.account.created_at
    );

    let ann = agent(&store, &acme, "ann").await;
    let conv = conversation(&store, &acme, "carol").await;
    let epoch = grant(&store, conv, ann.id, NodeId::new(), false, SHORT_LEASE).await;
    let state = wait_lapsed(&store, conv).await;
    assert_eq!(state.epoch, epoch);
    let late = append(&store, conv, ann.id, epoch, "late").await;
    assert!(matches!(late, Err(StoreError::Fenced)), "{late:?}");
}

contract_tests!(
    records_carry_the_clocks_time,
    leases_are_judged_on_the_clock,
    the_backends_own_clock_moves_by_itself,
);
