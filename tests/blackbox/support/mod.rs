//! Typed helpers so each test reads like a scenario.

pub mod client;
pub mod cluster;
pub mod fault;
pub mod raw;
pub mod server;
pub mod smtp;

pub use client::WsClient;
pub use server::{Fixture, TestServer};
