use proptest::prelude::*;
use proptest::sample::Index;

use super::*;
use crate::access::roles::{CustomRole, RoleBook};
use crate::access::samples::{Sample, arb_access, arb_grants, arb_permissions, builtin, sample};
use crate::ids::CustomRoleId;
use crate::input::Name;

/// The sample account with the owner and an administrator at the root, an
/// administrator at north, and one custom role.
struct Account {
    access: AccountAccess,
    root: GroupId,
    north: GroupId,
    oslo: GroupId,
    south: GroupId,
    owner: Vec<Grant>,
    admin: Vec<Grant>,
    north_admin: Vec<Grant>,
    custom: RoleId,
}

fn account() -> Account {
    let id = CustomRoleId::new();
    let roles = RoleBook::new([(
        id,
        CustomRole {
            name: Name::parse("role.name", "Night shift").unwrap(),
            permissions: PermissionSet::of(&[Permission::ConversationsView]),
        },
    )]);
    let Sample {
        access,
        root,
        north,
        oslo,
        south,
    } = sample(roles);
    Account {
        access,
        root,
        north,
        oslo,
        south,
        owner: vec![Grant::new(RoleId::OWNER, root)],
        admin: vec![builtin(BuiltinRole::Administrator, root)],
        north_admin: vec![builtin(BuiltinRole::Administrator, north)],
        custom: RoleId::Custom(id),
    }
}

#[test]
fn a_manager_reaches_the_users_whose_grants_all_lie_below_them() {
    let a = account();
    let in_oslo = [builtin(BuiltinRole::Operator, a.oslo)];
    let also_south = [in_oslo[0], builtin(BuiltinRole::Viewer, a.south)];
    assert_eq!(
        check_manage_user(&a.access, &a.north_admin, &in_oslo),
        Ok(())
    );
    assert_eq!(
        check_manage_user(&a.access, &a.north_admin, &also_south),
        Err(Refusal::UserOutsideReach)
    );
    assert_eq!(
        check_manage_user(&a.access, &a.north_admin, &a.admin),
        Err(Refusal::UserOutsideReach)
    );
    assert_eq!(check_manage_user(&a.access, &a.admin, &also_south), Ok(()));
    assert_eq!(check_manage_user(&a.access, &a.north_admin, &[]), Ok(()));
}

#[test]
fn without_users_manage_nobody_is_managed() {
    let a = account();
    let operator = [builtin(BuiltinRole::Operator, a.root)];
    assert_eq!(
        check_manage_user(&a.access, &operator, &[]),
        Err(Refusal::Missing {
            permission: Permission::UsersManage,
            group: a.root
        })
    );
}

#[test]
fn a_sub_group_administrator_grants_neither_at_the_root_nor_billing() {
    let a = account();
    let at_root = [builtin(BuiltinRole::Operator, a.root)];
    assert_eq!(
        check_set_grants(&a.access, &a.north_admin, &[], &at_root),
        Err(Refusal::GroupOutsideReach(a.root))
    );
    let accountant = [builtin(BuiltinRole::Accountant, a.oslo)];
    assert_eq!(
        check_set_grants(&a.access, &a.north_admin, &[], &accountant),
        Err(Refusal::Escalation {
            role: accountant[0].role,
            permission: Permission::BillingManage,
            group: a.oslo
        })
    );
    let operator = [
        builtin(BuiltinRole::Operator, a.oslo),
        Grant::new(a.custom, a.north),
    ];
    assert_eq!(
        check_set_grants(&a.access, &a.north_admin, &[], &operator),
        Ok(())
    );
}

#[test]
fn nobody_grants_a_role_holding_more_than_they_hold_there() {
    let a = account();
    // Users manager at north who does not answer conversations.
    let id = CustomRoleId::new();
    let mut access = a.access.clone();
    access.roles.put(
        id,
        CustomRole {
            name: Name::parse("role.name", "People").unwrap(),
            permissions: PermissionSet::of(&[Permission::UsersManage]),
        },
    );
    let people = [Grant::new(RoleId::Custom(id), a.north)];
    let operator = [builtin(BuiltinRole::Operator, a.oslo)];
    assert!(matches!(
        check_set_grants(&access, &people, &[], &operator),
        Err(Refusal::Escalation { .. })
    ));
    assert_eq!(check_set_grants(&access, &people, &[], &people), Ok(()));
}

