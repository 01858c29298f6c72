//! RESULTS.md from a run's reports: the header (meta.json), the notes
//! carried over from the file being replaced, a section per part, the
//! criterion figures. Reading only: it never runs anything, so a run's
//! reports can be written up again after the tables change
//! (`benches/run.sh --report`).
//!
//! A report that is missing shows as "—" (a part that was not run, or
//! failed); a report that is there but does not parse is an error.

mod criterion;
mod flood;
mod postgres;
mod scale;
mod single;

use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;

use super::format::{MISSING, fixed, num, ratio};
use super::meta::Meta;
use crate::report::Report;

/// The marks around the hand-written notes kept across rewrites.
pub const NOTES_BEGIN: &str = "<!-- notes:begin -->";
pub const NOTES_END: &str = "<!-- notes:end -->";
const DEFAULT_NOTES: &str =
    "## Notes\n\n_Analysis of these figures goes here (kept when the script rewrites this file)._";

/// A run's output directory, `benches/out/<run>/`.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// `NAME.json`, if the run wrote it.
    pub fn report(&self, name: &str) -> anyhow::Result<Option<Report>> {
        read_json(&self.file(&format!("{name}.json")))
    }

    /// Whether `NAME` was run twice because its first attempt was noisy.
    pub fn reran(&self, name: &str) -> bool {
        self.file(&format!("{name}.noisy.json")).exists()
    }

    /// The rows of `NAME.list` (what a part ran, in order), split into words.
    pub fn listed(&self, name: &str) -> anyhow::Result<Vec<Vec<String>>> {
        let path = self.file(&format!("{name}.list"));
        if !path.exists() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| line.split_whitespace().map(str::to_owned).collect())
            .collect())
    }
}

/// A JSON file, `None` when it does not exist.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<Option<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .with_context(|| format!("{} is not a report this writer reads", path.display()))
}

/// The notes block of an earlier RESULTS.md, between the marks (the
/// marks' own lines excluded).
pub fn notes_of(previous: &str) -> Option<&str> {
    let start = previous.find(&format!("{NOTES_BEGIN}\n"))? + NOTES_BEGIN.len() + 1;
    let end = previous[start..].find(&format!("\n{NOTES_END}"))?;
    Some(&previous[start..start + end])
}

/// `path` relative to `base`, both absolute, by their components alone
/// (symlinks are not resolved: `benches/out/latest` stays that).
pub fn relative(path: &Path, base: &Path) -> PathBuf {
    fn normal(path: &Path) -> Vec<Component<'_>> {
        let mut parts = Vec::new();
        for part in path.components() {
            match part {
                Component::CurDir => {}
                Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                    parts.pop();
                }
                other => parts.push(other),
            }
        }
        parts
    }
    let (path, base) = (normal(path), normal(base));
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut relative = PathBuf::new();
    for _ in common..base.len() {
        relative.push("..");
    }
    for part in &path[common..] {
        relative.push(part);
    }
    if relative.as_os_str().is_empty() {
        relative.push(".");
    }
    relative
}

/// A figure read from a report, compared between the targets.
type Figure<'a> = Box<dyn Fn(&Report) -> Option<f64> + 'a>;

/// One row of a two-target table: its label, the cell of a report, and the
/// figure compared between the targets (`None`: no ratio in this row).
struct Row<'a> {
    label: String,
    cell: Box<dyn Fn(&Report) -> String + 'a>,
    figure: Option<Figure<'a>>,
}

impl<'a> Row<'a> {
    /// A figure shown with `show` and compared between the targets.
    fn figure(
        label: impl Into<String>,
        get: impl Fn(&Report) -> Option<f64> + Copy + 'a,
        show: impl Fn(Option<f64>) -> String + 'a,
    ) -> Self {
        Self {
            label: label.into(),
            cell: Box::new(move |r| show(get(r))),
            figure: Some(Box::new(get)),
        }
    }

    /// A number with `digits` decimals, compared between the targets.
    fn number(
        label: impl Into<String>,
        digits: usize,
        get: impl Fn(&Report) -> Option<f64> + Copy + 'a,
    ) -> Self {
        Self::figure(label, get, move |v| num(v, digits))
    }

    /// Text only, no ratio.
    fn text(label: impl Into<String>, cell: impl Fn(&Report) -> String + 'a) -> Self {
        Self {
            label: label.into(),
            cell: Box::new(cell),
            figure: None,
        }
    }
}

/// A target Switchboard is compared with in a table: its report, its
/// column's head, and its name in the ratio's head (`Switchboard/floor`).
struct Peer<'a> {
    report: &'a str,
    head: &'a str,
    short: &'a str,
}

/// What the sections share: the run, its settings, the document so far.
struct Writer<'a> {
    run: &'a RunDir,
    meta: &'a Meta,
    lines: Vec<String>,
}

