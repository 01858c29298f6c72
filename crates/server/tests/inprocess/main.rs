//! The server's own parts in one process, without sockets: hubs sharing a
//! store (and an in-memory bus for several nodes), consoles that send
//! frames through the WebSocket adapter and read their outbox, and a manual
//! clock the tests move. The black-box suite (tests/blackbox) runs the same
//! rules on real processes, Postgres and Redis.

mod access_live;
mod architecture;
mod cluster;
mod hub;
mod lapse;
mod support;
