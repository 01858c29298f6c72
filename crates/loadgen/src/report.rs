//! The report: pure arithmetic from what the workers counted and what the
//! kernel said, then a table for people and JSON for scripts (read back by
//! `bench`, which writes RESULTS.md from a run's reports).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::plan::{FloodStats, WorkerStats};

/// Everything measured in a run, before any arithmetic.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub scenario: String,
    pub target: String,
    pub parameters: serde_json::Value,
    /// The nominal measure window (workers count events inside it).
    pub window_secs: f64,
    pub warmup_secs: f64,
    /// The time between the coordinator's two samples (CPU, steal).
    pub sampled_secs: f64,
    /// All workers at `Ready` (after the ramp and setup).
    pub ready: WorkerStats,
    /// All workers at the end of the window.
    pub end: WorkerStats,
    pub histograms: BTreeMap<String, Histogram<u64>>,
    pub server: Option<ServerFacts>,
    /// The Redis server of a cluster, when its pid was given.
    pub redis: Option<RedisFacts>,
    /// Ticks of CPU the generator (coordinator and workers) used in the window.
    pub loadgen_cpu_ticks: u64,
    pub loadgen_processes: usize,
    /// Ticks stolen from all CPUs in the window (`None`: unreadable).
    pub steal_ticks: Option<u64>,
    /// Ticks all CPUs were busy in the window (any process, and the kernel).
    pub machine_busy_ticks: Option<u64>,
    pub cores: u32,
    pub clock_ticks_per_sec: u64,
    /// What the scenario offered: deliveries (or events) per second.
    pub offered_per_sec: Option<f64>,
}

/// What the kernel said about the server process (the first node's, for
/// RSS; every node's, for CPU).
#[derive(Debug, Clone, Default)]
pub struct ServerFacts {
    pub pid: u32,
    /// Per server process: its pid and utime+stime ticks at the window's
    /// start and end.
    pub cpu_ticks: Option<Vec<(u32, (u64, u64))>>,
    /// VmRSS before connecting (after setup), after the ramp, at the window's end.
    pub rss_before: Option<u64>,
    pub rss_after: Option<u64>,
    pub rss_end: Option<u64>,
}

