//! One benchmark case: wait for a quiet machine, run this load generator
//! as a child with `--json`, fail unless the report shows the run did what
//! it was asked, and run it once more if it was noisy (keeping the noisy
//! attempt as `NAME.noisy.json` and `.log`).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context as _;

use super::log::BenchLog;
use super::quiet::{self, Quiet};
use crate::report::Report;

/// What every case of a run shares.
#[derive(Debug, Clone)]
pub struct Cases {
    /// This load generator's binary.
    pub loadgen: PathBuf,
    /// The run's directory.
    pub out: PathBuf,
    pub log: BenchLog,
    pub quiet: Quiet,
    pub max_steal_pct: f64,
    /// `--duration`, `--warmup`, `--settle` for every run.
    pub timing: Vec<String>,
}

/// Why a report shows a failed run (empty: it did not fail).
pub fn problems(report: &Report) -> Vec<&'static str> {
    let mut problems = Vec::new();
    if report.connections.held == 0 {
        problems.push("no connection was held");
    }
    if report.scenario != "idle" && report.deliveries.total == 0 {
        problems.push("nothing was delivered");
    }
    if report.server.as_ref().and_then(|s| s.cpu_seconds).is_none() {
        problems.push("no server CPU figure");
    }
    problems
}

/// Why a report is noisy (empty: it is not).
pub fn noise(report: &Report, max_steal_pct: f64, max_other_pct: f64) -> Vec<String> {
    let mut why = Vec::new();
    if let Some(steal) = report.steal.percent.filter(|s| *s > max_steal_pct) {
        why.push(format!("steal {steal:.1}%"));
    }
    if let Some(other) = report.machine.other_cpu_seconds {
        let percent = 100.0 * other / (report.window_secs * f64::from(report.steal.cores.max(1)));
        if percent > max_other_pct {
            why.push(format!("other CPU {percent:.1}%"));
        }
    }
    why
}

/// One line on what a run did.
pub fn summary(report: &Report) -> String {
    let d = &report.deliveries;
    let mut parts = vec![format!("held {}", report.connections.held)];
    match d.offered_per_sec.filter(|o| *o != 0.0) {
        Some(offered) => parts.push(format!("{:.0}/{offered:.0} deliveries/s", d.per_sec)),
        None if d.total > 0 => parts.push(format!("{:.0} deliveries/s", d.per_sec)),
        None => {}
    }
    if let Some(per_cpu) = d.per_server_cpu_sec.filter(|v| *v != 0.0) {
        parts.push(format!("{per_cpu:.0}/CPU-s"));
    }
    for name in ["send_to_delivery", "take_to_last_presence", "post_to_event"] {
        if let Some(p) = report.latency_us.get(name) {
            parts.push(format!("{name} p50 {} µs p99 {} µs", p.p50, p.p99));
        }
    }
    let rss = report
        .server
        .as_ref()
        .and_then(|s| s.rss_per_connection_bytes);
    if let (Some(rss), "idle") = (rss, report.scenario.as_str()) {
        parts.push(format!("{rss:.0} B/connection"));
    }
    parts.join(", ")
}

/// The last `lines` lines of a file, for an error message.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Cases {
    fn file(&self, name: &str, extension: &str) -> PathBuf {
        self.out.join(format!("{name}.{extension}"))
    }

    /// Runs case `name`: this load generator with `args` (target and
    /// scenario), the run's timing and `--json OUT/NAME.json`, its output
    /// in `OUT/NAME.log`. `max_other_pct`: 100 where Postgres' CPU counts
    /// as other (only steal makes those noisy).
    pub async fn run(
        &self,
        name: &str,
        args: &[String],
        max_other_pct: f64,
    ) -> anyhow::Result<Report> {
        let (json, log) = (self.file(name, "json"), self.file(name, "log"));
        for attempt in 1..=2 {
            quiet::wait(self.quiet, &self.log).await?;
            self.log.say(&format!("run {name}: {}", args.join(" ")));
            let output = std::fs::File::create(&log)
                .with_context(|| format!("cannot create {}", log.display()))?;
            let status = tokio::process::Command::new(&self.loadgen)
                .args(args)
                .args(&self.timing)
                .arg("--json")
                .arg(&json)
                .stdin(Stdio::null())
                .stdout(output.try_clone()?)
                .stderr(output)
                .status()
                .await
                .with_context(|| format!("cannot run {}", self.loadgen.display()))?;
            if !status.success() {
                eprintln!("{}", tail(&log, 40));
                anyhow::bail!("run {name} failed (log: {})", log.display());
            }
            let report: Report = super::results::read_json(&json)?
                .with_context(|| format!("run {name} wrote no report (log: {})", log.display()))?;
            let problems = problems(&report);
            if !problems.is_empty() {
                anyhow::bail!(
                    "run {name}: {} (log: {})",
                    problems.join("; "),
                    log.display()
                );
            }
            let noisy = noise(&report, self.max_steal_pct, max_other_pct);
            let flag = if noisy.is_empty() {
                String::new()
            } else {
                format!(" — noisy: {}", noisy.join(", "))
            };
            self.log.say(&format!("  {}{flag}", summary(&report)));
            if noisy.is_empty() || attempt == 2 {
                return Ok(report);
            }
            std::fs::rename(&json, self.file(name, "noisy.json"))?;
            std::fs::rename(&log, self.file(name, "noisy.log"))?;
            self.log.say(&format!("  running {name} once more"));
        }
        unreachable!("the second attempt returns")
    }
}
