//! PROTOCOL.md's tables agree with the committed JSON Schema and with the
//! fixtures, so the document cannot drift from the wire unnoticed.
//!
//! A table is checked when a comment `<!-- check: <kind> <args> -->` comes
//! right before it. The kinds:
//!
//! - `glance`: the frame types listed in "At a glance";
//! - `frame-list client` / `frame-list server`: one row per frame type, its
//!   fields (`?` for those left out when they do not apply), and for client
//!   frames the fields of their ack;
//! - `fields client <type>…`, `fields server <type>`, `fields shape <Def>`:
//!   a `Field | Type | | Meaning` table of a frame or of a shape of §9;
//! - `acks`: which frame's ack carries which fields;
//! - `ack-fields <type>`: the fields of that frame's ack, explained;
//! - `errors`: the error codes and the extra fields each carries;
//! - `values <Def>`: the values of a string enum, one per row.
//!
//! Every table whose first column is `Field` must be checked.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use switchboard_proto::schema::{CLIENT_FRAME_FILE, SERVER_FRAME_FILE};

use crate::doc::examples;
use crate::fields::{self, Property, Ty, Typed};
use crate::markdown::{self, Listed, Table, code_name, code_names, field_list};
use crate::schema::committed;
use crate::support::{Side, fixtures, frame_types, protocol_text};

const KINDS: [&str; 7] = [
    "glance",
    "frame-list",
    "fields",
    "ack-fields",
    "acks",
    "errors",
    "values",
];

fn tables() -> Vec<Table> {
    markdown::tables(&protocol_text())
}

fn client_schema() -> Value {
    committed(CLIENT_FRAME_FILE)
}

fn server_schema() -> Value {
    committed(SERVER_FRAME_FILE)
}

/// The one table checked as `kind args…`.
fn the_table<'a>(tables: &'a [Table], check: &[&str]) -> &'a Table {
    let found: Vec<&Table> = tables.iter().filter(|t| t.check == check).collect();
    match found.as_slice() {
        [table] => table,
        _ => panic!(
            "PROTOCOL.md needs exactly one table after `<!-- check: {} -->`, found {}",
            check.join(" "),
            found.len()
        ),
    }
}

/// The frame type a row of a frame list is about: its first name in backticks.
fn first_name(cell: &str, at: &str) -> String {
    code_names(cell)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{at}: the first column names the frame type in backticks"))
}

/// Name → "left out when it does not apply", for comparing field sets.
type Marks = BTreeMap<String, bool>;

fn marks(listed: &[Listed]) -> Marks {
    listed
        .iter()
        .map(|l| (l.name.clone(), l.optional))
        .collect()
}

fn schema_marks(props: &BTreeMap<String, Property>, leave_out: &BTreeSet<String>) -> Marks {
    props
        .iter()
        .filter(|(name, _)| !leave_out.contains(*name))
        .map(|(name, p)| (name.clone(), !p.required))
        .collect()
}

fn assert_same_marks(at: &str, what: &str, doc: &Marks, schema: &Marks) {
    let missing: Vec<_> = schema.keys().filter(|k| !doc.contains_key(*k)).collect();
    let unknown: Vec<_> = doc.keys().filter(|k| !schema.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{at}: {what}: the schema has {missing:?} that the document does not list, \
         the document lists {unknown:?} that the schema does not have"
    );
    for (name, optional) in doc {
        let said = |optional: bool| {
            if optional {
                "left out when it does not apply"
            } else {
                "always sent"
            }
        };
        assert_eq!(
            *optional,
            schema[name],
            "{at}: {what}: `{name}` is {} in the schema, but the document says {}",
            said(schema[name]),
            said(*optional)
        );
    }
}

fn doc_type(at: &str, cell: &str) -> Typed {
    fields::from_doc(cell).unwrap_or_else(|e| panic!("{at}: {e}"))
}

fn assert_documents(at: &str, name: &str, doc: &Ty, schema: &Ty) {
    assert!(
        doc.documents(schema),
        "{at}: `{name}` is written as {doc:?} but the schema says {schema:?}"
    );
}

/// Every ack field, by the client frame whose ack carries it.
fn ack_fields(tables: &[Table]) -> BTreeMap<String, Vec<Listed>> {
    let table = the_table(tables, &["acks"]);
    let mut acks = BTreeMap::new();
    for row in &table.rows {
        let listed = field_list(&row.cells[1], &row.at());
        for kind in code_names(&row.cells[0]) {
            let again = acks.insert(kind.clone(), listed.clone());
            assert!(again.is_none(), "{}: `{kind}` is listed twice", row.at());
        }
    }
    acks
}

