//! Every golden fixture parses into the frame its file names and serializes
//! back to the same JSON; every frame type and error code has a fixture.

use std::collections::BTreeSet;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_proto::schema::{client_frame_schema, server_frame_schema};
use switchboard_proto::{ClientFrame, ErrorCode, ServerFrame};
use uuid::Uuid;

use crate::support::{Fixture, Side, fixtures, frame_types};

/// Parses a fixture, checks that the file is named after the frame's type,
/// and that serializing the frame gives back the fixture's JSON value.
fn parse_and_round_trip<F>(fixture: &Fixture, type_name: impl Fn(&F) -> &'static str) -> F
where
    F: DeserializeOwned + Serialize,
{
    let path = fixture.path.display();
    let frame: F = serde_json::from_value(fixture.value.clone())
        .unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
    let kind = type_name(&frame);
    assert_eq!(
        kind,
        fixture.frame_type(),
        "{path}: parsed as the wrong variant"
    );
    assert!(
        fixture.name == kind || fixture.name.starts_with(&format!("{kind}_")),
        "{path}: a `{kind}` fixture must be named `{kind}.json` or `{kind}_<case>.json`"
    );
    let again = serde_json::to_value(&frame).expect("frames serialize");
    assert_eq!(again, fixture.value, "{path}: does not round-trip");
    frame
}

#[test]
fn client_fixtures_parse_into_their_variant_and_round_trip() {
    for fixture in fixtures(Side::Client) {
        let frame: ClientFrame = parse_and_round_trip(&fixture, ClientFrame::type_name);
        assert_eq!(
            frame.reference(),
            fixture.value.get("ref").and_then(Value::as_str),
            "{}: reference() disagrees with `ref`",
            fixture.path.display()
        );
    }
}

#[test]
fn server_fixtures_parse_into_their_variant_and_round_trip() {
    for fixture in fixtures(Side::Server) {
        let frame: ServerFrame = parse_and_round_trip(&fixture, ServerFrame::type_name);
        if let ServerFrame::Error(error) = &frame {
            let code = error.code.as_str();
            assert!(
                fixture.name.starts_with(&format!("error_{code}")),
                "{}: an error fixture is named error_<code>",
                fixture.path.display()
            );
        }
    }
}

/// The frame types come from the generated schema, i.e. from the Rust enums
/// themselves: adding a variant without a fixture fails here.
fn assert_every_type_has_a_fixture(side: Side, schema: &Value) {
    let covered: BTreeSet<String> = fixtures(side)
        .iter()
        .map(|f| f.frame_type().to_owned())
        .collect();
    let missing: Vec<String> = frame_types(schema)
        .into_iter()
        .filter(|kind| !covered.contains(kind))
        .collect();
    assert!(
        missing.is_empty(),
        "{} frame types without a fixture in fixtures/{}/: {missing:?}",
        side.dir(),
        side.dir()
    );
}

#[test]
fn every_client_frame_type_has_a_fixture() {
    assert_every_type_has_a_fixture(Side::Client, &client_frame_schema().to_value());
}

#[test]
fn every_server_frame_type_has_a_fixture() {
    assert_every_type_has_a_fixture(Side::Server, &server_frame_schema().to_value());
}

#[test]
fn every_error_code_has_a_fixture() {
    let names: Vec<String> = fixtures(Side::Server).into_iter().map(|f| f.name).collect();
    for code in ErrorCode::ALL {
        let name = format!("error_{}", code.as_str());
        assert!(
            names.contains(&name),
            "no fixtures/server/{name}.json for error code {code:?}"
        );
    }
}

#[test]
fn error_code_names_match_serde() {
    for code in ErrorCode::ALL {
        assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
    }
}

/// Ids in fixtures are UUID v7 and timestamps are RFC 3339 UTC with
/// milliseconds and `Z`, as the contract promises; keeps the examples honest.
fn assert_wire_conventions(path: &str, key: &str, value: &Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                assert_wire_conventions(path, k, v);
            }
        }
        Value::Array(items) => {
            for v in items {
                assert_wire_conventions(path, key, v);
            }
        }
        Value::String(text) if key == "id" || key.ends_with("_id") => {
            let id = Uuid::parse_str(text)
                .unwrap_or_else(|e| panic!("{path}: `{key}` {text:?} is not a UUID: {e}"));
            assert_eq!(id.get_version_num(), 7, "{path}: `{key}` {text} is not v7");
            assert_eq!(
                text,
                &id.hyphenated().to_string(),
                "{path}: `{key}` not lowercase hyphenated"
            );
        }
        Value::String(text) if key.ends_with("_at") => {
            let at = chrono::DateTime::parse_from_rfc3339(text)
                .unwrap_or_else(|e| panic!("{path}: `{key}` {text:?} is not RFC 3339: {e}"));
            let canonical = at
                .with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            assert_eq!(
                text, &canonical,
                "{path}: `{key}` is not UTC with milliseconds and Z"
            );
        }
        _ => {}
    }
}

#[test]
fn fixtures_use_v7_ids_and_millisecond_utc_timestamps() {
    for side in [Side::Client, Side::Server] {
        for fixture in fixtures(side) {
            assert_wire_conventions(&fixture.path.display().to_string(), "", &fixture.value);
        }
    }
}
