//! A worker: opens its share of the connections at the ramp rate, sets them
//! up (joins, subscriptions), holds them with heartbeats until the
//! coordinator starts the measure window, drives the scenario, and counts
//! only what happens inside the window.
//!
//! The same code runs in a worker process (`switchboard-loadgen worker`,
//! talking JSON lines on stdin/stdout) and inside the coordinator's process
//! (tests, `--in-process`).

mod churn;
mod conn;
mod fanout;
mod flood;
mod idle;
mod inbound;
mod observe;
mod scale;
mod shared;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_proto::{ClientFrame, ServerFrame};
use tokio::sync::{Semaphore, mpsc, watch};

pub use churn::ChurnTracker;
pub use inbound::InboundTracker;
pub use shared::{Phase, Shared};

use crate::clock::{now_ns, sleep_until_ns};
use crate::plan::{
    FromWorker, Side, ToWorker, Token, Wire, Work, WorkerPlan, node_for, taker_node,
};
use conn::Conn;

/// Extra time after the window's end before the snapshot, so frames read
/// just before the end are counted.
const REPORT_GRACE: Duration = Duration::from_millis(100);

/// Runs one worker until `Stop` (or until the coordinator goes away).
pub async fn run(mut commands: mpsc::Receiver<ToWorker>, events: mpsc::Sender<FromWorker>) {
    if let Err(error) = run_inner(&mut commands, &events).await {
        let _ = events
            .send(FromWorker::Failed {
                error: format!("{error:#}"),
            })
            .await;
    }
}

async fn run_inner(
    commands: &mut mpsc::Receiver<ToWorker>,
    events: &mpsc::Sender<FromWorker>,
) -> anyhow::Result<()> {
    let plan = match commands.recv().await {
        Some(ToWorker::Plan(plan)) => *plan,
        Some(other) => anyhow::bail!("expected a plan first, got {other:?}"),
        None => return Ok(()),
    };
    let (phase_tx, phase_rx) = watch::channel(Phase::Setup);
    let shared = Arc::new(Shared::new(plan.index, phase_rx));
    let (specs, inbound_tracker) = connection_specs(&plan);
    let total = specs.len();
    let (setup_tx, mut setup_rx) = mpsc::unbounded_channel();
    tokio::spawn(ramp(plan.clone(), specs, shared.clone(), setup_tx));

    let mut set_up = 0;
    while set_up < total {
        tokio::select! {
            done = setup_rx.recv() => match done {
                Some(()) => set_up += 1,
                None => break,
            },
            command = commands.recv() => match command {
                Some(ToWorker::Stop) | None => {
                    let _ = phase_tx.send(Phase::Stop);
                    return Ok(());
                }
                Some(other) => anyhow::bail!("unexpected {other:?} while connecting"),
            },
        }
    }
    send(
        events,
        FromWorker::Ready {
            stats: Box::new(shared.snapshot()),
        },
    )
    .await?;

    let window = match commands.recv().await {
        Some(ToWorker::Start { window }) => window,
        Some(ToWorker::Stop) | None => {
            let _ = phase_tx.send(Phase::Stop);
            return Ok(());
        }
        Some(other) => anyhow::bail!("expected start, got {other:?}"),
    };
    shared.set_window(window);
    let _ = phase_tx.send(Phase::Run(window));
    if let Some(tracker) = inbound_tracker {
        tokio::spawn(inbound::post_loop(plan.clone(), shared.clone(), tracker));
    }

    sleep_until_ns(window.end_ns).await;
    tokio::time::sleep(REPORT_GRACE).await;
    send(
        events,
        FromWorker::Report {
            stats: Box::new(shared.snapshot()),
        },
    )
    .await?;

    // Wait for Stop, or for the coordinator to go away.
    while let Some(command) = commands.recv().await {
        if let ToWorker::Stop = command {
            break;
        }
    }
    let _ = phase_tx.send(Phase::Stop);
    Ok(())
}

async fn send(events: &mpsc::Sender<FromWorker>, event: FromWorker) -> anyhow::Result<()> {
    events
        .send(event)
        .await
        .map_err(|_| anyhow::anyhow!("coordinator went away"))
}

