//! The benchmark's Postgres parts. The cluster: a scratch database, a
//! private Redis and three `switchboard serve` nodes on them, loaded with
//! every connection on node 1 and then spread (writers on node 1, readers
//! on nodes 2 and 3), and redis-benchmark's PUBLISH on the same Redis. The
//! assignment run: one Switchboard on a scratch database, then pgbench on
//! the same server. Whatever they start is stopped and dropped when the
//! part ends, failed or not.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use switchboard_testkit::{
    Admin, LogOptions, RedisServer, ScratchDatabase, ServerProcess, serve_launch, wait_ready,
};

use super::case::Cases;
use super::quiet;
use super::tools;

/// How long a node may take to answer `/readyz` after it says it serves.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a node may take to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Log lines of a node kept in memory for errors (all of them go to its file).
const LOG_TAIL: usize = 50;
/// Postgres' work is "other CPU" to the generator: only steal counts there.
const ONLY_STEAL: f64 = 100.0;

/// A `CONVERSATIONS:RATE` pair, kept as written (it names the reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub conversations: String,
    pub rate: String,
}

impl std::str::FromStr for Shape {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (conversations, rate) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?} is not CONVERSATIONS:RATE"))?;
        conversations
            .parse::<u64>()
            .map_err(|_| format!("{conversations:?} is not a number of conversations"))?;
        rate.parse::<f64>()
            .map_err(|_| format!("{rate:?} is not a rate"))?;
        Ok(Self {
            conversations: conversations.into(),
            rate: rate.into(),
        })
    }
}

/// The cluster part's settings.
#[derive(Debug, Clone)]
pub struct ClusterPart {
    pub switchboard: PathBuf,
    /// A URL of the Postgres server with a database to connect to.
    pub postgres: String,
    pub redis_port: u16,
    /// Nodes listen on the three ports after this one.
    pub cluster_port: u16,
    pub takes: Vec<Shape>,
    pub redis_requests: u64,
}

fn nodes_name(nodes: usize) -> &'static str {
    if nodes == 1 { "1node" } else { "3nodes" }
}

