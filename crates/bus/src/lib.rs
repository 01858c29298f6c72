//! The bus between Switchboard nodes.
//!
//! It owns fan-out of events from one node to the others, the shared record
//! of who views which conversation from which node, and node liveness. It
//! must never decide who may write: the store is the authority on the active
//! role, and losing the bus must never make two writers possible.
//!
//! [`MemoryBus`] is the single-process implementation: one node (the embedded
//! default), or several nodes inside one process for tests. [`RedisBus`] is
//! the cluster implementation, on a single Redis server or on Redis Cluster
//! (sharded pub/sub). Both satisfy the same port and pass the same contract
//! suite: the `contract` module, instantiated for every backend by
//! `bus_contract_suite!` in this crate's tests. The suite is test code, so it
//! is compiled only with the `contract` feature, which nothing but tests
//! turn on (this crate's, and the simulated bus's in switchboard-sim); a
//! production build does not contain it.

#[cfg(feature = "contract")]
pub mod contract;
mod memory;
pub mod redis;

pub use memory::{MemoryBus, MemoryNetwork, PresenceTable};
pub use redis::{RedisBus, RedisBusConfig, RedisMode};