/// What one connection does.
#[derive(Debug, Clone)]
enum Role {
    Idle,
    Responder(fanout::Responder),
    /// A fanout observer and the conversations it watches.
    Observer(Vec<uuid::Uuid>),
    /// A fanout flooder (malformed frames from the warm-up on).
    Flooder,
    ChurnObserver(churn::Observer),
    Taker(churn::Taker),
    Watcher(Arc<Mutex<InboundTracker>>),
    /// A scale member, and when the run's node is killed.
    Member(Box<crate::plan::ScaleMember>, u64),
}

#[derive(Debug, Clone)]
struct ConnSpec {
    token: Token,
    role: Role,
    /// Index into the plan's nodes.
    node: usize,
}

/// Every connection of the plan, in the order they are opened (responders
/// before observers, observers before takers), and the inbound tracker the
/// poster shares with the watchers.
fn connection_specs(plan: &WorkerPlan) -> (Vec<ConnSpec>, Option<Arc<Mutex<InboundTracker>>>) {
    let mut specs = Vec::new();
    let mut inbound_tracker = None;
    let nodes = plan.nodes.len();
    let mut placed = [0usize; 3];
    let mut place = |side: Side| {
        let slot = &mut placed[side as usize];
        let node = node_for(side, *slot + plan.index, nodes);
        *slot += 1;
        node
    };
    match &plan.work {
        Work::Idle {
            tokens,
            first_index,
            connections,
        } => {
            for i in 0..*connections {
                let token = if tokens.is_empty() {
                    None
                } else {
                    tokens[(first_index + i) % tokens.len()].clone()
                };
                specs.push(ConnSpec {
                    token,
                    role: Role::Idle,
                    node: node_for(Side::Any, first_index + i, nodes),
                });
            }
        }
        Work::Fanout {
            responders,
            observers,
            rate_per_sec,
            body_bytes,
            flooders,
        } => {
            for (i, responder) in responders.iter().enumerate() {
                specs.push(ConnSpec {
                    token: responder.token.clone(),
                    role: Role::Responder(fanout::Responder {
                        conversation: responder.conversation_id,
                        rate_per_sec: *rate_per_sec,
                        body_bytes: *body_bytes,
                        // Spread the responders' ticks over one period.
                        phase: i as f64 / responders.len().max(1) as f64,
                        id: format!("w{}c{i}", plan.index),
                    }),
                    node: place(Side::Writer),
                });
            }
            for observer in observers {
                specs.push(ConnSpec {
                    token: observer.token.clone(),
                    role: Role::Observer(observer.conversations.clone()),
                    node: place(Side::Reader),
                });
            }
            // Flooders on the writers' node: the node the messages enter at.
            for token in flooders {
                specs.push(ConnSpec {
                    token: token.clone(),
                    role: Role::Flooder,
                    node: place(Side::Writer),
                });
            }
        }
        Work::Churn {
            groups,
            hold_ms,
            pause_ms,
            rejoin,
            takers_across_nodes,
            rate_per_sec,
            workers,
            conversations,
        } => {
            let trackers: Vec<_> = groups
                .iter()
                .map(|g| Arc::new(Mutex::new(ChurnTracker::new(g.observers.len()))))
                .collect();
            for (group, tracker) in groups.iter().zip(&trackers) {
                for token in &group.observers {
                    specs.push(ConnSpec {
                        token: token.clone(),
                        role: Role::ChurnObserver(churn::Observer {
                            conversation: group.conversation_id,
                            tracker: tracker.clone(),
                        }),
                        node: place(Side::Reader),
                    });
                }
            }
            for (k, (group, tracker)) in groups.iter().zip(&trackers).enumerate() {
                let takers = group.takers.len();
                for (t, token) in group.takers.iter().enumerate() {
                    specs.push(ConnSpec {
                        token: token.clone(),
                        role: Role::Taker(churn::Taker {
                            conversation: group.conversation_id,
                            tracker: tracker.clone(),
                            hold: Duration::from_millis(*hold_ms),
                            pause: Duration::from_millis(*pause_ms),
                            rejoin: *rejoin,
                            pace: churn::Pace::new(
                                *rate_per_sec,
                                takers,
                                t,
                                k * workers + plan.index,
                                *conversations,
                            ),
                        }),
                        node: taker_node(t, nodes, *takers_across_nodes),
                    });
                }
            }
        }
        Work::Inbound { watchers, .. } => {
            let tracker = Arc::new(Mutex::new(InboundTracker::new(watchers.len())));
            for token in watchers {
                specs.push(ConnSpec {
                    token: token.clone(),
                    role: Role::Watcher(tracker.clone()),
                    node: place(Side::Reader),
                });
            }
            inbound_tracker = Some(tracker);
        }
        Work::Scale {
            members,
            kill_after_ms,
        } => {
            for member in members {
                specs.push(ConnSpec {
                    token: member.token.clone(),
                    node: member.node,
                    role: Role::Member(Box::new(member.clone()), *kill_after_ms),
                });
            }
        }
    }
    (specs, inbound_tracker)
}

