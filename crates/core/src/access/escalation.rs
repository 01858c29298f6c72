//! Who may change whose rights: the rules that keep anyone from giving
//! themselves or others more than they hold, and keep the owner in place.
//!
//! - `users.manage` at G lets one manage the users whose grants all lie
//!   where one holds `users.manage` (G's subtree), and grant roles only there.
//! - Nobody grants a role holding a permission they do not hold at that
//!   group, nor defines a custom role with a permission they lack
//!   account-wide (at the root).
//! - The owner is never deactivated, removed or downgraded; the `owner` role
//!   is never granted; only the owner transfers ownership.
//!
//! Each rule is a pure check returning the [`Refusal`] that says why not.

use super::catalogue::{Permission, PermissionSet};
use super::grants::{AccountAccess, Grant};
use super::roles::{BuiltinRole, RoleId};
use crate::ids::GroupId;

/// Why a change of users, grants or roles is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this needs the `{permission}` permission at group {group}")]
    Missing {
        permission: Permission,
        group: GroupId,
    },
    #[error("this user holds grants outside the groups where you manage users")]
    UserOutsideReach,
    #[error("you do not manage users at group {0}")]
    GroupOutsideReach(GroupId),
    #[error("role {role} holds `{permission}`, which you do not hold at group {group}")]
    Escalation {
        role: RoleId,
        permission: Permission,
        group: GroupId,
    },
    #[error("a role you define cannot hold `{0}`, which you do not hold account-wide")]
    RoleEscalation(Permission),
    #[error("the built-in role `{}` cannot be changed or deleted", .0.as_str())]
    BuiltinRole(BuiltinRole),
    #[error("the owner cannot be deactivated, removed or downgraded")]
    OwnerIsPermanent,
    #[error("the owner role is never granted: the owner transfers ownership")]
    OwnershipNotGranted,
    #[error("only the owner may transfer ownership")]
    NotOwner,
    #[error("no role {0} in this account")]
    UnknownRole(RoleId),
    #[error("no group {0} in this account")]
    UnknownGroup(GroupId),
}

/// Whether `actor` may manage (edit, list, change the grants of) the user
/// holding `target`: they hold `users.manage` somewhere, and at the group of
/// every grant of the target. A user without grants (just invited, or whose
/// grants were all taken away) may be picked up by anyone who manages users.
pub fn check_manage_user(
    access: &AccountAccess,
    actor: &[Grant],
    target: &[Grant],
) -> Result<(), Refusal> {
    if !manages_somewhere(access, actor) {
        return Err(Refusal::Missing {
            permission: Permission::UsersManage,
            group: access.groups.root(),
        });
    }
    match target.iter().all(|g| manages_at(access, actor, g.group)) {
        true => Ok(()),
        false => Err(Refusal::UserOutsideReach),
    }
}

/// Whether `actor` may replace the grants of a user holding `current` by
/// `new`: they manage the user, the owner keeps ownership, and every grant
/// added is at a group where the actor manages users, of a role they hold
/// all of there (and never `owner`). Grants kept or taken away need only the
/// first.
pub fn check_set_grants(
    access: &AccountAccess,
    actor: &[Grant],
    current: &[Grant],
    new: &[Grant],
) -> Result<(), Refusal> {
    check_manage_user(access, actor, current)?;
    if access.is_owner(current) && !access.is_owner(new) {
        return Err(Refusal::OwnerIsPermanent);
    }
    new.iter()
        .filter(|g| !current.contains(g))
        .try_for_each(|g| check_new_grant(access, actor, *g))
}

/// Whether `actor` may give an API key the grants `new`: each of a role
/// they hold all of at its group (never `owner`), the same rule against
/// escalation as for a user's grants. Unlike a user's grants it needs no
/// `users.manage`: a key is nobody to manage, and what makes keys is
/// `developers.manage` account-wide, which the caller checks.
pub fn check_key_grants(
    access: &AccountAccess,
    actor: &[Grant],
    new: &[Grant],
) -> Result<(), Refusal> {
    new.iter()
        .try_for_each(|g| check_grant_held(access, actor, *g))
}

/// One grant the actor adds.
fn check_new_grant(access: &AccountAccess, actor: &[Grant], grant: Grant) -> Result<(), Refusal> {
    check_known(access, grant)?;
    if !manages_at(access, actor, grant.group) {
        return Err(Refusal::GroupOutsideReach(grant.group));
    }
    check_grant_held(access, actor, grant)
}

