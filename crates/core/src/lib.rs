//! The pure domain of Switchboard.
//!
//! It owns the ids, the access model (permissions, roles, groups, grants
//! and the one policy that decides every check: [`access`]), the
//! presence / active-responder state machine ([`presence`]), the console
//! grace that makes agents online ([`consoles`]), what a lost lease means
//! ([`lease`]), the assignment policy, the per-connection rate limiter, the
//! inputs parsed at the edge ([`input`]), the domain records and the ports
//! (traits) that the store and the bus implement. It must not do IO: no sockets, no tokio, no clocks read
//! inside a decision. Callers feed time in as plain numbers, so every rule can
//! be tested with unit tests and proptest models alone.

pub mod access;
// API keys (docs/MODULES.md).
pub mod api_keys;
pub mod assignment;
pub mod audit;
pub mod consoles;
pub mod contacts;
pub mod error;
pub mod folders;
pub mod ids;
pub mod input;
pub mod invitations;
pub mod lease;
pub mod lifecycle;
pub mod model;
pub mod permissions;
pub mod ports;
pub mod presence;
pub mod ratelimit;
pub mod templates;
pub mod two_factor;
// webhooks
pub mod webhooks;
// statistics
pub mod csv;
pub mod statistics;

pub use error::StoreError;
pub use ids::{
    AccountId, ConnId, ContactId, ConversationId, CustomRoleId, FolderId, GroupId, InboxId,
    MessageId, NodeId, TeamId, TemplateId, UserId,
};
pub use model::Principal;
pub use permissions::{Actor, Resource, Role};
