//! The access model: who may see and do what, where.
//!
//! - [`catalogue`]: the permissions, each a stable string id, and
//!   [`PermissionSet`], a set of them in one word.
//! - [`roles`]: the read-only built-in roles and an account's custom roles
//!   ([`RoleBook`]).
//! - [`groups`]: the account's tree of groups ([`GroupTree`]).
//! - [`grants`]: grants (role at group) and the permissions they add up to
//!   at a group ([`AccountAccess`]); ownership.
//! - [`policy`]: every check on conversations, groups, users and the
//!   account ([`Policy::decide`]: allowed, forbidden or not found), the
//!   and the listing filter made from the same grants
//!   ([`ConversationFilter`]).
//! - [`escalation`]: who may change whose grants and define which roles,
//!   each rule a pure check with its [`Refusal`].
//!
//! Pure, like the rest of the core: the store loads an account's groups,
//! custom roles and a user's grants, and asks.

pub mod catalogue;
pub mod escalation;
pub mod grants;
pub mod groups;
pub mod policy;
pub mod roles;

pub use catalogue::{Permission, PermissionSet, UnknownPermission};
pub use escalation::{
    Refusal, check_define_role, check_delete_role, check_edit_role, check_key_grants,
    check_manage_user, check_remove_user, check_set_grants, check_transfer_ownership,
};
pub use grants::{AccountAccess, Grant};
pub use groups::{GroupError, GroupTree};
pub use policy::{ConversationFilter, ConversationScope, Decision, Policy, Target};
pub use roles::{BuiltinRole, CustomRole, RoleBook, RoleId, UnknownRole};

#[cfg(test)]
mod samples;
