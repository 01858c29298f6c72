//! `switchboard-loadgen bench …`: the tools `benches/run.sh` drives. The
//! script keeps the plan (which parts, which scenarios, in which order);
//! these commands do the work that needs more than a shell: the run's facts
//! (`meta`), one case with its checks and noise rerun (`case`), the ladder's
//! and stand-ins' figures (`sustained`, `event-rate`), the parts that start
//! their own Postgres databases, Redis and cluster (`cluster`, `assign`),
//! and RESULTS.md (`results`).

mod case;
mod cluster;
mod format;
mod log;
mod meta;
mod quiet;
mod results;
pub mod scale;
pub mod scale_report;
mod tools;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};

pub use case::{noise, problems, summary};
pub use cluster::{AssignPart, ClusterPart, Shape};
pub use meta::{Meta, Thresholds};
pub use results::{NOTES_BEGIN, NOTES_END, RunDir, render as render_results};
pub use scale::{Layout, ScalePart};
pub use scale_report::ScaleReport;
pub use tools::{RedisBenchmark, parse_pgbench_tps, parse_requests_per_second};

use crate::report::Report;
use crate::run_options::RunArgs;
use case::Cases;
use log::BenchLog;
use quiet::Quiet;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum BenchCommand {
    /// Writes a run's meta.json: date, commit, machine, command, thresholds.
    Meta(MetaArgs),
    /// Runs one case (the generator with ARGS after `--`, and the global
    /// --duration, --warmup, --settle): waits for a quiet machine, checks
    /// the report, runs it once more if it was noisy.
    Case(CaseArgs),
    /// Prints `true` when a report delivered at least SHARE of its offered load.
    Sustained {
        report: PathBuf,
        #[arg(long)]
        share: f64,
    },
    /// Prints a report's deliveries per second per connection, to one
    /// decimal: the rate of a floor stand-in for as many connections.
    EventRate {
        report: PathBuf,
        #[arg(long)]
        connections: f64,
    },
    /// The cluster part: scratch database, private Redis, three nodes.
    Cluster(ClusterArgs),
    /// The assignment part: Switchboard on Postgres, then pgbench.
    Assign(AssignArgs),
    /// The scale part: many nodes on Postgres and Redis holding many agent
    /// connections, presence checked, one node killed (writes scale.json).
    Scale(ScaleArgs),
    /// Writes RESULTS.md from a run's reports, keeping the notes of the
    /// file it replaces; prints its path.
    Results {
        /// The run's directory (benches/out/<run>).
        out: PathBuf,
        /// The file to write.
        #[arg(long)]
        results: PathBuf,
        /// The repository, for the run's path shown in the file.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
}

/// When a run is noisy, and when the machine is quiet enough to start one.
#[derive(Debug, Clone, Args)]
pub struct NoiseArgs {
    /// The run's directory (benches/out/<run>): reports, logs, bench.log.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 2.0)]
    pub max_steal_pct: f64,
    #[arg(long, default_value_t = 10.0)]
    pub max_other_pct: f64,
    /// Wait before a run until the machine is at most this busy (percent).
    #[arg(long, default_value_t = 15.0)]
    pub quiet_pct: f64,
    /// ... but no longer than this (seconds).
    #[arg(long, default_value_t = 600)]
    pub quiet_wait: u64,
}

#[derive(Debug, Clone, Args)]
pub struct MetaArgs {
    /// Where to write meta.json.
    #[arg(long)]
    pub meta: PathBuf,
    /// The command line to record.
    #[arg(long)]
    pub command: String,
    /// When the run started (`YYYY-MM-DD HH:MM:SS UTC`; default: now).
    #[arg(long)]
    pub date: Option<String>,
    /// The repository (its commit and whether its tree is clean).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    #[arg(long, default_value_t = 2.0)]
    pub max_steal_pct: f64,
    #[arg(long, default_value_t = 10.0)]
    pub max_other_pct: f64,
    /// The share of offered load a ladder rung must deliver.
    #[arg(long, default_value_t = 0.95)]
    pub sustained: f64,
}

#[derive(Debug, Clone, Args)]
pub struct CaseArgs {
    #[command(flatten)]
    pub noise: NoiseArgs,
    /// The case's name: its report is OUT/NAME.json, its output OUT/NAME.log.
    #[arg(long)]
    pub name: String,
    /// The generator's target and scenario.
    #[arg(last = true, required = true)]
    pub args: Vec<String>,
}

/// `CONVERSATIONS:RATE ...`, one argument.
#[derive(Debug, Clone)]
pub struct Shapes(pub Vec<Shape>);

impl std::str::FromStr for Shapes {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        text.split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(Shapes)
    }
}

/// Numbers separated by spaces, one argument.
#[derive(Debug, Clone)]
pub struct Counts(pub Vec<u32>);

