//! The bus between Switchboard nodes.
//!
//! It owns fan-out of events from one node to the others, the shared record
//! of who views which conversation from which node, and node liveness. It
//! must never decide who may write: the store is the authority on the active
//! role, and losing the bus must never make two writers possible.
//!
//! [`MemoryBus`] is the single-process implementation: one node (the embedded
//! default), or several nodes inside one process for tests. A Redis
//! implementation satisfies the same port and passes the same contract suite
//! (`contract` module, used by this crate's tests).

pub mod contract;
mod memory;

pub use memory::{MemoryBus, MemoryNetwork};
