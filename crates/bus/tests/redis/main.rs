//! The Redis bus against real `redis-server` processes on loopback: the
//! contract suite on a single server and on a three-master Redis Cluster,
//! then what only Redis has (load, slots, outages, liveness on Redis' clock).
//! Every test starts Redis processes of its own.

mod cluster;
mod contract;
mod gather;
mod liveness;
mod load;
mod outage;
mod support;
mod throughput;