/// The extra fields of every error code.
fn error_extras(tables: &[Table]) -> BTreeMap<String, Vec<Listed>> {
    let table = the_table(tables, &["errors"]);
    let extra = table.column("Extra fields");
    table
        .rows
        .iter()
        .map(|row| {
            let code = code_name(&row.cells[0], &row.at());
            (code, field_list(&row.cells[extra], &row.at()))
        })
        .collect()
}

fn names<'a>(lists: impl IntoIterator<Item = &'a Vec<Listed>>) -> BTreeSet<String> {
    lists
        .into_iter()
        .flatten()
        .map(|l| l.name.clone())
        .collect()
}

#[test]
fn every_field_table_is_checked_and_every_check_is_known() {
    for table in tables() {
        if table.check.is_empty() {
            assert!(
                table.header.first().map(String::as_str) != Some("Field"),
                "PROTOCOL.md:{}: a field table needs a `<!-- check: fields … -->` comment before it",
                table.line
            );
        } else {
            assert!(
                KINDS.contains(&table.kind()),
                "{}: unknown check `{}`; the kinds are {KINDS:?}",
                table.at(),
                table.kind()
            );
        }
    }
}

#[test]
fn at_a_glance_lists_every_frame_type() {
    let tables = tables();
    let table = the_table(&tables, &["glance"]);
    for (label, schema) in [
        ("Client → server", client_schema()),
        ("Server → client", server_schema()),
    ] {
        let row = table
            .rows
            .iter()
            .find(|r| r.cells[0].starts_with(label))
            .unwrap_or_else(|| panic!("{}: no row `{label}`", table.at()));
        let listed = code_names(&row.cells[1]);
        let unique: BTreeSet<String> = listed.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            listed.len(),
            "{}: a type listed twice",
            row.at()
        );
        let types: BTreeSet<String> = frame_types(&schema).into_iter().collect();
        assert_eq!(
            unique,
            types,
            "{}: `{label}` must list every frame type",
            row.at()
        );
    }
}

#[test]
fn the_client_frame_list_gives_each_frame_its_fields_and_its_ack() {
    let tables = tables();
    let schema = client_schema();
    let acks = ack_fields(&tables);
    let table = the_table(&tables, &["frame-list", "client"]);
    let (fields_at, ack_at) = (table.column("Fields"), table.column("Ack"));
    let no_ref = BTreeSet::from(["ref".to_owned()]);
    let mut listed = BTreeSet::new();
    for row in &table.rows {
        let kind = first_name(&row.cells[0], &row.at());
        assert!(listed.insert(kind.clone()), "{}: `{kind}` twice", row.at());
        let (_, def) = fields::frame_def(&schema, &kind);
        let expected = schema_marks(&fields::properties(&schema, def), &no_ref);
        let doc = marks(&field_list(&row.cells[fields_at], &row.at()));
        assert_same_marks(&row.at(), &format!("fields of `{kind}`"), &doc, &expected);
        let ack = marks(&field_list(&row.cells[ack_at], &row.at()));
        let in_ack_table = marks(acks.get(&kind).map_or(&[][..], Vec::as_slice));
        assert_eq!(
            ack,
            in_ack_table,
            "{}: the Ack column of `{kind}` disagrees with the ack table",
            row.at()
        );
    }
    let types: BTreeSet<String> = frame_types(&schema).into_iter().collect();
    assert_eq!(
        listed,
        types,
        "{}: one row per client frame type",
        table.at()
    );
}

#[test]
fn the_server_frame_list_gives_each_frame_its_fields() {
    let tables = tables();
    let schema = server_schema();
    let covered_elsewhere = [
        ("ack", names(ack_fields(&tables).values())),
        ("error", names(error_extras(&tables).values())),
    ];
    let table = the_table(&tables, &["frame-list", "server"]);
    let fields_at = table.column("Fields");
    let mut listed = BTreeSet::new();
    for row in &table.rows {
        let kind = first_name(&row.cells[0], &row.at());
        assert!(listed.insert(kind.clone()), "{}: `{kind}` twice", row.at());
        let leave_out = covered_elsewhere
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, names)| names.clone())
            .unwrap_or_default();
        let (_, def) = fields::frame_def(&schema, &kind);
        let expected = schema_marks(&fields::properties(&schema, def), &leave_out);
        let doc = marks(&field_list(&row.cells[fields_at], &row.at()));
        assert_same_marks(&row.at(), &format!("fields of `{kind}`"), &doc, &expected);
    }
    let types: BTreeSet<String> = frame_types(&schema).into_iter().collect();
    assert_eq!(
        listed,
        types,
        "{}: one row per server frame type",
        table.at()
    );
}

