//! The command line. Target and run options are global (they may come
//! before or after the scenario), except `--url`, `--pid` and
//! `--redis-pid`, which repeat and so come before it. Besides the
//! scenarios: the hidden `worker` the coordinator starts, and `bench`, the
//! tools of benches/run.sh (which read the run options too).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

pub use crate::run_options::RunArgs;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "switchboard-loadgen",
    version,
    about = "Load generator for Switchboard (and the floor it is compared with)"
)]
pub struct Cli {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(subcommand)]
    pub scenario: Scenario,
}

/// Which server is loaded.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Start a fresh Switchboard from this binary (temporary SQLite database),
    /// set it up with its admin CLI, and stop it at the end.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        conflicts_with_all = ["spawn_floor", "spawn_socketio"]
    )]
    pub spawn: Option<PathBuf>,
    /// Start the floor server from this binary instead.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        conflicts_with = "spawn_socketio"
    )]
    pub spawn_floor: Option<PathBuf>,
    /// Start the Socket.IO peer instead: `node PATH` (benches/socketio/server.mjs,
    /// its dependencies installed).
    #[arg(long, global = true, value_name = "PATH")]
    pub spawn_socketio: Option<PathBuf>,
    /// Load a server that is already running (`http://127.0.0.1:PORT`).
    /// Repeat it for the nodes of a cluster: responders, takers (unless
    /// churn's --takers-across-nodes) and the inbound poster use the
    /// first; observers and watchers the others; idle connections all of
    /// them. (This and --pid, --redis-pid come
    /// before the scenario.)
    #[arg(long)]
    pub url: Vec<String>,
    /// With --url: the servers' pids, in the same order, for CPU and RSS
    /// figures (CPU is summed over them).
    #[arg(long)]
    pub pid: Vec<u32>,
    /// The pid of the Redis server a cluster uses: its CPU is reported
    /// beside the nodes', with deliveries per Redis CPU-second.
    #[arg(long)]
    pub redis_pid: Option<u32>,
    /// With --url: the server is a floor (no setup).
    #[arg(long, global = true)]
    pub floor: bool,
    /// With --url on Switchboard: the `switchboard` binary for the admin commands.
    #[arg(long, global = true, value_name = "PATH")]
    pub admin_bin: Option<PathBuf>,
    /// With --url on Switchboard: the server's database, for the admin commands.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Extra environment for a spawned Switchboard (repeatable; wins over the
    /// generator's settings).
    #[arg(long = "server-env", global = true, value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub server_env: Vec<(String, String)>,
    /// WebSocket read and write buffer of the spawned server (both targets).
    #[arg(long, global = true, default_value_t = 4096)]
    pub ws_buffer_bytes: usize,
}

