//! The RESULTS.md writer against the reports of real runs of
//! `benches/run.sh` kept in `tests/fixtures/`: what it writes must be, byte
//! for byte, what the Python writer it replaced wrote from the same reports
//! (`tests/fixtures/README.md` says how those were made and where the new
//! writer differs on purpose).

use std::path::{Path, PathBuf};

use switchboard_loadgen::bench::{NOTES_BEGIN, NOTES_END, RunDir, render_results};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The repository, as the script sees it (the run's path is shown relative to it).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn expected(name: &str) -> String {
    let path = fixtures().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Shows the first line that differs, which a plain assert of two
/// 300-line texts would bury.
fn assert_same(actual: &str, expected: &str) {
    for (i, (a, e)) in actual.lines().zip(expected.lines()).enumerate() {
        assert_eq!(a, e, "line {} differs", i + 1);
    }
    assert_eq!(
        actual.lines().count(),
        expected.lines().count(),
        "line counts differ"
    );
    assert_eq!(actual, expected, "the texts differ (line ends?)");
}

#[test]
fn a_quick_runs_reports_give_what_the_python_writer_gave() {
    let run = RunDir::new(fixtures().join("quick"));
    let written = render_results(&run, &root(), None).unwrap();
    assert_same(&written, &expected("quick.RESULTS.md"));
}

#[test]
fn the_notes_of_the_file_replaced_are_carried_over() {
    let run = RunDir::new(fixtures().join("quick"));
    let previous = expected("notes.RESULTS.md");
    let written = render_results(&run, &root(), Some(&previous)).unwrap();
    assert_same(&written, &expected("notes.RESULTS.md"));
    assert!(written.contains(&format!(
        "{NOTES_BEGIN}\n## Notes\n\nKept: the analysis of this run.\n{NOTES_END}"
    )));
}

#[test]
fn a_run_that_got_no_further_than_its_meta_gives_empty_tables() {
    let run = RunDir::new(fixtures().join("meta-only"));
    let written = render_results(&run, &root(), None).unwrap();
    assert_same(&written, &expected("meta-only.RESULTS.md"));
}

#[test]
fn a_report_that_does_not_parse_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("meta-only/meta.json"),
        dir.path().join("meta.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("idle-switchboard.json"),
        "{\"scenario\": 1}",
    )
    .unwrap();
    let error = render_results(&RunDir::new(dir.path()), &root(), None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("idle-switchboard.json"), "{error}");
    let error = render_results(&RunDir::new(fixtures()), &root(), None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("no meta.json"), "{error}");
}

/// The flood part's pairs: the ratio of the p99s, and the verdict turns
/// to "no" as soon as one pair is past the bound.
#[test]
fn flood_pairs_give_the_p99_ratio_and_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let quick = fixtures().join("quick");
    let copy = |from: &str, to: &str| {
        std::fs::copy(quick.join(from), dir.path().join(to)).unwrap();
    };
    copy("meta.json", "meta.json");
    let fanout = "fanout-50x10x20-switchboard.json";
    copy(fanout, "flood-1-without.json");
    copy(fanout, "flood-1-with.json");
    let run = RunDir::new(dir.path());
    let written = render_results(&run, &root(), None).unwrap();
    assert!(written.contains("## Malformed-frame flood"), "{written}");
    assert!(written.contains("| 1.00× |"), "{written}");
    assert!(written.contains("within 10%: **yes**"), "{written}");

    // A slower pair: the same report with every latency doubled.
    let mut slower: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(quick.join(fanout)).unwrap()).unwrap();
    for (_, q) in slower["latency_us"]["send_to_delivery"]
        .as_object_mut()
        .unwrap()
    {
        if let Some(v) = q.as_u64() {
            *q = (2 * v).into();
        }
    }
    copy(fanout, "flood-2-without.json");
    std::fs::write(dir.path().join("flood-2-with.json"), slower.to_string()).unwrap();
    let written = render_results(&run, &root(), None).unwrap();
    assert!(written.contains("| 2.00× |"), "{written}");
    assert!(written.contains("within 10%: **no**"), "{written}");
}

/// The scale part's section: what the cluster held, the sampled views, the
/// memory per node, and the cleanup against its 5-second target.
#[test]
fn the_scale_part_shows_what_was_held_and_the_cleanup_against_its_target() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("quick/meta.json"),
        dir.path().join("meta.json"),
    )
    .unwrap();
    let node = |connections: u64, before: u64, after: u64| {
        serde_json::json!({
            "connections": connections, "rss_before": before, "rss_after": after,
            "bytes_per_connection": (after - before) as f64 / connections as f64,
        })
    };
    let mut report = serde_json::json!({
        "nodes": 3, "connections": 6000, "conversations": 2000, "members": 3,
        "operators": 20, "viewers": 20, "workers": 1, "ramp_per_sec": 1000.0,
        "ramp_secs": 12.4, "connected": 6000, "failed": 0, "setup_failed": 0,
        "lost_before_kill": 0, "dropped": 2000, "killed_node_connections": 2000,
        "node": [
            node(2000, 10 << 20, 40 << 20),
            node(2000, 10 << 20, 30 << 20),
            node(2000, 10 << 20, 50 << 20),
        ],
        "redis_rss": 64u64 << 20,
        "presence": {
            "presence_checked": 60, "presence_wrong": 0, "leaves_expected": 4000,
            "leaves_seen": 4000, "leaves_early": 0, "roles_expected": 1334,
            "roles_freed": 1334,
        },
        "kill_lateness_ms": 0.4,
        "kill_to_leave": {"count": 4000, "p50": 3100.0, "p99": 3900.0, "max": 4000.0},
        "kill_to_role_free": {"count": 1334, "p50": 3200.0, "p99": 3950.0, "max": 3990.0},
        "cleanup_ms": 4000.0,
        "notes": [],
    });
    let write = |report: &serde_json::Value| {
        std::fs::write(dir.path().join("scale.json"), report.to_string()).unwrap();
        render_results(&RunDir::new(dir.path()), &root(), None).unwrap()
    };
    let written = write(&report);
    assert!(
        written.contains("## Scale: many nodes, many agents, one node killed"),
        "{written}"
    );
    assert!(written.contains("| connections held | 6,000 of 6,000 (0 failed to connect, 0 to join, 0 lost before the kill) | all, zero failures: met |"), "{written}");
    assert!(
        written.contains(
            "| sampled views right (every member, the right one answering) | 60 of 60 | all |"
        ),
        "{written}"
    );
    assert!(written.contains("| 10.2 / 15.4 / 20.5 KiB |"), "{written}");
    assert!(
        written.contains("| 4,000 ms | ≤ 5,000 ms: met |"),
        "{written}"
    );

    report["cleanup_ms"] = 6000.0.into();
    report["presence"]["leaves_seen"] = 3999.into();
    let written = write(&report);
    assert!(
        written.contains("| 6,000 ms | ≤ 5,000 ms: missed |"),
        "{written}"
    );
    assert!(
        written.contains("| 3,999 of 4,000 (0 before the kill)"),
        "{written}"
    );
}
