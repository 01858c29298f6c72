//! Black-box tests: each starts real `switchboard` processes on loopback,
//! sets them up with the admin CLI, and talks to them over HTTP and
//! WebSocket exactly as consoles and channels do.

mod support;

mod access_api;
mod access_cli;
mod access_cluster;
mod access_matrix;
mod assignment;
mod audit;
mod auth;
mod bad_input;
mod catch_up;
mod cluster;
mod conformance;
mod contacts;
mod errors;
mod faults;
mod folders;
mod handover;
mod http_edge;
mod inbound;
mod invitations;
mod invitations_scope;
mod lapse;
mod lifecycle;
mod messenger;
mod operations;
mod operator;
mod ownership;
mod reconnect;
mod rooms;
mod seats;
mod send;
mod sessions;
mod supervision;
mod take_race;
mod templates;
mod throttling;
mod two_factor;
mod ws_guard;

// API keys (docs/MODULES.md).
mod api_keys;
// webhooks
mod webhooks;
// statistics
mod statistics;
// The console's first-run setup.
mod setup;
// Browsers: CORS, CSRF, WebSocket tickets and refusals (docs/BROWSERS.md).
mod browsers_csrf;
mod browsers_ws;
