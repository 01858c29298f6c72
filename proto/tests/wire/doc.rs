//! The examples in PROTOCOL.md are real frames: every block fenced as
//! `json client` or `json server` parses and serializes back unchanged, and
//! every frame type has an example there.

use std::collections::BTreeSet;

use serde_json::Value;
use switchboard_proto::schema::{client_frame_schema, server_frame_schema};
use switchboard_proto::{ClientFrame, ServerFrame};

use crate::support::{frame_types, protocol_text};

/// The contents of the blocks fenced with "```json <side>".
pub fn examples(side: &str) -> Vec<Value> {
    let text = protocol_text();
    let fence = format!("```json {side}");
    let mut found = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim_end() != fence {
            continue;
        }
        let block: Vec<&str> = lines
            .by_ref()
            .take_while(|l| l.trim_end() != "```")
            .collect();
        let block = block.join("\n");
        let value = serde_json::from_str(&block)
            .unwrap_or_else(|e| panic!("PROTOCOL.md: a `{fence}` block is not JSON: {e}\n{block}"));
        found.push(value);
    }
    assert!(!found.is_empty(), "PROTOCOL.md has no `{fence}` examples");
    found
}

fn types_of(examples: &[Value]) -> BTreeSet<String> {
    examples
        .iter()
        .filter_map(|v| v["type"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn client_examples_in_protocol_md_are_client_frames() {
    let examples = examples("client");
    for example in &examples {
        let frame: ClientFrame = serde_json::from_value(example.clone())
            .unwrap_or_else(|e| panic!("PROTOCOL.md example {example} does not parse: {e}"));
        assert_eq!(&serde_json::to_value(&frame).unwrap(), example);
    }
    let documented = types_of(&examples);
    for kind in frame_types(&client_frame_schema().to_value()) {
        assert!(
            documented.contains(&kind),
            "PROTOCOL.md has no example of `{kind}`"
        );
    }
}

#[test]
fn server_examples_in_protocol_md_are_server_frames() {
    let examples = examples("server");
    for example in &examples {
        let frame: ServerFrame = serde_json::from_value(example.clone())
            .unwrap_or_else(|e| panic!("PROTOCOL.md example {example} does not parse: {e}"));
        assert_eq!(&serde_json::to_value(&frame).unwrap(), example);
    }
    let documented = types_of(&examples);
    for kind in frame_types(&server_frame_schema().to_value()) {
        assert!(
            documented.contains(&kind),
            "PROTOCOL.md has no example of `{kind}`"
        );
    }
}
