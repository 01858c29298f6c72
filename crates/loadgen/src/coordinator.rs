//! The coordinator: starts the target, sets it up, hands each worker its
//! share, opens the measure window, samples the kernel's counters at its
//! edges, and merges what the workers counted into a [`Report`].

use std::time::Duration;

use crate::cli::{Cli, FanoutArgs, Scenario, TargetArgs};
use crate::clock::{Window, now_ns, secs_to_ns, sleep_until_ns};
use crate::plan::{ChurnGroup, FanoutObserver, FanoutResponder, ToWorker, Wire, Work, WorkerPlan};
use crate::report::{self, RedisFacts, Report, RunFacts, ServerFacts};
use crate::setup::{self, Cast, Needs};
use crate::target::{AdminAccess, Target, TargetKind};
use crate::workers::{WorkerHandle, await_ready, await_reports, run_network, source_ip};
use crate::{procfs, watching};

/// How long the workers may take to report after the window ends.
const REPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the scenario `cli` describes and returns its report.
pub async fn run(cli: &Cli) -> anyhow::Result<Report> {
    let _ = procfs::raise_open_file_limit();
    if let Scenario::Worker(_) | Scenario::Bench(_) = cli.scenario {
        anyhow::bail!("`{}` is not a scenario", cli.scenario.name());
    }
    let mut target = open_target(&cli.target).await?;
    let result = run_on(cli, &mut target).await;
    target.stop().await;
    result.map_err(|error| {
        let tail = target.log_tail();
        if tail.is_empty() {
            error
        } else {
            error.context(format!("the server's last log lines:\n{}", tail.join("\n")))
        }
    })
}

async fn open_target(args: &TargetArgs) -> anyhow::Result<Target> {
    args.check().map_err(anyhow::Error::msg)?;
    if let Some(binary) = &args.spawn {
        return Target::spawn_switchboard(binary, args.ws_buffer_bytes, &args.server_env).await;
    }
    if let Some(binary) = &args.spawn_floor {
        return Target::spawn_floor(binary, args.ws_buffer_bytes).await;
    }
    if let Some(script) = &args.spawn_socketio {
        return Target::spawn_socketio(script).await;
    }
    let mut nodes = Vec::with_capacity(args.url.len());
    for url in &args.url {
        let host = url
            .trim_start_matches("http://")
            .trim_start_matches("ws://")
            .trim_end_matches('/');
        let host = host.strip_suffix("/v1/ws").unwrap_or(host);
        nodes.push(
            tokio::net::lookup_host(host)
                .await?
                .next()
                .ok_or_else(|| anyhow::anyhow!("{url} does not resolve"))?,
        );
    }
    if !args.pid.is_empty() && args.pid.len() != nodes.len() {
        anyhow::bail!(
            "{} --pid for {} --url: give one per node, in the same order",
            args.pid.len(),
            nodes.len()
        );
    }
    let kind = if args.floor {
        TargetKind::Floor
    } else {
        TargetKind::Switchboard
    };
    let admin = match (&args.admin_bin, &args.database_url) {
        (Some(binary), Some(database_url)) => Some(AdminAccess {
            binary: binary.clone(),
            database_url: database_url.clone(),
        }),
        _ => None,
    };
    Target::external(kind, nodes, args.pid.clone(), admin)
}

/// What setup must make for a scenario.
pub fn needs(scenario: &Scenario) -> Needs {
    match scenario {
        Scenario::Idle(a) => Needs {
            operators: a.users.max(1),
            ..Needs::default()
        },
        Scenario::Fanout(a) => Needs {
            operators: a.responder_users.clamp(1, a.conversations.max(1)),
            viewers: a
                .observer_users
                .clamp(1, fanout_observer_connections(a).max(1)),
            flooders: a.flooders,
            conversations: a.conversations,
            ..Needs::default()
        },
        Scenario::Churn(a) => Needs {
            operators: a.takers.max(1),
            viewers: a
                .observer_users
                .clamp(1, (a.conversations * a.observers).max(1)),
            conversations: a.conversations,
            ..Needs::default()
        },
        Scenario::Inbound(a) => Needs {
            operators: a.agents,
            viewers: a.watcher_users.clamp(1, a.watchers.max(1)),
            operator_capacity: (a.agents > 0).then_some(a.agent_capacity),
            ..Needs::default()
        },
        Scenario::Worker(_) | Scenario::Bench(_) => Needs::default(),
    }
}