#[test]
fn kept_and_removed_grants_need_only_reach() {
    let a = account();
    let current = [builtin(BuiltinRole::Accountant, a.oslo)];
    assert_eq!(
        check_set_grants(&a.access, &a.north_admin, &current, &current),
        Ok(())
    );
    assert_eq!(
        check_set_grants(&a.access, &a.north_admin, &current, &[]),
        Ok(())
    );
}

#[test]
fn grants_name_known_groups_and_roles() {
    let a = account();
    let stray_group = GroupId::new();
    assert_eq!(
        check_set_grants(
            &a.access,
            &a.admin,
            &[],
            &[builtin(BuiltinRole::Viewer, stray_group)]
        ),
        Err(Refusal::UnknownGroup(stray_group))
    );
    let stray_role = RoleId::Custom(CustomRoleId::new());
    assert_eq!(
        check_set_grants(&a.access, &a.admin, &[], &[Grant::new(stray_role, a.root)]),
        Err(Refusal::UnknownRole(stray_role))
    );
}

#[test]
fn the_owner_stays_and_ownership_is_never_granted() {
    let a = account();
    for actor in [&a.owner, &a.admin] {
        assert_eq!(
            check_set_grants(&a.access, actor, &a.owner, &a.admin),
            Err(Refusal::OwnerIsPermanent)
        );
        assert_eq!(
            check_set_grants(&a.access, actor, &[], &a.owner),
            Err(Refusal::OwnershipNotGranted)
        );
        assert_eq!(
            check_remove_user(&a.access, actor, &a.owner),
            Err(Refusal::OwnerIsPermanent)
        );
    }
    let plus_viewer = [a.owner[0], builtin(BuiltinRole::Viewer, a.south)];
    assert_eq!(
        check_set_grants(&a.access, &a.owner, &a.owner, &plus_viewer),
        Ok(())
    );
    assert_eq!(check_remove_user(&a.access, &a.owner, &a.admin), Ok(()));
    assert_eq!(
        check_remove_user(&a.access, &a.north_admin, &a.admin),
        Err(Refusal::UserOutsideReach)
    );
}

#[test]
fn only_the_owner_transfers_ownership() {
    let a = account();
    assert_eq!(check_transfer_ownership(&a.access, &a.owner), Ok(()));
    assert_eq!(
        check_transfer_ownership(&a.access, &a.admin),
        Err(Refusal::NotOwner)
    );
}

#[test]
fn nobody_defines_a_role_with_a_permission_they_lack_account_wide() {
    let a = account();
    let billing = PermissionSet::of(&[Permission::BillingManage, Permission::ContactsView]);
    assert_eq!(
        check_define_role(&a.access, &a.admin, billing),
        Err(Refusal::RoleEscalation(Permission::BillingManage))
    );
    assert_eq!(check_define_role(&a.access, &a.owner, billing), Ok(()));
    let contacts = PermissionSet::of(&[Permission::ContactsView]);
    assert_eq!(check_define_role(&a.access, &a.admin, contacts), Ok(()));
    assert_eq!(
        check_define_role(&a.access, &a.north_admin, contacts),
        Err(Refusal::Missing {
            permission: Permission::RolesManage,
            group: a.root
        })
    );
    assert_eq!(
        check_edit_role(&a.access, &a.admin, a.custom, billing),
        Err(Refusal::RoleEscalation(Permission::BillingManage))
    );
    assert_eq!(
        check_edit_role(&a.access, &a.admin, a.custom, contacts),
        Ok(())
    );
}

