//! Loading fixtures and reading the generated schema.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Which end of the socket sends a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    pub fn dir(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Server => "server",
        }
    }
}

/// One golden frame from `fixtures/<side>/<name>.json`.
#[derive(Debug)]
pub struct Fixture {
    /// The file stem: the frame's type, optionally followed by `_` and a variant.
    pub name: String,
    pub path: PathBuf,
    pub value: Value,
}

impl Fixture {
    /// The `type` field of the frame.
    pub fn frame_type(&self) -> &str {
        self.value["type"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no string `type`", self.path.display()))
    }
}

pub fn proto_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The text of PROTOCOL.md.
pub fn protocol_text() -> String {
    let path = proto_dir().join("PROTOCOL.md");
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every fixture of one side, sorted by name; panics on unreadable JSON.
pub fn fixtures(side: Side) -> Vec<Fixture> {
    let dir = proto_dir().join("fixtures").join(side.dir());
    let mut found: Vec<Fixture> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            let name = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .expect("utf-8 file name")
                .to_owned();
            Fixture { name, path, value }
        })
        .collect();
    assert!(!found.is_empty(), "no fixtures in {}", dir.display());
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// The frame types a schema names: the `const` of `type` in each top-level `oneOf` branch.
/// Generated from the Rust enums, so a new variant shows up here without anyone listing it.
pub fn frame_types(schema: &Value) -> Vec<String> {
    let branches = schema["oneOf"]
        .as_array()
        .expect("a frame schema is a oneOf over the frame types");
    let types: Vec<String> = branches
        .iter()
        .map(|branch| {
            branch["properties"]["type"]["const"]
                .as_str()
                .unwrap_or_else(|| panic!("a oneOf branch without a `type` const: {branch}"))
                .to_owned()
        })
        .collect();
    assert!(!types.is_empty());
    types
}