/// The grant names a group and role of the account, and not `owner`.
fn check_known(access: &AccountAccess, grant: Grant) -> Result<(), Refusal> {
    if !access.groups.contains(grant.group) {
        return Err(Refusal::UnknownGroup(grant.group));
    }
    if access.roles.permissions(grant.role).is_none() {
        return Err(Refusal::UnknownRole(grant.role));
    }
    if grant.role == RoleId::OWNER {
        return Err(Refusal::OwnershipNotGranted);
    }
    Ok(())
}

/// The actor holds every permission of the grant's role at its group.
fn check_grant_held(access: &AccountAccess, actor: &[Grant], grant: Grant) -> Result<(), Refusal> {
    check_known(access, grant)?;
    let role = access
        .roles
        .permissions(grant.role)
        .ok_or(Refusal::UnknownRole(grant.role))?;
    let held = access.permissions_at(actor, grant.group);
    match role.without(held).iter().next() {
        Some(permission) => Err(Refusal::Escalation {
            role: grant.role,
            permission,
            group: grant.group,
        }),
        None => Ok(()),
    }
}

/// Whether `actor` may deactivate or remove the user holding `target`: they
/// manage the user, who is not the owner.
pub fn check_remove_user(
    access: &AccountAccess,
    actor: &[Grant],
    target: &[Grant],
) -> Result<(), Refusal> {
    check_manage_user(access, actor, target)?;
    match access.is_owner(target) {
        true => Err(Refusal::OwnerIsPermanent),
        false => Ok(()),
    }
}

/// Whether `actor` may hand ownership to another user: only the owner may.
pub fn check_transfer_ownership(access: &AccountAccess, actor: &[Grant]) -> Result<(), Refusal> {
    match access.is_owner(actor) {
        true => Ok(()),
        false => Err(Refusal::NotOwner),
    }
}

/// Whether `actor` may define a custom role with `permissions`: they hold
/// `roles.manage` account-wide, and every one of the permissions there too.
pub fn check_define_role(
    access: &AccountAccess,
    actor: &[Grant],
    permissions: PermissionSet,
) -> Result<(), Refusal> {
    let held = check_roles_manage(access, actor)?;
    match permissions.without(held).iter().next() {
        Some(permission) => Err(Refusal::RoleEscalation(permission)),
        None => Ok(()),
    }
}

/// Whether `actor` may give the role `role` the permissions `permissions`:
/// a custom role of the account, redefined as [`check_define_role`] allows.
pub fn check_edit_role(
    access: &AccountAccess,
    actor: &[Grant],
    role: RoleId,
    permissions: PermissionSet,
) -> Result<(), Refusal> {
    check_custom_role(access, role)?;
    check_define_role(access, actor, permissions)
}

/// Whether `actor` may delete the role `role`: a custom role of the
/// account, by someone with `roles.manage` account-wide (whether it is still
/// granted is the store's to say).
pub fn check_delete_role(
    access: &AccountAccess,
    actor: &[Grant],
    role: RoleId,
) -> Result<(), Refusal> {
    check_custom_role(access, role)?;
    check_roles_manage(access, actor).map(|_| ())
}

/// Built-in roles are read-only; a custom role must be the account's.
fn check_custom_role(access: &AccountAccess, role: RoleId) -> Result<(), Refusal> {
    match role {
        RoleId::Builtin(builtin) => Err(Refusal::BuiltinRole(builtin)),
        RoleId::Custom(_) if access.roles.permissions(role).is_none() => {
            Err(Refusal::UnknownRole(role))
        }
        RoleId::Custom(_) => Ok(()),
    }
}

/// `roles.manage` account-wide; answers what the actor holds there.
fn check_roles_manage(access: &AccountAccess, actor: &[Grant]) -> Result<PermissionSet, Refusal> {
    let held = access.account_wide(actor);
    match held.contains(Permission::RolesManage) {
        true => Ok(held),
        false => Err(Refusal::Missing {
            permission: Permission::RolesManage,
            group: access.groups.root(),
        }),
    }
}

fn manages_at(access: &AccountAccess, actor: &[Grant], group: GroupId) -> bool {
    access.holds(actor, Permission::UsersManage, group)
}

fn manages_somewhere(access: &AccountAccess, actor: &[Grant]) -> bool {
    actor.iter().any(|g| manages_at(access, actor, g.group))
}

#[cfg(test)]
mod tests;
