//! API keys: kept with their secret only as a hash, found by it while
//! live, revoked at once; their grants kept within their account, keeping
//! a group and a custom role from deletion while the key lives; a use
//! recorded at most once per window; making and revoking one raises the
//! account's access stamp; and a key's routing action logs no user.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::access::{BuiltinRole, CustomRole, Grant, Permission, PermissionSet, RoleId};
use switchboard_core::api_keys::{NewApiKey, acting_id};
use switchboard_core::ids::{ApiKeyId, UserId};
use switchboard_core::model::AssignmentKind;
use switchboard_store::{Store, StoreError};

use crate::fixtures::{Tenant, conversation, group, history, name, root_of, tenant};
use crate::harness::Clocked;

fn operator_at(group: switchboard_core::GroupId) -> Grant {
    Grant::new(RoleId::Builtin(BuiltinRole::Operator), group)
}

fn new_key(t: &Tenant, secret: &str, grants: Vec<Grant>) -> NewApiKey {
    NewApiKey {
        id: ApiKeyId::new(),
        account_id: t.account.id,
        name: name("Zapier"),
        prefix: secret.chars().take(12).collect(),
        key_hash: hash(secret),
        grants,
        created_by: Some(t.owner.id),
    }
}

/// Stands in for the server's SHA-256: any 32 bytes the secret decides.
fn hash(secret: &str) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (i, b) in secret.bytes().enumerate() {
        bytes[i % 32] ^= b.wrapping_add(i as u8);
    }
    bytes
}

