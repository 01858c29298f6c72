//! The wire contract's tests, in one binary: the golden fixtures parse into
//! the right frames and serialize back unchanged, readers tolerate unknown
//! fields and refuse malformed frames, the committed JSON Schema matches the
//! types and accepts every fixture, PROTOCOL.md's examples are real frames,
//! and its tables of frames, fields, acks and errors agree with the schema and
//! the fixtures.
//!
//! `SWITCHBOARD_UPDATE_SCHEMA=1 cargo test -p switchboard-proto` rewrites
//! `proto/schema/*.schema.json` from the types instead of comparing them.

mod doc;
mod fields;
mod fixtures;
mod malformed;
mod markdown;
mod schema;
mod support;
mod tables;