/// Connections a scenario opens in all.
pub fn total_connections(scenario: &Scenario) -> usize {
    match scenario {
        Scenario::Idle(a) => a.connections,
        Scenario::Fanout(a) => a.conversations + fanout_observer_connections(a) + a.flooders,
        Scenario::Churn(a) => a.conversations * (a.observers + a.takers),
        Scenario::Inbound(a) => a.watchers + a.agents,
        Scenario::Worker(_) | Scenario::Bench(_) => 0,
    }
}

fn fanout_observer_connections(a: &FanoutArgs) -> usize {
    watching::observer_connections(a.conversations, a.observers, a.watch)
}

fn pick<T: Clone>(items: &[T], i: usize) -> T {
    items[i % items.len()].clone()
}

/// Each worker's share: idle connections evenly; fanout responders and
/// observer connections round-robin (a fanout connection needs nothing from
/// the others), and flooders in one more worker of their own (so the
/// generator's work of flooding does not delay the observers' reads); churn
/// conversations whole, round-robin (a conversation's
/// takers and observers share its tracker).
pub fn split_work(scenario: &Scenario, cast: &Cast, workers: usize) -> anyhow::Result<Vec<Work>> {
    let workers = workers.max(1);
    Ok(match scenario {
        Scenario::Idle(a) => {
            let mut first = 0;
            (0..workers)
                .map(|i| {
                    let count = a.connections / workers + usize::from(i < a.connections % workers);
                    let work = Work::Idle {
                        tokens: cast.operators.clone(),
                        first_index: first,
                        connections: count,
                    };
                    first += count;
                    work
                })
                .collect()
        }
        Scenario::Fanout(a) => {
            let mut responders = vec![Vec::new(); workers];
            let mut observers = vec![Vec::new(); workers];
            for (k, conversation) in cast.conversations.iter().enumerate() {
                responders[k % workers].push(FanoutResponder {
                    conversation_id: *conversation,
                    token: pick(&cast.operators, k),
                });
            }
            let watches = watching::observer_watches(a.conversations, a.observers, a.watch)?;
            let connections = watches.len();
            for (i, watched) in watches.into_iter().enumerate() {
                let user = watching::observer_user(i, connections, cast.viewers.len());
                observers[i % workers].push(FanoutObserver {
                    conversations: watched.into_iter().map(|k| cast.conversations[k]).collect(),
                    token: pick(&cast.viewers, user),
                });
            }
            let fanout = |responders, observers, flooders| Work::Fanout {
                responders,
                observers,
                rate_per_sec: a.rate,
                body_bytes: a.body_bytes,
                flooders,
            };
            let mut works: Vec<_> = responders
                .into_iter()
                .zip(observers)
                .map(|(responders, observers)| fanout(responders, observers, Vec::new()))
                .collect();
            if !cast.flooders.is_empty() {
                works.push(fanout(Vec::new(), Vec::new(), cast.flooders.clone()));
            }
            works
        }
        Scenario::Churn(a) => {
            let mut groups = vec![Vec::new(); workers];
            for (k, conversation) in cast.conversations.iter().enumerate() {
                groups[k % workers].push(ChurnGroup {
                    conversation_id: *conversation,
                    observers: (0..a.observers)
                        .map(|j| pick(&cast.viewers, k * a.observers + j))
                        .collect(),
                    takers: (0..a.takers).map(|t| pick(&cast.operators, t)).collect(),
                });
            }
            groups
                .into_iter()
                .map(|groups| Work::Churn {
                    groups,
                    hold_ms: a.hold_ms,
                    pause_ms: a.pause_ms,
                    rejoin: a.rejoin,
                    takers_across_nodes: a.takers_across_nodes,
                    rate_per_sec: a.rate,
                    workers,
                    conversations: a.conversations,
                })
                .collect()
        }
        // The poster and its watchers share one worker: they match posts to events.
        // Agents watch too: their consoles are what makes them online.
        Scenario::Inbound(a) => vec![Work::Inbound {
            watchers: (0..a.watchers)
                .map(|w| pick(&cast.viewers, w))
                .chain(cast.operators.iter().take(a.agents).cloned())
                .collect(),
            rate_per_sec: a.rate,
            concurrency: a.concurrency,
            inbox_id: cast.inbox_id,
            api_key: cast.api_key.clone(),
            new_contact_ratio: a.new_contact_ratio,
            body_bytes: a.body_bytes,
        }],
        Scenario::Worker(_) | Scenario::Bench(_) => Vec::new(),
    })
}

