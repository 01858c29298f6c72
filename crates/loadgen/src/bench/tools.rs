//! The outside tools the benchmark compares against: redis-benchmark's
//! PUBLISH ceiling on the cluster's Redis (with the CPU that Redis spent,
//! read from `/proc`) and pgbench's transactions per second on the same
//! Postgres server. Their output is parsed here, by pure functions.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tokio::process::Command;

use crate::procfs;

/// redis-benchmark's `-P 16 -n N -q publish` against one Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedisBenchmark {
    /// The command, as shown in RESULTS.md.
    pub command: String,
    pub requests: u64,
    pub requests_per_sec: f64,
    pub wall_seconds: f64,
    /// The Redis server's utime + stime while it ran.
    pub redis_cpu_seconds: f64,
    /// Requests ÷ Redis CPU-seconds (`None`: no CPU was measured).
    pub per_redis_cpu_sec: Option<f64>,
}

/// The figure in front of `requests per second` on the last line that has
/// one (`-q` rewrites a progress line with `\r` before the final one).
pub fn parse_requests_per_second(output: &str) -> Option<f64> {
    output
        .split(['\r', '\n'])
        .filter_map(|line| {
            let before = &line[..line.find(" requests per second")?];
            let start = before
                .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
                .map_or(0, |i| i + 1);
            before[start..].parse().ok()
        })
        .next_back()
}

/// The `tps = ` figure of pgbench's summary, as printed.
pub fn parse_pgbench_tps(output: &str) -> Option<&str> {
    output.lines().find_map(|line| {
        let figure = line.strip_prefix("tps = ")?;
        let end = figure
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(figure.len());
        let figure = &figure[..end];
        figure.parse::<f64>().ok().map(|_| figure)
    })
}

/// Runs redis-benchmark's PUBLISH with pipeline 16 against the Redis on
/// `port` (pid `redis_pid`), reading that Redis' CPU before and after.
/// The last line of its output goes to `log`.
pub async fn redis_benchmark(
    port: u16,
    redis_pid: u32,
    requests: u64,
    log: &Path,
) -> anyhow::Result<RedisBenchmark> {
    let payload = "x".repeat(100);
    let before = procfs::process_cpu_ticks(redis_pid)?;
    let started = Instant::now();
    let output = Command::new("redis-benchmark")
        .args([
            "-p",
            &port.to_string(),
            "-P",
            "16",
            "-n",
            &requests.to_string(),
        ])
        .args(["-q", "publish", "bench:channel", &payload])
        .output()
        .await
        .context("cannot run redis-benchmark (is it installed?)")?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let after = procfs::process_cpu_ticks(redis_pid)?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let last = text
        .split(['\r', '\n'])
        .rfind(|line| !line.trim().is_empty())
        .unwrap_or_default();
    std::fs::write(log, format!("{last}\n"))?;
    let requests_per_sec = parse_requests_per_second(&text)
        .with_context(|| format!("no figure in redis-benchmark's output: {last:?}"))?;
    let redis_cpu_seconds =
        after.saturating_sub(before) as f64 / procfs::clock_ticks_per_second() as f64;
    Ok(RedisBenchmark {
        command: format!(
            "redis-benchmark -P 16 -n {requests} -q publish bench:channel <100 bytes>"
        ),
        requests,
        requests_per_sec,
        wall_seconds,
        redis_cpu_seconds,
        per_redis_cpu_sec: (redis_cpu_seconds > 0.0).then(|| requests as f64 / redis_cpu_seconds),
    })
}

/// Runs `pgbench ARGS DATABASE`, its output to `log`; fails with the log's
/// name when pgbench does.
pub async fn pgbench(args: &[&str], database_url: &str, log: &Path) -> anyhow::Result<String> {
    let output = Command::new("pgbench")
        .args(args)
        .arg(database_url)
        .output()
        .await
        .context("cannot run pgbench (is it installed?)")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(log, &text)?;
    if !output.status.success() {
        anyhow::bail!("pgbench {} failed (log: {})", args.join(" "), log.display());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_publish_rate_is_read_from_the_last_progress_line() {
        let quiet = "PUBLISH: rps=412345.0 (overall: 401234.5) avg_msec=1.2\r\
                     PUBLISH: 599880.06 requests per second, p50=1.239 msec                    \n\n";
        assert_eq!(parse_requests_per_second(quiet), Some(599880.06));
        let older = "PUBLISH: 123456.79 requests per second\n";
        assert_eq!(parse_requests_per_second(older), Some(123456.79));
        assert_eq!(
            parse_requests_per_second("Could not connect to Redis"),
            None
        );
    }

    #[test]
    fn pgbench_tps_is_read_from_its_summary() {
        let summary = "number of failed transactions: 0 (0.000%)\n\
                       latency average = 3.239 ms\n\
                       initial connection time = 11.215 ms\n\
                       tps = 2470.123456 (without initial connection time)\n";
        assert_eq!(parse_pgbench_tps(summary), Some("2470.123456"));
        assert_eq!(parse_pgbench_tps("tps = (none)\n"), None);
        assert_eq!(parse_pgbench_tps("no summary"), None);
    }
}