/// Opens the connections at the plan's ramp rate.
async fn ramp(
    plan: WorkerPlan,
    specs: Vec<ConnSpec>,
    shared: Arc<Shared>,
    setup: mpsc::UnboundedSender<()>,
) {
    let start = now_ns();
    let spacing_ns = if plan.ramp_per_sec.is_finite() && plan.ramp_per_sec > 0.0 {
        1e9 / plan.ramp_per_sec
    } else {
        0.0
    };
    let floor = plan.floor;
    let wire = plan.wire;
    let pending = (plan.max_pending > 0).then(|| Arc::new(Semaphore::new(plan.max_pending)));
    for (index, spec) in specs.into_iter().enumerate() {
        sleep_until_ns(start + (index as f64 * spacing_ns) as u64).await;
        let permit = match &pending {
            Some(pending) => match pending.clone().acquire_owned().await {
                Ok(permit) => Some(permit),
                Err(_) => return,
            },
            None => None,
        };
        let signal = SetupSignal(Some(setup.clone()), permit);
        tokio::spawn(connection(
            plan.nodes[spec.node],
            plan.source_ip,
            Duration::from_millis(plan.connect_timeout_ms),
            index,
            spec,
            (floor, wire),
            shared.clone(),
            signal,
        ));
    }
}

/// Tells the worker a connection is set up (or failed); exactly once, even
/// if the connection's task ends early. Holds the connection's place among
/// those the ramp lets set up at once, given back then.
#[derive(Debug)]
struct SetupSignal(
    Option<mpsc::UnboundedSender<()>>,
    Option<tokio::sync::OwnedSemaphorePermit>,
);

impl SetupSignal {
    fn done(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
        self.1 = None;
    }
}

impl Drop for SetupSignal {
    fn drop(&mut self) {
        self.done();
    }
}

/// How a connection's work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The worker was told to stop.
    Stopped,
    /// The connection ended (closed by the server, or lost).
    Closed,
    /// Setup failed; counted already.
    SetupFailed,
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    addr: SocketAddr,
    source_ip: Option<std::net::IpAddr>,
    timeout: Duration,
    index: usize,
    spec: ConnSpec,
    (floor, wire): (bool, Wire),
    shared: Arc<Shared>,
    mut setup: SetupSignal,
) {
    shared.attempt();
    let mut conn = match conn::open(addr, source_ip, &spec.token, wire, timeout).await {
        Ok(conn) => conn,
        Err(error) => {
            shared.connect_failed(&format!("connect: {error:#}"));
            return;
        }
    };
    shared.connected();
    let mut ctx = Ctx {
        shared: shared.clone(),
        heartbeat: conn::heartbeat_ticker(conn.heartbeat, index),
    };
    let ctx = &mut ctx;
    let end = match spec.role {
        Role::Idle => idle::run(&mut conn, ctx, &mut setup).await,
        Role::Responder(responder) => responder.run(&mut conn, ctx, &mut setup, floor).await,
        Role::Observer(conversations) => {
            fanout::observe(&mut conn, ctx, &mut setup, &conversations).await
        }
        Role::Flooder => {
            let dial = flood::Dial {
                addr,
                source_ip,
                token: &spec.token,
                timeout,
            };
            flood::run(&mut conn, ctx, &mut setup, dial).await
        }
        Role::ChurnObserver(observer) => observer.run(&mut conn, ctx, &mut setup).await,
        Role::Taker(taker) => taker.run(&mut conn, ctx, &mut setup).await,
        Role::Watcher(tracker) => inbound::watch(&mut conn, ctx, &mut setup, tracker).await,
        Role::Member(member, kill_after_ms) => {
            scale::run(*member, kill_after_ms, &mut conn, ctx, &mut setup).await
        }
    };
    shared.ended(end == End::Closed);
}

