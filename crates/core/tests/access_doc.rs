//! docs/ACCESS.md's tables agree with the code: the permission catalogue
//! (ids, order and descriptions) and the built-in roles (ids, order,
//! descriptions and permissions), so the document cannot drift.
//!
//! A table is checked when a comment `<!-- check: <kind> -->` comes right
//! before it; the kinds are `permissions` and `roles`, each exactly once.

use std::collections::BTreeSet;
use std::path::Path;

use switchboard_core::access::{BuiltinRole, Permission, PermissionSet};

const KINDS: [&str; 2] = ["permissions", "roles"];

/// One checked table: where its header is, its header and its rows' cells.
#[derive(Debug)]
struct Table {
    kind: String,
    line: usize,
    header: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

fn document() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ACCESS.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|c| c.trim().to_owned()).collect()
}

/// The tables that follow a check comment; panics on a comment that is not
/// followed by a table (it would hide the table from these tests).
fn checked_tables(text: &str) -> Vec<Table> {
    let lines: Vec<&str> = text.lines().collect();
    let mut tables = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(kind) = line
            .trim()
            .strip_prefix("<!-- check:")
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            continue;
        };
        let start = (i + 1..lines.len())
            .find(|&k| !lines[k].trim().is_empty())
            .filter(|&k| lines[k].trim().starts_with('|'))
            .unwrap_or_else(|| {
                panic!(
                    "ACCESS.md:{}: a check comment needs a table after it",
                    i + 1
                )
            });
        let end = (start..lines.len())
            .find(|&k| !lines[k].trim().starts_with('|'))
            .unwrap_or(lines.len());
        tables.push(Table {
            kind: kind.trim().to_owned(),
            line: start + 1,
            header: cells(lines[start]),
            rows: (start + 2..end).map(|k| (k + 1, cells(lines[k]))).collect(),
        });
    }
    tables
}

fn the_table(kind: &str) -> Table {
    let mut found: Vec<Table> = checked_tables(&document())
        .into_iter()
        .filter(|t| t.kind == kind)
        .collect();
    assert_eq!(found.len(), 1, "ACCESS.md needs one `check: {kind}` table");
    found.remove(0)
}

/// The names written in backticks.
fn code_names(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

fn permission(name: &str, at: usize) -> Permission {
    Permission::parse(name).unwrap_or_else(|e| panic!("ACCESS.md:{at}: {e}"))
}

/// A role's permissions as the table writes them: a list of ids, or
/// "every permission" and then, after "but", the ids left out.
fn listed_permissions(cell: &str, at: usize) -> PermissionSet {
    let names = code_names(cell);
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(
        unique.len(),
        names.len(),
        "ACCESS.md:{at}: a permission listed twice"
    );
    let named: PermissionSet = names.iter().map(|n| permission(n, at)).collect();
    match cell.starts_with("every permission") {
        true => PermissionSet::all().without(named),
        false => named,
    }
}

#[test]
fn every_check_is_known() {
    for table in checked_tables(&document()) {
        assert!(
            KINDS.contains(&table.kind.as_str()),
            "ACCESS.md:{}: unknown check `{}`; the kinds are {KINDS:?}",
            table.line,
            table.kind
        );
    }
}

#[test]
fn the_permission_table_is_the_catalogue() {
    let table = the_table("permissions");
    assert_eq!(table.header, ["permission", "what it allows"]);
    let mut listed = Vec::new();
    for (at, row) in &table.rows {
        let [id, description] = row.as_slice() else {
            panic!("ACCESS.md:{at}: two cells, the id and what it allows");
        };
        let p = permission(id.trim_matches('`'), *at);
        assert_eq!(
            id,
            &format!("`{p}`"),
            "ACCESS.md:{at}: the id alone, in backticks"
        );
        assert_eq!(
            description,
            p.description(),
            "ACCESS.md:{at}: what `{p}` allows"
        );
        listed.push(p);
    }
    assert_eq!(
        listed,
        Permission::ALL,
        "one row per permission, in catalogue order"
    );
}

#[test]
fn the_role_table_is_the_built_in_roles() {
    let table = the_table("roles");
    assert_eq!(table.header, ["role", "for whom", "permissions"]);
    let mut listed = Vec::new();
    for (at, row) in &table.rows {
        let [id, description, permissions] = row.as_slice() else {
            panic!("ACCESS.md:{at}: three cells, the id, for whom and the permissions");
        };
        let role = BuiltinRole::parse(id.trim_matches('`'))
            .filter(|r| id == &format!("`{}`", r.as_str()))
            .unwrap_or_else(|| panic!("ACCESS.md:{at}: `{id}` is not a built-in role id"));
        assert_eq!(
            description,
            role.description(),
            "ACCESS.md:{at}: for whom `{id}` is"
        );
        assert_eq!(
            listed_permissions(permissions, *at),
            role.permissions(),
            "ACCESS.md:{at}: the permissions of {id}"
        );
        listed.push(role);
    }
    assert_eq!(
        listed,
        BuiltinRole::ALL,
        "one row per built-in role, in order"
    );
}

#[test]
fn every_permission_but_reads_as_the_rest_of_the_catalogue() {
    let rest = listed_permissions("every permission but `billing.manage`", 0);
    assert!(!rest.contains(Permission::BillingManage));
    assert_eq!(rest.iter().count(), Permission::ALL.len() - 1);
    assert_eq!(
        listed_permissions("every permission (ownership)", 0),
        PermissionSet::all()
    );
}
