//! Switchboard's server: HTTP and WebSocket (axum, tokio-tungstenite), the
//! hub (connections, presence, fan-out), the REST API and its OpenAPI
//! description, configuration, startup, graceful shutdown and metrics.
//!
//! It wires the other crates together and is the only one that does: the
//! rules live in `switchboard-core`, persistence in `switchboard-store`, the
//! bus between nodes in `switchboard-bus`. Mapping between wire types and
//! domain types happens in [`mapping`] and nowhere else.

pub mod accept;
pub mod admin;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod http;
pub mod hub;
pub mod mapping;
pub mod metrics;
pub mod startup;
pub mod state;
pub mod ws;

pub use startup::Application;
