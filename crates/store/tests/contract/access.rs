//! The access model's storage: root groups, grants kept beside the old
//! role, inboxes in groups.

use std::sync::Arc;

use switchboard_core::Role;
use switchboard_core::access::{BuiltinRole, Grant, RoleId};
use switchboard_core::ids::AccountId;
use switchboard_core::model::NewUser;
use switchboard_store::{Store, StoreError};

use crate::fixtures::{HASH, tenant};

async fn a_new_account_has_a_root_group_its_owner_and_inboxes_sit_at(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let access = store.account_access(t.account.id).await.expect("access");
    let root = access.groups.root();
    assert_eq!(access.groups.rows().collect::<Vec<_>>(), [(root, None)]);
    assert_eq!(access.roles.custom_roles().count(), 0);
    assert_eq!(t.inbox.group_id, root);
    assert_eq!(
        store.grants_of(t.owner.id).await.expect("grants"),
        [Grant::new(RoleId::OWNER, root)]
    );
    let other = tenant(&store, "globex").await;
    let theirs = store
        .account_access(other.account.id)
        .await
        .expect("access");
    assert_ne!(theirs.groups.root(), root, "a root group per account");
}

async fn a_new_user_is_granted_their_role_at_the_root(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let root = store
        .account_access(t.account.id)
        .await
        .expect("access")
        .groups
        .root();
    for (role, builtin) in [
        (Role::Owner, BuiltinRole::Owner),
        (Role::Admin, BuiltinRole::Administrator),
        (Role::Operator, BuiltinRole::Operator),
        (Role::Viewer, BuiltinRole::Viewer),
    ] {
        let user = store
            .create_user(NewUser {
                account_id: t.account.id,
                email: &format!("{}.user@acme.example", role.as_str()),
                name: role.as_str(),
                password_hash: HASH,
                role,
                capacity: 0,
            })
            .await
            .expect("create user");
        assert_eq!(user.role, role, "the old role is kept");
        assert_eq!(
            store.grants_of(user.id).await.expect("grants"),
            [Grant::new(RoleId::Builtin(builtin), root)]
        );
    }
}

async fn an_unknown_account_has_no_access(store: Arc<dyn Store>) {
    assert!(matches!(
        store.account_access(AccountId::new()).await,
        Err(StoreError::NotFound)
    ));
}

contract_tests!(
    a_new_account_has_a_root_group_its_owner_and_inboxes_sit_at,
    a_new_user_is_granted_their_role_at_the_root,
    an_unknown_account_has_no_access,
);
