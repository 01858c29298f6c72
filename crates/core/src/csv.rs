//! CSV records as RFC 4180 writes them, safe to open in a spreadsheet:
//! the statistics export's encoding (docs/MODULES.md, "Statistics").
//!
//! Records end with CRLF. A field holding a comma, a double quote, a CR or
//! an LF is quoted, its quotes doubled. A text cell (a name someone typed)
//! that starts with `=`, `+`, `-`, `@`, a tab or a CR gets a leading `'`
//! first, so a spreadsheet shows it instead of running it as a formula;
//! values the server makes itself (numbers, ids, dates) are written as
//! they are, so a negative number stays a number. Pure and total: every
//! string makes a record.

/// One field of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    /// Text from people (names): guarded against formulas.
    Text(&'a str),
    /// A value the server produced (a number, an id, a date).
    Value(&'a str),
    /// No value.
    Empty,
}

/// The first characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Appends one record, its fields separated by commas, ended by CRLF.
pub fn write_record(out: &mut String, cells: &[Cell<'_>]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match *cell {
            Cell::Text(text) if text.starts_with(FORMULA_STARTS) => {
                write_field(out, &format!("'{text}"));
            }
            Cell::Text(text) | Cell::Value(text) => write_field(out, text),
            Cell::Empty => {}
        }
    }
    out.push_str("\r\n");
}

/// One record as a string.
pub fn record(cells: &[Cell<'_>]) -> String {
    let mut out = String::new();
    write_record(&mut out, cells);
    out
}

fn write_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_fields_are_written_as_they_are_and_records_end_with_crlf() {
        assert_eq!(
            record(&[
                Cell::Value("2026-11-01"),
                Cell::Text("Support"),
                Cell::Empty
            ]),
            "2026-11-01,Support,\r\n"
        );
        assert_eq!(record(&[]), "\r\n");
    }

    #[test]
    fn fields_with_separators_or_quotes_are_quoted_with_quotes_doubled() {
        assert_eq!(record(&[Cell::Text("a,b")]), "\"a,b\"\r\n");
        assert_eq!(
            record(&[Cell::Text("say \"hi\"")]),
            "\"say \"\"hi\"\"\"\r\n"
        );
        assert_eq!(record(&[Cell::Text("two\nlines")]), "\"two\nlines\"\r\n");
        assert_eq!(record(&[Cell::Text("cr\rhere")]), "\"cr\rhere\"\r\n");
        assert_eq!(record(&[Cell::Value("1,5")]), "\"1,5\"\r\n");
    }

    #[test]
    fn text_that_would_run_as_a_formula_is_defused() {
        assert_eq!(record(&[Cell::Text("=SUM(A1)")]), "'=SUM(A1)\r\n");
        assert_eq!(record(&[Cell::Text("+1")]), "'+1\r\n");
        assert_eq!(record(&[Cell::Text("-1")]), "'-1\r\n");
        assert_eq!(record(&[Cell::Text("@cmd")]), "'@cmd\r\n");
        assert_eq!(record(&[Cell::Text("\tx")]), "'\tx\r\n");
        assert_eq!(record(&[Cell::Text("\rx")]), "\"'\rx\"\r\n");
        assert_eq!(
            record(&[Cell::Text("=HYPERLINK(\"a\",\"b\")")]),
            "\"'=HYPERLINK(\"\"a\"\",\"\"b\"\")\"\r\n"
        );
        // only the first character counts, and numbers the server made stay numbers
        assert_eq!(record(&[Cell::Text("a=b")]), "a=b\r\n");
        assert_eq!(record(&[Cell::Value("-1.5")]), "-1.5\r\n");
    }

    #[test]
    fn a_record_reads_back_field_for_field() {
        let names = ["plain", "a,b", "q\"uote", "=x", "multi\r\nline", ""];
        let cells: Vec<Cell<'_>> = names.iter().map(|n| Cell::Text(n)).collect();
        let line = record(&cells);
        let back = parse_one(&line);
        let expected: Vec<String> = names
            .iter()
            .map(|n| {
                if n.starts_with(FORMULA_STARTS) {
                    format!("'{n}")
                } else {
                    (*n).to_owned()
                }
            })
            .collect();
        assert_eq!(back, expected);
    }

    /// A reader of one record, as RFC 4180 reads it (for the test above).
    fn parse_one(line: &str) -> Vec<String> {
        let mut fields = vec![String::new()];
        let mut chars = line.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    fields.last_mut().unwrap().push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => fields.last_mut().unwrap().push(c),
                (false, '"') => quoted = true,
                (false, ',') => fields.push(String::new()),
                (false, '\r') if chars.peek() == Some(&'\n') => break,
                (false, c) => fields.last_mut().unwrap().push(c),
            }
        }
        fields
    }
}
