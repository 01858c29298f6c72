//! The criterion micro-benchmarks: each benchmark's median time per
//! iteration and throughput, from the `new/benchmark.json` and
//! `new/estimates.json` criterion leaves under the run's `criterion/`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::Value;

use super::{Writer, read_json};
use crate::bench::format::{MISSING, fixed};

/// Every `.../new/benchmark.json` under `dir` (hidden directories
/// skipped), in the order of their paths as text.
fn benchmark_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => {
                return Err(error).with_context(|| format!("cannot list {}", dir.display()));
            }
        };
        for entry in entries {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else if entry.file_name() == "benchmark.json"
                && dir.file_name().is_some_and(|name| name == "new")
            {
                found.push(path);
            }
        }
    }
    found.sort_by_cached_key(|path| path.to_string_lossy().into_owned());
    Ok(found)
}

/// A median in nanoseconds, in ms, µs or ns.
fn duration(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{} ms", fixed(ns / 1e6, 2))
    } else if ns >= 1e3 {
        format!("{} µs", fixed(ns / 1e3, 2))
    } else {
        format!("{} ns", fixed(ns, 1))
    }
}

/// Elements (or bytes) per iteration ÷ the median, per second.
fn throughput(benchmark: &Value, median_ns: f64) -> String {
    let declared = &benchmark["throughput"];
    let per_iteration = [&declared["Elements"], &declared["Bytes"]]
        .into_iter()
        .find_map(|v| v.as_f64().filter(|n| *n != 0.0));
    let unit = if declared.get("Elements").is_some() {
        "elements/s"
    } else {
        "bytes/s"
    };
    match per_iteration {
        Some(n) => format!("{} {unit}", fixed(n / (median_ns / 1e9), 0)),
        None => MISSING.into(),
    }
}

pub(super) fn section(w: &mut Writer<'_>) -> anyhow::Result<()> {
    w.add("## Criterion micro-benchmarks");
    w.add("");
    w.add("`cargo bench -p switchboard-benches` with short warm-up and measurement times (see the command);");
    w.add("median time per iteration, and throughput = elements per iteration ÷ median.");
    w.add("");
    w.add("| benchmark | median | throughput |");
    w.add("|---|---:|---:|");
    for path in benchmark_files(&w.run.path.join("criterion"))? {
        let benchmark: Value = read_json(&path)?.context("listed, then gone")?;
        let estimates_path = path.with_file_name("estimates.json");
        let estimates: Value = read_json(&estimates_path)?
            .with_context(|| format!("no {}", estimates_path.display()))?;
        let median_ns = estimates["median"]["point_estimate"]
            .as_f64()
            .with_context(|| format!("no median in {}", estimates_path.display()))?;
        let id = benchmark["full_id"]
            .as_str()
            .with_context(|| format!("no full_id in {}", path.display()))?;
        w.add(format!(
            "| `{id}` | {} | {} |",
            duration(median_ns),
            throughput(&benchmark, median_ns)
        ));
    }
    w.add("");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn medians_take_the_unit_that_suits_them() {
        assert_eq!(duration(1_234_567.0), "1.23 ms");
        assert_eq!(duration(1_500.0), "1.50 µs");
        assert_eq!(duration(999.94), "999.9 ns");
    }

    #[test]
    fn throughput_is_per_second_of_the_median() {
        let elements = json!({"throughput": {"Elements": 1000}});
        assert_eq!(throughput(&elements, 2_000_000.0), "500,000 elements/s");
        let bytes = json!({"throughput": {"Bytes": 100}});
        assert_eq!(throughput(&bytes, 1_000.0), "100,000,000 bytes/s");
        assert_eq!(throughput(&json!({"throughput": null}), 1.0), "—");
        assert_eq!(
            throughput(&json!({"throughput": {"Elements": 0}}), 1.0),
            "—"
        );
    }
}
