//! Readers are tolerant of what they do not know and strict about what they do:
//! an unknown field is ignored anywhere, a missing or mistyped known field and
//! an unknown frame type are refused.

use serde_json::{Value, json};
use switchboard_proto::client::FrameHead;
use switchboard_proto::{ClientFrame, ServerFrame};

use crate::support::{Side, fixtures};

const CONVERSATION: &str = "01a1ff46-7902-7873-bc2e-fa7342f2dc05";

/// Adds an unknown field to every object of a frame, nested ones included.
fn with_unknown_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for v in map.values_mut() {
                with_unknown_fields(v);
            }
            map.insert(
                "x_added_in_a_later_version".to_owned(),
                json!({"nested": [1, "two", null]}),
            );
        }
        Value::Array(items) => items.iter_mut().for_each(with_unknown_fields),
        _ => {}
    }
}

#[test]
fn client_frames_with_unknown_fields_still_parse() {
    for fixture in fixtures(Side::Client) {
        let expected: ClientFrame = serde_json::from_value(fixture.value.clone()).unwrap();
        let mut extended = fixture.value.clone();
        with_unknown_fields(&mut extended);
        let parsed: ClientFrame = serde_json::from_value(extended)
            .unwrap_or_else(|e| panic!("{} with unknown fields: {e}", fixture.path.display()));
        assert_eq!(parsed, expected, "{}", fixture.path.display());
    }
}

#[test]
fn server_frames_with_unknown_fields_still_parse() {
    for fixture in fixtures(Side::Server) {
        let expected: ServerFrame = serde_json::from_value(fixture.value.clone()).unwrap();
        let mut extended = fixture.value.clone();
        with_unknown_fields(&mut extended);
        let parsed: ServerFrame = serde_json::from_value(extended)
            .unwrap_or_else(|e| panic!("{} with unknown fields: {e}", fixture.path.display()));
        assert_eq!(parsed, expected, "{}", fixture.path.display());
    }
}

/// Client frames the server must refuse, each with what is wrong with it.
/// The schema test checks that the committed schema refuses them too.
pub fn malformed_client_frames() -> Vec<(&'static str, Value)> {
    vec![
        (
            "no type",
            json!({"ref": "r1", "conversation_id": CONVERSATION}),
        ),
        ("an unknown type", json!({"type": "subscribe", "ref": "r1"})),
        (
            "a server frame's type",
            json!({"type": "welcome", "ref": "r1"}),
        ),
        (
            "a type in the wrong case",
            json!({"type": "Join", "conversation_id": CONVERSATION}),
        ),
        ("a non-string type", json!({"type": 7})),
        (
            "join without conversation_id",
            json!({"type": "join", "ref": "r2"}),
        ),
        (
            "take without conversation_id",
            json!({"type": "take", "ref": "r3"}),
        ),
        (
            "send without conversation_id",
            json!({"type": "send", "client_msg_id": "c1", "body": "hi"}),
        ),
        ("typing without conversation_id", json!({"type": "typing"})),
        (
            "release without conversation_id",
            json!({"type": "release"}),
        ),
        (
            "send without body or template_id",
            json!({"type": "send", "conversation_id": CONVERSATION, "client_msg_id": "c1"}),
        ),
        (
            "send with both a body and a template_id",
            json!({"type": "send", "conversation_id": CONVERSATION, "client_msg_id": "c1",
                "body": "hi", "template_id": CONVERSATION}),
        ),
        (
            "send without client_msg_id",
            json!({"type": "send", "conversation_id": CONVERSATION, "body": "hi"}),
        ),
        (
            "a numeric conversation_id",
            json!({"type": "join", "conversation_id": 42}),
        ),
        (
            "a conversation_id that is not a UUID",
            json!({"type": "join", "conversation_id": "conv-42"}),
        ),
        (
            "a string after_seq",
            json!({"type": "join", "conversation_id": CONVERSATION, "after_seq": "40"}),
        ),
        (
            "a negative after_seq",
            json!({"type": "join", "conversation_id": CONVERSATION, "after_seq": -1}),
        ),
        (
            "a numeric ref",
            json!({"type": "take", "ref": 3, "conversation_id": CONVERSATION}),
        ),
        (
            "a string force",
            json!({"type": "take", "conversation_id": CONVERSATION, "force": "yes"}),
        ),
        (
            "a null body",
            json!({"type": "send", "conversation_id": CONVERSATION, "client_msg_id": "c1", "body": null}),
        ),
        (
            "a numeric body",
            json!({"type": "send", "conversation_id": CONVERSATION, "client_msg_id": "c1", "body": 5}),
        ),
        (
            "an unknown availability",
            json!({"type": "set_availability", "status": "busy"}),
        ),
        (
            "assign without user_id",
            json!({"type": "assign", "conversation_id": CONVERSATION}),
        ),
        ("an array instead of an object", json!([{"type": "ping"}])),
        ("a bare string", json!("ping")),
    ]
}

