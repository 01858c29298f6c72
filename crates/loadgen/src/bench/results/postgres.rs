//! The sections on Postgres: the three-node cluster against one node (and
//! cross-node fan-out per Redis CPU-second against redis-benchmark), and
//! conversations assigned per second against pgbench.

use anyhow::Context as _;

use super::{Writer, latency, num, ratio, server_cpu_pct};
use crate::bench::format::{MISSING, general, py_str, us};
use crate::bench::tools::RedisBenchmark;
use crate::report::Report;

fn lat(r: &Report, q: &str) -> Option<u64> {
    latency(r, "take_to_last_presence", q)
}

fn redis_cpu_seconds(r: &Report) -> Option<f64> {
    r.redis.as_ref()?.cpu_seconds
}

/// How busy the whole machine was, as a share of every core. `/proc/stat`
/// lags behind on a mostly idle tickless VM (busy can read below what the
/// processes measured used): at least their sum.
fn busy_pct(r: &Report) -> f64 {
    let measured = r.server.as_ref().and_then(|s| s.cpu_seconds).unwrap_or(0.0)
        + redis_cpu_seconds(r).unwrap_or(0.0)
        + r.loadgen.cpu_seconds;
    let busy = r.machine.busy_cpu_seconds.unwrap_or(0.0).max(measured);
    100.0 * busy / (r.window_secs * f64::from(r.steal.cores.max(1)))
}

/// `a − b` microseconds, in ms with a sign.
fn diff_ms(a: Option<u64>, b: Option<u64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => format!("{:+.2} ms", (a as f64 - b as f64) / 1000.0),
        _ => MISSING.into(),
    }
}

fn nodes_name(nodes: u32) -> &'static str {
    if nodes == 1 { "1node" } else { "3nodes" }
}