/// Kernel counters at one instant.
#[derive(Debug, Clone)]
struct Sample {
    at_ns: u64,
    /// Per server process, in the target's order.
    server_cpu: Option<Vec<u64>>,
    redis_cpu: Option<u64>,
    machine: Option<procfs::CpuTotals>,
    loadgen_cpu: u64,
}

/// CPU ticks of every process in `pids` (`None` if one cannot be read).
fn cpu_ticks(pids: &[u32]) -> Option<Vec<u64>> {
    pids.iter()
        .map(|pid| procfs::process_cpu_ticks(*pid).ok())
        .collect()
}

fn sample(servers: &[u32], redis: Option<u32>, loadgen: &[u32]) -> Sample {
    Sample {
        at_ns: now_ns(),
        server_cpu: cpu_ticks(servers).filter(|_| !servers.is_empty()),
        redis_cpu: redis.and_then(|pid| procfs::process_cpu_ticks(pid).ok()),
        machine: procfs::system_cpu().ok(),
        loadgen_cpu: loadgen
            .iter()
            .filter_map(|pid| procfs::process_cpu_ticks(*pid).ok())
            .sum(),
    }
}

/// RSS summed over the server processes (every node of a cluster).
fn rss(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter()
        .map(|pid| procfs::process_rss_bytes(*pid).ok())
        .sum()
}

async fn settle(seconds: f64) {
    tokio::time::sleep(Duration::from_nanos(secs_to_ns(seconds))).await;
}

fn parameters(cli: &Cli, workers: usize, nodes: usize) -> serde_json::Value {
    let mut map = match &cli.scenario {
        Scenario::Idle(a) => serde_json::to_value(a),
        Scenario::Fanout(a) => serde_json::to_value(a),
        Scenario::Churn(a) => serde_json::to_value(a),
        Scenario::Inbound(a) => serde_json::to_value(a),
        Scenario::Worker(_) | Scenario::Bench(_) => Ok(serde_json::Value::Null),
    }
    .ok()
    .and_then(|v| v.as_object().cloned())
    .unwrap_or_default();
    if let Scenario::Fanout(a) = &cli.scenario {
        map.insert(
            "observer_connections".into(),
            fanout_observer_connections(a).into(),
        );
    }
    map.insert("ramp_per_sec".into(), cli.run.ramp_per_sec.into());
    map.insert("nodes".into(), nodes.into());
    map.insert("workers".into(), workers.into());
    map.insert("ws_buffer_bytes".into(), cli.target.ws_buffer_bytes.into());
    serde_json::Value::Object(map)
}

fn offered_per_sec(scenario: &Scenario) -> Option<f64> {
    match scenario {
        Scenario::Fanout(a) => Some(a.conversations as f64 * a.rate * a.observers as f64),
        Scenario::Inbound(a) if a.concurrency == 0 => Some(a.rate * (a.watchers + a.agents) as f64),
        _ => None,
    }
}

