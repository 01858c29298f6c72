//! The single-node sections: idle connections, fan-out at fixed loads, the
//! ladder, churn and inbound, each Switchboard beside the floor.

use anyhow::Context as _;

use super::{
    Peer, Row, Writer, delivered, held, latency, num, ratio, rss_per_connection, server_cpu_pct,
};
use crate::bench::format::{bytes, fixed, mib, py_grouped, py_str, us};
use crate::report::Report;

/// The parameter `key` of a report as Python's `str()` shows it.
fn param(r: &Report, key: &str) -> String {
    py_str(&r.parameters[key])
}

fn param_f64(r: &Report, key: &str) -> anyhow::Result<f64> {
    r.parameters[key]
        .as_f64()
        .with_context(|| format!("no number {key} in the {} report's parameters", r.scenario))
}

/// A percentile of `name` as a figure.
fn lat(r: &Report, name: &str, q: &str) -> Option<f64> {
    latency(r, name, q).map(|v| v as f64)
}

/// Two percentiles of one latency: `p50 / p99`.
fn p50_p99(r: &Report, name: &str) -> String {
    format!(
        "{} / {}",
        us(latency(r, name, "p50")),
        us(latency(r, name, "p99"))
    )
}

fn fanout_rows<'a>() -> Vec<Row<'a>> {
    let latency_row = |label: &str, q: &'static str| {
        Row::figure(
            format!("latency {label} (send → delivery)"),
            move |r: &Report| lat(r, "send_to_delivery", q),
            |v| us(v.map(|v| v as u64)),
        )
    };
    vec![
        Row::figure(
            "offered deliveries/s",
            |r: &Report| r.deliveries.offered_per_sec,
            |v| num(v, 0),
        )
        .without_ratio(),
        Row::text("delivered/s (share of offered)", delivered),
        Row::number("deliveries per server CPU-second", 0, |r: &Report| {
            r.deliveries.per_server_cpu_sec
        }),
        Row::number("server CPU (% of one core)", 1, server_cpu_pct),
        Row::figure("RSS per connection", rss_per_connection, bytes),
        latency_row("p50", "p50"),
        latency_row("p99", "p99"),
        latency_row("p99.9", "p999"),
        Row::text("send → ack p50 / p99 (message stored)", |r: &Report| {
            p50_p99(r, "send_to_ack")
        }),
        Row::text("connections", held),
        Row::text("load generator CPU-seconds", |r: &Report| {
            fixed(r.loadgen.cpu_seconds, 2)
        }),
    ]
}

impl Row<'_> {
    /// The same row without the Switchboard/floor ratio.
    fn without_ratio(mut self) -> Self {
        self.figure = None;
        self
    }
}

pub(super) fn idle(w: &mut Writer<'_>) -> anyhow::Result<()> {
    let idle = match w.report("idle-switchboard")? {
        Some(r) => Some(r),
        None => w.report("idle-floor")?,
    };
    w.add("## Idle connections");
    w.add("");
    if let Some(r) = &idle {
        w.add(format!(
            "{} connections opened at {}/s and held with heartbeats for {:.0} s; memory per \
             connection is (RSS after the ramp − RSS before) ÷ held.",
            py_grouped(&r.parameters["connections"]),
            fixed(param_f64(r, "ramp_per_sec")?, 0),
            r.window_secs
        ));
    }
    w.add("");
    let rows = [
        Row::text("connections", held),
        Row::number("ramp achieved (connections/s)", 0, |r: &Report| {
            r.ramp.achieved_per_sec
        }),
        Row::text("RSS before → after ramp", |r: &Report| {
            let server = r.server.as_ref();
            format!(
                "{} → {}",
                mib(server.and_then(|s| s.rss_before_bytes)),
                mib(server.and_then(|s| s.rss_after_bytes))
            )
        }),
        Row::figure("RSS per connection", rss_per_connection, bytes),
        Row::number("server CPU while idle (% of one core)", 1, server_cpu_pct),
    ];
    let floor = Peer {
        report: "idle-floor",
        head: "floor",
        short: "floor",
    };
    w.table("idle-switchboard", &[floor], &rows)?;
    w.add("");
    Ok(())
}

pub(super) fn fanout(w: &mut Writer<'_>) -> anyhow::Result<()> {
    w.add("## Fan-out");
    w.add("");
    w.add(
        "Per conversation one responder sends 100-byte messages at the given rate; every message",
    );
    w.add(
        "reaches every observer of the conversation. Latency is send → delivery at the observer.",
    );
    w.add("");
    for (conversations, rate) in [(50u64, 20u64), (100, 20)] {
        let name = format!("fanout-{conversations}x10x{rate}");
        let offered = conversations * 10 * rate;
        w.add(format!(
            "### {conversations} conversations × 10 observers × {rate} msg/s ({} deliveries/s, \
             one conversation per observer connection)",
            fixed(offered as f64, 0)
        ));
        w.add("");
        let (floor, socketio) = (format!("{name}-floor"), format!("{name}-socketio"));
        let peers = [
            Peer {
                report: &floor,
                head: "floor",
                short: "floor",
            },
            Peer {
                report: &socketio,
                head: "Socket.IO",
                short: "Socket.IO",
            },
        ];
        w.table(&format!("{name}-switchboard"), &peers, &fanout_rows())?;
        w.add("");
    }
    Ok(())
}