/// How the third column of a field table says when a field is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sent {
    Always,
    Optional,
    /// Sent exactly when this other field is not null.
    With(String),
}

fn sent(at: &str, cell: &str) -> Sent {
    match cell {
        "always" | "required" => Sent::Always,
        _ if cell.starts_with("optional") => Sent::Optional,
        _ if cell.starts_with("with ") => Sent::With(code_name(cell, at)),
        _ => panic!("{at}: `{cell}` must be always, required, optional… or with `field`"),
    }
}

/// One row of a field table: where it is, the type, when it is sent.
#[derive(Debug, Clone)]
struct DocField {
    at: String,
    typed: Typed,
    sent: Sent,
}

/// One field table: its rows by (dotted) field name.
struct FieldTable<'a> {
    table: &'a Table,
    rows: BTreeMap<String, DocField>,
}

fn read_field_table(table: &Table) -> FieldTable<'_> {
    assert_eq!(
        table.header,
        ["Field", "Type", "", "Meaning"],
        "{}: a field table has the columns `| Field | Type | | Meaning |`",
        table.at()
    );
    let mut rows = BTreeMap::new();
    for row in &table.rows {
        let at = row.at();
        let name = code_name(&row.cells[0], &at);
        let entry = DocField {
            typed: doc_type(&at, &row.cells[1]),
            sent: sent(&at, &row.cells[2]),
            at: at.clone(),
        };
        assert!(
            rows.insert(name.clone(), entry).is_none(),
            "{at}: `{name}` twice"
        );
    }
    FieldTable { table, rows }
}

/// The schema's fields of `def`, with the objects the document describes
/// field by field (`user.id`, …) opened up.
fn schema_fields(
    root: &Value,
    def: &Value,
    prefix: &str,
    doc: &BTreeMap<String, DocField>,
    opened: &mut BTreeSet<String>,
    into: &mut BTreeMap<String, Property>,
) {
    for (name, property) in fields::properties(root, def) {
        let path = format!("{prefix}{name}");
        let nested = format!("{path}.");
        match &property.object {
            Some(object) if doc.keys().any(|k| k.starts_with(&nested)) => {
                opened.insert(object.clone());
                let inner = fields::def(root, object);
                schema_fields(root, inner, &nested, doc, opened, into);
            }
            _ => {
                into.insert(path, property);
            }
        }
    }
}

/// Compares one field table with a definition; returns the definitions it
/// described field by field.
fn compare_field_table(
    doc: &FieldTable,
    root: &Value,
    def: &Value,
    frame: Option<&str>,
    leave_out: &[&str],
) -> BTreeSet<String> {
    let at = doc.table.at();
    let mut rows = doc.rows.clone();
    if let Some(row) = rows.remove("type") {
        let kind = frame.unwrap_or_else(|| panic!("{}: a shape has no `type`", row.at));
        let expected = Ty::Values(BTreeSet::from([kind.to_owned()]));
        assert!(
            row.typed.ty == expected && row.sent == Sent::Always,
            "{}: `type` is always `\"{kind}\"`",
            row.at
        );
    }
    let mut opened = BTreeSet::new();
    let mut schema = BTreeMap::new();
    schema_fields(root, def, "", &rows, &mut opened, &mut schema);
    for name in leave_out {
        schema.remove(*name);
    }
    let doc_marks: Marks = rows
        .iter()
        .map(|(n, row)| (n.clone(), row.sent != Sent::Always))
        .collect();
    let schema_marks: Marks = schema
        .iter()
        .map(|(n, p)| (n.clone(), !p.required))
        .collect();
    assert_same_marks(&at, "fields", &doc_marks, &schema_marks);
    for (name, row) in &rows {
        let (row_at, typed) = (&row.at, &row.typed);
        let property = &schema[name];
        assert_documents(row_at, name, &typed.ty, &property.typed.ty);
        if property.required {
            assert_eq!(
                typed.nullable,
                property.typed.nullable,
                "{row_at}: `{name}` may{} be null in the schema; write \"or `null`\" exactly then",
                if property.typed.nullable { "" } else { " not" }
            );
        }
        if let Sent::With(other) = &row.sent {
            assert!(
                schema.contains_key(other),
                "{row_at}: `{name}` is sent with `{other}`, which is not a field here"
            );
        }
    }
    opened
}