/// Appends a row to one of the run's `.list` files.
fn list(cases: &Cases, name: &str, row: &str) -> anyhow::Result<()> {
    let path = cases.out.join(format!("{name}.list"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = writeln!(text, "{row}");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

impl ClusterPart {
    pub async fn run(&self, cases: &Cases) -> anyhow::Result<()> {
        let database = ScratchDatabase::create(&self.postgres, "sb_bench_cluster").await?;
        let redis =
            RedisServer::start_on(self.redis_port, Some(&cases.out.join("redis.log"))).await?;
        let redis_pid = redis.pid().context("redis-server is not running")?;
        std::fs::write(cases.out.join("cluster-takes.list"), "")?;
        Admin::new(&self.switchboard, &database.url)
            .migrate()
            .await?;
        let mut nodes = Vec::new();
        let http = reqwest::Client::new();
        for i in 1..=3u16 {
            let listen = format!("127.0.0.1:{}", self.cluster_port + i);
            let launch = serve_launch(
                &self.switchboard,
                &database.url,
                [
                    ("SWITCHBOARD_LISTEN", listen.as_str()),
                    ("SWITCHBOARD_REDIS_URL", &redis.url()),
                    ("SWITCHBOARD_RATE_LIMIT_PER_SEC", "1000000"),
                    ("SWITCHBOARD_RATE_LIMIT_BURST", "1000000"),
                    ("SWITCHBOARD_MAX_CONNECTIONS_PER_IP", "1000000"),
                    ("SWITCHBOARD_MAX_CONNECTIONS_PER_USER", "1000000"),
                    ("SWITCHBOARD_WS_READ_BUFFER_BYTES", "4096"),
                    ("SWITCHBOARD_WS_WRITE_BUFFER_BYTES", "4096"),
                ],
            );
            let log = LogOptions {
                keep: Some(LOG_TAIL),
                file: Some(cases.out.join(format!("node{i}.log"))),
            };
            let node = ServerProcess::start(&launch, &log)
                .await
                .with_context(|| format!("node {i} (log: node{i}.log)"))?;
            wait_ready(&http, &node.http_base(), READY_TIMEOUT)
                .await
                .with_context(|| format!("node {i} (log: node{i}.log)"))?;
            nodes.push(node);
        }
        let urls: Vec<String> = nodes.iter().map(ServerProcess::http_base).collect();
        let pids: Vec<String> = nodes.iter().map(|n| n.pid().to_string()).collect();
        cases.log.say(&format!(
            "cluster: nodes {} (pids {}), redis :{} (pid {redis_pid})",
            urls.join(" "),
            pids.join(" "),
            self.redis_port
        ));
        // The generator's options for the first `count` nodes.
        let target = |count: usize| -> Vec<String> {
            let mut args = Vec::new();
            for node in &nodes[..count] {
                args.extend(["--url".into(), node.http_base()]);
                args.extend(["--pid".into(), node.pid().to_string()]);
            }
            args.extend(["--redis-pid".into(), redis_pid.to_string()]);
            args.extend(["--admin-bin".into(), self.switchboard.display().to_string()]);
            args.extend(["--database-url".into(), database.url.clone()]);
            args
        };
        for shape in &self.takes {
            for count in [1, 3] {
                let name = format!(
                    "cluster-churn-{}x{}-{}",
                    shape.conversations,
                    shape.rate,
                    nodes_name(count)
                );
                let mut args = target(count);
                args.extend(
                    [
                        "churn",
                        "--conversations",
                        &shape.conversations,
                        "--observers",
                        "5",
                        "--takers",
                        "2",
                        "--rate",
                        &shape.rate,
                    ]
                    .map(String::from),
                );
                cases.run(&name, &args, ONLY_STEAL).await?;
            }
            list(
                cases,
                "cluster-takes",
                &format!("{} {}", shape.conversations, shape.rate),
            )?;
        }
        for observers in ["10", "50"] {
            for count in [1, 3] {
                let name = format!("cluster-fanout-{observers}-{}", nodes_name(count));
                let mut args = target(count);
                args.extend(
                    [
                        "fanout",
                        "--conversations",
                        "100",
                        "--observers",
                        observers,
                        "--rate",
                        "10",
                        "--watch",
                        observers,
                        "--body-bytes",
                        "100",
                    ]
                    .map(String::from),
                );
                cases.run(&name, &args, ONLY_STEAL).await?;
            }
        }
        quiet::wait(cases.quiet, &cases.log).await?;
        cases.log.say(&format!(
            "run redis-benchmark: PUBLISH, pipeline 16, {} requests, 100-byte payload",
            self.redis_requests
        ));
        let bench = tools::redis_benchmark(
            self.redis_port,
            redis_pid,
            self.redis_requests,
            &cases.out.join("redis-benchmark.log"),
        )
        .await?;
        std::fs::write(
            cases.out.join("redis-benchmark.json"),
            serde_json::to_string_pretty(&bench)? + "\n",
        )?;
        cases.log.say(&format!(
            "  {} requests/s, {} per Redis CPU-second",
            super::format::fixed(bench.requests_per_sec, 0),
            super::format::fixed(bench.per_redis_cpu_sec.unwrap_or(0.0), 0)
        ));
        for mut node in nodes {
            if let Err(error) = node.terminate(STOP_TIMEOUT).await {
                cases.log.say(&format!("  {error:#}"));
            }
        }
        Ok(())
    }
}

/// The assignment part's settings.
#[derive(Debug, Clone)]
pub struct AssignPart {
    pub switchboard: PathBuf,
    pub postgres: String,
    /// Posting loops of the assignment run.
    pub concurrency: u32,
    /// Seconds of arrivals, every one measured.
    pub arrival_secs: u64,
    /// pgbench's client counts, one run each.
    pub pgbench_clients: Vec<u32>,
    /// pgbench's `-T`, whole seconds.
    pub pgbench_secs: u64,
}

impl AssignPart {
    pub async fn run(&self, cases: &Cases) -> anyhow::Result<()> {
        let assign = ScratchDatabase::create(&self.postgres, "sb_bench_assign").await?;
        let args = [
            "--spawn".into(),
            self.switchboard.display().to_string(),
            "--server-env".into(),
            format!("SWITCHBOARD_DATABASE_URL={}", assign.url),
            "inbound".into(),
            "--concurrency".into(),
            self.concurrency.to_string(),
        ]
        .into_iter()
        .chain(
            [
                "--new-contact-ratio",
                "1",
                "--agents",
                "10",
                "--watchers",
                "0",
            ]
            .map(String::from),
        )
        .collect::<Vec<String>>();
        // measured from the first arrival, so that its rate second by
        // second shows whether routing slows as agents' loads grow
        let from_the_start = Cases {
            timing: vec![
                "--duration".into(),
                self.arrival_secs.to_string(),
                "--warmup".into(),
                "0".into(),
            ],
            ..cases.clone()
        };
        from_the_start
            .run("assign-postgres", &args, ONLY_STEAL)
            .await?;

        let database = ScratchDatabase::create(&self.postgres, "sb_bench_pgbench").await?;
        tools::pgbench(
            &["-i", "-s", "10", "-q"],
            &database.url,
            &cases.out.join("pgbench-init.log"),
        )
        .await?;
        std::fs::write(cases.out.join("pgbench.list"), "")?;
        for clients in &self.pgbench_clients {
            quiet::wait(cases.quiet, &cases.log).await?;
            cases.log.say(&format!(
                "run pgbench simple-update: {clients} clients, {} s",
                self.pgbench_secs
            ));
            let log = cases.out.join(format!("pgbench-c{clients}.log"));
            let output = tools::pgbench(
                &[
                    "-b",
                    "simple-update",
                    "-c",
                    &clients.to_string(),
                    "-j",
                    "2",
                    "-T",
                    &self.pgbench_secs.to_string(),
                ],
                &database.url,
                &log,
            )
            .await?;
            let tps = tools::parse_pgbench_tps(&output)
                .with_context(|| format!("no tps in {}", log.display()))?;
            list(cases, "pgbench", &format!("{clients} {tps}"))?;
            cases.log.say(&format!("  {tps} transactions/s"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_is_conversations_and_a_rate_kept_as_written() {
        let shape: Shape = "50:5".parse().unwrap();
        assert_eq!(
            shape,
            Shape {
                conversations: "50".into(),
                rate: "5".into()
            }
        );
        assert_eq!("50:0.5".parse::<Shape>().unwrap().rate, "0.5");
        assert!("50".parse::<Shape>().is_err());
        assert!("x:5".parse::<Shape>().is_err());
        assert!("50:fast".parse::<Shape>().is_err());
    }
}