/// A ladder row of `ladder.list`: the rung (`CONVERSATIONS:RATE`), the
/// target and the report's name.
struct Rung {
    rung: String,
    target: String,
    name: String,
}

fn sustained(r: &Report, share: f64) -> bool {
    r.deliveries
        .offered_per_sec
        .is_some_and(|offered| r.deliveries.per_sec >= share * offered)
}

pub(super) fn ladder(w: &mut Writer<'_>) -> anyhow::Result<()> {
    w.add("## Fan-out ladder: the highest load the box sustains");
    w.add("");
    let rows = w
        .run
        .listed("ladder")?
        .into_iter()
        .map(|row| match <[String; 3]>::try_from(row) {
            Ok([rung, target, name]) => Ok(Rung { rung, target, name }),
            Err(row) => anyhow::bail!("ladder.list row {row:?} is not RUNG TARGET NAME"),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut rungs: Vec<&str> = Vec::new();
    for row in &rows {
        if !rungs.contains(&row.rung.as_str()) {
            rungs.push(&row.rung);
        }
    }
    let share = w.meta.sustained_share;
    if let Some(first) = rows
        .first()
        .map(|row| w.report(&row.name))
        .transpose()?
        .flatten()
    {
        w.add(format!(
            "Observer connections watch {} conversations each (10 observers per conversation), \
             {} generator processes; rungs climb until delivered falls below {:.0}% of offered, \
             for each target on its own.",
            param(&first, "watch"),
            param(&first, "workers"),
            100.0 * share
        ));
        w.add("");
    }
    // The offered load of the last rung each target sustained.
    let mut best = [None, None, None];
    for row in &rows {
        let Some(r) = w.report(&row.name)? else {
            continue;
        };
        let Some(slot) = LADDER_TARGETS.iter().position(|t| *t == row.target) else {
            continue;
        };
        if sustained(&r, share) {
            best[slot] = r.deliveries.offered_per_sec;
        }
    }
    let climbed_socketio = rows.iter().any(|r| r.target == "socketio");
    let socketio_best = match climbed_socketio {
        true => format!(", Socket.IO {} deliveries/s", num(best[2], 0)),
        false => String::new(),
    };
    w.add(format!(
        "**Highest sustained:** Switchboard {} deliveries/s, floor {} deliveries/s{socketio_best}.",
        num(best[0], 0),
        num(best[1], 0)
    ));
    w.add("");
    w.add("| offered/s | conv × rate | target | delivered/s | per server CPU-s | server CPU % | p50 | p99 | send → ack p99 | dropped conns | loadgen CPU-s | steal / other CPU |");
    w.add("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for rung in &rungs {
        for target in LADDER_TARGETS {
            let Some(row) = rows.iter().find(|r| r.rung == *rung && r.target == target) else {
                continue;
            };
            let r = w
                .report(&row.name)?
                .with_context(|| format!("ladder.list names {}, which has no report", row.name))?;
            let (conversations, rate) = rung
                .split_once(':')
                .with_context(|| format!("ladder rung {rung:?} is not CONVERSATIONS:RATE"))?;
            let line = format!(
                "| {} | {conversations} × {rate} | {target} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                num(r.deliveries.offered_per_sec, 0),
                delivered(&r),
                num(r.deliveries.per_server_cpu_sec, 0),
                num(server_cpu_pct(&r), 1),
                us(latency(&r, "send_to_delivery", "p50")),
                us(latency(&r, "send_to_delivery", "p99")),
                us(latency(&r, "send_to_ack", "p99")),
                r.connections.dropped,
                fixed(r.loadgen.cpu_seconds, 2),
                w.noise(Some(&r), &row.name, true),
            );
            w.add(line);
        }
    }
    w.add("");
    ladder_ratios(w, &rows, &rungs, ("floor", "floor"))?;
    if climbed_socketio {
        ladder_ratios(w, &rows, &rungs, ("socketio", "Socket.IO"))?;
    }
    Ok(())
}

/// The ladder's targets, in the order of its table.
const LADDER_TARGETS: [&str; 3] = ["switchboard", "floor", "socketio"];

/// Switchboard/`peer` at the rungs both ran.
fn ladder_ratios(
    w: &mut Writer<'_>,
    rows: &[Rung],
    rungs: &[&str],
    (peer, shown): (&str, &str),
) -> anyhow::Result<()> {
    w.add(format!("Switchboard/{shown} at the rungs both ran:"));
    w.add("");
    w.add("| offered/s | deliveries per server CPU-s | RSS per connection | p50 | p99 |");
    w.add("|---:|---:|---:|---:|---:|");
    for rung in rungs {
        // The last row of each target at this rung, as a dict built from them keeps.
        let last = |target: &str| {
            rows.iter()
                .rev()
                .find(|r| r.rung == *rung && r.target == target)
        };
        let (Some(sb), Some(fl)) = (last("switchboard"), last(peer)) else {
            continue;
        };
        let (Some(sb), Some(fl)) = (w.report(&sb.name)?, w.report(&fl.name)?) else {
            continue;
        };
        let q = |r: &Report, q: &str| lat(r, "send_to_delivery", q);
        w.add(format!(
            "| {} | {} | {} | {} | {} |",
            num(sb.deliveries.offered_per_sec, 0),
            ratio(
                sb.deliveries.per_server_cpu_sec,
                fl.deliveries.per_server_cpu_sec
            ),
            ratio(rss_per_connection(&sb), rss_per_connection(&fl)),
            ratio(q(&sb, "p50"), q(&fl, "p50")),
            ratio(q(&sb, "p99"), q(&fl, "p99")),
        ));
    }
    w.add("");
    Ok(())
}

/// The floor's column where it stands in for a scenario it cannot run.
fn stand_in(report: &str) -> Peer<'_> {
    Peer {
        report,
        head: "floor (fanout stand-in)",
        short: "floor",
    }
}

/// The rows of a scenario the floor only stands in for (with a fanout at
/// the same event rate): events, CPU, the scenario's own latency beside the
/// stand-in's send → delivery, and a round trip only Switchboard has.
/// `latency` and `round_trip` are (what the label says, the histogram).
fn stand_in_rows(
    scenario: &'static str,
    latency: (&'static str, &'static str),
    round_trip: (&'static str, &'static str),
) -> Vec<Row<'static>> {
    let latency_row = |q: &'static str| {
        Row::figure(
            format!("latency {q} ({} / send → delivery)", latency.0),
            move |r: &Report| own_or_fanout(r, scenario, latency.1, q),
            |v| us(v.map(|v| v as u64)),
        )
    };
    vec![
        Row::number("events delivered/s", 0, |r: &Report| {
            Some(r.deliveries.per_sec)
        }),
        Row::number("deliveries per server CPU-second", 0, |r: &Report| {
            r.deliveries.per_server_cpu_sec
        }),
        Row::number("server CPU (% of one core)", 1, server_cpu_pct),
        latency_row("p50"),
        latency_row("p99"),
        Row::text(format!("{} p50 / p99", round_trip.0), move |r: &Report| {
            if r.scenario == scenario {
                p50_p99(r, round_trip.1)
            } else {
                crate::bench::format::MISSING.into()
            }
        }),
    ]
}