#[test]
fn malformed_client_frames_fail_to_parse() {
    for (why, frame) in malformed_client_frames() {
        let parsed = serde_json::from_value::<ClientFrame>(frame.clone());
        assert!(
            parsed.is_err(),
            "a frame with {why} parsed: {frame} -> {parsed:?}"
        );
    }
}

#[test]
fn text_that_is_not_json_fails_to_parse() {
    for text in ["", "{", "{\"type\":\"ping\"", "ping", "{'type':'ping'}"] {
        assert!(
            serde_json::from_str::<ClientFrame>(text).is_err(),
            "{text:?} parsed"
        );
    }
}

#[test]
fn the_head_of_a_malformed_frame_still_yields_its_ref() {
    let text = r#"{"type":"join","ref":"r2","conversation_id":42}"#;
    assert!(serde_json::from_str::<ClientFrame>(text).is_err());
    let head: FrameHead = serde_json::from_str(text).unwrap();
    assert_eq!(head.reference().as_deref(), Some("r2"));
    assert_eq!(head.kind, Some(json!("join")));

    let head: FrameHead = serde_json::from_str(r#"{"type":"join","ref":7}"#).unwrap();
    assert_eq!(head.reference(), None, "a non-string ref is no ref");
}

#[test]
fn malformed_server_frames_fail_to_parse() {
    let user = json!({"user_id": "019d903b-526d-7ab1-8251-3f839dfb369b", "name": "Ben Okafor"});
    let cases = [
        ("an unknown type", json!({"type": "hello"})),
        (
            "presence without version",
            json!({"type": "presence", "conversation_id": CONVERSATION, "active": null, "observers": []}),
        ),
        (
            "presence with a string version",
            json!({"type": "presence", "conversation_id": CONVERSATION, "active": null, "observers": [], "version": "3"}),
        ),
        ("an ack without ref", json!({"type": "ack"})),
        (
            "an error with an unknown code",
            json!({"type": "error", "code": "teapot", "message": "no"}),
        ),
        (
            "an error without code",
            json!({"type": "error", "message": "no"}),
        ),
        (
            "lock_lost with an unknown reason",
            json!({"type": "lock_lost", "conversation_id": CONVERSATION, "reason": "bored"}),
        ),
        (
            "conversation_removed with an unknown reason",
            json!({"type": "conversation_removed", "conversation_id": CONVERSATION, "reason": "bored"}),
        ),
        (
            "conversation_removed without conversation_id",
            json!({"type": "conversation_removed", "reason": "permission"}),
        ),
        (
            "typing without user_id",
            json!({"type": "typing", "conversation_id": CONVERSATION}),
        ),
        (
            "a message with a string seq",
            json!({"type": "message", "conversation_id": CONVERSATION, "message": {
            "id": "01a20288-3601-7ddc-9909-1542e36bf9b3", "conversation_id": CONVERSATION, "seq": "42",
            "direction": "outbound", "author": user, "body": "hi", "created_at": "2026-11-22T09:13:30.881Z"}}),
        ),
        (
            "a message with a timestamp that is not RFC 3339",
            json!({"type": "message", "conversation_id": CONVERSATION, "message": {
            "id": "01a20288-3601-7ddc-9909-1542e36bf9b3", "conversation_id": CONVERSATION, "seq": 42,
            "direction": "outbound", "author": user, "body": "hi", "created_at": "22/11/2026 09:13"}}),
        ),
    ];
    for (why, frame) in cases {
        let parsed = serde_json::from_value::<ServerFrame>(frame.clone());
        assert!(
            parsed.is_err(),
            "a server frame with {why} parsed: {frame} -> {parsed:?}"
        );
    }
}
