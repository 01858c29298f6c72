//! Switchboard's server: the application layer ([`app`]: every use case,
//! written once), the realtime engine of a node ([`hub`]: connections,
//! presence, fan-out, cluster synchronisation), and the three transports
//! that adapt them: WebSocket ([`ws`], with the listener in [`accept`]),
//! REST ([`http`], with its OpenAPI description) and the command line
//! ([`cli`], [`admin`]); plus configuration, startup, graceful shutdown and
//! metrics.
//!
//! It wires the other crates together and is the only one that does: the
//! rules live in `switchboard-core`, persistence in `switchboard-store`, the
//! bus between nodes in `switchboard-bus`. Dependencies point one way:
//! transports -> app -> hub; nothing below knows the transports. Domain
//! types become wire types in [`mapping`], application errors become wire
//! errors and HTTP statuses in [`refusals`], and nowhere else.

pub mod accept;
pub mod access;
pub mod admin;
pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod http;
pub mod hub;
pub mod listen;
pub mod mail;
pub mod mapping;
pub mod metrics;
#[cfg(feature = "mutations")]
pub mod mutations;
pub mod origin;
pub mod refusals;
pub mod secret_key;
pub mod startup;
pub mod state;
pub mod ws;
// webhooks
pub mod webhooks;

pub use startup::Application;