async fn keys_are_found_by_their_hash_until_revoked(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let account = acme.account.id;
    let root = root_of(&store, &acme).await;
    let north = group(&store, &acme, "North", root).await;
    let stamp = store.access_stamp(account).await.expect("stamp");

    let viewer = Grant::new(RoleId::Builtin(BuiltinRole::Viewer), north);
    let new = new_key(&acme, "sba_first-secret", vec![viewer, operator_at(root)]);
    let made = store.create_api_key(&new).await.expect("create");
    assert_eq!(
        (
            made.id,
            made.account_id,
            made.name.as_str(),
            made.prefix.as_str()
        ),
        (new.id, account, "Zapier", "sba_first-se")
    );
    let mut grants = vec![viewer, operator_at(root)];
    grants.sort();
    assert_eq!(made.grants, grants);
    assert_eq!(made.created_by, Some(acme.owner.id));
    assert_eq!(made.last_used_at, None);
    let made_stamp = store.access_stamp(account).await.expect("stamp");
    assert!(made_stamp > stamp, "making a key is an access change");

    let found = store.api_key_by_hash(&hash("sba_first-secret")).await;
    assert_eq!(found.expect("lookup").as_ref(), Some(&made));
    let other = store.api_key_by_hash(&hash("sba_other")).await;
    assert_eq!(other.expect("lookup"), None);
    assert_eq!(
        store.api_keys_of(account).await.expect("list"),
        std::slice::from_ref(&made)
    );
    assert_eq!(
        store.api_keys_of(globex.account.id).await.expect("list"),
        []
    );
    let held: Vec<_> = grants.iter().map(|g| (made.id, *g)).collect();
    assert_eq!(store.api_key_grants(account).await.expect("grants"), held);

    // A grant at another account's group: nothing is stored.
    let theirs = root_of(&store, &globex).await;
    let stray = new_key(
        &acme,
        "sba_stray",
        vec![operator_at(root), operator_at(theirs)],
    );
    assert!(matches!(
        store.create_api_key(&stray).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .api_key_by_hash(&hash("sba_stray"))
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(store.api_keys_of(account).await.expect("list").len(), 1);

    // Revoked only within its account, and then found by nothing.
    assert!(matches!(
        store.revoke_api_key(globex.account.id, made.id).await,
        Err(StoreError::NotFound)
    ));
    let revoked = store
        .revoke_api_key(account, made.id)
        .await
        .expect("revoke");
    assert_eq!(revoked.id, made.id);
    assert!(store.access_stamp(account).await.expect("stamp") > made_stamp);
    let found = store.api_key_by_hash(&hash("sba_first-secret")).await;
    assert_eq!(found.expect("lookup"), None);
    assert_eq!(store.api_keys_of(account).await.expect("list"), []);
    assert_eq!(store.api_key_grants(account).await.expect("grants"), []);
    assert!(matches!(
        store.revoke_api_key(account, made.id).await,
        Err(StoreError::NotFound)
    ));
    // A key never appears among users.
    let users = store.users_of(account).await.expect("users");
    assert!(users.iter().all(|u| u.id != acting_id(made.id)));
}

async fn a_use_is_recorded_at_most_once_per_window(clocked: Clocked) {
    let Clocked { store, clock } = clocked;
    let acme = tenant(&store, "acme").await;
    let root = root_of(&store, &acme).await;
    let made = store
        .create_api_key(&new_key(&acme, "sba_used", vec![operator_at(root)]))
        .await
        .expect("create");
    let every = Duration::from_secs(60);
    let last_used = |store: Arc<dyn Store>| async move {
        let key = store
            .api_key_by_hash(&hash("sba_used"))
            .await
            .expect("lookup");
        key.expect("live").last_used_at
    };
    let stamp = store.access_stamp(acme.account.id).await.expect("stamp");

    store.touch_api_key(made.id, every).await.expect("touch");
    let first = last_used(store.clone()).await.expect("recorded");
    clock.advance(Duration::from_secs(30));
    store.touch_api_key(made.id, every).await.expect("touch");
    assert_eq!(
        last_used(store.clone()).await,
        Some(first),
        "within the window"
    );
    clock.advance(Duration::from_secs(31));
    store.touch_api_key(made.id, every).await.expect("touch");
    let second = last_used(store.clone()).await.expect("recorded");
    assert_eq!((second - first).num_seconds(), 61);
    assert_eq!(
        store.access_stamp(acme.account.id).await.expect("stamp"),
        stamp,
        "a use changes no access"
    );
}

async fn a_live_keys_grant_keeps_its_group_and_role(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let account = acme.account.id;
    let root = root_of(&store, &acme).await;
    let north = group(&store, &acme, "North", root).await;
    let role = CustomRole {
        name: name("Reader"),
        permissions: PermissionSet::of(&[Permission::ConversationsView]),
    };
    let reader = store
        .create_custom_role(account, &role)
        .await
        .expect("role");
    let grant = Grant::new(RoleId::Custom(reader), north);
    let made = store
        .create_api_key(&new_key(&acme, "sba_reader", vec![grant]))
        .await
        .expect("create");
    assert_eq!(made.grants, [grant]);
    assert!(matches!(
        store.delete_group(account, north).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.delete_custom_role(account, reader).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .revoke_api_key(account, made.id)
        .await
        .expect("revoke");
    store
        .delete_group(account, north)
        .await
        .expect("a revoked key's grant goes with its group");
    store
        .delete_custom_role(account, reader)
        .await
        .expect("a revoked key keeps no role");
}

async fn a_keys_routing_action_logs_no_user(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let root = root_of(&store, &acme).await;
    let made = store
        .create_api_key(&new_key(&acme, "sba_resolver", vec![operator_at(root)]))
        .await
        .expect("create");
    let conversation = conversation(&store, &acme, "+15550001").await;
    let actor: UserId = acting_id(made.id);
    store
        .resolve(conversation, actor)
        .await
        .expect("a key resolves");
    let log = history(&store, conversation).await;
    let resolved = log
        .iter()
        .find(|(kind, _, _)| *kind == AssignmentKind::Resolved)
        .expect("resolved logged");
    assert_eq!(resolved.2, None, "the actor is no user: {log:?}");
}

contract_tests!(
    keys_are_found_by_their_hash_until_revoked,
    a_use_is_recorded_at_most_once_per_window,
    a_live_keys_grant_keeps_its_group_and_role,
    a_keys_routing_action_logs_no_user,
);
