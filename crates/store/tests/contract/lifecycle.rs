//! Users' lifecycle, ownership and sessions (migration 0009), on every
//! backend: a deactivated user holds no session, no role, no conversation
//! and is no agent; a removed one keeps their row but not their address;
//! an account always has exactly one owner.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as Span, Utc};
use switchboard_core::Role;
use switchboard_core::access::{BuiltinRole, Grant, RoleId};
use switchboard_core::ids::NodeId;
use switchboard_core::model::{Acquired, NewUser};
use switchboard_store::{Store, StoreError};

use crate::fixtures::{HASH, agent_with, assignee, conversation, online, root_of, tenant};

contract_tests!(
    deactivation_ends_sessions_roles_and_assignments,
    a_removed_user_keeps_their_row_but_frees_their_email,
    the_owner_is_never_deactivated_removed_or_ungranted,
    concurrent_transfers_leave_exactly_one_owner,
    sessions_are_listed_ended_and_checked_by_their_owner_only,
    a_verified_session_is_made_only_with_the_hash_verified_of_an_active_user,
);

async fn deactivation_ends_sessions_roles_and_assignments(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let node = NodeId::new();
    let ann = agent_with(&store, &t, "ann", 5).await;
    online(&store, &ann, node).await;
    let first = conversation(&store, &t, "+1555001").await;
    assert_eq!(assignee(&store, first).await, Some(ann.id));
    let acquired = store
        .acquire_lock(first, ann.id, node, false, Duration::from_secs(30))
        .await
        .expect("lock");
    assert!(matches!(acquired, Acquired::Granted { .. }), "{acquired:?}");
    let expires = Utc::now() + Span::days(36_500);
    store
        .create_login_session(&[1; 32], ann.id, expires)
        .await
        .unwrap();

    // Bob comes online: Ann's conversation goes to him.
    let bob = agent_with(&store, &t, "bob", 5).await;
    online(&store, &bob, node).await;
    let stamp = store.access_stamp(t.account.id).await.unwrap();
    let routed = store
        .deactivate_user(ann.id)
        .await
        .expect("deactivate")
        .routed;
    assert_eq!(assignee(&store, first).await, Some(bob.id));
    assert!(routed.conversation(first).is_some(), "reported: {routed:?}");
    assert!(store.access_stamp(t.account.id).await.unwrap() > stamp);
    assert!(store.login_session_user(&[1; 32]).await.unwrap().is_none());
    assert!(store.lock_state(first).await.unwrap().holder.is_none());
    assert!(store.agent(ann.id).await.unwrap().is_none(), "no agent");
    let user = store.user(ann.id).await.unwrap().expect("still there");
    assert!(user.deactivated_at.is_some());

    // Reactivated, she is an agent again (offline: no console).
    let back = store.reactivate_user(ann.id).await.expect("reactivate");
    assert!(back.deactivated_at.is_none());
    assert!(store.agent(ann.id).await.unwrap().is_some());
}

async fn a_removed_user_keeps_their_row_but_frees_their_email(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let ann = agent_with(&store, &t, "ann", 5).await;
    store.remove_user(ann.id).await.expect("remove");
    assert!(store.user(ann.id).await.unwrap().is_none(), "not found");
    assert!(store.user_by_email(&ann.email).await.unwrap().is_none());
    assert!(store.grants_of(ann.id).await.unwrap().is_empty());
    let users = store.users_of(t.account.id).await.unwrap();
    assert!(!users.iter().any(|u| u.id == ann.id), "not listed");
    let again = store
        .create_user(NewUser {
            account_id: t.account.id,
            email: &ann.email,
            name: "ann again",
            password_hash: HASH,
            role: Role::Operator,
            capacity: 0,
        })
        .await
        .expect("the address is free");
    assert_ne!(again.id, ann.id);
    assert!(matches!(
        store.deactivate_user(ann.id).await,
        Err(StoreError::NotFound)
    ));
}

async fn the_owner_is_never_deactivated_removed_or_ungranted(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let root = root_of(&store, &t).await;
    let owner = t.owner.id;
    assert!(matches!(
        store.deactivate_user(owner).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.remove_user(owner).await,
        Err(StoreError::Conflict(_))
    ));
    let admin = [Grant::new(
        RoleId::Builtin(BuiltinRole::Administrator),
        root,
    )];
    assert!(matches!(
        store.set_grants(owner, &admin).await,
        Err(StoreError::Conflict(_))
    ));
    let ann = agent_with(&store, &t, "ann", 0).await;
    let owning = [Grant::new(RoleId::OWNER, root)];
    assert!(matches!(
        store.set_grants(ann.id, &owning).await,
        Err(StoreError::Conflict(_))
    ));
    // The owner may still be given more.
    let more = [Grant::new(RoleId::OWNER, root), admin[0]];
    store.set_grants(owner, &more).await.expect("more grants");
    assert_eq!(owners(&store, &t).await, vec![owner]);
}