#[test]
fn built_in_roles_are_read_only_and_unknown_roles_are_not_found() {
    let a = account();
    let operator = RoleId::Builtin(BuiltinRole::Operator);
    assert_eq!(
        check_edit_role(&a.access, &a.owner, operator, PermissionSet::EMPTY),
        Err(Refusal::BuiltinRole(BuiltinRole::Operator))
    );
    assert_eq!(
        check_delete_role(&a.access, &a.owner, operator),
        Err(Refusal::BuiltinRole(BuiltinRole::Operator))
    );
    let stray = RoleId::Custom(CustomRoleId::new());
    assert_eq!(
        check_delete_role(&a.access, &a.owner, stray),
        Err(Refusal::UnknownRole(stray))
    );
    assert_eq!(check_delete_role(&a.access, &a.admin, a.custom), Ok(()));
    assert!(matches!(
        check_delete_role(&a.access, &a.north_admin, a.custom),
        Err(Refusal::Missing { .. })
    ));
}

proptest! {
    #[test]
    fn an_allowed_change_never_gives_more_than_the_actor_holds(
        (access, ids) in arb_access(8),
        actor in (proptest::collection::vec(any::<Index>(), 1..4), proptest::collection::vec(any::<Index>(), 4)),
        current in (proptest::collection::vec(any::<Index>(), 0..3), proptest::collection::vec(any::<Index>(), 3)),
        new in (proptest::collection::vec(any::<Index>(), 0..4), proptest::collection::vec(any::<Index>(), 4)),
    ) {
        let actor = arb_grants(&access, &ids, &actor.0, &actor.1);
        let current = arb_grants(&access, &ids, &current.0, &current.1);
        let new = arb_grants(&access, &ids, &new.0, &new.1);
        if check_set_grants(&access, &actor, &current, &new).is_ok() {
            for &g in &ids {
                let gained = access.permissions_at(&new, g).without(access.permissions_at(&current, g));
                prop_assert!(gained.is_subset(access.permissions_at(&actor, g)));
                if !gained.is_empty() {
                    prop_assert!(access.holds(&actor, Permission::UsersManage, g));
                }
            }
            prop_assert!(!access.is_owner(&current) || access.is_owner(&new));
            prop_assert!(access.is_owner(&current) || !access.is_owner(&new));
        }
    }

    #[test]
    fn an_allowed_role_never_holds_more_than_its_author(
        (access, ids) in arb_access(4),
        actor in (proptest::collection::vec(any::<Index>(), 1..4), proptest::collection::vec(any::<Index>(), 4)),
        permissions in arb_permissions(),
    ) {
        let actor = arb_grants(&access, &ids, &actor.0, &actor.1);
        let allowed = check_define_role(&access, &actor, permissions).is_ok();
        let held = access.account_wide(&actor);
        prop_assert_eq!(
            allowed,
            held.contains(Permission::RolesManage) && permissions.is_subset(held)
        );
    }
}

#[test]
fn a_key_gets_what_its_maker_holds_there_without_managing_users() {
    let a = account();
    // A developer at the root: developers.manage, no users.manage.
    let developer = [builtin(BuiltinRole::Developer, a.root)];
    let operator = [builtin(BuiltinRole::Operator, a.north)];
    assert!(
        check_set_grants(&a.access, &developer, &[], &operator).is_err(),
        "a developer grants a person nothing"
    );
    assert_eq!(check_key_grants(&a.access, &developer, &operator), Ok(()));
    let inbox_manager = [builtin(BuiltinRole::InboxManager, a.oslo)];
    let lacked = [
        Permission::ConversationsAssign,
        Permission::ConversationsTakeOver,
    ];
    assert!(
        matches!(
            check_key_grants(&a.access, &developer, &inbox_manager),
            Err(Refusal::Escalation { role, permission, group })
                if role == inbox_manager[0].role && group == a.oslo && lacked.contains(&permission)
        ),
        "nothing the developer lacks"
    );
    let owner = [builtin(BuiltinRole::Owner, a.root)];
    assert_eq!(
        check_key_grants(&a.access, &a.owner, &owner),
        Err(Refusal::OwnershipNotGranted)
    );
    assert_eq!(
        check_key_grants(
            &a.access,
            &a.north_admin,
            &[builtin(BuiltinRole::Viewer, a.root)]
        ),
        Err(Refusal::Escalation {
            role: RoleId::Builtin(BuiltinRole::Viewer),
            permission: Permission::ConversationsView,
            group: a.root
        }),
        "a north administrator holds nothing at the root"
    );
}