impl Writer<'_> {
    fn add(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    fn report(&self, name: &str) -> anyhow::Result<Option<Report>> {
        self.run.report(name)
    }

    /// Steal and other CPU of a run, flagged when either is past its
    /// threshold. `other_counts` is false on Postgres, whose CPU is part
    /// of "other": there only steal flags a run.
    fn noise(&self, report: Option<&Report>, name: &str, other_counts: bool) -> String {
        let Some(r) = report else {
            return MISSING.into();
        };
        let (steal, other) = (r.steal.percent, other_pct(r));
        let mut text = format!("steal {}%, other {}%", num(steal, 1), num(other, 1));
        let noisy = steal.unwrap_or(0.0) > self.meta.max_steal_pct
            || (other_counts && other.unwrap_or(0.0) > self.meta.max_other_pct);
        if noisy {
            text = format!("**noisy**: {text}");
        }
        if self.run.reran(name) {
            text.push_str(" (rerun: first attempt noisy)");
        }
        text
    }

    /// Switchboard's report and each peer's side by side, each peer's
    /// column followed by the ratio Switchboard/peer of every compared
    /// figure; then steal and other CPU, and the files.
    fn table(&mut self, sb_name: &str, peers: &[Peer<'_>], rows: &[Row<'_>]) -> anyhow::Result<()> {
        let sb = self.report(sb_name)?;
        let mut reports = Vec::with_capacity(peers.len());
        for peer in peers {
            reports.push(self.report(peer.report)?);
        }
        let mut head = String::from("| | Switchboard |");
        let mut rule = String::from("|---|---:|");
        for peer in peers {
            head.push_str(&format!(" {} | Switchboard/{} |", peer.head, peer.short));
            rule.push_str("---:|---:|");
        }
        self.add(head);
        self.add(rule);
        let cell = |row: &Row<'_>, r: &Option<Report>| {
            r.as_ref().map_or_else(|| MISSING.into(), &row.cell)
        };
        for row in rows {
            let mut line = format!("| {} | {} |", row.label, cell(row, &sb));
            for peer in &reports {
                let compared = match &row.figure {
                    Some(figure) => ratio(
                        sb.as_ref().and_then(figure.as_ref()),
                        peer.as_ref().and_then(figure.as_ref()),
                    ),
                    None => String::new(),
                };
                line.push_str(&format!(" {} | {compared} |", cell(row, peer)));
            }
            self.add(line);
        }
        let mut noise = format!(
            "| CPU steal / other CPU | {} |",
            self.noise(sb.as_ref(), sb_name, true)
        );
        let mut files = format!("| raw report | `{sb_name}.json` |");
        for (peer, report) in peers.iter().zip(&reports) {
            noise.push_str(&format!(
                " {} | |",
                self.noise(report.as_ref(), peer.report, true)
            ));
            files.push_str(&format!(" `{}.json` | |", peer.report));
        }
        self.add(noise);
        self.add(files);
        Ok(())
    }
}

/// CPU used by neither the server nor the generator, as a share of the
/// machine during the window.
fn other_pct(r: &Report) -> Option<f64> {
    let other = r.machine.other_cpu_seconds?;
    Some(100.0 * other / (r.window_secs * f64::from(r.steal.cores.max(1))))
}

/// A latency percentile of a report (`q`: `p50`, `p99`, `p999`).
fn latency(r: &Report, name: &str, q: &str) -> Option<u64> {
    let p = r.latency_us.get(name)?;
    Some(match q {
        "p50" => p.p50,
        "p99" => p.p99,
        "p999" => p.p999,
        other => unreachable!("no percentile {other}"),
    })
}

fn server_cpu_pct(r: &Report) -> Option<f64> {
    r.server.as_ref()?.cpu_percent_of_core
}

fn rss_per_connection(r: &Report) -> Option<f64> {
    r.server.as_ref()?.rss_per_connection_bytes
}

/// `held, failed, dropped` of a report.
fn held(r: &Report) -> String {
    let c = &r.connections;
    format!(
        "{} held, {} failed, {} dropped",
        fixed(c.held as f64, 0),
        fixed(c.failed as f64, 0),
        fixed(c.dropped as f64, 0)
    )
}

/// Delivered per second, with its share of what was offered.
fn delivered(r: &Report) -> String {
    let d = &r.deliveries;
    match d.offered_per_sec.filter(|o| *o != 0.0) {
        Some(offered) => format!(
            "{} ({:.0}%)",
            num(Some(d.per_sec), 0),
            100.0 * d.per_sec / offered
        ),
        None => num(Some(d.per_sec), 0),
    }
}

/// Writes RESULTS.md for the run in `run` (an absolute path; `root` is the
/// repository's, for the path shown) to `results`, keeping the notes of
/// the `results` file being replaced.
pub fn write(run: &RunDir, root: &Path, results: &Path) -> anyhow::Result<()> {
    let previous = match std::fs::read_to_string(results) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", results.display()));
        }
    };
    let text = render(run, root, previous.as_deref())?;
    std::fs::write(results, text).with_context(|| format!("cannot write {}", results.display()))
}