impl TargetArgs {
    /// Exactly one way to the server: spawned, or running at --url.
    pub fn check(&self) -> Result<(), String> {
        let spawned =
            self.spawn.is_some() || self.spawn_floor.is_some() || self.spawn_socketio.is_some();
        match (spawned, self.url.is_empty()) {
            (true, false) => {
                Err("give --spawn/--spawn-floor/--spawn-socketio or --url, not both".into())
            }
            (false, true) => Err(
                "no target: give --spawn PATH, --spawn-floor PATH, --spawn-socketio PATH, or --url URL"
                    .into(),
            ),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum Scenario {
    /// Open connections, hold them with heartbeats, measure memory per connection.
    Idle(IdleArgs),
    /// Responders send paced messages; observers time their delivery.
    Fanout(FanoutArgs),
    /// Takers loop take → release; observers time the presence change (Switchboard only).
    Churn(ChurnArgs),
    /// Customer messages via POST /v1/inbound; inbox watchers time the events (Switchboard only).
    Inbound(InboundArgs),
    /// Internal: a worker process driven by the coordinator over stdin/stdout.
    #[command(hide = true)]
    Worker(WorkerArgs),
    /// The tools benches/run.sh drives (meta.json, one case, the cluster and
    /// assignment parts, RESULTS.md).
    Bench(crate::bench::BenchArgs),
}

impl Scenario {
    pub fn name(&self) -> &'static str {
        match self {
            Scenario::Idle(_) => "idle",
            Scenario::Fanout(_) => "fanout",
            Scenario::Churn(_) => "churn",
            Scenario::Inbound(_) => "inbound",
            Scenario::Worker(_) => "worker",
            Scenario::Bench(_) => "bench",
        }
    }
}

#[derive(Debug, Clone, Args, Serialize)]
pub struct IdleArgs {
    /// Connections to open and hold.
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Users the connections are spread over (Switchboard; each signs in once).
    #[arg(long, default_value_t = 20)]
    pub users: usize,
}

#[derive(Debug, Clone, Args, Serialize)]
pub struct FanoutArgs {
    /// Conversations, each with one active responder.
    #[arg(long, default_value_t = 50)]
    pub conversations: usize,
    /// Observer connections per conversation.
    #[arg(long, default_value_t = 10)]
    pub observers: usize,
    /// Messages per second each responder sends.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Conversations each observer connection watches (at most
    /// --conversations); observer connections = conversations × observers ÷ watch.
    #[arg(long, default_value_t = 1)]
    pub watch: usize,
    /// Bytes per message body (at least 20: the send time).
    #[arg(long, default_value_t = 100)]
    pub body_bytes: usize,
    /// Operators the responders are spread over.
    #[arg(long, default_value_t = 10)]
    pub responder_users: usize,
    /// Viewers the observers are spread over.
    #[arg(long, default_value_t = 20)]
    pub observer_users: usize,
    /// Flooder connections (each its own viewer, in a worker of their own)
    /// that send malformed frames as fast as the server takes them from
    /// the warm-up on, reconnecting whenever the server closes them.
    #[arg(long, default_value_t = 0)]
    pub flooders: usize,
}

#[derive(Debug, Clone, Args, Serialize)]
pub struct ChurnArgs {
    /// Conversations.
    #[arg(long, default_value_t = 10)]
    pub conversations: usize,
    /// Observer connections per conversation (viewers).
    #[arg(long, default_value_t = 5)]
    pub observers: usize,
    /// Taker connections per conversation, each a different operator.
    #[arg(long, default_value_t = 3)]
    pub takers: usize,
    /// How long a taker holds the role before releasing it.
    #[arg(long, default_value_t = 0)]
    pub hold_ms: u64,
    /// How long a taker waits after releasing before it may take again.
    #[arg(long, default_value_t = 0)]
    pub pause_ms: u64,
    /// Leave and join again after every release.
    #[arg(long)]
    pub rejoin: bool,
    /// With several `--url`: put taker t of each conversation on node
    /// t % nodes, so takes race from different nodes (off: every taker on
    /// the first node).
    #[arg(long)]
    pub takers_across_nodes: bool,
    /// Takes per second per conversation, its takers taking turns (0: each
    /// taker takes as soon as the role is free).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Viewers the observers are spread over.
    #[arg(long, default_value_t = 20)]
    pub observer_users: usize,
}

#[derive(Debug, Clone, Args, Serialize)]
pub struct InboundArgs {
    /// POST /v1/inbound per second.
    #[arg(long, default_value_t = 50.0)]
    pub rate: f64,
    /// Post from this many loops, each posting again when answered, as fast
    /// as the server goes (instead of --rate).
    #[arg(long, default_value_t = 0)]
    pub concurrency: usize,
    /// Operators online (a console subscribed to the inbox each, timed like
    /// the watchers) that new conversations are assigned to.
    #[arg(long, default_value_t = 0)]
    pub agents: usize,
    /// Each agent's capacity (the server's most is 10000).
    #[arg(long, default_value_t = 10_000)]
    pub agent_capacity: u32,
    /// Connections subscribed to the inbox.
    #[arg(long, default_value_t = 10)]
    pub watchers: usize,
    /// Share of posts from a new contact (the rest write again in an earlier conversation).
    #[arg(long, default_value_t = 0.5)]
    pub new_contact_ratio: f64,
    /// Bytes per message body.
    #[arg(long, default_value_t = 100)]
    pub body_bytes: usize,
    /// Viewers the watchers are spread over.
    #[arg(long, default_value_t = 10)]
    pub watcher_users: usize,
}

#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Runtime threads (1: a current-thread runtime).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    if key.is_empty() {
        return Err(format!("{text:?} has an empty key"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_may_come_before_or_after_the_scenario() {
        let cli = Cli::try_parse_from([
            "switchboard-loadgen",
            "--spawn",
            "/bin/switchboard",
            "fanout",
            "--conversations",
            "5",
            "--duration",
            "2",
            "--server-env",
            "SWITCHBOARD_HEARTBEAT_MS=5000",
            "--json",
            "out.json",
        ])
        .unwrap();
        assert_eq!(
            cli.target.spawn.as_deref(),
            Some(std::path::Path::new("/bin/switchboard"))
        );
        assert_eq!(cli.run.duration, 2.0);
        assert_eq!(cli.run.warmup, 3.0);
        assert_eq!(
            cli.target.server_env,
            vec![("SWITCHBOARD_HEARTBEAT_MS".to_string(), "5000".to_string())]
        );
        match cli.scenario {
            Scenario::Fanout(f) => {
                assert_eq!(f.conversations, 5);
                assert_eq!(f.observers, 10);
                assert_eq!(f.rate, 20.0);
                assert_eq!(f.watch, 1);
                assert_eq!(f.body_bytes, 100);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn idle_takes_connections_and_ramp() {
        let cli = Cli::try_parse_from([
            "switchboard-loadgen",
            "idle",
            "--connections",
            "2000",
            "--ramp-per-sec",
            "500",
            "--spawn-floor",
            "/bin/floor",
        ])
        .unwrap();
        assert_eq!(cli.run.ramp_per_sec, 500.0);
        assert!(cli.target.spawn_floor.is_some());
        assert!(matches!(
            cli.scenario,
            Scenario::Idle(IdleArgs {
                connections: 2000,
                ..
            })
        ));
    }

    #[test]
    fn two_targets_or_a_bad_env_are_refused() {
        assert!(Cli::try_parse_from(["x", "--spawn", "a", "--spawn-floor", "b", "idle"]).is_err());
        let both = Cli::try_parse_from(["x", "--spawn", "a", "--url", "http://h", "idle"]).unwrap();
        assert!(both.target.check().unwrap_err().contains("not both"));
        let neither = Cli::try_parse_from(["x", "idle"]).unwrap();
        assert!(neither.target.check().unwrap_err().contains("no target"));
        assert!(Cli::try_parse_from(["x", "--server-env", "NOEQUALS", "idle"]).is_err());
        assert!(Cli::try_parse_from(["x", "--server-env", "=v", "idle"]).is_err());
    }

    #[test]
    fn a_cluster_is_several_urls_and_pids_in_order() {
        let cli = Cli::try_parse_from([
            "x",
            "--url",
            "http://127.0.0.1:8081",
            "--url",
            "http://127.0.0.1:8082",
            "--pid",
            "11",
            "--pid",
            "12",
            "--redis-pid",
            "9",
            "churn",
            "--rate",
            "20",
        ])
        .unwrap();
        assert_eq!(
            cli.target.url,
            vec!["http://127.0.0.1:8081", "http://127.0.0.1:8082"]
        );
        assert_eq!(cli.target.pid, vec![11, 12]);
        assert_eq!(cli.target.redis_pid, Some(9));
        assert!(matches!(cli.scenario, Scenario::Churn(ChurnArgs { rate, .. }) if rate == 20.0));
        // After the scenario a node would be lost; it is refused instead.
        assert!(
            Cli::try_parse_from(["x", "--url", "http://a", "idle", "--url", "http://b"]).is_err()
        );
    }

    #[test]
    fn churn_and_inbound_defaults() {
        let cli = Cli::try_parse_from(["x", "churn", "--rejoin", "--takers", "4"]).unwrap();
        match cli.scenario {
            Scenario::Churn(c) => {
                assert!(c.rejoin);
                assert_eq!(c.takers, 4);
                assert_eq!(c.observers, 5);
                assert!(
                    !c.takers_across_nodes,
                    "takers share the first node by default"
                );
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(["x", "churn", "--takers-across-nodes"]).unwrap();
        assert!(matches!(
            cli.scenario,
            Scenario::Churn(ChurnArgs {
                takers_across_nodes: true,
                ..
            })
        ));
        let cli = Cli::try_parse_from(["x", "inbound", "--rate", "200"]).unwrap();
        assert!(matches!(
            cli.scenario,
            Scenario::Inbound(InboundArgs {
                watchers: 10,
                agents: 0,
                concurrency: 0,
                ..
            })
        ));
        let cli = Cli::try_parse_from(["x", "worker", "--threads", "2"]).unwrap();
        assert!(matches!(
            cli.scenario,
            Scenario::Worker(WorkerArgs { threads: 2 })
        ));
    }
}
