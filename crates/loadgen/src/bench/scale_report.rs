//! What the scale part writes to `scale.json` (read back by the results
//! writer), and when a run of it failed.

use serde::{Deserialize, Serialize};

use crate::plan::ScaleStats;

/// A latency histogram's summary, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Millis {
    pub count: u64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Millis {
    pub fn of(histogram: &hdrhistogram::Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            count: histogram.len(),
            p50: ms(histogram.value_at_quantile(0.5)),
            p99: ms(histogram.value_at_quantile(0.99)),
            max: ms(histogram.max()),
        }
    }
}

/// One node's share and memory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NodeFacts {
    pub connections: usize,
    pub rss_before: u64,
    pub rss_after: u64,
    /// (after − before) ÷ connections.
    pub bytes_per_connection: f64,
}

/// What the scale part writes to `scale.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScaleReport {
    pub nodes: usize,
    pub connections: usize,
    pub conversations: usize,
    pub members: usize,
    pub operators: usize,
    pub viewers: usize,
    pub workers: usize,
    pub ramp_per_sec: f64,
    /// From the first connection tried to the last one set up.
    pub ramp_secs: f64,
    pub connected: u64,
    pub failed: u64,
    pub setup_failed: u64,
    /// Connections lost before the kill (none expected).
    pub lost_before_kill: u64,
    /// Connections that ended by the end of the window: the killed node's.
    pub dropped: u64,
    pub killed_node_connections: usize,
    pub node: Vec<NodeFacts>,
    pub redis_rss: Option<u64>,
    pub presence: ScaleStats,
    /// How late the kill came after its planned instant (the latencies
    /// below are from the planned instant, this taken off).
    pub kill_lateness_ms: f64,
    pub kill_to_leave: Option<Millis>,
    pub kill_to_role_free: Option<Millis>,
    /// The last view to lose the killed node's users, or their roles,
    /// after the kill: the cleanup time.
    pub cleanup_ms: Option<f64>,
    pub notes: Vec<String>,
}

impl ScaleReport {
    /// Why the run did not show what it must (empty: it did).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let p = &self.presence;
        if self.connected != self.connections as u64 || self.failed > 0 || self.setup_failed > 0 {
            problems.push(format!(
                "{} of {} connections set up ({} failed to connect, {} to join)",
                self.connected, self.connections, self.failed, self.setup_failed
            ));
        }
        if self.lost_before_kill > 0 {
            problems.push(format!(
                "{} connections lost before the kill",
                self.lost_before_kill
            ));
        }
        if p.presence_wrong > 0 {
            problems.push(format!(
                "{} of {} sampled views were wrong",
                p.presence_wrong, p.presence_checked
            ));
        }
        if p.leaves_seen != p.leaves_expected || p.roles_freed != p.roles_expected {
            problems.push(format!(
                "{} of {} views saw the killed node's user leave ({} before the kill), {} of {} saw the role freed",
                p.leaves_seen, p.leaves_expected, p.leaves_early, p.roles_freed, p.roles_expected
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> ScaleReport {
        ScaleReport {
            nodes: 3,
            connections: 6,
            conversations: 3,
            members: 2,
            operators: 1,
            viewers: 1,
            workers: 1,
            ramp_per_sec: 10.0,
            ramp_secs: 1.0,
            connected: 6,
            failed: 0,
            setup_failed: 0,
            lost_before_kill: 0,
            dropped: 2,
            killed_node_connections: 2,
            node: Vec::new(),
            redis_rss: None,
            presence: ScaleStats {
                presence_checked: 2,
                presence_wrong: 0,
                leaves_expected: 2,
                leaves_seen: 2,
                leaves_early: 0,
                roles_expected: 1,
                roles_freed: 1,
            },
            kill_lateness_ms: 0.1,
            kill_to_leave: None,
            kill_to_role_free: None,
            cleanup_ms: Some(3000.0),
            notes: Vec::new(),
        }
    }

    #[test]
    fn a_run_fails_on_a_failed_connection_a_wrong_view_or_a_missed_leave() {
        assert!(report().problems().is_empty());
        let mut failed = report();
        failed.failed = 1;
        failed.connected = 5;
        assert!(failed.problems()[0].contains("5 of 6 connections"));
        let mut wrong = report();
        wrong.presence.presence_wrong = 1;
        assert!(wrong.problems()[0].contains("1 of 2 sampled views were wrong"));
        let mut missed = report();
        missed.presence.roles_freed = 0;
        assert!(missed.problems()[0].contains("0 of 1 saw the role freed"));
    }
}
