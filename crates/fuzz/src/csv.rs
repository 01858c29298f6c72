//! The statistics export writes names people typed into CSV. Read back by a
//! CSV reader, every record must give back exactly the fields written (the
//! text cells with their guard against formulas), however the text is made:
//! a quote, a comma or a line break in a name must not shift a column or
//! start a new row.

use switchboard_core::csv::{Cell, record};

/// The first characters that make a spreadsheet run a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

#[test]
fn every_record_reads_back_as_the_fields_written() {
    fuzz!(|choices| {
        // Like the export, a header row of the server's own first: a
        // reader may take a byte-order mark at the very start for the
        // file's, not the field's.
        let mut written = record(&[Cell::Value("day"), Cell::Value("name")]);
        let mut expected = vec![vec!["day".to_owned(), "name".to_owned()]];
        for _ in 0..=choices.below(4) {
            let texts: Vec<(u8, String)> = (0..=choices.below(6))
                .map(|_| (choices.byte() % 3, choices.text(24)))
                .collect();
            let cells: Vec<Cell<'_>> = texts
                .iter()
                .map(|(kind, text)| match kind {
                    0 => Cell::Text(text),
                    1 => Cell::Value(text),
                    _ => Cell::Empty,
                })
                .collect();
            let line = record(&cells);
            assert!(line.ends_with("\r\n"), "a record ends with CRLF: {line:?}");
            written.push_str(&line);
            expected.push(
                cells
                    .iter()
                    .map(|cell| match *cell {
                        Cell::Text(t) if t.starts_with(FORMULA_STARTS) => format!("'{t}"),
                        Cell::Text(t) | Cell::Value(t) => t.to_owned(),
                        Cell::Empty => String::new(),
                    })
                    .collect(),
            );
        }
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(written.as_bytes());
        let read: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        // A record of one empty field is an empty line, which readers
        // skip: it stands for no row.
        expected.retain(|fields| !(fields.len() == 1 && fields[0].is_empty()));
        assert_eq!(read, expected, "written: {written:?}");
    });
}