/// What every role needs besides its own settings.
#[derive(Debug)]
struct Ctx {
    shared: Arc<Shared>,
    /// The connection's one heartbeat ticker, kept across phases so no gap
    /// between them can approach the server's silence limit.
    heartbeat: tokio::time::Interval,
}

impl Ctx {
    fn setup_failed(&self, what: &str, error: impl std::fmt::Display) -> End {
        self.shared.setup_failed(&format!("{what}: {error}"));
        End::SetupFailed
    }
}

/// Holds a set-up connection until the window starts: heartbeats out,
/// frames in (given to `on_frame`, which may answer with a frame).
/// `Err` when the worker stops or the connection ends first.
async fn hold_until_run(
    conn: &mut Conn,
    ctx: &mut Ctx,
    keepalive: &ClientFrame,
    mut on_frame: impl FnMut(&ServerFrame) -> Option<ClientFrame>,
) -> Result<crate::clock::Window, End> {
    let mut phase = ctx.shared.phase();
    loop {
        if let Some(outcome) = shared::phase_outcome(&phase) {
            return outcome;
        }
        tokio::select! {
            changed = phase.changed() => {
                if changed.is_err() {
                    return Err(End::Stopped);
                }
            }
            _ = ctx.heartbeat.tick() => {
                if conn.send(keepalive).await.is_err() {
                    return Err(End::Closed);
                }
            }
            frame = conn.recv() => match frame {
                Some((_, frame)) => {
                    if let Some(answer) = on_frame(&frame)
                        && conn.send(&answer).await.is_err()
                    {
                        return Err(End::Closed);
                    }
                }
                None => return Err(End::Closed),
            },
        }
    }
}

/// The keepalive every connection sends when it has nothing else to say.
fn ping() -> ClientFrame {
    ClientFrame::Ping(switchboard_proto::client::Ping { reference: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ChurnGroup;

    /// The nodes of a churn plan's takers, in the order they are opened.
    fn taker_nodes(takers_across_nodes: bool) -> Vec<usize> {
        let group = || ChurnGroup {
            conversation_id: uuid::Uuid::nil(),
            observers: vec![None; 2],
            takers: vec![None; 2],
        };
        let plan = WorkerPlan {
            index: 0,
            nodes: vec!["127.0.0.1:9".parse().unwrap(); 3],
            source_ip: None,
            ramp_per_sec: 10.0,
            max_pending: 0,
            connect_timeout_ms: 1000,
            floor: false,
            wire: Wire::Switchboard,
            work: Work::Churn {
                groups: vec![group(), group()],
                hold_ms: 0,
                pause_ms: 0,
                rejoin: false,
                takers_across_nodes,
                rate_per_sec: 0.0,
                workers: 1,
                conversations: 2,
            },
        };
        let (specs, _) = connection_specs(&plan);
        specs
            .iter()
            .filter(|spec| matches!(spec.role, Role::Taker(_)))
            .map(|spec| spec.node)
            .collect()
    }

    #[test]
    fn churn_takers_race_from_different_nodes_only_when_asked() {
        assert_eq!(taker_nodes(false), vec![0; 4]);
        assert_eq!(taker_nodes(true), vec![0, 1, 0, 1]);
    }
}