/// Switchboard's latency `own` in its own scenario, the floor stand-in's
/// send → delivery in its fanout.
fn own_or_fanout(r: &Report, scenario: &str, own: &str, q: &str) -> Option<f64> {
    if r.scenario == scenario {
        lat(r, own, q)
    } else {
        lat(r, "send_to_delivery", q)
    }
}

pub(super) fn churn(w: &mut Writer<'_>) -> anyhow::Result<()> {
    let churn = w.report("churn-switchboard")?;
    w.add("## Churn (take → release loops)");
    w.add("");
    if let Some(r) = &churn {
        let o = &r.operations;
        w.add(format!(
            "{} conversations, {} observers and {} takers each; {} takes granted/s, {} refused \
             `locked`. Switchboard's latency is take → the last observer's presence; the floor \
             has no presence, so its column is a fanout to as many observer connections at the \
             rate of presence events Switchboard delivered (send → delivery).",
            param(r, "conversations"),
            param(r, "observers"),
            param(r, "takers"),
            fixed(o.takes_per_sec, 0),
            fixed(o.locked as f64, 0)
        ));
    }
    w.add("");
    let mut rows = stand_in_rows(
        "churn",
        ("take → last presence", "take_to_last_presence"),
        ("take → ack", "take_to_ack"),
    );
    rows.insert(
        3,
        Row::figure("RSS per connection", rss_per_connection, bytes),
    );
    rows.push(Row::text("connections", held));
    w.table("churn-switchboard", &[stand_in("churn-floor")], &rows)?;
    w.add("");
    Ok(())
}

pub(super) fn inbound(w: &mut Writer<'_>) -> anyhow::Result<()> {
    let inbound = w.report("inbound-switchboard")?;
    w.add("## Inbound (customer messages over HTTP)");
    w.add("");
    if let Some(r) = &inbound {
        let o = &r.operations;
        w.add(format!(
            "`POST /v1/inbound` at {}/s ({}/s achieved, {} failed) to {} inbox watchers; latency \
             is post → event at each watcher. The floor has no inbound API: its column is a \
             fanout from one conversation to as many observers at the same event rate.",
            crate::bench::format::general(param_f64(r, "rate")?),
            fixed(o.posts_per_sec, 1),
            o.post_failures,
            param(r, "watchers")
        ));
    }
    w.add("");
    let rows = stand_in_rows(
        "inbound",
        ("post → event", "post_to_event"),
        ("HTTP post round trip", "post_response"),
    );
    w.table("inbound-switchboard", &[stand_in("inbound-floor")], &rows)?;
    w.add("");
    Ok(())
}
