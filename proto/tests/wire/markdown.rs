//! Reading PROTOCOL.md's tables: each table with the `<!-- check: … -->`
//! comment written before it (if any), and the cells as the tests need
//! them: the names in backticks, and lists of fields such as
//! "`presence`: Presence, `complete`?: boolean".

/// One table of PROTOCOL.md.
#[derive(Debug)]
pub struct Table {
    /// The words after `check:` in the comment before the table, such as
    /// `["fields", "client", "join"]`; empty for a table nobody checks.
    pub check: Vec<String>,
    /// The 1-based line of the header row.
    pub line: usize,
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

/// One row of a table, below the header and the separator.
#[derive(Debug)]
pub struct Row {
    /// The 1-based line of the row.
    pub line: usize,
    pub cells: Vec<String>,
}

impl Table {
    /// What the check comment says the table is (`fields`, `acks`, …).
    pub fn kind(&self) -> &str {
        self.check.first().map_or("", String::as_str)
    }

    /// The words of the check comment after the kind.
    pub fn args(&self) -> &[String] {
        self.check.get(1..).unwrap_or_default()
    }

    /// Where the table is, for failure messages.
    pub fn at(&self) -> String {
        format!("PROTOCOL.md:{} ({})", self.line, self.check.join(" "))
    }

    /// The index of the column whose header is `name`.
    pub fn column(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{}: no column `{name}` in {:?}", self.at(), self.header))
    }
}

impl Row {
    pub fn at(&self) -> String {
        format!("PROTOCOL.md:{}", self.line)
    }
}

/// Every table of the document, outside code blocks, in order. Panics when
/// a check comment is not followed by a table: a comment that checks
/// nothing would hide a table from the tests.
pub fn tables(text: &str) -> Vec<Table> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut pending: Option<(usize, Vec<String>)> = None;
    let mut in_code = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if in_code || line.is_empty() {
            i += 1;
            continue;
        }
        if let Some(words) = check_comment(line) {
            assert!(
                pending.is_none(),
                "PROTOCOL.md:{}: two check comments without a table between them",
                i + 1
            );
            pending = Some((i + 1, words));
            i += 1;
            continue;
        }
        if !line.starts_with('|') {
            if let Some((at, words)) = &pending {
                panic!(
                    "PROTOCOL.md:{at}: the comment `check: {}` must be followed by a table",
                    words.join(" ")
                );
            }
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && lines[i].trim().starts_with('|') {
            i += 1;
        }
        let block = &lines[start..i];
        assert!(
            block.len() >= 2 && is_separator(block[1]),
            "PROTOCOL.md:{}: a table needs a header and a separator row",
            start + 1
        );
        found.push(Table {
            check: pending.take().map(|(_, words)| words).unwrap_or_default(),
            line: start + 1,
            header: cells(block[0]),
            rows: block[2..]
                .iter()
                .enumerate()
                .map(|(k, row)| Row {
                    line: start + 3 + k,
                    cells: cells(row),
                })
                .collect(),
        });
    }
    found
}

fn check_comment(line: &str) -> Option<Vec<String>> {
    let inner = line.strip_prefix("<!--")?.strip_suffix("-->")?.trim();
    let words = inner.strip_prefix("check:")?;
    Some(words.split_whitespace().map(str::to_owned).collect())
}

fn is_separator(line: &str) -> bool {
    cells(line)
        .iter()
        .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-' || ch == ':'))
}

fn cells(line: &str) -> Vec<String> {
    let line = line.trim();
    let line = line.strip_prefix('|').unwrap_or(line);
    let line = line.strip_suffix('|').unwrap_or(line);
    line.split('|').map(|c| c.trim().to_owned()).collect()
}

/// The text with every link `[text](target)` replaced by its text.
pub fn strip_links(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let candidate = &rest[open..];
        let link = candidate.find("](").and_then(|close| {
            let inner = &candidate[1..close];
            let end = candidate[close + 2..].find(')')?;
            (!inner.contains(['[', ']'])).then_some((inner, close + 2 + end + 1))
        });
        match link {
            Some((inner, length)) => {
                out.push_str(inner);
                rest = &candidate[length..];
            }
            None => {
                out.push('[');
                rest = &candidate[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text without anything in parentheses (remarks for the reader).
fn strip_remarks(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Every name written in backticks, links followed.
pub fn code_names(cell: &str) -> Vec<String> {
    strip_links(cell)
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The one name in backticks a cell must hold.
pub fn code_name(cell: &str, at: &str) -> String {
    match code_names(cell).as_slice() {
        [name] => name.clone(),
        names => panic!("{at}: expected one name in backticks in `{cell}`, found {names:?}"),
    }
}

/// One entry of a list of fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    /// Marked `?`: left out when it does not apply.
    pub optional: bool,
    /// The type after `:`, as written.
    pub ty: Option<String>,
}

/// Reads a list such as "`ref`?, `code`, `message`" or
/// "`presence`: Presence, `complete`?: boolean (with `after_seq`)": the
/// entries separated by commas, remarks in parentheses and pieces of prose
/// without backticks left aside; "—" is the empty list.
pub fn field_list(cell: &str, at: &str) -> Vec<Listed> {
    let text = strip_remarks(&strip_links(cell));
    let mut listed = Vec::new();
    for piece in text.split(',').map(str::trim) {
        if piece.is_empty() || piece == "—" || !piece.contains('`') {
            continue;
        }
        let entry = piece.strip_prefix('`').and_then(|rest| {
            let (name, rest) = rest.split_once('`')?;
            let (optional, rest) = match rest.strip_prefix('?') {
                Some(rest) => (true, rest.trim()),
                None => (false, rest.trim()),
            };
            let ty = match rest.strip_prefix(':') {
                Some(ty) => Some(ty.trim().to_owned()),
                None if rest.is_empty() => None,
                None => return None,
            };
            Some(Listed {
                name: name.to_owned(),
                optional,
                ty,
            })
        });
        listed.push(entry.unwrap_or_else(|| {
            panic!("{at}: cannot read `{piece}`; write `name`, `name`? or `name`: Type")
        }));
    }
    listed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_become_their_text_and_lists_stay() {
        assert_eq!(
            strip_links("[`join`](#join), [Message](#message-1) or [UserRef]"),
            "`join`, Message or [UserRef]"
        );
    }

    #[test]
    fn field_lists_read_names_marks_and_types() {
        let listed = field_list(
            "`presence`: Presence, `complete`?: boolean (with `after_seq`, say), then prose",
            "here",
        );
        assert_eq!(
            listed,
            vec![
                Listed {
                    name: "presence".into(),
                    optional: false,
                    ty: Some("Presence".into())
                },
                Listed {
                    name: "complete".into(),
                    optional: true,
                    ty: Some("boolean".into())
                },
            ]
        );
        assert!(field_list("—", "here").is_empty());
    }

    #[test]
    fn a_check_comment_binds_the_next_table() {
        let text = "<!-- check: acks -->\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n| c |\n|---|\n";
        let found = tables(text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].check, vec!["acks"]);
        assert_eq!(found[0].rows[0].cells, vec!["1", "2"]);
        assert_eq!(found[0].rows[0].line, 5);
        assert!(found[1].check.is_empty());
    }

    #[test]
    #[should_panic(expected = "must be followed by a table")]
    fn a_check_comment_without_a_table_is_refused() {
        tables("<!-- check: acks -->\nsome prose\n");
    }
}