#[test]
fn field_tables_match_the_schema_and_every_frame_and_shape_has_one() {
    let tables = tables();
    let (client, server) = (client_schema(), server_schema());
    let mut covered: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut opened = BTreeSet::new();
    for table in tables.iter().filter(|t| t.kind() == "fields") {
        let doc = read_field_table(table);
        let (side, names) = table
            .args()
            .split_first()
            .unwrap_or_else(|| panic!("{}: `fields <side> <name>…`", table.at()));
        assert!(
            !names.is_empty(),
            "{}: name what the table describes",
            table.at()
        );
        for name in names {
            let described = match side.as_str() {
                "client" => {
                    let (_, def) = fields::frame_def(&client, name);
                    compare_field_table(&doc, &client, def, Some(name), &["ref"])
                }
                "server" => {
                    let (_, def) = fields::frame_def(&server, name);
                    compare_field_table(&doc, &server, def, Some(name), &[])
                }
                "shape" => {
                    let def = fields::def(&server, name);
                    compare_field_table(&doc, &server, def, None, &[])
                }
                other => panic!("{}: `{other}` is not client, server or shape", table.at()),
            };
            opened.extend(described);
            covered
                .entry(side.as_str())
                .or_default()
                .insert(name.clone());
        }
    }

    let covered_of = |side: &str| covered.get(side).cloned().unwrap_or_default();
    for kind in frame_types(&client) {
        let (_, def) = fields::frame_def(&client, &kind);
        let has_fields = fields::properties(&client, def).keys().any(|k| k != "ref");
        assert!(
            !has_fields || covered_of("client").contains(&kind),
            "PROTOCOL.md: no `<!-- check: fields client {kind} -->` table for the client frame `{kind}`"
        );
    }
    for kind in frame_types(&server) {
        assert!(
            ["ack", "error"].contains(&kind.as_str()) || covered_of("server").contains(&kind),
            "PROTOCOL.md: no `<!-- check: fields server {kind} -->` table for the server frame `{kind}`"
        );
    }
    for shape in shapes_to_describe(&tables, &server, &opened) {
        assert!(
            covered_of("shape").contains(&shape),
            "PROTOCOL.md: no `<!-- check: fields shape {shape} -->` table in §9 for the shape `{shape}`"
        );
    }
}

/// The shapes §9 must describe: every object of the server schema that is
/// not a frame of its own nor described field by field inside one, and
/// every shape the document names as a type.
fn shapes_to_describe(
    tables: &[Table],
    server: &Value,
    opened: &BTreeSet<String>,
) -> BTreeSet<String> {
    let frames: BTreeSet<&str> = frame_types(server)
        .iter()
        .map(|kind| fields::frame_def(server, kind).0)
        .collect();
    let mut shapes: BTreeSet<String> = server["$defs"]
        .as_object()
        .expect("$defs")
        .iter()
        .filter(|(name, def)| {
            def.get("properties").is_some()
                && !frames.contains(name.as_str())
                && !opened.contains(*name)
        })
        .map(|(name, _)| name.clone())
        .collect();
    for table in tables.iter().filter(|t| t.kind() == "fields") {
        for row in &table.rows {
            shapes.extend(doc_type(&row.at(), &row.cells[1]).ty.shapes());
        }
    }
    for lists in [ack_fields(tables), error_extras(tables)] {
        for listed in lists.values().flatten() {
            if let Some(ty) = &listed.ty {
                shapes.extend(doc_type(&listed.name, ty).ty.shapes());
            }
        }
    }
    shapes
}

