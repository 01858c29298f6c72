//! Small end-to-end runs through the library API: the real `switchboard`
//! binary for fanout and idle, and the floor (in this process) for fanout.

use std::path::PathBuf;
use std::process::Command;

use clap::Parser;
use switchboard_floor::{Floor, FloorConfig};
use switchboard_loadgen::{Cli, Report};

/// The `switchboard` binary of this build (target/<profile>/switchboard),
/// built first if this test runs before it was.
fn switchboard_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/e2e-<hash> → target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .to_owned();
    let binary = profile_dir.join("switchboard");
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "-p", "switchboard-server", "--bin", "switchboard"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "building switchboard failed");
    }
    assert!(binary.exists(), "{} is missing", binary.display());
    binary
}

/// Short timings for tests: the window is 1 s.
const QUICK: [&str; 8] = [
    "--duration",
    "1",
    "--warmup",
    "0.5",
    "--settle",
    "0.3",
    "--in-process",
    "--json=/dev/null",
];

async fn run(args: &[&str]) -> Report {
    let mut argv = vec!["switchboard-loadgen"];
    argv.extend_from_slice(&QUICK);
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(&argv).expect("arguments parse");
    switchboard_loadgen::run(&cli).await.expect("run succeeds")
}

/// `watch`: conversations per observer connection (a divisor of conversations × observers).
fn assert_fanout_consistent(report: &Report, conversations: u64, observers: u64, watch: u64) {
    let c = &report.connections;
    assert_eq!(
        c.attempted,
        conversations + conversations * observers / watch,
        "{report:#?}"
    );
    assert_eq!(report.parameters["watch"], watch, "{report:#?}");
    assert_eq!(c.held, c.attempted, "{report:#?}");
    assert_eq!(c.failed, 0, "{report:#?}");
    assert_eq!(c.dropped, 0, "{report:#?}");
    assert_eq!(c.held_at_end, c.held);
    let d = &report.deliveries;
    assert!(d.total > 0, "{report:#?}");
    // Every delivery counted was timed once.
    assert_eq!(report.latency_us["send_to_delivery"].count, d.total);
    assert!((d.per_sec - d.total as f64 / report.window_secs).abs() < 1e-6);
    // Deliveries come from sends: each reaches every observer, give or take
    // the messages in flight at the window's edges.
    let ops = &report.operations;
    assert!(ops.sends > 0 && ops.send_acks > 0, "{report:#?}");
    assert!(
        d.total <= (ops.sends + 2 * conversations) * observers,
        "{report:#?}"
    );
    assert!(d.total * 2 >= ops.sends * observers, "{report:#?}");
    assert!(ops.errors.is_empty(), "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_and_idle_against_switchboard() {
    let binary = switchboard_binary();
    let binary = binary.to_str().unwrap();

    let report = run(&[
        "--spawn",
        binary,
        "fanout",
        "--conversations",
        "2",
        "--observers",
        "3",
        "--rate",
        "20",
    ])
    .await;
    assert_eq!(report.target, "switchboard");
    assert_fanout_consistent(&report, 2, 3, 1);
    let server = report.server.as_ref().expect("a spawned server has a pid");
    assert!(server.cpu_seconds.is_some_and(|s| s > 0.0), "{report:#?}");
    assert!(report.deliveries.per_server_cpu_sec.is_some());
    assert!(server.rss_before_bytes.is_some() && server.rss_end_bytes.is_some());

    let report = run(&[
        "--spawn",
        binary,
        "fanout",
        "--conversations",
        "3",
        "--observers",
        "2",
        "--watch",
        "3",
        "--rate",
        "20",
    ])
    .await;
    assert_fanout_consistent(&report, 3, 2, 3);

    let report = run(&[
        "--spawn",
        binary,
        "idle",
        "--connections",
        "50",
        "--users",
        "5",
        "--ramp-per-sec",
        "500",
    ])
    .await;
    let c = &report.connections;
    assert_eq!(
        (c.attempted, c.held, c.failed, c.dropped),
        (50, 50, 0, 0),
        "{report:#?}"
    );
    assert_eq!(c.held_at_end, 50);
    assert!(report.ramp.achieved_per_sec.is_some_and(|r| r > 0.0));
    let server = report.server.as_ref().unwrap();
    assert!(server.rss_per_connection_bytes.is_some(), "{report:#?}");
    assert_eq!(report.deliveries.total, 0);
}

/// Flooders write malformed frames through the run and, closed by the
/// server's flood guard (kept small here: 10 frames of burst; no cool-off,
/// so they are let back in at once), come back; what they did is counted
/// apart from the fanout, which still delivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_with_flooders_counts_the_flood_apart() {
    let binary = switchboard_binary();
    let report = run(&[
        "--spawn",
        binary.to_str().unwrap(),
        "--server-env",
        "SWITCHBOARD_RATE_LIMIT_PER_SEC=100",
        "--server-env",
        "SWITCHBOARD_RATE_LIMIT_BURST=10",
        "--server-env",
        "SWITCHBOARD_FLOOD_COOLOFF_SECS=0",
        "fanout",
        "--conversations",
        "2",
        "--observers",
        "3",
        "--rate",
        "5",
        "--flooders",
        "2",
    ])
    .await;
    let c = &report.connections;
    assert_eq!(
        (c.attempted, c.held, c.dropped, c.held_at_end),
        (2 + 6 + 2, 10, 0, 10),
        "{report:#?}"
    );
    assert_eq!(report.parameters["flooders"], 2, "{report:#?}");
    let flood = &report.operations.flood;
    assert!(flood.frames > 0 && flood.errors > 0, "{report:#?}");
    assert!(
        flood.reconnects > 0,
        "the guard closed a flooder: {report:#?}"
    );
    // The flood's answers are not the scenario's errors.
    assert!(report.operations.errors.is_empty(), "{report:#?}");
    assert!(report.deliveries.total > 0, "{report:#?}");
    assert_eq!(
        report.latency_us["send_to_delivery"].count,
        report.deliveries.total
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_against_the_floor() {
    let floor = Floor::bind("127.0.0.1:0".parse().unwrap(), FloorConfig::default())
        .await
        .unwrap();
    let url = format!("http://{}", floor.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(floor.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let report = run(&[
        "--url",
        &url,
        "--floor",
        "fanout",
        "--conversations",
        "2",
        "--observers",
        "3",
        "--rate",
        "20",
    ])
    .await;
    assert_eq!(report.target, "floor");
    assert_fanout_consistent(&report, 2, 3, 1);
    // No pid given: no server figures rather than wrong ones.
    assert!(report.server.is_none());

    // Consoles watching two conversations each: half the observer
    // connections, the same deliveries.
    let report = run(&[
        "--url",
        &url,
        "--floor",
        "fanout",
        "--conversations",
        "4",
        "--observers",
        "3",
        "--watch",
        "2",
        "--rate",
        "20",
    ])
    .await;
    assert_fanout_consistent(&report, 4, 3, 2);
    assert_eq!(report.parameters["observer_connections"], 6);
    let _ = stop.send(());
    server.await.unwrap();
}

/// Two floors stand for two nodes that share nothing: with readers placed on
/// the second node, observers hear nothing the responders on the first send;
/// with the same floor given twice, they hear everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_urls_put_writers_on_the_first_node_and_readers_on_the_others() {
    let mut urls = Vec::new();
    let mut stops = Vec::new();
    for _ in 0..2 {
        let floor = Floor::bind("127.0.0.1:0".parse().unwrap(), FloorConfig::default())
            .await
            .unwrap();
        urls.push(format!("http://{}", floor.local_addr().unwrap()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(floor.run_until_stopped(async {
            let _ = stopped.await;
        }));
        stops.push((stop, server));
    }
    let fanout = |first: &str, second: &str| {
        vec![
            "--url".to_string(),
            first.to_string(),
            "--url".into(),
            second.to_string(),
            "--floor".into(),
            "fanout".into(),
            "--conversations".into(),
            "2".into(),
            "--observers".into(),
            "2".into(),
            "--rate".into(),
            "20".into(),
        ]
    };
    let apart = fanout(&urls[0], &urls[1]);
    let report = run(&apart.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(report.connections.held, 6, "{report:#?}");
    assert!(report.operations.sends > 0, "{report:#?}");
    assert_eq!(report.deliveries.total, 0, "the floors share nothing");
    assert_eq!(report.parameters["nodes"], 2);

    let together = fanout(&urls[0], &urls[0]);
    let report = run(&together.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_fanout_consistent(&report, 2, 2, 1);
    for (stop, server) in stops {
        let _ = stop.send(());
        server.await.unwrap();
    }
}

/// New contacts posted as fast as 4 loops get answers, to 3 agents online
/// with room: every post in the window is a new conversation assigned at
/// once, and the agents, watching the inbox, see each one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_with_agents_counts_the_conversations_assigned() {
    let binary = switchboard_binary();
    let report = run(&[
        "--spawn",
        binary.to_str().unwrap(),
        "inbound",
        "--concurrency",
        "4",
        "--new-contact-ratio",
        "1",
        "--agents",
        "3",
        "--watchers",
        "1",
    ])
    .await;
    let o = &report.operations;
    assert_eq!(report.connections.held, 4, "{report:#?}");
    assert!(o.posts > 0 && o.post_failures == 0, "{report:#?}");
    // A post started just before the window's end may still be unanswered.
    assert!(
        o.assigned <= o.posts && o.assigned + 4 >= o.posts,
        "{report:#?}"
    );
    assert!(
        report.latency_us.contains_key("post_to_event"),
        "{report:#?}"
    );
    assert_eq!(report.deliveries.offered_per_sec, None, "closed loop");
}

/// Paced churn: 2 conversations taken 10 times a second each, by turns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_churn_offers_the_rate_asked_for() {
    let binary = switchboard_binary();
    let report = run(&[
        "--spawn",
        binary.to_str().unwrap(),
        "churn",
        "--conversations",
        "2",
        "--observers",
        "2",
        "--takers",
        "2",
        "--rate",
        "10",
    ])
    .await;
    let o = &report.operations;
    // 20 turns in the 1 s window (one more at an edge); unpaced, these
    // takers would take hundreds of times. A turn missed because the last
    // answer was late is skipped, never made up.
    assert!((1..=21).contains(&o.takes), "{report:#?}");
    assert!(
        report.latency_us.contains_key("take_to_last_presence"),
        "{report:#?}"
    );
}

#[tokio::test]
async fn the_floor_refuses_scenarios_it_cannot_do() {
    let cli = Cli::try_parse_from([
        "switchboard-loadgen",
        "--url",
        "http://127.0.0.1:9",
        "--floor",
        "churn",
    ])
    .unwrap();
    let error = switchboard_loadgen::run(&cli).await.unwrap_err();
    assert!(error.to_string().contains("floor does not do"), "{error:#}");
}
