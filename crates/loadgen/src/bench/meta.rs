//! A run's facts (`meta.json`): when, which commit and whether the tree was
//! clean, the machine, the command, and the thresholds the run was judged
//! by. Written before the first run, read by the results writer.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::procfs;

/// Changed files that are not the run's own output.
const OWN_OUTPUT: [&str; 2] = [" benches/out/", " benches/RESULTS.md"];
/// Changed files named in RESULTS.md (the rest are counted).
const DIRTY_SAMPLE: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// `YYYY-MM-DD HH:MM:SS UTC`.
    pub date: String,
    /// The command line, with every `BENCH_*` setting that was set.
    pub command: String,
    pub commit: String,
    pub subject: String,
    /// Files changed in the working tree, besides the run's own output.
    pub dirty_files: usize,
    pub dirty_sample: Vec<String>,
    pub nproc: usize,
    pub cpu_model: String,
    pub memory_bytes: u64,
    pub kernel: String,
    pub rustc: String,
    /// A run whose steal is above this (percent of the machine) is noisy.
    #[serde(default = "default_max_steal")]
    pub max_steal_pct: f64,
    /// A run whose CPU used by others is above this is noisy.
    #[serde(default = "default_max_other")]
    pub max_other_pct: f64,
    /// The share of offered deliveries a ladder rung must deliver.
    #[serde(default = "default_sustained")]
    pub sustained_share: f64,
}

fn default_max_steal() -> f64 {
    2.0
}

fn default_max_other() -> f64 {
    10.0
}

fn default_sustained() -> f64 {
    0.95
}

/// The thresholds a run is judged by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub max_steal_pct: f64,
    pub max_other_pct: f64,
    pub sustained_share: f64,
}

/// The changed files of `git status --porcelain` that are not the run's
/// own output: how many, and the first few paths.
pub fn dirty(porcelain: &str) -> (usize, Vec<String>) {
    let changed: Vec<&str> = porcelain
        .lines()
        .filter(|line| !line.contains(OWN_OUTPUT[0]) && !line.ends_with(OWN_OUTPUT[1]))
        .collect();
    let sample = changed
        .iter()
        .take(DIRTY_SAMPLE)
        .map(|line| line.get(3..).unwrap_or_default().to_owned())
        .collect();
    (changed.len(), sample)
}

/// What `program args` prints, trimmed; `None` when it cannot run or fails.
fn output(dir: &Path, program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Gathers the facts of a run of `command` in the repository at `root`.
pub fn gather(root: &Path, command: &str, thresholds: Thresholds) -> anyhow::Result<Meta> {
    let (dirty_files, dirty_sample) =
        dirty(&output(root, "git", &["status", "--porcelain"]).unwrap_or_default());
    let read = |path: &str| {
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))
    };
    Ok(Meta {
        date: chrono::Utc::now()
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        command: command.to_owned(),
        commit: output(root, "git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into()),
        subject: output(root, "git", &["log", "-1", "--format=%s"]).unwrap_or_default(),
        dirty_files,
        dirty_sample,
        nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model: procfs::parse_cpu_model(&read("/proc/cpuinfo")?)
            .unwrap_or_else(|| "unknown".into()),
        memory_bytes: procfs::parse_mem_total_bytes(&read("/proc/meminfo")?)
            .ok_or_else(|| anyhow::anyhow!("no MemTotal in /proc/meminfo"))?,
        kernel: read("/proc/sys/kernel/osrelease")?.trim().to_owned(),
        rustc: output(root, "rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
        max_steal_pct: thresholds.max_steal_pct,
        max_other_pct: thresholds.max_other_pct,
        sustained_share: thresholds.sustained_share,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runs_own_output_does_not_make_the_tree_dirty() {
        let porcelain = " M crates/loadgen/src/lib.rs\n?? benches/out/20261202T080612Z/\n M benches/RESULTS.md\n?? a.txt\n M b\n M c\n M d\n M e\n";
        let (count, sample) = dirty(porcelain);
        assert_eq!(count, 6);
        assert_eq!(
            sample,
            ["crates/loadgen/src/lib.rs", "a.txt", "b", "c", "d"]
        );
        assert_eq!(dirty(""), (0, vec![]));
    }

    #[test]
    fn thresholds_missing_from_an_old_meta_take_their_defaults() {
        let meta: Meta = serde_json::from_value(serde_json::json!({
            "date": "d", "command": "c", "commit": "x", "subject": "s",
            "dirty_files": 0, "dirty_sample": [], "nproc": 2, "cpu_model": "m",
            "memory_bytes": 1, "kernel": "k", "rustc": "r"
        }))
        .unwrap();
        assert_eq!(
            (meta.max_steal_pct, meta.max_other_pct, meta.sustained_share),
            (2.0, 10.0, 0.95)
        );
    }

    #[test]
    fn this_machine_and_repository_can_be_described() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let thresholds = Thresholds {
            max_steal_pct: 2.0,
            max_other_pct: 10.0,
            sustained_share: 0.95,
        };
        let meta = gather(root, "benches/run.sh", thresholds).unwrap();
        assert_eq!(meta.commit.len(), 40, "{meta:?}");
        assert!(meta.memory_bytes > 0 && meta.nproc > 0, "{meta:?}");
        assert!(
            meta.date.ends_with(" UTC") && meta.date.len() == 23,
            "{meta:?}"
        );
        assert!(meta.rustc.starts_with("rustc "), "{meta:?}");
    }
}
