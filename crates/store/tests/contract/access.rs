//! The access model's storage: root groups, grants kept beside the old
//! role, inboxes in groups.

use std::sync::Arc;

use switchboard_core::Role;
use switchboard_core::access::{BuiltinRole, CustomRole, Grant, Permission, PermissionSet, RoleId};
use switchboard_core::ids::{AccountId, CustomRoleId, GroupId, UserId};
use switchboard_core::model::{Group, NewUser};
use switchboard_store::{Store, StoreError};

use crate::fixtures::{HASH, Tenant, agent, group, inbox, name, root_of, tenant};

fn conflict<T: std::fmt::Debug>(outcome: Result<T, StoreError>) {
    assert!(
        matches!(outcome, Err(StoreError::Conflict(_))),
        "{outcome:?}"
    );
}

fn not_found<T: std::fmt::Debug>(outcome: Result<T, StoreError>) {
    assert!(matches!(outcome, Err(StoreError::NotFound)), "{outcome:?}");
}

fn builtin(role: BuiltinRole, group: GroupId) -> Grant {
    Grant::new(RoleId::Builtin(role), group)
}

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
    // The account's owner was made with it; a second owner is refused
    // (one owner per account, migration 0009).
    assert_eq!(
        store.grants_of(t.owner.id).await.expect("grants"),
        [Grant::new(RoleId::OWNER, root)]
    );
    let second = store
        .create_user(NewUser {
            account_id: t.account.id,
            email: "second.owner@acme.example",
            name: "owner",
            password_hash: HASH,
            role: Role::Owner,
            capacity: 0,
        })
        .await;
    assert!(matches!(second, Err(StoreError::Conflict(_))), "{second:?}");
    for (role, builtin) in [
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

async fn groups_are_created_renamed_moved_and_listed(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let other = tenant(&store, "globex").await;
    let root = root_of(&store, &t).await;
    let north = group(&store, &t, "North", root).await;
    let oslo = group(&store, &t, "Oslo", north).await;
    let south = group(&store, &t, "South", root).await;
    let renamed = store
        .rename_group(t.account.id, oslo, &name("Bergen"))
        .await;
    assert_eq!(renamed.expect("rename").name, "Bergen");
    let moved = store.move_group(t.account.id, oslo, south).await;
    assert_eq!(moved.expect("move").parent_id, Some(south));
    conflict(store.move_group(t.account.id, south, oslo).await);
    conflict(store.move_group(t.account.id, root, north).await);
    not_found(store.move_group(other.account.id, oslo, root).await);
    not_found(store.rename_group(other.account.id, oslo, &name("X")).await);
    let theirs = root_of(&store, &other).await;
    not_found(store.create_group(t.account.id, &name("X"), theirs).await);
    let access = store.account_access(t.account.id).await.expect("access");
    assert_eq!(
        access.groups.lineage(oslo).collect::<Vec<_>>(),
        [oslo, south, root]
    );
    assert_eq!(access.groups.subtree(north), [north]);
    let listed = store.groups_of(t.account.id).await.expect("groups");
    let group = |id, name: &str, parent| Group {
        id,
        account_id: t.account.id,
        name: name.into(),
        parent_id: parent,
    };
    assert_eq!(
        listed,
        [
            group(root, "acme", None),
            group(north, "North", Some(root)),
            group(oslo, "Bergen", Some(south)),
            group(south, "South", Some(root)),
        ]
    );
}

async fn only_an_empty_group_is_deleted(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let account = t.account.id;
    let root = root_of(&store, &t).await;
    let parent = group(&store, &t, "parent", root).await;
    group(&store, &t, "child", parent).await;
    let with_inbox = group(&store, &t, "inbox", root).await;
    let second = inbox(&store, &t.account, "acme-second").await;
    store
        .set_inbox_group(second.id, with_inbox)
        .await
        .expect("move inbox");
    let granted = group(&store, &t, "granted", root).await;
    let ann = agent(&store, &t, "ann").await;
    let grants = [builtin(BuiltinRole::Operator, granted)];
    store.set_grants(ann.id, &grants).await.expect("grant");
    let empty = group(&store, &t, "empty", root).await;
    for refused in [root, parent, with_inbox, granted] {
        conflict(store.delete_group(account, refused).await);
    }
    not_found(store.delete_group(account, GroupId::new()).await);
    store.delete_group(account, empty).await.expect("delete");
    let access = store.account_access(account).await.expect("access");
    assert!(!access.groups.contains(empty) && access.groups.contains(granted));
}

async fn grants_are_replaced_whole(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let other = tenant(&store, "globex").await;
    let root = root_of(&store, &t).await;
    let north = group(&store, &t, "North", root).await;
    let ann = agent(&store, &t, "ann").await;
    let sales = sales_role(&store, &t).await;
    let mut grants = vec![
        builtin(BuiltinRole::Viewer, root),
        builtin(BuiltinRole::Operator, north),
        Grant::new(RoleId::Custom(sales), north),
    ];
    store.set_grants(ann.id, &grants).await.expect("set grants");
    grants.sort();
    assert_eq!(store.grants_of(ann.id).await.expect("grants"), grants);

    let theirs = root_of(&store, &other).await;
    let foreign = [builtin(BuiltinRole::Viewer, theirs)];
    not_found(store.set_grants(ann.id, &foreign).await);
    let unknown_role = [Grant::new(RoleId::Custom(CustomRoleId::new()), root)];
    not_found(store.set_grants(ann.id, &unknown_role).await);
    not_found(store.set_grants(UserId::new(), &[]).await);
    assert_eq!(
        store.grants_of(ann.id).await.expect("grants"),
        grants,
        "a refused replacement changes nothing"
    );
    let mut everyone = vec![
        (ann.id, grants[0]),
        (ann.id, grants[1]),
        (ann.id, grants[2]),
    ];
    everyone.push((t.owner.id, Grant::new(RoleId::OWNER, root)));
    everyone.sort();
    let listed = store
        .account_grants(t.account.id)
        .await
        .expect("account grants");
    assert_eq!(
        listed, everyone,
        "every grant of the account, none of another"
    );
    store.set_grants(ann.id, &[]).await.expect("no grants");
    assert_eq!(store.grants_of(ann.id).await.expect("grants"), []);
}

async fn sales_role(store: &Arc<dyn Store>, t: &Tenant) -> CustomRoleId {
    let role = CustomRole {
        name: name("Field sales"),
        permissions: PermissionSet::of(&[Permission::ConversationsViewAssigned]),
    };
    store
        .create_custom_role(t.account.id, &role)
        .await
        .expect("create role")
}

async fn custom_roles_are_kept_and_not_deleted_while_granted(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let account = t.account.id;
    let root = root_of(&store, &t).await;
    let sales = sales_role(&store, &t).await;
    let copy = CustomRole {
        name: name("Field sales"),
        permissions: PermissionSet::EMPTY,
    };
    conflict(store.create_custom_role(account, &copy).await);
    let edited = CustomRole {
        name: name("Sales North"),
        permissions: PermissionSet::of(&[Permission::ConversationsView, Permission::ContactsView]),
    };
    store
        .edit_custom_role(account, sales, &edited)
        .await
        .expect("edit");
    let access = store.account_access(account).await.expect("access");
    assert_eq!(access.roles.custom(sales), Some(&edited));
    not_found(
        store
            .edit_custom_role(account, CustomRoleId::new(), &edited)
            .await,
    );

    let ann = agent(&store, &t, "ann").await;
    let grant = [Grant::new(RoleId::Custom(sales), root)];
    store.set_grants(ann.id, &grant).await.expect("grant");
    conflict(store.delete_custom_role(account, sales).await);
    store.set_grants(ann.id, &[]).await.expect("ungrant");
    store
        .delete_custom_role(account, sales)
        .await
        .expect("delete");
    not_found(store.delete_custom_role(account, sales).await);
    let access = store.account_access(account).await.expect("access");
    assert_eq!(access.roles.custom_roles().count(), 0);
}

async fn inboxes_move_between_groups_of_their_account(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let other = tenant(&store, "globex").await;
    let root = root_of(&store, &t).await;
    let north = group(&store, &t, "North", root).await;
    let moved = store
        .set_inbox_group(t.inbox.id, north)
        .await
        .expect("move");
    assert_eq!(moved.group_id, north);
    let read = store.inbox(t.inbox.id).await.expect("read").expect("inbox");
    assert_eq!(read.group_id, north);
    let theirs = root_of(&store, &other).await;
    not_found(store.set_inbox_group(t.inbox.id, theirs).await);
    not_found(store.set_inbox_group(other.inbox.id, north).await);
}

/// The account's stamp now, checked against the list of every stamp.
async fn stamp(store: &Arc<dyn Store>, account: AccountId) -> u64 {
    let one = store.access_stamp(account).await.expect("stamp");
    let all = store.access_stamps().await.expect("stamps");
    assert_eq!(
        all.iter().find(|(a, _)| *a == account),
        Some(&(account, one))
    );
    one
}

/// Every change of an account's groups, custom roles, grants or inbox
/// placement raises its access stamp, whichever store call made it; what
/// does not change access (a rename of a user or an inbox, a message)
/// leaves it, and other accounts' stamps never move.
async fn every_access_change_raises_the_accounts_stamp(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    let other = tenant(&store, "globex").await;
    let account = t.account.id;
    let theirs = stamp(&store, other.account.id).await;
    let root = root_of(&store, &t).await;
    let mut last = stamp(&store, account).await;
    let mut raised = |now: u64, what: &str| {
        assert!(now > last, "{what} raises the stamp ({last} -> {now})");
        last = now;
    };

    let north = group(&store, &t, "North", root).await;
    raised(stamp(&store, account).await, "a new group");
    let south = group(&store, &t, "South", root).await;
    store.move_group(account, south, north).await.expect("move");
    raised(stamp(&store, account).await, "a group moved");
    store
        .rename_group(account, south, &name("Sud"))
        .await
        .expect("rename");
    raised(stamp(&store, account).await, "a group renamed");
    store.delete_group(account, south).await.expect("delete");
    raised(stamp(&store, account).await, "a group deleted");

    let permissions = PermissionSet::from_iter([Permission::ConversationsView]);
    let role = CustomRole {
        name: name("Sales"),
        permissions,
    };
    let sales = store
        .create_custom_role(account, &role)
        .await
        .expect("role");
    raised(stamp(&store, account).await, "a custom role created");
    let edited = CustomRole {
        name: name("Sales"),
        permissions: PermissionSet::EMPTY,
    };
    store
        .edit_custom_role(account, sales, &edited)
        .await
        .expect("edit");
    raised(stamp(&store, account).await, "a custom role edited");

    let ann = agent(&store, &t, "ann").await;
    raised(stamp(&store, account).await, "a new user's grant");
    let grants = [Grant::new(RoleId::Custom(sales), north)];
    store.set_grants(ann.id, &grants).await.expect("grant");
    raised(stamp(&store, account).await, "grants replaced");
    store.set_grants(ann.id, &[]).await.expect("ungrant");
    raised(stamp(&store, account).await, "grants removed");
    store
        .delete_custom_role(account, sales)
        .await
        .expect("delete role");
    raised(stamp(&store, account).await, "a custom role deleted");

    let made = inbox(&store, &t.account, "Second").await;
    raised(stamp(&store, account).await, "a new inbox");
    store
        .set_inbox_group(made.id, north)
        .await
        .expect("move inbox");
    raised(stamp(&store, account).await, "an inbox moved");

    store
        .rename_inbox(made.id, &name("Renamed"))
        .await
        .expect("rename");
    store
        .rename_user(ann.id, &name("Ann S"))
        .await
        .expect("rename");
    store.set_inbox_group(made.id, north).await.expect("stay");
    assert_eq!(
        stamp(&store, account).await,
        last,
        "nothing about access changed"
    );
    assert_eq!(
        stamp(&store, other.account.id).await,
        theirs,
        "another account's stays"
    );
    not_found(store.access_stamp(AccountId::new()).await);
}

contract_tests!(
    every_access_change_raises_the_accounts_stamp,
    groups_are_created_renamed_moved_and_listed,
    only_an_empty_group_is_deleted,
    grants_are_replaced_whole,
    custom_roles_are_kept_and_not_deleted_while_granted,
    inboxes_move_between_groups_of_their_account,
    a_new_account_has_a_root_group_its_owner_and_inboxes_sit_at,
    a_new_user_is_granted_their_role_at_the_root,
    an_unknown_account_has_no_access,
);