impl std::str::FromStr for Counts {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        text.split_whitespace()
            .map(|n| n.parse().map_err(|_| format!("{n:?} is not a count")))
            .collect::<Result<_, _>>()
            .map(Counts)
    }
}

#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub noise: NoiseArgs,
    /// The `switchboard` binary.
    #[arg(long)]
    pub switchboard: PathBuf,
    /// The Postgres server, with a database to connect to (…/postgres).
    #[arg(long)]
    pub postgres: String,
    #[arg(long, default_value_t = 6397)]
    pub redis_port: u16,
    /// Nodes listen on the next three ports.
    #[arg(long, default_value_t = 18180)]
    pub cluster_port: u16,
    /// The churn runs, `CONVERSATIONS:TAKES_PER_SEC ...`.
    #[arg(long, default_value = "50:20 50:5")]
    pub takes: Shapes,
    /// redis-benchmark's `-n`.
    #[arg(long, default_value_t = 2_000_000)]
    pub redis_requests: u64,
}

#[derive(Debug, Clone, Args)]
pub struct AssignArgs {
    #[command(flatten)]
    pub noise: NoiseArgs,
    /// The `switchboard` binary.
    #[arg(long)]
    pub switchboard: PathBuf,
    /// The Postgres server, with a database to connect to (…/postgres).
    #[arg(long)]
    pub postgres: String,
    /// Posting loops of the assignment run.
    #[arg(long, default_value_t = 32)]
    pub concurrency: u32,
    /// Seconds of arrivals in the assignment run, all measured (no
    /// warm-up): the rate after 5 s is compared with the rate after 60 s.
    #[arg(long, default_value_t = 65)]
    pub arrival_secs: u64,
    /// pgbench's client counts, `N ...`.
    #[arg(long, default_value = "8 32")]
    pub pgbench_clients: Counts,
}

/// A seconds figure as the generator reads it back.
#[derive(Debug, Clone, Args)]
pub struct ScaleArgs {
    #[command(flatten)]
    pub noise: NoiseArgs,
    #[arg(long)]
    pub switchboard: PathBuf,
    #[arg(long)]
    pub postgres: String,
    #[arg(long, default_value_t = 6398)]
    pub redis_port: u16,
    /// Nodes listen on the ports after this one.
    #[arg(long, default_value_t = 18200)]
    pub cluster_port: u16,
    #[arg(long, default_value_t = 11)]
    pub nodes: usize,
    #[arg(long, default_value_t = 200_000)]
    pub connections: usize,
    /// Members of each conversation, each on its own node (at most --nodes).
    #[arg(long, default_value_t = 10)]
    pub members: usize,
    /// Operators, one answering each conversation (each signs in once).
    #[arg(long, default_value_t = 500)]
    pub operators: usize,
    /// Viewers, the conversations' other members (each signs in once).
    #[arg(long, default_value_t = 500)]
    pub viewers: usize,
    /// Connections per worker process at most (each may hold 20,000 files).
    #[arg(long, default_value_t = 17_000)]
    pub max_per_worker: usize,
    /// New connections per second over all workers.
    #[arg(long, default_value_t = 1000.0)]
    pub ramp_per_sec: f64,
    /// At most this many connections connecting or joining at once, over
    /// all workers (the ramp slows to what the cluster sets up).
    #[arg(long, default_value_t = 200)]
    pub max_pending: usize,
    /// Seconds every connection may take to be set up (the ramp is slower
    /// than --ramp-per-sec when the cluster sets up fewer).
    #[arg(long, default_value_t = 2400.0)]
    pub ready_timeout: f64,
    /// Every N-th conversation's views are checked against all its members.
    #[arg(long, default_value_t = 100)]
    pub sample_every: usize,
    /// Seconds from the start of the window to the kill.
    #[arg(long, default_value_t = 2.0)]
    pub kill_after: f64,
    /// Seconds the connections watch after the kill.
    #[arg(long, default_value_t = 20.0)]
    pub cleanup: f64,
}

fn seconds(value: f64) -> String {
    format!("{value}")
}

impl NoiseArgs {
    fn cases(&self, run: &RunArgs) -> anyhow::Result<Cases> {
        Ok(Cases {
            loadgen: std::env::current_exe()?,
            out: self.out.clone(),
            log: BenchLog::in_dir(&self.out),
            quiet: Quiet {
                max_busy_pct: self.quiet_pct,
                wait_secs: self.quiet_wait,
            },
            max_steal_pct: self.max_steal_pct,
            timing: vec![
                "--duration".into(),
                seconds(run.duration),
                "--warmup".into(),
                seconds(run.warmup),
                "--settle".into(),
                seconds(run.settle),
            ],
        })
    }
}