async fn run_on(cli: &Cli, target: &mut Target) -> anyhow::Result<Report> {
    let scenario = &cli.scenario;
    let run = &cli.run;
    // The floor and the Socket.IO peer only broadcast: no presence, no auth.
    let floor = matches!(target.kind, TargetKind::Floor | TargetKind::SocketIo);
    if floor && matches!(scenario, Scenario::Churn(_) | Scenario::Inbound(_)) {
        anyhow::bail!(
            "the {} does not do the {} scenario (it has no presence and no inbound API)",
            target.kind.as_str(),
            scenario.name()
        );
    }
    if target.kind == TargetKind::SocketIo
        && matches!(scenario, Scenario::Fanout(a) if a.flooders > 0)
    {
        anyhow::bail!("flooders speak Switchboard's wire only");
    }
    let wire = match target.kind {
        TargetKind::SocketIo => Wire::SocketIo,
        TargetKind::Switchboard | TargetKind::Floor => Wire::Switchboard,
    };
    if run.duration <= 0.0 {
        anyhow::bail!("--duration must be positive");
    }
    if let Scenario::Fanout(a) = scenario {
        watching::check(a.conversations, a.watch)?;
    }
    let needs = needs(scenario);
    let cast = if floor {
        setup::floor_cast(needs)
    } else {
        let admin = target.admin.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "setting up Switchboard needs --admin-bin and --database-url with --url"
            )
        })?;
        let cast = setup::switchboard_cast(&admin, &target.http_base(), needs).await?;
        // Measure a fresh process on the data setup made (sessions and
        // conversations live in the database): setup's argon2 logins leave
        // tens of MiB in the allocator that would blur the RSS readings.
        target.restart().await?;
        cast
    };
    let total = total_connections(scenario);
    let workers = match scenario {
        Scenario::Inbound(_) => 1,
        _ => run
            .workers
            .unwrap_or_else(|| total.div_ceil(run.max_per_worker.max(1)))
            .max(1),
    };
    let works = split_work(scenario, &cast, workers)?;
    // Fanout's flooders add a worker of their own.
    let workers = works.len();

    // After setup's restart: the processes measured from here on.
    let servers = target.pids();
    let nodes = target.nodes();
    settle(run.settle).await;
    let rss_before = rss(&servers);

    let exe = std::env::current_exe()?;
    let network = run_network();
    let mut handles = Vec::new();
    for index in 0..workers {
        handles.push(if run.in_process {
            WorkerHandle::in_process(index)
        } else {
            WorkerHandle::subprocess(index, &exe, run.worker_threads.max(1))?
        });
    }
    for (handle, work) in handles.iter().zip(works) {
        handle
            .send(ToWorker::Plan(Box::new(WorkerPlan {
                index: handle.index,
                nodes: nodes.clone(),
                source_ip: source_ip(target.addr, handle.index, network)?,
                ramp_per_sec: run.ramp_per_sec / workers as f64,
                max_pending: 0,
                connect_timeout_ms: run.connect_timeout_ms,
                floor,
                wire,
                work,
            })))
            .await?;
    }
    let ramp_limit = Duration::from_secs_f64(
        total as f64 / run.ramp_per_sec.max(1.0) * 2.0
            + run.connect_timeout_ms as f64 / 1000.0
            + 120.0,
    );
    let ready = await_ready(&mut handles, ramp_limit).await?;
    if !target.is_running() {
        anyhow::bail!("the server exited during the ramp");
    }

    settle(run.settle).await;
    let rss_after = rss(&servers);

    let start_ns = now_ns() + secs_to_ns(run.warmup);
    let window = Window {
        start_ns,
        end_ns: start_ns + secs_to_ns(run.duration),
    };
    for handle in &handles {
        handle.send(ToWorker::Start { window }).await?;
    }
    let mut loadgen_pids = vec![std::process::id()];
    loadgen_pids.extend(handles.iter().filter_map(|h| h.pid));
    sleep_until_ns(window.start_ns).await;
    let redis = cli.target.redis_pid;
    let first = sample(&servers, redis, &loadgen_pids);
    sleep_until_ns(window.end_ns).await;
    let last = sample(&servers, redis, &loadgen_pids);
    let rss_end = rss(&servers);

    let (end, histograms) = await_reports(&mut handles, REPORT_TIMEOUT).await?;
    for handle in handles {
        handle.finish().await;
    }

    let cores = procfs::system_cpu()
        .map(|totals| totals.cpus)
        .unwrap_or_else(|_| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    let facts = RunFacts {
        scenario: scenario.name().to_owned(),
        target: target.kind.as_str().to_owned(),
        parameters: parameters(cli, workers, nodes.len()),
        window_secs: window.seconds(),
        warmup_secs: run.warmup,
        sampled_secs: (last.at_ns - first.at_ns) as f64 / 1e9,
        ready,
        end,
        histograms,
        server: target.pid.map(|pid| ServerFacts {
            pid,
            cpu_ticks: first
                .server_cpu
                .zip(last.server_cpu)
                .map(|(a, b)| servers.iter().copied().zip(a.into_iter().zip(b)).collect()),
            rss_before,
            rss_after,
            rss_end,
        }),
        redis: redis.map(|pid| RedisFacts {
            pid,
            cpu_ticks: first.redis_cpu.zip(last.redis_cpu),
        }),
        loadgen_cpu_ticks: last.loadgen_cpu.saturating_sub(first.loadgen_cpu),
        loadgen_processes: loadgen_pids.len(),
        steal_ticks: first
            .machine
            .zip(last.machine)
            .map(|(a, b)| b.steal.saturating_sub(a.steal)),
        machine_busy_ticks: first
            .machine
            .zip(last.machine)
            .map(|(a, b)| b.busy.saturating_sub(a.busy)),
        cores,
        clock_ticks_per_sec: procfs::clock_ticks_per_second(),
        offered_per_sec: offered_per_sec(scenario),
    };
    Ok(report::build(&facts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::IdleArgs;
    use uuid::Uuid;

    #[test]
    fn idle_connections_are_split_evenly_and_continue_the_user_rotation() {
        let cast = Cast {
            operators: vec![Some("a".into()), Some("b".into()), Some("c".into())],
            ..Cast::default()
        };
        let scenario = Scenario::Idle(IdleArgs {
            connections: 10,
            users: 3,
        });
        let works = split_work(&scenario, &cast, 3).unwrap();
        let shares: Vec<(usize, usize)> = works
            .iter()
            .map(|w| match w {
                Work::Idle {
                    first_index,
                    connections,
                    ..
                } => (*first_index, *connections),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(shares, vec![(0, 4), (4, 3), (7, 3)]);
    }

    fn fanout_cast() -> Cast {
        Cast {
            operators: vec![Some("r0".into()), Some("r1".into())],
            viewers: vec![Some("v0".into()), Some("v1".into()), Some("v2".into())],
            conversations: (0..5).map(Uuid::from_u128).collect(),
            ..Cast::default()
        }
    }

    fn fanout(observers: usize, watch: usize) -> Scenario {
        Scenario::Fanout(FanoutArgs {
            conversations: 5,
            observers,
            rate: 1.0,
            watch,
            body_bytes: 100,
            responder_users: 2,
            observer_users: 3,
            flooders: 0,
        })
    }

    #[test]
    fn fanout_deals_responders_and_observers_round_robin() {
        let scenario = fanout(2, 1);
        let works = split_work(&scenario, &fanout_cast(), 2).unwrap();
        assert_eq!(works.iter().map(Work::connections).sum::<usize>(), 15);
        assert_eq!(total_connections(&scenario), 15);
        let Work::Fanout {
            responders,
            observers,
            ..
        } = &works[1]
        else {
            panic!()
        };
        assert_eq!(responders.len(), 2);
        assert_eq!(responders[0].conversation_id, Uuid::from_u128(1));
        assert_eq!(responders[0].token.as_deref(), Some("r1"));
        // Observer connections 1, 3, 5, 7, 9 of 10: one conversation each,
        // users in blocks of 10 ÷ 3.
        assert_eq!(observers.len(), 5);
        assert_eq!(observers[0].conversations, vec![Uuid::from_u128(1)]);
        assert_eq!(observers[2].conversations, vec![Uuid::from_u128(0)]);
        assert_eq!(observers[0].token.as_deref(), Some("v0"));
        assert_eq!(observers[4].token.as_deref(), Some("v2"));
        assert_eq!(
            needs(&scenario),
            Needs {
                operators: 2,
                viewers: 3,
                flooders: 0,
                conversations: 5,
                operator_capacity: None,
            }
        );
    }

    #[test]
    fn fanout_observers_watching_several_conversations_need_fewer_connections() {
        let scenario = fanout(2, 3);
        // 5 × 2 observer slots over connections of 3: 4 connections, the last watching 1.
        assert_eq!(total_connections(&scenario), 5 + 4);
        let works = split_work(&scenario, &fanout_cast(), 1).unwrap();
        let Work::Fanout { observers, .. } = &works[0] else {
            panic!()
        };
        let watched: Vec<Vec<u128>> = observers
            .iter()
            .map(|o| o.conversations.iter().map(|c| c.as_u128()).collect())
            .collect();
        assert_eq!(
            watched,
            vec![vec![0, 1, 2], vec![3, 4, 0], vec![1, 2, 3], vec![4]]
        );
        assert!(split_work(&fanout(2, 6), &fanout_cast(), 1).is_err());
    }

    #[test]
    fn flooders_get_a_worker_of_their_own() {
        let Scenario::Fanout(args) = fanout(2, 1) else {
            panic!()
        };
        let scenario = Scenario::Fanout(FanoutArgs {
            flooders: 2,
            ..args
        });
        assert_eq!(needs(&scenario).flooders, 2);
        assert_eq!(total_connections(&scenario), 17);
        let cast = Cast {
            flooders: vec![Some("f0".into()), Some("f1".into())],
            ..fanout_cast()
        };
        let works = split_work(&scenario, &cast, 2).unwrap();
        assert_eq!(works.len(), 3);
        assert_eq!(works.iter().map(Work::connections).sum::<usize>(), 17);
        let Work::Fanout {
            responders,
            observers,
            flooders,
            ..
        } = &works[2]
        else {
            panic!()
        };
        assert!(responders.is_empty() && observers.is_empty());
        assert_eq!(flooders, &cast.flooders);
    }
}
