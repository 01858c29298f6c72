//! switchboard-testkit: what the black-box tests and the load generator both
//! need to stand a Switchboard up from the outside, written once.
//!
//! It owns starting a server process on loopback (port 0) and reading where
//! it listens from its JSON log ([`ServerProcess`]), the `switchboard serve`
//! command line with the settings every caller wants ([`serve_launch`]),
//! setting an account up with the admin CLI and signing its users in
//! ([`Admin`], [`Tenant`]), posting customer messages ([`post_inbound`]),
//! scratch Postgres databases ([`ScratchDatabase`]), private
//! redis-servers ([`RedisServer`]) and a TCP proxy a test cuts and heals
//! between a server and them ([`TcpProxy`]).
//!
//! It is a dev-only crate (never published, never a dependency of the
//! server): it runs the `switchboard` binary by the path it is given and
//! talks to it only over its public contract (the admin CLI, HTTP, the
//! process's log), so it must not depend on the server's crates.

mod admin;
mod http;
mod ports;
mod postgres;
mod process;
mod proxy;
mod redis;

pub use admin::{Admin, Tenant, TenantSpec, User, UserSpec};
pub use http::{Contact, login, post_inbound, wait_ready};
pub use ports::free_port;
pub use postgres::ScratchDatabase;
pub use process::{
    Launch, LogOptions, SWITCHBOARD_SERVING, ServerProcess, listen_address, serve_launch,
};
pub use proxy::TcpProxy;
pub use redis::RedisServer;
pub use rustix::process::Signal;