/// What the kernel said about a cluster's Redis server.
#[derive(Debug, Clone, Copy)]
pub struct RedisFacts {
    pub pid: u32,
    /// utime+stime ticks at the window's start and end.
    pub cpu_ticks: Option<(u64, u64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub scenario: String,
    pub target: String,
    pub parameters: serde_json::Value,
    pub window_secs: f64,
    pub warmup_secs: f64,
    pub connections: Connections,
    pub ramp: Ramp,
    pub deliveries: Deliveries,
    pub operations: Operations,
    pub server: Option<ServerReport>,
    pub redis: Option<RedisReport>,
    pub latency_us: BTreeMap<String, Percentiles>,
    pub loadgen: Loadgen,
    pub machine: Machine,
    pub steal: Steal,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Connections {
    pub attempted: u64,
    /// Opened and set up, open when the ramp ended.
    pub held: u64,
    /// Refused, timed out, or failed their setup.
    pub failed: u64,
    /// Still open at the window's end.
    pub held_at_end: u64,
    /// Ended by the server or lost after they were open (ramp to window end).
    pub dropped: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ramp {
    /// From the first attempt to the last connection opened.
    pub seconds: f64,
    pub achieved_per_sec: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Deliveries {
    /// Events received in the window: `message` at observers (fanout),
    /// `presence` at observers (churn), `conversation` at watchers (inbound).
    pub total: u64,
    pub per_sec: f64,
    pub offered_per_sec: Option<f64>,
    pub per_server_cpu_sec: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Operations {
    pub sends: u64,
    pub send_acks: u64,
    pub takes: u64,
    pub take_acks: u64,
    pub takes_per_sec: f64,
    pub locked: u64,
    pub releases: u64,
    pub posts: u64,
    pub posts_per_sec: f64,
    pub post_failures: u64,
    /// Posts whose answer says the conversation is assigned (new conversations routed to an agent).
    pub assigned: u64,
    pub assigned_per_sec: f64,
    /// Assigned posts per second of the window, second by second.
    #[serde(default)]
    pub assigned_by_second: Vec<u64>,
    pub retakes: u64,
    /// Error frames the scenario's own connections got (flooders' apart).
    pub errors: BTreeMap<String, u64>,
    /// What fanout's flooders did (all zero without `--flooders`).
    #[serde(default)]
    pub flood: FloodStats,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerReport {
    pub pid: u32,
    /// Summed over the nodes.
    pub cpu_seconds: Option<f64>,
    /// Each node's CPU-seconds, in the order the nodes were given.
    #[serde(default)]
    pub nodes: Vec<NodeReport>,
    /// CPU-seconds per wall second, as a percentage of one core.
    pub cpu_percent_of_core: Option<f64>,
    pub rss_before_bytes: Option<u64>,
    pub rss_after_bytes: Option<u64>,
    pub rss_end_bytes: Option<u64>,
    /// (after − before) / held.
    pub rss_per_connection_bytes: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NodeReport {
    pub pid: u32,
    pub cpu_seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RedisReport {
    pub pid: u32,
    pub cpu_seconds: Option<f64>,
    pub cpu_percent_of_core: Option<f64>,
    /// Deliveries in the window ÷ Redis CPU-seconds.
    pub deliveries_per_cpu_sec: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Loadgen {
    pub cpu_seconds: f64,
    pub processes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    /// CPU-seconds the whole machine was busy in the window.
    pub busy_cpu_seconds: Option<f64>,
    /// Busy time that was neither the server's nor the generator's (other
    /// processes, the kernel's own work): near zero in a clean run.
    pub other_cpu_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Steal {
    pub seconds: Option<f64>,
    /// Stolen time / (wall time × cores).
    pub percent: Option<f64>,
    pub cores: u32,
}

/// p50, p99, p99.9 and max of a latency histogram.
pub fn percentiles(histogram: &Histogram<u64>) -> Percentiles {
    Percentiles {
        count: histogram.len(),
        p50: histogram.value_at_quantile(0.5),
        p99: histogram.value_at_quantile(0.99),
        p999: histogram.value_at_quantile(0.999),
        max: histogram.max(),
        mean: histogram.mean(),
    }
}

/// `numerator / denominator`, or `None` when the denominator is not positive.
pub fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0 && denominator.is_finite()).then(|| numerator / denominator)
}

/// Ticks to seconds.
pub fn ticks_to_secs(ticks: u64, per_sec: u64) -> f64 {
    ticks as f64 / per_sec.max(1) as f64
}

/// Bytes of server memory per held connection.
pub fn per_connection(before: u64, after: u64, held: u64) -> Option<f64> {
    ratio(after as f64 - before as f64, held as f64)
}

/// Busy machine time that was neither the server's nor the generator's.
/// Per-process and machine-wide counters tick separately, so small
/// negative differences are noise and read as zero.
pub fn other_cpu(busy: f64, server: f64, loadgen: f64) -> f64 {
    (busy - server - loadgen).max(0.0)
}

/// Stolen seconds as a percentage of the CPU time the machine had.
pub fn steal_percent(steal_secs: f64, wall_secs: f64, cores: u32) -> Option<f64> {
    ratio(steal_secs * 100.0, wall_secs * cores as f64)
}

pub fn build(facts: &RunFacts) -> Report {
    let tck = facts.clock_ticks_per_sec;
    let window = facts.window_secs;
    let span = |(start, end): (u64, u64)| ticks_to_secs(end.saturating_sub(start), tck);
    let nodes: Option<Vec<NodeReport>> = facts
        .server
        .as_ref()
        .and_then(|s| s.cpu_ticks.as_ref())
        .map(|ticks| {
            ticks
                .iter()
                .map(|&(pid, ticks)| NodeReport {
                    pid,
                    cpu_seconds: span(ticks),
                })
                .collect()
        });
    let server_cpu = nodes
        .as_ref()
        .map(|nodes| nodes.iter().map(|n| n.cpu_seconds).sum::<f64>());
    let redis_cpu = facts.redis.and_then(|r| r.cpu_ticks).map(span);
    let held = facts.ready.open;
    let ramp_secs = match (facts.ready.first_attempt_ns, facts.ready.last_connected_ns) {
        (Some(first), Some(last)) if last >= first => (last - first) as f64 / 1e9,
        _ => 0.0,
    };
    let end = &facts.end;
    let steal_secs = facts.steal_ticks.map(|t| ticks_to_secs(t, tck));
    let loadgen_cpu = ticks_to_secs(facts.loadgen_cpu_ticks, tck);
    let busy = facts.machine_busy_ticks.map(|t| ticks_to_secs(t, tck));
    Report {
        scenario: facts.scenario.clone(),
        target: facts.target.clone(),
        parameters: facts.parameters.clone(),
        window_secs: window,
        warmup_secs: facts.warmup_secs,
        connections: Connections {
            attempted: facts.ready.attempted,
            held,
            failed: facts.ready.failed + facts.ready.setup_failed,
            held_at_end: end.open,
            dropped: end.dropped,
        },
        ramp: Ramp {
            seconds: ramp_secs,
            achieved_per_sec: ratio(facts.ready.connected as f64, ramp_secs),
        },
        deliveries: Deliveries {
            total: end.deliveries,
            per_sec: ratio(end.deliveries as f64, window).unwrap_or(0.0),
            offered_per_sec: facts.offered_per_sec,
            per_server_cpu_sec: server_cpu.and_then(|cpu| ratio(end.deliveries as f64, cpu)),
        },
        operations: Operations {
            sends: end.sends,
            send_acks: end.send_acks,
            takes: end.takes,
            take_acks: end.take_acks,
            takes_per_sec: ratio(end.take_acks as f64, window).unwrap_or(0.0),
            locked: end.locked,
            releases: end.releases,
            posts: end.posts,
            posts_per_sec: ratio(end.posts as f64, window).unwrap_or(0.0),
            post_failures: end.post_failures,
            assigned: end.assigned,
            assigned_per_sec: ratio(end.assigned as f64, window).unwrap_or(0.0),
            assigned_by_second: end.assigned_by_second.clone(),
            retakes: end.retakes,
            errors: end.errors.clone(),
            flood: end.flood,
        },
        server: facts.server.as_ref().map(|s| ServerReport {
            pid: s.pid,
            cpu_seconds: server_cpu,
            nodes: nodes.clone().unwrap_or_default(),
            cpu_percent_of_core: server_cpu.and_then(|cpu| ratio(cpu * 100.0, facts.sampled_secs)),
            rss_before_bytes: s.rss_before,
            rss_after_bytes: s.rss_after,
            rss_end_bytes: s.rss_end,
            rss_per_connection_bytes: match (s.rss_before, s.rss_after) {
                (Some(before), Some(after)) => per_connection(before, after, held),
                _ => None,
            },
        }),
        redis: facts.redis.map(|r| RedisReport {
            pid: r.pid,
            cpu_seconds: redis_cpu,
            cpu_percent_of_core: redis_cpu.and_then(|cpu| ratio(cpu * 100.0, facts.sampled_secs)),
            deliveries_per_cpu_sec: redis_cpu.and_then(|cpu| ratio(end.deliveries as f64, cpu)),
        }),
        latency_us: facts
            .histograms
            .iter()
            .map(|(name, h)| (name.clone(), percentiles(h)))
            .collect(),
        loadgen: Loadgen {
            cpu_seconds: loadgen_cpu,
            processes: facts.loadgen_processes,
        },
        machine: Machine {
            busy_cpu_seconds: busy,
            other_cpu_seconds: busy.map(|b| {
                other_cpu(
                    b,
                    server_cpu.unwrap_or(0.0) + redis_cpu.unwrap_or(0.0),
                    loadgen_cpu,
                )
            }),
        },
        steal: Steal {
            seconds: steal_secs,
            percent: steal_secs.and_then(|s| steal_percent(s, facts.sampled_secs, facts.cores)),
            cores: facts.cores,
        },
        notes: facts
            .ready
            .notes
            .iter()
            .chain(&end.notes)
            .take(crate::plan::MAX_NOTES)
            .cloned()
            .collect(),
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn opt<T>(value: Option<T>, show: impl Fn(T) -> String) -> String {
    value.map(show).unwrap_or_else(|| "n/a".into())
}

fn parameters_line(parameters: &serde_json::Value) -> String {
    match parameters.as_object() {
        Some(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        None => parameters.to_string(),
    }
}

/// The human table.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let mut row = |label: &str, value: String| {
        let _ = writeln!(out, "{label:<22}{value}");
    };
    row(
        "scenario",
        format!("{} against {}", report.scenario, report.target),
    );
    row("parameters", parameters_line(&report.parameters));
    row(
        "window",
        format!(
            "{:.1} s measured after {:.1} s warm-up",
            report.window_secs, report.warmup_secs
        ),
    );
    let c = &report.connections;
    row(
        "connections",
        format!(
            "attempted {}, held {}, failed {}, dropped {}, held at end {}",
            c.attempted, c.held, c.failed, c.dropped, c.held_at_end
        ),
    );
    row(
        "ramp",
        format!(
            "{:.2} s, {}",
            report.ramp.seconds,
            opt(report.ramp.achieved_per_sec, |r| format!(
                "{r:.0} connections/s"
            ))
        ),
    );
    let d = &report.deliveries;
    row(
        "deliveries",
        format!(
            "{} in window, {:.0}/s (offered {})",
            d.total,
            d.per_sec,
            opt(d.offered_per_sec, |r| format!("{r:.0}/s"))
        ),
    );
    let o = &report.operations;
    if o.sends > 0 {
        row("sends", format!("{} sent, {} acked", o.sends, o.send_acks));
    }
    if o.takes > 0 {
        row(
            "takes",
            format!(
                "{} sent, {} granted ({:.1}/s), {} locked, {} released",
                o.takes, o.take_acks, o.takes_per_sec, o.locked, o.releases
            ),
        );
    }
    if o.posts > 0 {
        row(
            "inbound posts",
            format!(
                "{} ({:.1}/s), {} failed, {} assigned ({:.1}/s)",
                o.posts, o.posts_per_sec, o.post_failures, o.assigned, o.assigned_per_sec
            ),
        );
    }
    if o.retakes > 0 {
        row("responder retakes", o.retakes.to_string());
    }
    if o.flood.frames > 0 {
        row(
            "flood",
            format!(
                "{} malformed frames ({:.0}/s), {} error frames back, {} reconnects",
                o.flood.frames,
                o.flood.frames as f64 / report.window_secs,
                o.flood.errors,
                o.flood.reconnects
            ),
        );
    }
    if !o.errors.is_empty() {
        row(
            "error frames",
            o.errors
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    match &report.server {
        Some(s) => {
            row(
                "server CPU",
                format!(
                    "{} ({} of one core), {} deliveries per CPU-second",
                    opt(s.cpu_seconds, |v| format!("{v:.2} s")),
                    opt(s.cpu_percent_of_core, |v| format!("{v:.1}%")),
                    opt(d.per_server_cpu_sec, |v| format!("{v:.0}")),
                ),
            );
            row(
                "server RSS",
                format!(
                    "before {}, after ramp {}, end {}; {} per connection",
                    opt(s.rss_before_bytes, mib),
                    opt(s.rss_after_bytes, mib),
                    opt(s.rss_end_bytes, mib),
                    opt(s.rss_per_connection_bytes, |v| format!("{v:.0} B")),
                ),
            );
        }
        None => row("server", "pid unknown: no CPU or RSS figures".into()),
    }
    if let Some(s) = report.server.as_ref().filter(|s| s.nodes.len() > 1) {
        row(
            "nodes' CPU",
            s.nodes
                .iter()
                .map(|n| format!("{}: {:.2} s", n.pid, n.cpu_seconds))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if let Some(r) = &report.redis {
        row(
            "Redis CPU",
            format!(
                "{} ({} of one core), {} deliveries per Redis CPU-second",
                opt(r.cpu_seconds, |v| format!("{v:.2} s")),
                opt(r.cpu_percent_of_core, |v| format!("{v:.1}%")),
                opt(r.deliveries_per_cpu_sec, |v| format!("{v:.0}")),
            ),
        );
    }
    if !report.latency_us.is_empty() {
        row(
            "latency (µs)",
            format!(
                "{:>9} {:>9} {:>9} {:>9} {:>9}",
                "p50", "p99", "p99.9", "max", "count"
            ),
        );
        for (name, p) in &report.latency_us {
            row(
                &format!("  {name}"),
                format!(
                    "{:>9} {:>9} {:>9} {:>9} {:>9}",
                    p.p50, p.p99, p.p999, p.max, p.count
                ),
            );
        }
    }
    row(
        "loadgen CPU",
        format!(
            "{:.2} s in {} process(es)",
            report.loadgen.cpu_seconds, report.loadgen.processes
        ),
    );
    row(
        "other CPU",
        format!(
            "{} (machine busy {}, less server and loadgen)",
            opt(report.machine.other_cpu_seconds, |v| format!("{v:.2} s")),
            opt(report.machine.busy_cpu_seconds, |v| format!("{v:.2} s")),
        ),
    );
    row(
        "steal",
        format!(
            "{} ({} of {} cores)",
            opt(report.steal.seconds, |v| format!("{v:.2} s")),
            opt(report.steal.percent, |v| format!("{v:.2}%")),
            report.steal.cores
        ),
    );
    for note in &report.notes {
        row("note", note.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::histo::new_histogram;

    fn facts() -> RunFacts {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            h.record(v).unwrap();
        }
        RunFacts {
            scenario: "fanout".into(),
            target: "switchboard".into(),
            parameters: serde_json::json!({"conversations": 2, "observers": 3}),
            window_secs: 10.0,
            warmup_secs: 1.0,
            sampled_secs: 10.0,
            ready: WorkerStats {
                attempted: 8,
                connected: 8,
                open: 8,
                first_attempt_ns: Some(1_000_000_000),
                last_connected_ns: Some(3_000_000_000),
                ..Default::default()
            },
            end: WorkerStats {
                open: 7,
                dropped: 1,
                deliveries: 5000,
                ..Default::default()
            },
            histograms: [("send_to_delivery".to_string(), h)].into(),
            server: Some(ServerFacts {
                pid: 42,
                cpu_ticks: Some(vec![(42, (100, 350))]),
                rss_before: Some(10_000_000),
                rss_after: Some(10_800_000),
                rss_end: Some(11_000_000),
            }),
            redis: None,
            loadgen_cpu_ticks: 50,
            loadgen_processes: 2,
            steal_ticks: Some(20),
            machine_busy_ticks: Some(400),
            cores: 2,
            clock_ticks_per_sec: 100,
            offered_per_sec: Some(600.0),
        }
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            h.record(v).unwrap();
        }
        let p = percentiles(&h);
        assert_eq!(p.count, 1000);
        assert_eq!(p.p50, 500);
        assert_eq!(p.p99, 990);
        assert_eq!(p.p999, 999);
        assert_eq!(p.max, 1000);
        assert!((p.mean - 500.5).abs() < 0.5);
    }

    #[test]
    fn per_cpu_second_and_per_connection_arithmetic() {
        let report = build(&facts());
        let server = report.server.as_ref().unwrap();
        assert_eq!(server.cpu_seconds, Some(2.5));
        assert_eq!(server.cpu_percent_of_core, Some(25.0));
        assert_eq!(report.deliveries.per_sec, 500.0);
        assert_eq!(report.deliveries.per_server_cpu_sec, Some(2000.0));
        assert_eq!(server.rss_per_connection_bytes, Some(100_000.0));
        assert_eq!(report.connections.held, 8);
        assert_eq!(report.connections.held_at_end, 7);
        assert_eq!(report.connections.dropped, 1);
        assert_eq!(report.ramp.seconds, 2.0);
        assert_eq!(report.ramp.achieved_per_sec, Some(4.0));
        assert_eq!(report.loadgen.cpu_seconds, 0.5);
        // 4 s busy − 2.5 s server − 0.5 s loadgen.
        assert_eq!(report.machine.other_cpu_seconds, Some(1.0));
        assert_eq!(other_cpu(1.0, 0.8, 0.3), 0.0);
        // 0.2 s stolen out of 10 s × 2 cores.
        assert_eq!(report.steal.seconds, Some(0.2));
        assert!((report.steal.percent.unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(report.latency_us["send_to_delivery"].p50, 500);
    }

    #[test]
    fn a_cluster_sums_its_nodes_and_reports_redis_beside_them() {
        let mut f = facts();
        f.server = Some(ServerFacts {
            pid: 42,
            cpu_ticks: Some(vec![(42, (100, 200)), (43, (0, 50)), (44, (10, 60))]),
            ..ServerFacts::default()
        });
        f.redis = Some(RedisFacts {
            pid: 7,
            cpu_ticks: Some((1000, 1050)),
        });
        let report = build(&f);
        let server = report.server.as_ref().unwrap();
        assert_eq!(server.cpu_seconds, Some(2.0));
        assert_eq!(
            server
                .nodes
                .iter()
                .map(|n| (n.pid, n.cpu_seconds))
                .collect::<Vec<_>>(),
            vec![(42, 1.0), (43, 0.5), (44, 0.5)]
        );
        let redis = report.redis.as_ref().unwrap();
        assert_eq!(redis.cpu_seconds, Some(0.5));
        assert_eq!(redis.cpu_percent_of_core, Some(5.0));
        assert_eq!(redis.deliveries_per_cpu_sec, Some(10_000.0));
        // 4 s busy − 2 s nodes − 0.5 s Redis − 0.5 s loadgen.
        assert_eq!(report.machine.other_cpu_seconds, Some(1.0));
        assert!(render(&report).contains("10000 deliveries per Redis CPU-second"));
    }

    #[test]
    fn nothing_to_divide_by_gives_none() {
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(per_connection(10, 20, 0), None);
        assert_eq!(per_connection(20, 10, 5), Some(-2.0));
        assert_eq!(steal_percent(1.0, 0.0, 2), None);
        let mut f = facts();
        f.server = None;
        let report = build(&f);
        assert_eq!(report.deliveries.per_server_cpu_sec, None);
        assert!(render(&report).contains("pid unknown"));
    }

    #[test]
    fn the_table_and_the_json_carry_the_figures() {
        let report = build(&facts());
        let table = render(&report);
        assert!(table.contains("fanout against switchboard"));
        assert!(table.contains("send_to_delivery"));
        assert!(table.contains("2000 deliveries per CPU-second"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["deliveries"]["total"], 5000);
        assert_eq!(json["latency_us"]["send_to_delivery"]["p99"], 990);
    }
}
