//! The JSON frames a console sends over the WebSocket, through the adapter
//! and the use cases of a live node with a real conversation, as an agent
//! of the account. Frames are made from the protocol's frame types and
//! fields (right, wrong or missing values) or from nothing at all.
//! Whatever comes: a frame with a string `ref` gets exactly one answer
//! carrying it (an `ack` or an `error`), a frame without one gets no `ack`,
//! every frame queued is a JSON object with a `type`, and no error is
//! `internal`.

use std::panic::AssertUnwindSafe;

use serde_json::{Map, Value, json};
use switchboard_server::ws::frames;

use crate::choices::Choices;
use crate::support::{Console, TIMING, world};

const TYPES: &[&str] = &[
    "subscribe_inbox",
    "join",
    "take",
    "release",
    "leave",
    "send",
    "typing",
    "ping",
    "set_availability",
    "assign",
    "unassign",
    "resolve",
    "reopen",
    "subscribe_agents",
    "unsubscribe_agents",
];

const FIELDS: &[&str] = &[
    "conversation_id",
    "after_seq",
    "watch",
    "force",
    "client_msg_id",
    "body",
    "template_id",
    "folder_id",
    "status",
    "user_id",
];

/// What a field's value may be: the world's ids, or anything.
fn field(choices: &mut Choices<'_>, ids: &[String]) -> Value {
    match choices.below(9) {
        0 | 1 => json!(ids[choices.below(ids.len())]),
        2 => json!(choices.text(30)),
        3 => json!(choices.flag()),
        4 => json!(choices.u64() % 1000),
        5 => json!(-1),
        6 => json!(["available", "away", "busy"][choices.below(3)]),
        7 => Value::Null,
        _ => json!({"nested": choices.text(5)}),
    }
}

fn frame(choices: &mut Choices<'_>, ids: &[String]) -> String {
    if choices.below(10) == 0 {
        return choices.text(80);
    }
    let mut object = Map::new();
    match choices.below(12) {
        0 => {}
        1 => {
            object.insert("type".into(), json!(choices.text(12)));
        }
        2 => {
            object.insert("type".into(), json!(choices.u64() % 10));
        }
        _ => {
            object.insert("type".into(), json!(TYPES[choices.below(TYPES.len())]));
        }
    }
    match choices.below(6) {
        0 => {}
        1 => {
            object.insert("ref".into(), json!(choices.u64() % 100));
        }
        _ => {
            object.insert("ref".into(), json!(choices.text(12)));
        }
    }
    for _ in 0..choices.below(5) {
        let name = FIELDS[choices.below(FIELDS.len())];
        object.insert(name.into(), field(choices, ids));
    }
    Value::Object(object).to_string()
}

#[test]
fn every_client_frame_gets_its_one_answer() {
    let runtime = crate::runtime();
    let (world, console, ids) = runtime.block_on(async {
        let world = world(1, 2, TIMING).await;
        let console = Console::open(&world.nodes[0], &world.users[0]);
        let ids: Vec<String> = vec![
            world.conversation.to_string(),
            world.users[0].id.to_string(),
            world.users[1].id.to_string(),
            uuid::Uuid::now_v7().to_string(),
            "not-a-uuid".to_owned(),
        ];
        (world, console, ids)
    });
    // The test owns what it drives; a failing input is reported and stops it.
    let mut live = AssertUnwindSafe((runtime, world, console));
    fuzz!(|choices| {
        let (runtime, world, console) = &mut *live;
        let node = &world.nodes[0];
        let text = frame(&mut choices, &ids);
        runtime.block_on(frames::handle_text(
            &node.app,
            &node.hub,
            &console.conn,
            &text,
        ));
        let queued = console.take_seen();
        for frame in &queued {
            assert!(frame["type"].is_string(), "{text} made {frame}");
            if frame["type"] == "error" {
                assert_ne!(frame["code"], "internal", "{text} made {frame}");
                assert!(frame["message"].is_string(), "{text} made {frame}");
            }
        }
        let reference = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("ref").and_then(Value::as_str).map(str::to_owned));
        let answers: Vec<&Value> = queued
            .iter()
            .filter(|f| f["type"] == "ack" || f["type"] == "error")
            .filter(|f| f.get("ref").and_then(Value::as_str) == reference.as_deref())
            .collect();
        match &reference {
            Some(_) => assert_eq!(answers.len(), 1, "{text} answered by {queued:?}"),
            None => {
                assert!(
                    queued.iter().all(|f| f["type"] != "ack"),
                    "{text} without a ref acked: {queued:?}"
                );
                assert!(answers.len() <= 1, "{text} answered by {queued:?}");
            }
        }
    });
}
