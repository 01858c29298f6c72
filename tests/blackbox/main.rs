//! Black-box tests: each starts real `switchboard` processes on loopback,
//! sets them up with the admin CLI, and talks to them over HTTP and
//! WebSocket exactly as consoles and channels do.

mod support;

mod access_api;
mod access_cli;
mod access_cluster;
mod assignment;
mod audit;
mod auth;
mod bad_input;
mod catch_up;
mod cluster;
mod errors;
mod faults;
mod handover;
mod http_edge;
mod inbound;
mod lapse;
mod messenger;
mod operations;
mod operator;
mod reconnect;
mod rooms;
mod send;
mod take_race;
mod throttling;
mod two_factor;
mod ws_guard;
