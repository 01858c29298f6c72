//! switchboard-loadgen: the load generator for Switchboard's presence engine
//! and fan-out, and for the floor server it is compared with.
//!
//! It owns the scenarios (`idle`, `fanout`, `churn`, `inbound`), the
//! coordinator that starts the target and its worker processes, the worker
//! that drives connections over the v1 protocol (the `switchboard-proto`
//! types, as any console would), and the report: counts inside a measure
//! window, latency histograms, and the server's CPU and memory as the kernel
//! reports them. It only ever talks to the server over its public contract
//! (admin CLI, HTTP, WebSocket) and must not depend on the server's crates.
//!
//! [`run`] is the whole run as a library call; the binary adds printing.

pub mod bench;
pub mod cli;
pub mod clock;
pub mod coordinator;
pub mod histo;
pub mod plan;
pub mod procfs;
pub mod report;
pub mod run_options;
pub mod setup;
pub mod target;
pub mod watching;
pub mod worker;
pub mod workers;

pub use cli::Cli;
pub use coordinator::run;
pub use report::Report;
