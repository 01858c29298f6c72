//! The scale part (`scale.json`): how many connections the cluster held,
//! whether sampled views of the presence were right, each node's memory
//! per connection, and how long after the kill of a node every view
//! elsewhere lost its users and their roles. A run without the part shows
//! nothing.

use super::{Writer, read_json};
use crate::bench::format::{MISSING, fixed, general};
use crate::bench::scale_report::{Millis, ScaleReport};

/// The target: every view clean this long after the kill.
const CLEANUP_TARGET_MS: f64 = 5000.0;

fn count(n: u64) -> String {
    fixed(n as f64, 0)
}

fn millis(m: Option<&Millis>) -> String {
    m.map_or_else(
        || MISSING.into(),
        |m| {
            format!(
                "{} / {} / {} ms",
                fixed(m.p50, 0),
                fixed(m.p99, 0),
                fixed(m.max, 0)
            )
        },
    )
}

/// The lowest, middle and highest of `values` in `unit` (its size in
/// bytes, the decimals shown, its name).
fn spread(mut values: Vec<f64>, (size, digits, unit): (f64, usize, &str)) -> String {
    values.sort_by(f64::total_cmp);
    match (values.first(), values.last()) {
        (Some(lo), Some(hi)) => format!(
            "{} / {} / {} {unit}",
            fixed(lo / size, digits),
            fixed(values[values.len() / 2] / size, digits),
            fixed(hi / size, digits)
        ),
        _ => MISSING.into(),
    }
}

pub(super) fn section(w: &mut Writer<'_>) -> anyhow::Result<()> {
    let Some(r) = read_json::<ScaleReport>(&w.run.file("scale.json"))? else {
        return Ok(());
    };
    let p = &r.presence;
    w.add("## Scale: many nodes, many agents, one node killed");
    w.add("");
    w.add(format!(
        "{} `switchboard serve` nodes on one Postgres database and one Redis, {} agent \
         connections from {} generator processes (each from its own loopback address), \
         {} conversations of {} members each on its own node (one operator who answers, \
         viewers); then the last node is killed with SIGKILL.",
        r.nodes,
        count(r.connections as u64),
        r.workers,
        count(r.conversations as u64),
        r.members
    ));
    w.add("");
    w.add("| | Measured | Target |");
    w.add("|---|---|---|");
    let held = r.connected == r.connections as u64
        && r.failed == 0
        && r.setup_failed == 0
        && r.lost_before_kill == 0;
    w.add(format!(
        "| connections held | {} of {} ({} failed to connect, {} to join, {} lost before the kill) | all, zero failures: {} |",
        count(r.connected),
        count(r.connections as u64),
        count(r.failed),
        count(r.setup_failed),
        count(r.lost_before_kill),
        if held { "met" } else { "missed" }
    ));
    w.add(format!(
        "| ramp | {} s at {}/s offered | — |",
        fixed(r.ramp_secs, 0),
        general(r.ramp_per_sec)
    ));
    w.add(format!(
        "| sampled views right (every member, the right one answering) | {} of {} | all |",
        count(p.presence_checked - p.presence_wrong),
        count(p.presence_checked)
    ));
    w.add(format!(
        "| memory per connection per node, min / median / max | {} | — |",
        spread(
            r.node.iter().map(|n| n.bytes_per_connection).collect(),
            (1024.0, 1, "KiB")
        )
    ));
    w.add(format!(
        "| RSS per node after the ramp, min / median / max | {} | — |",
        spread(
            r.node.iter().map(|n| n.rss_after as f64).collect(),
            (1048576.0, 0, "MiB")
        )
    ));
    w.add(format!(
        "| Redis RSS | {} | — |",
        r.redis_rss.map_or(MISSING.into(), |b| format!(
            "{} MiB",
            fixed(b as f64 / 1048576.0, 0)
        ))
    ));
    w.add(format!(
        "| killed node's connections | {} (ended: {}) | ≈ 18,000 |",
        count(r.killed_node_connections as u64),
        count(r.dropped)
    ));
    w.add(format!(
        "| views elsewhere that saw its user leave; kill → leave p50 / p99 / max | {} of {} ({} before the kill); {} | all |",
        count(p.leaves_seen),
        count(p.leaves_expected),
        count(p.leaves_early),
        millis(r.kill_to_leave.as_ref())
    ));
    w.add(format!(
        "| views where its user answered that saw the role freed; kill → freed p50 / p99 / max | {} of {}; {} | all |",
        count(p.roles_freed),
        count(p.roles_expected),
        millis(r.kill_to_role_free.as_ref())
    ));
    let clean = p.leaves_seen == p.leaves_expected && p.roles_freed == p.roles_expected;
    w.add(format!(
        "| cleanup: the last view clean after the kill | {} | ≤ {} ms: {} |",
        r.cleanup_ms
            .map_or(MISSING.into(), |ms| format!("{} ms", fixed(ms, 0))),
        fixed(CLEANUP_TARGET_MS, 0),
        match r.cleanup_ms {
            Some(ms) if clean && ms <= CLEANUP_TARGET_MS => "met",
            _ => "missed",
        }
    ));
    w.add("");
    w.add(format!(
        "The kill came {} ms after its planned instant (taken off the latencies). Memory per \
         connection is (RSS after the ramp − RSS before) ÷ the node's connections: each \
         connection there is also a member of a conversation no other connection on that node \
         is in, so it includes a room. Node 1 also served the setup (logins, conversations).",
        fixed(r.kill_lateness_ms, 1)
    ));
    w.add("");
    Ok(())
}
