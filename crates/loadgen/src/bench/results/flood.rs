//! The flood part: the same fan-out without and with flooders, in turn
//! (`flood-N-without`, `flood-N-with`); per pair the observers' latency and
//! the ratio of the p99s, what the flood did, and whether every pair is
//! within the bound issue #10 sets. A run without the part shows nothing.

use super::{Writer, latency, other_pct};
use crate::bench::format::{MISSING, fixed, num, ratio, us};
use crate::report::Report;

/// The bound: the flood may raise the others' p99 by at most this share.
const BOUND: f64 = 0.10;

/// `flood-1-…`, `flood-2-…`, … for as long as either report of a pair is there.
fn pairs(w: &Writer<'_>) -> anyhow::Result<Vec<(Option<Report>, Option<Report>)>> {
    let mut pairs = Vec::new();
    for run in 1.. {
        let without = w.report(&format!("flood-{run}-without"))?;
        let with = w.report(&format!("flood-{run}-with"))?;
        if without.is_none() && with.is_none() {
            break;
        }
        pairs.push((without, with));
    }
    Ok(pairs)
}

fn p99(r: Option<&Report>) -> Option<f64> {
    latency(r?, "send_to_delivery", "p99").map(|v| v as f64)
}

/// `p50 / p99 / p99.9` of the observers.
fn percentiles(r: Option<&Report>) -> String {
    r.map_or_else(
        || MISSING.into(),
        |r| {
            let q = |q| us(latency(r, "send_to_delivery", q));
            format!("{} / {} / {}", q("p50"), q("p99"), q("p999"))
        },
    )
}

/// Flood frames written per second (the last ones before a close are never
/// read by the server), reconnects, error frames back.
fn flood(r: Option<&Report>) -> String {
    r.map_or_else(
        || MISSING.into(),
        |r| {
            let f = &r.operations.flood;
            format!(
                "{}/s, {} reconnects, {} errors back",
                fixed(f.frames as f64 / r.window_secs, 0),
                fixed(f.reconnects as f64, 0),
                fixed(f.errors as f64, 0)
            )
        },
    )
}

/// Steal and other CPU of both runs of a pair.
fn noise(pair: [Option<&Report>; 2]) -> String {
    pair.map(|r| {
        r.map_or_else(
            || MISSING.into(),
            |r| format!("{}% / {}%", num(r.steal.percent, 1), num(other_pct(r), 1)),
        )
    })
    .join(" · ")
}

pub(super) fn section(w: &mut Writer<'_>) -> anyhow::Result<()> {
    let pairs = pairs(w)?;
    let Some(shape) = pairs.iter().find_map(|(a, b)| a.as_ref().or(b.as_ref())) else {
        return Ok(());
    };
    let flooders = pairs
        .iter()
        .find_map(|(_, with)| with.as_ref())
        .map_or_else(|| MISSING.into(), |r| r.parameters["flooders"].to_string());
    w.add("## Malformed-frame flood beside a fan-out");
    w.add("");
    let rate = shape.parameters["rate"].as_f64().unwrap_or(f64::NAN);
    w.add(format!(
        "The fan-out of {} conversations × {} observers × {rate} msg/s, run without and with \
         {flooders} flooder connections in turn.",
        shape.parameters["conversations"], shape.parameters["observers"]
    ));
    w.add(
        "A flooder writes malformed frames (text that is not JSON, an unknown `type`, a `join` with a",
    );
    w.add(
        "conversation id that is not a UUID) as fast as the server reads them and reconnects when it is",
    );
    w.add(
        "closed; the server runs with its default rate limit (100 frames/s, burst 200). Latency is the",
    );
    w.add("other connections' send → delivery; the bound is p99 with ≤ 1.10 × p99 without.");
    w.add("");
    w.add("| run | p50 / p99 / p99.9 without | p50 / p99 / p99.9 with | p99 with/without | flood | steal / other CPU without · with |");
    w.add("|---:|---:|---:|---:|---|---|");
    let mut within = true;
    for (run, (without, with)) in pairs.iter().enumerate() {
        let (without, with) = (without.as_ref(), with.as_ref());
        let (a, b) = (p99(with), p99(without));
        within &= matches!((a, b), (Some(a), Some(b)) if b > 0.0 && a / b <= 1.0 + BOUND);
        w.add(format!(
            "| {} | {} | {} | {} | {} | {} |",
            run + 1,
            percentiles(without),
            percentiles(with),
            ratio(a, b),
            flood(with),
            noise([without, with])
        ));
    }
    w.add("");
    w.add(format!(
        "Every run within {:.0}%: **{}**. Raw reports: `flood-N-without.json`, `flood-N-with.json`.",
        100.0 * BOUND,
        if within { "yes" } else { "no" }
    ));
    w.add("");
    Ok(())
}