#[test]
fn the_ack_table_names_every_ack_field_with_its_type() {
    let tables = tables();
    let schema = server_schema();
    let acks = ack_fields(&tables);
    let kinds: BTreeSet<String> = acks.keys().cloned().collect();
    let client_types: BTreeSet<String> = frame_types(&client_schema()).into_iter().collect();
    assert_eq!(
        kinds, client_types,
        "the ack table has one entry per client frame type"
    );

    let (_, ack_def) = fields::frame_def(&schema, "ack");
    let mut props = fields::properties(&schema, ack_def);
    props.remove("ref");
    for (kind, listed) in &acks {
        for field in listed {
            let at = format!("the ack table, `{kind}`");
            let property = props.get(&field.name).unwrap_or_else(|| {
                panic!(
                    "{at}: `{}` is not a field of an ack in the schema",
                    field.name
                )
            });
            let ty = field
                .ty
                .as_deref()
                .unwrap_or_else(|| panic!("{at}: write `{}`: Type", field.name));
            assert_documents(&at, &field.name, &doc_type(&at, ty).ty, &property.typed.ty);
        }
    }
    let documented = names(acks.values());
    let in_schema: BTreeSet<String> = props.keys().cloned().collect();
    assert_eq!(
        documented, in_schema,
        "the ack table must name every field an ack may carry, and no other"
    );

    for table in tables.iter().filter(|t| t.kind() == "ack-fields") {
        let kind = table.args().first().expect("ack-fields <frame type>");
        let explained: BTreeSet<String> = table
            .rows
            .iter()
            .map(|row| code_name(&row.cells[0], &row.at()))
            .collect();
        let in_table: BTreeSet<String> = acks[kind].iter().map(|l| l.name.clone()).collect();
        assert_eq!(
            explained,
            in_table,
            "{}: the fields of the `{kind}` ack",
            table.at()
        );
    }
}

/// The client frame an ack fixture answers: `ack_<type>` or `ack_<type>_<case>`.
fn answered(name: &str, client_types: &[String]) -> String {
    let rest = name
        .strip_prefix("ack_")
        .expect("an ack fixture is named ack_…");
    client_types
        .iter()
        .filter(|kind| rest == kind.as_str() || rest.starts_with(&format!("{kind}_")))
        .max_by_key(|kind| kind.len())
        .unwrap_or_else(|| {
            panic!("fixtures/server/{name}.json: name it ack_<client frame type>[_case]")
        })
        .clone()
}

/// The fields of a top-level fixture object but the ones every frame of it has.
fn carried(value: &Value, common: &[&str]) -> BTreeSet<String> {
    value
        .as_object()
        .expect("a frame is an object")
        .keys()
        .filter(|k| !common.contains(&k.as_str()))
        .cloned()
        .collect()
}

/// A fixture carries what the table gives it: nothing it does not list,
/// everything it lists without `?`.
fn assert_carries(path: &str, carried: &BTreeSet<String>, listed: &[Listed], whose: &str) {
    let allowed: BTreeSet<String> = listed.iter().map(|l| l.name.clone()).collect();
    let unlisted: Vec<_> = carried.difference(&allowed).collect();
    assert!(
        unlisted.is_empty(),
        "{path} carries {unlisted:?}, which PROTOCOL.md does not list for {whose}"
    );
    for field in listed.iter().filter(|l| !l.optional) {
        assert!(
            carried.contains(&field.name),
            "{path} lacks `{}`, which PROTOCOL.md says {whose} always carries",
            field.name
        );
    }
}

