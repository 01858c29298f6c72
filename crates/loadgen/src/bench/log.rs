//! The run's log: every line on stderr and appended to `bench.log` in the
//! run's directory, stamped with the UTC time of day.

use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct BenchLog {
    file: Option<PathBuf>,
}

impl BenchLog {
    /// Logs to `OUT/bench.log` (and stderr).
    pub fn in_dir(out: &Path) -> Self {
        Self {
            file: Some(out.join("bench.log")),
        }
    }

    /// `[bench HH:MM:SS] text`.
    pub fn say(&self, text: &str) {
        let stamp = chrono::Utc::now().format("%H:%M:%S");
        self.raw(&format!("[bench {stamp}] {text}"));
    }

    /// A line as it is (a continuation of the line before).
    pub fn raw(&self, line: &str) {
        eprintln!("{line}");
        if let Some(path) = &self.file
            && let Ok(mut file) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
        {
            let _ = writeln!(file, "{line}");
        }
    }
}
