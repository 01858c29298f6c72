//! The deterministic simulation of a Switchboard cluster (issue 16, item
//! 2), built in steps. Here so far: the seeded source of chance ([`rng`]),
//! runs that a seed decides entirely, the server's own hash keys, ids and
//! wall clock included ([`det`]), and the simulated bus ([`bus`]), which
//! fails like Redis pub/sub in virtual time and passes the bus contract
//! suite.

pub mod bus;
pub mod det;
pub mod rng;
pub mod store;
