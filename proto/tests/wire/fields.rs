//! What a field is, as the JSON Schema says it and as PROTOCOL.md writes it,
//! in one vocabulary so that the two can be compared.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::markdown::strip_links;

/// The type of a field, without nullability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    Uuid,
    Timestamp,
    Integer,
    Boolean,
    Text,
    /// A string that is one of these values.
    Values(BTreeSet<String>),
    /// An object described under this name in the schema's `$defs`.
    Shape(String),
    List(Box<Ty>),
}

/// A type and whether `null` is one of its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typed {
    pub ty: Ty,
    pub nullable: bool,
}

impl Ty {
    /// Whether a type written in the document describes this schema type. A
    /// plain "string" may stand for a set of values that a table of their own
    /// lists (the reasons of `lock_lost`), which another test compares.
    pub fn documents(&self, schema: &Ty) -> bool {
        match (self, schema) {
            (Ty::Text, Ty::Values(_)) => true,
            (Ty::List(doc), Ty::List(schema)) => doc.documents(schema),
            _ => self == schema,
        }
    }

    /// The shape names it mentions.
    pub fn shapes(&self) -> Vec<String> {
        match self {
            Ty::Shape(name) => vec![name.clone()],
            Ty::List(inner) => inner.shapes(),
            _ => Vec::new(),
        }
    }
}

/// Reads a type as the document writes it: UUID, timestamp, integer,
/// boolean, string, `"a"` or `"b"`, a shape name, `[Shape]` for a list, and
/// "or `null`" when null is allowed. Links are followed.
pub fn from_doc(cell: &str) -> Result<Typed, String> {
    let text = strip_links(cell);
    let mut nullable = false;
    let mut values = BTreeSet::new();
    let mut base = None;
    for alternative in text.split(" or ") {
        let alternative = alternative.trim();
        let bare = alternative
            .strip_prefix('`')
            .and_then(|a| a.strip_suffix('`'))
            .unwrap_or(alternative);
        if bare == "null" && bare != alternative {
            nullable = true;
        } else if let Some(value) = bare.strip_prefix('"').and_then(|b| b.strip_suffix('"')) {
            values.insert(value.to_owned());
        } else if base.replace(single(bare)?).is_some() {
            return Err(format!("`{cell}` names two types"));
        }
    }
    let ty = match (base, values.is_empty()) {
        (Some(ty), true) => ty,
        (None, false) => Ty::Values(values),
        (None, true) => return Err(format!("`{cell}` names no type")),
        (Some(_), false) => return Err(format!("`{cell}` mixes a type and values")),
    };
    Ok(Typed { ty, nullable })
}

fn single(word: &str) -> Result<Ty, String> {
    Ok(match word {
        "UUID" => Ty::Uuid,
        "timestamp" => Ty::Timestamp,
        "integer" => Ty::Integer,
        "boolean" => Ty::Boolean,
        "string" => Ty::Text,
        _ => {
            if let Some(inner) = word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
                Ty::List(Box::new(single(inner)?))
            } else if word.starts_with(|c: char| c.is_ascii_uppercase())
                && word.chars().all(|c| c.is_ascii_alphanumeric())
            {
                Ty::Shape(word.to_owned())
            } else {
                return Err(format!(
                    "unknown type `{word}`: use UUID, timestamp, integer, boolean, string, \
                     a quoted value, a shape name or [Shape]"
                ));
            }
        }
    })
}

/// The type of a property schema; `root` holds the `$defs`.
pub fn from_schema(root: &Value, node: &Value) -> Typed {
    if let Some(alternatives) = node.get("anyOf").and_then(Value::as_array) {
        let mut nullable = false;
        let mut ty = None;
        for alternative in alternatives {
            if alternative.get("type").and_then(Value::as_str) == Some("null") {
                nullable = true;
            } else {
                let typed = from_schema(root, alternative);
                nullable |= typed.nullable;
                ty = Some(typed.ty);
            }
        }
        let ty = ty.unwrap_or_else(|| panic!("an anyOf of null alone: {node}"));
        return Typed { ty, nullable };
    }
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let name = def_name(reference);
        let ty = match enum_values(def(root, name)) {
            Some(values) => Ty::Values(values),
            None => Ty::Shape(name.to_owned()),
        };
        return Typed {
            ty,
            nullable: false,
        };
    }
    let (base, nullable) = match &node["type"] {
        Value::String(base) => (base.as_str(), false),
        Value::Array(types) => {
            let types: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            let base = types.iter().copied().find(|t| *t != "null");
            let base = base.unwrap_or_else(|| panic!("a type of null alone: {node}"));
            (base, types.contains(&"null"))
        }
        _ => panic!("a property schema without a type: {node}"),
    };
    let ty = match (base, node.get("format").and_then(Value::as_str)) {
        ("string", Some("uuid")) => Ty::Uuid,
        ("string", Some("date-time")) => Ty::Timestamp,
        ("string", _) => Ty::Text,
        ("integer", _) => Ty::Integer,
        ("boolean", _) => Ty::Boolean,
        ("array", _) => Ty::List(Box::new(from_schema(root, &node["items"]).ty)),
        _ => panic!("a schema type the tests do not know: {node}"),
    };
    Typed { ty, nullable }
}

fn def_name(reference: &str) -> &str {
    reference
        .strip_prefix("#/$defs/")
        .unwrap_or_else(|| panic!("a $ref outside $defs: {reference}"))
}

/// A definition of the schema's `$defs`.
pub fn def<'a>(root: &'a Value, name: &str) -> &'a Value {
    root["$defs"]
        .get(name)
        .unwrap_or_else(|| panic!("no `{name}` in the schema's $defs"))
}

/// The values of a string enum definition (`enum`, or `oneOf` of `const`s).
pub fn enum_values(def: &Value) -> Option<BTreeSet<String>> {
    if let Some(values) = def.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect();
    }
    def.get("oneOf")?
        .as_array()?
        .iter()
        .map(|branch| branch.get("const")?.as_str().map(str::to_owned))
        .collect()
}

/// The definition a frame type's `oneOf` branch points to.
pub fn frame_def<'a>(root: &'a Value, kind: &str) -> (&'a str, &'a Value) {
    let branch = root["oneOf"]
        .as_array()
        .expect("a frame schema is a oneOf")
        .iter()
        .find(|b| b["properties"]["type"]["const"] == kind)
        .unwrap_or_else(|| panic!("the schema has no `{kind}` frame"));
    let name = def_name(branch["$ref"].as_str().expect("a frame branch has a $ref"));
    (name, def(root, name))
}

/// One property of an object definition.
#[derive(Debug, Clone)]
pub struct Property {
    pub required: bool,
    pub typed: Typed,
    /// The definition it refers to, when it is an object of its own.
    pub object: Option<String>,
}

/// The properties of an object definition, by name.
pub fn properties(root: &Value, def: &Value) -> BTreeMap<String, Property> {
    let required: BTreeSet<&str> = def["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    def["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("not an object definition: {def}"))
        .iter()
        .map(|(name, node)| {
            let typed = from_schema(root, node);
            let object = match &typed.ty {
                Ty::Shape(shape) => Some(shape.clone()),
                _ => None,
            };
            let property = Property {
                required: required.contains(name.as_str()),
                typed,
                object,
            };
            (name.clone(), property)
        })
        .collect()
}