pub(super) fn cluster(w: &mut Writer<'_>) -> anyhow::Result<()> {
    let shapes = w.run.listed("cluster-takes")?;
    let bench: Option<RedisBenchmark> = super::read_json(&w.run.path.join("redis-benchmark.json"))?;
    if shapes.is_empty() && bench.is_none() {
        return Ok(());
    }
    w.add("## Cluster: three nodes on Postgres and Redis");
    w.add("");
    w.add(
        "Three `switchboard serve` processes on one scratch Postgres database and a private \
         Redis, all on this machine with the generator. With three nodes, takers and responders \
         connect to node 1 and observers to nodes 2 and 3, so every event an observer gets \
         crossed Redis; the one-node figure is the same cluster with every connection on node 1. \
         Server CPU is the nodes' sum. Postgres' CPU is part of \"other CPU\" here (every take, \
         release and send is a Postgres transaction), so only steal marks these runs noisy.",
    );
    w.add("");
    for shape in &shapes {
        let [conversations, rate] = shape.as_slice() else {
            anyhow::bail!("cluster-takes.list row {shape:?} is not CONVERSATIONS RATE");
        };
        let name = |nodes| format!("cluster-churn-{conversations}x{rate}-{}", nodes_name(nodes));
        let (c1, c3) = (w.report(&name(1))?, w.report(&name(3))?);
        let p = &c3
            .as_ref()
            .or(c1.as_ref())
            .with_context(|| format!("no report of the cluster's {conversations}x{rate} runs"))?
            .parameters;
        let number = |text: &str| {
            text.parse::<f64>()
                .with_context(|| format!("cluster-takes.list: {text:?} is not a number"))
        };
        let offered = conversations
            .parse::<u64>()
            .with_context(|| format!("cluster-takes.list: {conversations:?} conversations"))?
            as f64
            * number(rate)?;
        w.add(format!(
            "### take → last observer's presence at {} takes/s ({conversations} conversations × \
             {} takes/s, {} takers and {} observers each)",
            num(Some(offered), 0),
            general(number(rate)?),
            py_str(&p["takers"]),
            py_str(&p["observers"])
        ));
        w.add("");
        w.add("Matched by the grant's fencing epoch, which every node shows alike in `presence`.");
        w.add("");
        type Cell = fn(&Report) -> String;
        let rows: [(&str, Cell); 10] = [
            ("takes granted/s", |r| {
                num(Some(r.operations.takes_per_sec), 0)
            }),
            ("presence events delivered/s", |r| {
                num(Some(r.deliveries.per_sec), 0)
            }),
            ("take → last presence p50", |r| us(lat(r, "p50"))),
            ("take → last presence p99", |r| us(lat(r, "p99"))),
            ("take → last presence p99.9", |r| us(lat(r, "p999"))),
            ("take → ack p50 / p99", |r| {
                format!(
                    "{} / {}",
                    us(latency(r, "take_to_ack", "p50")),
                    us(latency(r, "take_to_ack", "p99"))
                )
            }),
            ("`locked` refusals", |r| {
                num(Some(r.operations.locked as f64), 0)
            }),
            ("nodes' CPU (% of one core)", |r| num(server_cpu_pct(r), 1)),
            ("Redis CPU (% of one core)", |r| {
                num(r.redis.as_ref().and_then(|x| x.cpu_percent_of_core), 1)
            }),
            ("machine busy (% of both cores)", |r| {
                format!("{:.0}%", busy_pct(r))
            }),
        ];
        w.add("| | one node | three nodes |");
        w.add("|---|---:|---:|");
        for (label, cell) in rows {
            let show = |r: &Option<Report>| r.as_ref().map_or_else(|| MISSING.into(), cell);
            w.add(format!("| {label} | {} | {} |", show(&c1), show(&c3)));
        }
        let noise = (
            w.noise(c1.as_ref(), &name(1), false),
            w.noise(c3.as_ref(), &name(3), false),
        );
        w.add(format!(
            "| CPU steal / other CPU (Postgres) | {} | {} |",
            noise.0, noise.1
        ));
        let at = |q| {
            (
                c3.as_ref().and_then(|r| lat(r, q)),
                c1.as_ref().and_then(|r| lat(r, q)),
            )
        };
        let (p50, p99) = (at("p50"), at("p99"));
        let p50_met =
            matches!(p50, (Some(three), Some(one)) if three as f64 - one as f64 <= 1000.0);
        let p99_met = matches!(p99, (Some(three), Some(one)) if one != 0 && three <= 2 * one);
        let verdict = |met| if met { "met" } else { "missed" };
        w.add("");
        w.add(format!(
            "Three nodes against one: p50 {} (target at most +1 ms: {}); p99 {} (target at most \
             2×: {}).",
            diff_ms(p50.0, p50.1),
            verdict(p50_met),
            ratio(p99.0.map(|v| v as f64), p99.1.map(|v| v as f64)),
            verdict(p99_met)
        ));
        w.add("");
    }
    w.add("### Cross-node fan-out per Redis CPU-second");
    w.add("");
    let same_run = bench.as_ref().map_or_else(String::new, |b| {
        format!(
            "Same run, same Redis: `{}` reached **{} PUBLISH/s** ({} per Redis CPU-second).",
            b.command,
            num(Some(b.requests_per_sec), 0),
            num(b.per_redis_cpu_sec, 0)
        )
    });
    w.add(format!(
        "100 conversations × 10 messages/s of 100 bytes (1,000 sends/s), observer connections \
         watching as many conversations as a conversation has observers. {same_run}"
    ));
    w.add("");
    w.add("| observers per conversation | nodes | delivered/s | deliveries per Redis CPU-s | Redis CPU % | ÷ redis-benchmark PUBLISH/s | nodes' CPU % | send → delivery p50 / p99 | steal |");
    w.add("|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for observers in [10, 50] {
        for nodes in [1, 3] {
            let name = format!("cluster-fanout-{observers}-{}", nodes_name(nodes));
            let Some(r) = w.report(&name)? else {
                continue;
            };
            let redis = r.redis.as_ref();
            let per = redis.and_then(|x| x.deliveries_per_cpu_sec);
            let share = match (&bench, per) {
                (Some(b), Some(per)) if nodes != 1 && b.requests_per_sec != 0.0 => {
                    format!("{:.2}×", per / b.requests_per_sec)
                }
                _ => MISSING.into(),
            };
            w.add(format!(
                "| {observers} | {nodes} | {} | {} | {} | {share} | {} | {} / {} | {}% |",
                num(Some(r.deliveries.per_sec), 0),
                num(per, 0),
                num(redis.and_then(|x| x.cpu_percent_of_core), 1),
                num(server_cpu_pct(&r), 1),
                us(latency(&r, "send_to_delivery", "p50")),
                us(latency(&r, "send_to_delivery", "p99")),
                num(r.steal.percent, 1)
            ));
        }
    }
    w.add("");
    w.add(
        "Target: three-node deliveries per Redis CPU-second at least 0.5× redis-benchmark's \
         PUBLISH/s.",
    );
    w.add("");
    Ok(())
}

