//! The committed JSON Schema is the one the types generate, and it accepts
//! every fixture and refuses the malformed frames.

use std::fs;

use jsonschema::Validator;
use serde_json::Value;
use switchboard_proto::schema::{
    CLIENT_FRAME_FILE, SERVER_FRAME_FILE, client_frame_schema, server_frame_schema,
};

use crate::malformed::malformed_client_frames;
use crate::support::{Side, fixtures, proto_dir};

const UPDATE_VAR: &str = "SWITCHBOARD_UPDATE_SCHEMA";

/// The committed schema file `file` (under `proto/schema/`).
pub fn committed(file: &str) -> Value {
    let path = proto_dir().join("schema").join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e}; run `{UPDATE_VAR}=1 cargo test -p switchboard-proto` to write it",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Compares the generated schema with the committed file, or rewrites the
/// file when `SWITCHBOARD_UPDATE_SCHEMA=1`.
fn check_or_update(file: &str, generated: Value) {
    let path = proto_dir().join("schema").join(file);
    if std::env::var(UPDATE_VAR).is_ok_and(|v| v == "1") {
        fs::create_dir_all(path.parent().expect("schema dir")).expect("create schema dir");
        let text = serde_json::to_string_pretty(&generated).expect("schema serializes") + "\n";
        fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    assert!(
        committed(file) == generated,
        "{} differs from the schema the types generate; if the change to the wire \
         contract is intended, run `{UPDATE_VAR}=1 cargo test -p switchboard-proto` \
         and commit the result",
        path.display()
    );
}

#[test]
fn committed_client_schema_matches_the_types() {
    check_or_update(CLIENT_FRAME_FILE, client_frame_schema().to_value());
}

#[test]
fn committed_server_schema_matches_the_types() {
    check_or_update(SERVER_FRAME_FILE, server_frame_schema().to_value());
}

fn validator(file: &str) -> Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(&committed(file))
        .unwrap_or_else(|e| panic!("{file} is not a valid JSON Schema: {e}"))
}

fn assert_fixtures_valid(side: Side, file: &str) {
    let validator = validator(file);
    for fixture in fixtures(side) {
        let errors: Vec<String> = validator
            .iter_errors(&fixture.value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} does not match {file}:\n{}",
            fixture.path.display(),
            errors.join("\n")
        );
    }
}

#[test]
fn every_client_fixture_is_valid_against_the_committed_schema() {
    assert_fixtures_valid(Side::Client, CLIENT_FRAME_FILE);
}

#[test]
fn every_server_fixture_is_valid_against_the_committed_schema() {
    assert_fixtures_valid(Side::Server, SERVER_FRAME_FILE);
}

#[test]
fn the_schema_refuses_what_the_types_refuse() {
    let validator = validator(CLIENT_FRAME_FILE);
    for (why, frame) in malformed_client_frames() {
        assert!(
            !validator.is_valid(&frame),
            "the client schema accepts a frame with {why}: {frame}"
        );
    }
}

#[test]
fn the_schema_tolerates_unknown_fields_like_the_types() {
    let validator = validator(SERVER_FRAME_FILE);
    let mut frame = fixtures(Side::Server)
        .into_iter()
        .find(|f| f.name == "ack_join")
        .expect("ack_join fixture")
        .value;
    frame["x_added_later"] = Value::Bool(true);
    frame["messages"][0]["x_added_later"] = Value::Bool(true);
    assert!(validator.is_valid(&frame));
}