#[test]
fn every_ack_fixture_carries_the_fields_the_ack_table_gives_its_frame() {
    let acks = ack_fields(&tables());
    let client_types = frame_types(&client_schema());
    let mut answered_frames = BTreeSet::new();
    for fixture in fixtures(Side::Server) {
        if fixture.frame_type() != "ack" {
            continue;
        }
        let kind = answered(&fixture.name, &client_types);
        let path = fixture.path.display().to_string();
        let fields = carried(&fixture.value, &["type", "ref"]);
        assert_carries(
            &path,
            &fields,
            &acks[&kind],
            &format!("the ack of `{kind}`"),
        );
        answered_frames.insert(kind);
    }
    let missing: Vec<_> = client_types
        .iter()
        .filter(|k| !answered_frames.contains(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "no fixtures/server/ack_<type>.json for {missing:?}"
    );
}

#[test]
fn the_error_table_lists_every_code_and_every_extra_field() {
    let tables = tables();
    let schema = server_schema();
    let extras = error_extras(&tables);
    let codes: BTreeSet<String> = extras.keys().cloned().collect();
    let enum_codes = fields::enum_values(fields::def(&schema, "ErrorCode")).expect("codes");
    assert_eq!(
        codes, enum_codes,
        "the error table has one row per error code"
    );
    assert_eq!(
        the_table(&tables, &["errors"]).rows.len(),
        codes.len(),
        "each code once"
    );

    let (_, error_def) = fields::frame_def(&schema, "error");
    let mut props = fields::properties(&schema, error_def);
    for common in ["ref", "code", "message"] {
        props.remove(common);
    }
    for (code, listed) in &extras {
        for field in listed {
            let at = format!("the error table, `{code}`");
            let property = props.get(&field.name).unwrap_or_else(|| {
                panic!(
                    "{at}: `{}` is not a field of an error in the schema",
                    field.name
                )
            });
            let ty = field
                .ty
                .as_deref()
                .unwrap_or_else(|| panic!("{at}: write `{}`: Type", field.name));
            assert_documents(&at, &field.name, &doc_type(&at, ty).ty, &property.typed.ty);
        }
    }
    let in_schema: BTreeSet<String> = props.keys().cloned().collect();
    assert_eq!(
        names(extras.values()),
        in_schema,
        "the error table's extra fields must be every field an error may carry beyond `ref`, `code` and `message`"
    );
}

#[test]
fn every_error_fixture_carries_the_extra_fields_of_its_code() {
    let extras = error_extras(&tables());
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for fixture in fixtures(Side::Server) {
        if fixture.frame_type() != "error" {
            continue;
        }
        let code = fixture.value["code"]
            .as_str()
            .expect("a string code")
            .to_owned();
        let path = fixture.path.display().to_string();
        let fields = carried(&fixture.value, &["type", "ref", "code", "message"]);
        let listed = extras
            .get(&code)
            .unwrap_or_else(|| panic!("{path}: `{code}` is not in the error table"));
        assert_carries(&path, &fields, listed, &format!("a `{code}` error"));
        seen.entry(code).or_default().extend(fields);
    }
    for (code, listed) in &extras {
        for field in listed {
            assert!(
                seen.get(code).is_some_and(|s| s.contains(&field.name)),
                "no fixtures/server/error_{code}*.json shows `{}`",
                field.name
            );
        }
    }
}

#[test]
fn value_tables_list_every_value_of_their_enum() {
    let tables = tables();
    let schema = server_schema();
    let mut checked = 0;
    for table in tables.iter().filter(|t| t.kind() == "values") {
        let name = table.args().first().expect("values <Def>");
        let values = fields::enum_values(fields::def(&schema, name))
            .unwrap_or_else(|| panic!("{}: `{name}` is not an enum", table.at()));
        let listed: Vec<String> = table
            .rows
            .iter()
            .map(|row| code_name(&row.cells[0], &row.at()))
            .collect();
        let unique: BTreeSet<String> = listed.iter().cloned().collect();
        assert_eq!(unique.len(), listed.len(), "{}: a value twice", table.at());
        assert_eq!(unique, values, "{}: the values of `{name}`", table.at());
        checked += 1;
    }
    assert!(checked > 0, "PROTOCOL.md has no `values` table");
}

/// Every object in `value`, at any depth.
fn objects<'a>(value: &'a Value, into: &mut Vec<&'a serde_json::Map<String, Value>>) {
    match value {
        Value::Object(map) => {
            into.push(map);
            map.values().for_each(|v| objects(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| objects(v, into)),
        _ => {}
    }
}

#[test]
fn fields_sent_with_another_come_exactly_with_it_in_fixtures_and_examples() {
    let tables = tables();
    let frames: Vec<Value> = fixtures(Side::Server)
        .into_iter()
        .map(|f| f.value)
        .chain(examples("server"))
        .collect();
    let mut checked = 0;
    for table in tables.iter().filter(|t| t.kind() == "fields") {
        let Some((side, names)) = table.args().split_first() else {
            continue;
        };
        let doc = read_field_table(table);
        for name in names {
            // Which objects the table describes: frames of that type, or
            // any object holding every field a shape always has.
            let always: Vec<&String> = doc
                .rows
                .iter()
                .filter(|(n, row)| row.sent == Sent::Always && n.as_str() != "type")
                .map(|(n, _)| n)
                .collect();
            let described = |object: &serde_json::Map<String, Value>| match side.as_str() {
                "server" => object.get("type").and_then(Value::as_str) == Some(name),
                "shape" => always.iter().all(|f| object.contains_key(*f)),
                _ => false,
            };
            for (field, row) in &doc.rows {
                let Sent::With(other) = &row.sent else {
                    continue;
                };
                let mut found = Vec::new();
                frames.iter().for_each(|f| objects(f, &mut found));
                for object in found.into_iter().filter(|o| described(o)) {
                    let has_other = object.get(other).is_some_and(|v| !v.is_null());
                    assert_eq!(
                        object.contains_key(field),
                        has_other,
                        "{}: `{field}` comes exactly with `{other}`, but this {name} disagrees: {}",
                        row.at,
                        Value::Object(object.clone())
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked > 0,
        "no fixture or example shows a field sent with another"
    );
}
