//! The shape of the code, checked: the application layer knows nothing of
//! the transports, and no module of any crate of the workspace imports a
//! sibling that imports it back (directly or around a circle).
//!
//! Read from the sources, with the conventions the code follows: a module
//! is a file (`a.rs` or `a/mod.rs`), its `#[cfg(test)]` part comes last,
//! references are `crate::`, `super::` and `self::` paths.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The code of a file, without comments and without its tests.
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

#[test]
fn the_application_layer_knows_nothing_of_the_transports() {
    let mut files = Vec::new();
    rust_files(&workspace().join("crates/server/src/app"), &mut files);
    assert!(files.len() > 3, "the app layer is where it should be");
    let forbidden = [
        "axum",
        "hyper",
        "tungstenite",
        "switchboard_proto",
        "crate::http",
        "crate::ws",
        "crate::accept",
        "crate::mapping",
        "crate::refusals",
        "crate::state",
        "crate::config",
        "StatusCode",
    ];
    let mut found = Vec::new();
    for file in &files {
        let code = code(file);
        for word in forbidden {
            if code.contains(word) {
                found.push(format!("{} mentions {word}", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// A module's path within its crate (`[]` for the crate root).
type ModPath = Vec<String>;

fn module_path(src: &Path, file: &Path) -> Option<ModPath> {
    let relative = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?;
    match stem {
        "lib" | "main" if parts.is_empty() => {}
        "mod" => {}
        _ => parts.push(stem.to_owned()),
    }
    Some(parts)
}

/// Every `crate::`, `super::` or `self::` path in `code`, resolved from
/// module `at` (braced groups expanded one level).
fn references(code: &str, at: &ModPath) -> Vec<ModPath> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let rest = &code[i..];
        let starts_word = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b':');
        let head = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|h| starts_word && rest.starts_with(h));
        let Some(head) = head else {
            i += 1;
            continue;
        };
        // The path, up to the end of a braced group or of the identifiers.
        let mut end = head.len();
        let mut depth = 0;
        for (j, c) in rest[head.len()..].char_indices() {
            let k = head.len() + j;
            match c {
                '{' => depth += 1,
                '}' if depth > 0 => depth -= 1,
                _ if depth > 0 => {}
                c if c.is_alphanumeric() || c == '_' || c == ':' => {}
                _ => {
                    end = k;
                    break;
                }
            }
            end = k + c.len_utf8();
        }
        let path = &rest[..end];
        for expanded in expand(path) {
            if let Some(resolved) = resolve(&expanded, at) {
                out.push(resolved);
            }
        }
        i += end.max(1);
    }
    out
}

/// `a::{b, c::d}` → `a::b`, `a::c::d` (nested groups are kept whole).
fn expand(path: &str) -> Vec<String> {
    match path.find('{') {
        None => vec![path.to_owned()],
        Some(open) => {
            let prefix = &path[..open];
            let inner = path[open + 1..].trim_end_matches('}');
            inner
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| format!("{prefix}{}", p.split_whitespace().next().unwrap_or(p)))
                .collect()
        }
    }
}

fn resolve(path: &str, at: &ModPath) -> Option<ModPath> {
    let mut parts = path.split("::").filter(|p| !p.is_empty());
    let mut base: ModPath = match parts.next()? {
        "crate" => Vec::new(),
        "self" => at.clone(),
        "super" => at[..at.len().checked_sub(1)?].to_vec(),
        _ => return None,
    };
    for part in parts {
        if part == "super" {
            base.pop()?;
        } else if part != "self" {
            base.push(part.to_owned());
        }
    }
    Some(base)
}

/// The cycles among sibling modules of one crate, each as its files' modules.
fn sibling_cycles(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeMap<ModPath, PathBuf> = files
        .iter()
        .filter_map(|f| module_path(src, f).map(|m| (m, f.clone())))
        .filter(|(m, _)| m.last().is_none_or(|last| last != "tests"))
        .collect();
    // parent -> (child -> children it imports)
    let mut edges: BTreeMap<ModPath, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (module, file) in &modules {
        for target in references(&code(file), module) {
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common >= module.len() || common >= target.len() {
                continue; // a module and its own ancestor or descendant
            }
            let sibling: ModPath = target[..=common].to_vec();
            if !modules.contains_key(&sibling) {
                continue; // an item of the parent, not a module
            }
            edges
                .entry(module[..common].to_vec())
                .or_default()
                .entry(module[common].clone())
                .or_default()
                .insert(target[common].clone());
        }
    }
    let mut cycles = Vec::new();
    for (parent, graph) in &edges {
        for start in graph.keys() {
            if let Some(cycle) = path_back(graph, start, start, &mut BTreeSet::new()) {
                let mut names = vec![start.clone()];
                names.extend(cycle);
                let members: BTreeSet<String> = names.iter().cloned().collect();
                let line = format!("{}: {}", parent.join("::"), names.join(" -> "));
                if !cycles
                    .iter()
                    .any(|c: &(BTreeSet<String>, String)| c.0 == members)
                {
                    cycles.push((members, line));
                }
            }
        }
    }
    cycles.into_iter().map(|(_, line)| line).collect()
}

/// A path from `from` back to `to` in `graph`, if any.
fn path_back(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    for next in graph.get(from).into_iter().flatten() {
        if next == to {
            return Some(vec![to.to_owned()]);
        }
        if seen.insert(next.clone())
            && let Some(mut rest) = path_back(graph, next, to, seen)
        {
            rest.insert(0, next.clone());
            return Some(rest);
        }
    }
    None
}

fn crate_sources() -> Vec<PathBuf> {
    let root = workspace();
    let mut sources = vec![root.join("proto/src"), root.join("benches/floor/src")];
    for entry in fs::read_dir(root.join("crates")).unwrap() {
        let src = entry.unwrap().path().join("src");
        if src.is_dir() {
            sources.push(src);
        }
    }
    sources
}

#[test]
fn no_module_imports_a_sibling_that_imports_it_back() {
    let mut found = Vec::new();
    for src in crate_sources() {
        for cycle in sibling_cycles(&src) {
            found.push(format!("{}: {cycle}", src.display()));
        }
    }
    assert!(found.is_empty(), "import cycles: {found:#?}");
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    fs::write(
        src.join("lib.rs"),
        "mod a;\nmod b;\nmod c;\npub struct Root;\n",
    )
    .unwrap();
    fs::write(src.join("a.rs"), "use crate::b::Thing;\nuse super::Root;\n").unwrap();
    fs::write(
        src.join("b.rs"),
        "use super::{c::More, Root};\npub struct Thing;\n",
    )
    .unwrap();
    fs::write(
        src.join("c.rs"),
        "pub struct More;\nfn f() { crate::a::g(); }\n",
    )
    .unwrap();
    assert_eq!(sibling_cycles(src), vec![": a -> b -> c -> a".to_owned()]);
    fs::write(
        src.join("c.rs"),
        "pub struct More;\n// crate::a::g() in a comment\n",
    )
    .unwrap();
    assert_eq!(sibling_cycles(src), Vec::<String>::new());
}