pub(super) fn assign(w: &mut Writer<'_>) -> anyhow::Result<()> {
    let Some(a) = w.report("assign-postgres")? else {
        return Ok(());
    };
    w.add("## Assignment on Postgres beside pgbench");
    w.add("");
    w.add(format!(
        "`POST /v1/inbound` from {} loops, each posting again when answered, every post a new \
         contact, so every post creates a conversation and routes it (least-loaded of {} agents \
         online, each with a console subscribed to the inbox, capacity 1,000,000) in the same \
         transaction; one Switchboard on a scratch Postgres database, measured from the first \
         post for {} s (nothing is resolved, so every agent's load grows all along). pgbench ran \
         on the same Postgres server right after (`pgbench -i -s 10`, then `pgbench -b \
         simple-update -j 2 -T <window>`).",
        py_str(&a.parameters["concurrency"]),
        py_str(&a.parameters["agents"]),
        a.window_secs
    ));
    w.add("");
    let tps = w
        .run
        .listed("pgbench")?
        .into_iter()
        .map(|row| match row.as_slice() {
            [clients, tps] => Ok((
                clients
                    .parse::<u64>()
                    .with_context(|| format!("pgbench.list: {clients:?} clients"))?,
                tps.parse::<f64>()
                    .with_context(|| format!("pgbench.list: {tps:?} tps"))?,
            )),
            _ => anyhow::bail!("pgbench.list row {row:?} is not CLIENTS TPS"),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let best_tps = tps.iter().map(|(_, t)| *t).reduce(f64::max);
    let o = &a.operations;
    w.add("| | figure |");
    w.add("|---|---:|");
    w.add(format!(
        "| conversations created and assigned/s | {} |",
        num(Some(o.assigned_per_sec), 0)
    ));
    w.add(format!(
        "| posts/s (failed) | {} ({}) |",
        num(Some(o.posts_per_sec), 0),
        o.post_failures
    ));
    for (label, name) in [
        ("post round trip", "post_response"),
        ("post → agents' `conversation` event", "post_to_event"),
    ] {
        w.add(format!(
            "| {label} p50 / p99 | {} / {} |",
            us(latency(&a, name, "p50")),
            us(latency(&a, name, "p99"))
        ));
    }
    w.add(format!(
        "| server CPU (% of one core) | {} |",
        num(server_cpu_pct(&a), 1)
    ));
    for (clients, t) in &tps {
        w.add(format!(
            "| pgbench simple-update, {clients} clients (tps) | {} |",
            num(Some(*t), 0)
        ));
    }
    w.add(format!(
        "| assigned/s ÷ best pgbench tps | {} |",
        ratio(Some(o.assigned_per_sec), best_tps)
    ));
    let early = rate_between(&o.assigned_by_second, 5, 10);
    let late = rate_between(&o.assigned_by_second, 60, 65);
    w.add(format!(
        "| assigned/s in seconds 5–10 · 60–65 of arrivals | {} · {} |",
        num(early, 0),
        num(late, 0)
    ));
    w.add(format!(
        "| the rate after 60 s ÷ the rate after 5 s | {} |",
        ratio(late, early)
    ));
    let noise = w.noise(Some(&a), "assign-postgres", false);
    w.add(format!("| CPU steal / other CPU (Postgres) | {noise} |"));
    w.add("");
    w.add(
        "Targets: at least half (0.5×) of pgbench's transactions per second, and the rate after \
         60 s within 10% of the rate after 5 s.",
    );
    w.add("");
    Ok(())
}

/// The mean of a per-second series over seconds `from..to`, when the
/// series reaches that far.
fn rate_between(series: &[u64], from: usize, to: usize) -> Option<f64> {
    let seconds = series.get(from..to)?;
    Some(seconds.iter().sum::<u64>() as f64 / (to - from) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_is_the_mean_of_its_seconds_and_none_past_the_series() {
        let series: Vec<u64> = (0..65).map(|s| if s < 10 { 100 } else { 90 }).collect();
        assert_eq!(rate_between(&series, 5, 10), Some(100.0));
        assert_eq!(rate_between(&series, 60, 65), Some(90.0));
        assert_eq!(rate_between(&series[..62], 60, 65), None);
    }
}