/// RESULTS.md's text (no newline at the end, as it always was).
pub fn render(run: &RunDir, root: &Path, previous: Option<&str>) -> anyhow::Result<String> {
    let meta: Meta = read_json(&run.file("meta.json"))?
        .with_context(|| format!("no meta.json in {}", run.path.display()))?;
    let elapsed = match std::fs::read_to_string(run.file("elapsed_secs")) {
        Ok(text) => Some(
            text.trim()
                .parse::<u64>()
                .context("elapsed_secs is not a number of seconds")?,
        ),
        Err(_) => None,
    };
    let mut w = Writer {
        run,
        meta: &meta,
        lines: Vec::new(),
    };
    header(&mut w, elapsed, &relative(&run.path, root));
    w.add(NOTES_BEGIN);
    w.add(previous.and_then(notes_of).unwrap_or(DEFAULT_NOTES));
    w.add(NOTES_END);
    w.add("");
    single::idle(&mut w)?;
    single::fanout(&mut w)?;
    single::ladder(&mut w)?;
    single::churn(&mut w)?;
    single::inbound(&mut w)?;
    flood::section(&mut w)?;
    postgres::cluster(&mut w)?;
    postgres::assign(&mut w)?;
    scale::section(&mut w)?;
    criterion::section(&mut w)?;
    Ok(w.lines.join("\n"))
}

fn header(w: &mut Writer<'_>, elapsed: Option<u64>, raw: &Path) {
    let meta = w.meta;
    w.add("# Scenario benchmark results");
    w.add("");
    w.add("Generated by `benches/run.sh` (see [README.md](README.md)); the tables below are");
    w.add("rewritten by every run, the notes section is carried over.");
    w.add("");
    let took = elapsed.map_or_else(String::new, |secs| {
        format!(" (the whole script took {} min)", secs / 60)
    });
    w.add(format!("- **Date:** {}{took}", meta.date));
    let dirty = if meta.dirty_files == 0 {
        String::new()
    } else {
        let sample: Vec<String> = meta.dirty_sample.iter().map(|f| format!("`{f}`")).collect();
        let more = if meta.dirty_files > meta.dirty_sample.len() {
            ", …"
        } else {
            ""
        };
        format!(
            " (**working tree not clean: {} changed files**: {}{more})",
            meta.dirty_files,
            sample.join(", ")
        )
    };
    w.add(format!(
        "- **Commit:** `{}` — {}{dirty}",
        meta.commit, meta.subject
    ));
    w.add(format!(
        "- **Machine:** {} CPUs ({}), {:.1} GiB memory, Linux {}; {}",
        meta.nproc,
        meta.cpu_model,
        meta.memory_bytes as f64 / f64::from(1u32 << 30),
        meta.kernel,
        meta.rustc
    ));
    w.add(format!("- **Command:** `{}`", meta.command));
    w.add(format!(
        "- **Raw reports:** `{}/` (not committed)",
        raw.display()
    ));
    w.add(format!(
        "- **Noise:** a run is flagged noisy when CPU steal exceeds {}% or CPU used by",
        super::format::general(meta.max_steal_pct)
    ));
    w.add(format!(
        "  neither the server nor the generator exceeds {}% of the machine during the",
        super::format::general(meta.max_other_pct)
    ));
    w.add("  window; a noisy run is repeated once and the repeat is reported.");
    w.add("");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_the_block_between_the_marks() {
        let old = "# x\n<!-- notes:begin -->\n## Notes\n\nmine\n<!-- notes:end -->\nrest";
        assert_eq!(notes_of(old), Some("## Notes\n\nmine"));
        assert_eq!(
            notes_of("<!-- notes:begin -->\n\n<!-- notes:end -->"),
            Some("")
        );
        assert_eq!(notes_of("<!-- notes:begin -->\n<!-- notes:end -->"), None);
        assert_eq!(notes_of("no marks"), None);
        // The first end mark closes the block.
        assert_eq!(
            notes_of("<!-- notes:begin -->\na\n<!-- notes:end -->\nb\n<!-- notes:end -->"),
            Some("a")
        );
    }

    #[test]
    fn relative_paths_are_lexical() {
        let root = Path::new("/work/repo");
        assert_eq!(
            relative(Path::new("/work/repo/benches/out/latest"), root),
            Path::new("benches/out/latest")
        );
        assert_eq!(
            relative(Path::new("/work/repo/crates/x/../../benches/out/r"), root),
            Path::new("benches/out/r")
        );
        assert_eq!(
            relative(Path::new("/tmp/run"), root),
            Path::new("../../tmp/run")
        );
        assert_eq!(relative(root, root), Path::new("."));
    }
}