fn read_report(path: &Path) -> anyhow::Result<Report> {
    results::read_json(path)?.with_context(|| format!("no report at {}", path.display()))
}

/// Resolves when the process is told to stop (SIGINT, SIGTERM), so a part
/// returns and what it started is stopped and dropped.
async fn interrupted() -> anyhow::Error {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(error) => return error.into(),
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => anyhow::anyhow!("interrupted"),
        _ = term.recv() => anyhow::anyhow!("terminated"),
    }
}

async fn part(
    cases: &Cases,
    work: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let outcome = tokio::select! {
        outcome = work => outcome,
        error = interrupted() => Err(error),
    };
    if let Err(error) = &outcome {
        cases.log.say(&format!("failed: {error:#}"));
    }
    outcome
}

/// Runs a `bench` command; failures are printed (and logged to the run's
/// bench.log when there is one).
#[allow(clippy::print_stdout)]
pub async fn main(run: &RunArgs, args: &BenchArgs) -> ExitCode {
    let outcome = match &args.command {
        BenchCommand::Meta(a) => (|| {
            let mut meta = meta::gather(
                &a.root,
                &a.command,
                Thresholds {
                    max_steal_pct: a.max_steal_pct,
                    max_other_pct: a.max_other_pct,
                    sustained_share: a.sustained,
                },
            )?;
            if let Some(date) = &a.date {
                meta.date.clone_from(date);
            }
            std::fs::write(&a.meta, serde_json::to_string_pretty(&meta)? + "\n")
                .with_context(|| format!("cannot write {}", a.meta.display()))
        })(),
        BenchCommand::Case(a) => match a.noise.cases(run) {
            Ok(cases) => {
                part(&cases, async {
                    cases.run(&a.name, &a.args, a.noise.max_other_pct).await?;
                    Ok(())
                })
                .await
            }
            Err(error) => Err(error),
        },
        BenchCommand::Sustained { report, share } => read_report(report).map(|r| {
            let sustained = r
                .deliveries
                .offered_per_sec
                .is_some_and(|offered| r.deliveries.per_sec >= share * offered);
            println!("{sustained}");
        }),
        BenchCommand::EventRate {
            report,
            connections,
        } => read_report(report).and_then(|r| {
            if *connections <= 0.0 {
                anyhow::bail!("--connections must be positive");
            }
            println!("{:.1}", r.deliveries.per_sec / connections);
            Ok(())
        }),
        BenchCommand::Cluster(a) => match a.noise.cases(run) {
            Ok(cases) => {
                let cluster = ClusterPart {
                    switchboard: a.switchboard.clone(),
                    postgres: a.postgres.clone(),
                    redis_port: a.redis_port,
                    cluster_port: a.cluster_port,
                    takes: a.takes.0.clone(),
                    redis_requests: a.redis_requests,
                };
                part(&cases, cluster.run(&cases)).await
            }
            Err(error) => Err(error),
        },
        BenchCommand::Assign(a) => match a.noise.cases(run) {
            Ok(cases) if run.duration.fract() == 0.0 && run.duration > 0.0 => {
                let assign = AssignPart {
                    switchboard: a.switchboard.clone(),
                    postgres: a.postgres.clone(),
                    concurrency: a.concurrency,
                    arrival_secs: a.arrival_secs,
                    pgbench_clients: a.pgbench_clients.0.clone(),
                    pgbench_secs: run.duration as u64,
                };
                part(&cases, assign.run(&cases)).await
            }
            Ok(_) => Err(anyhow::anyhow!(
                "pgbench runs whole seconds: --duration {} is not one",
                run.duration
            )),
            Err(error) => Err(error),
        },
        BenchCommand::Scale(a) => match a.noise.cases(run) {
            Ok(cases) => {
                let scale = ScalePart {
                    switchboard: a.switchboard.clone(),
                    postgres: a.postgres.clone(),
                    redis_port: a.redis_port,
                    cluster_port: a.cluster_port,
                    nodes: a.nodes,
                    connections: a.connections,
                    members: a.members,
                    operators: a.operators,
                    viewers: a.viewers,
                    max_per_worker: a.max_per_worker,
                    ramp_per_sec: a.ramp_per_sec,
                    max_pending: a.max_pending,
                    ready_timeout_secs: a.ready_timeout,
                    sample_every: a.sample_every,
                    kill_after_secs: a.kill_after,
                    cleanup_secs: a.cleanup,
                    settle_secs: run.settle,
                };
                part(&cases, scale.run(&cases)).await
            }
            Err(error) => Err(error),
        },
        BenchCommand::Results { out, results, root } => (|| {
            let (out, root) = (std::path::absolute(out)?, std::path::absolute(root)?);
            results::write(&RunDir::new(out), &root, results)?;
            println!("{}", results.display());
            Ok(())
        })(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("switchboard-loadgen bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}