async fn concurrent_transfers_leave_exactly_one_owner(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let (a, b) = (
        agent_with(&store, &t, "a", 0).await,
        agent_with(&store, &t, "b", 0).await,
    );
    let account = t.account.id;
    let (one, two) = tokio::join!(
        store.transfer_ownership(account, t.owner.id, a.id),
        store.transfer_ownership(account, t.owner.id, b.id),
    );
    assert_eq!(
        [&one, &two].iter().filter(|r| r.is_ok()).count(),
        1,
        "{one:?} {two:?}"
    );
    assert!(matches!(
        one.as_ref().err().or(two.as_ref().err()),
        Some(StoreError::Conflict(_))
    ));
    let winner = if one.is_ok() { a.id } else { b.id };
    assert_eq!(owners(&store, &t).await, vec![winner]);
    let root = root_of(&store, &t).await;
    let old = store.grants_of(t.owner.id).await.unwrap();
    assert!(old.contains(&Grant::new(
        RoleId::Builtin(BuiltinRole::Administrator),
        root
    )));
    // A deactivated user never becomes the owner.
    let c = agent_with(&store, &t, "c", 0).await;
    store.deactivate_user(c.id).await.unwrap();
    assert!(matches!(
        store.transfer_ownership(account, winner, c.id).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn sessions_are_listed_ended_and_checked_by_their_owner_only(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let ann = agent_with(&store, &t, "ann", 0).await;
    let bob = agent_with(&store, &t, "bob", 0).await;
    let later = Utc::now() + Span::days(36_500);
    for hash in [[1; 32], [2; 32], [3; 32]] {
        store
            .create_login_session(&hash, ann.id, later)
            .await
            .unwrap();
    }
    store
        .create_login_session(&[9; 32], bob.id, later)
        .await
        .unwrap();
    let listed = store.login_sessions_of(ann.id).await.unwrap();
    assert_eq!(listed.len(), 3);
    let second = listed.iter().find(|s| s.token_hash == [2; 32]).unwrap().id;
    assert_eq!(
        store.end_login_session(bob.id, second).await.unwrap(),
        None,
        "not bob's"
    );
    assert_eq!(
        store.end_login_session(ann.id, second).await.unwrap(),
        Some([2; 32])
    );
    let live = store
        .live_sessions(&[[1; 32], [2; 32], [9; 32], [7; 32]])
        .await
        .unwrap();
    let mut hashes: Vec<_> = live.iter().map(|(h, _)| *h).collect();
    hashes.sort();
    assert_eq!(hashes, vec![[1; 32], [9; 32]]);
    store.change_password(ann.id, HASH, &[3; 32]).await.unwrap();
    let left: Vec<_> = store.login_sessions_of(ann.id).await.unwrap();
    assert_eq!(
        left.iter().map(|s| s.token_hash).collect::<Vec<_>>(),
        vec![[3; 32]]
    );
}

async fn owners(
    store: &Arc<dyn Store>,
    t: &crate::fixtures::Tenant,
) -> Vec<switchboard_core::UserId> {
    store
        .account_grants(t.account.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, g)| g.role == RoleId::OWNER)
        .map(|(u, _)| u)
        .collect()
}

/// A sign-in's session is made only if the password hash it verified is
/// still the user's and the user is active: a password change or a
/// deactivation while the password was being checked leaves no session.
async fn a_verified_session_is_made_only_with_the_hash_verified_of_an_active_user(
    store: Arc<dyn Store>,
) {
    let t = tenant(&store, "acme").await;
    let ann = agent_with(&store, &t, "ann", 1).await;
    let later = Utc::now() + Span::days(1);
    let made = |token: &'static [u8], hash: &'static str| {
        let store = store.clone();
        async move {
            store
                .create_verified_login_session(token, ann.id, hash, later)
                .await
                .expect("insert")
        }
    };
    let exists = |token: &'static [u8]| {
        let store = store.clone();
        async move { store.login_session_user(token).await.unwrap().is_some() }
    };

    assert!(made(b"right", HASH).await, "the hash verified");
    assert!(exists(b"right").await);
    assert!(!made(b"stale", "another hash").await, "a stale hash");
    assert!(!exists(b"stale").await, "nothing inserted");

    store
        .set_password(ann.id, "new hash")
        .await
        .expect("change");
    assert!(!made(b"old", HASH).await, "the hash changed meanwhile");
    assert!(!exists(b"old").await);
    assert!(made(b"new", "new hash").await);

    store.deactivate_user(ann.id).await.expect("deactivate");
    assert!(!made(b"gone", "new hash").await, "a deactivated user");
    assert!(!exists(b"gone").await);
    let stranger = switchboard_core::UserId::new();
    let unknown = store
        .create_verified_login_session(b"nobody", stranger, HASH, later)
        .await;
    assert_eq!(unknown.ok(), Some(false), "an unknown user");
}
