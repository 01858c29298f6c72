//! The scale part: a cluster of many `switchboard serve` nodes on one
//! scratch Postgres database and a private Redis, holding hundreds of
//! thousands of agent connections from worker processes (each with its own
//! loopback address and at most `max_per_worker` sockets). Every
//! connection joins one conversation; each conversation's members are on
//! different nodes. Once all are in, sampled views of the presence are
//! checked, each node's memory per connection is read, and the last node
//! is killed with SIGKILL: every connection elsewhere times the moment its
//! view loses that node's user (and, where that user answered, the role).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use switchboard_testkit::{
    Admin, LogOptions, RedisServer, ScratchDatabase, ServerProcess, Signal, Tenant, TenantSpec,
    UserSpec, serve_launch, wait_ready,
};
use uuid::Uuid;

use super::case::Cases;
use super::scale_report::{Millis, NodeFacts, ScaleReport};
use crate::clock::{Window, now_ns, secs_to_ns, sleep_until_ns};
use crate::histo;
use crate::plan::{ScaleMember, ToWorker, Wire, Work, WorkerPlan};
use crate::procfs;
use crate::setup::{PASSWORD, create_conversations};
use crate::workers::{WorkerHandle, await_ready, await_reports, run_network, source_ip};

/// How long a node may take to answer `/readyz` after it says it serves.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const LOG_TAIL: usize = 50;
/// How long the workers may take to report after the window ends.
const REPORT_TIMEOUT: Duration = Duration::from_secs(120);
/// Database connections per node: eleven nodes (88) stay under Postgres'
/// default of 100.
const DB_CONNECTIONS_PER_NODE: &str = "8";

/// The scale part's settings.
#[derive(Debug, Clone)]
pub struct ScalePart {
    pub switchboard: PathBuf,
    /// A URL of the Postgres server with a database to connect to.
    pub postgres: String,
    pub redis_port: u16,
    /// Nodes listen on the ports after this one.
    pub cluster_port: u16,
    pub nodes: usize,
    pub connections: usize,
    /// Members of each conversation (each on its own node).
    pub members: usize,
    /// Operators (one answers each conversation) and viewers (the other
    /// members) the connections are spread over; each signs in once.
    pub operators: usize,
    pub viewers: usize,
    /// At most this many connections per worker process.
    pub max_per_worker: usize,
    /// New connections per second, over all workers.
    pub ramp_per_sec: f64,
    /// At most this many connections connecting or joining at once, over
    /// all workers: the ramp slows to what the cluster sets up.
    pub max_pending: usize,
    /// How long every connection may take to be set up.
    pub ready_timeout_secs: f64,
    /// Every this-many-th conversation's views are checked in full.
    pub sample_every: usize,
    /// Seconds from the window's start to the kill, and after it.
    pub kill_after_secs: f64,
    pub cleanup_secs: f64,
    pub settle_secs: f64,
}

/// Where each connection goes: member `j` of conversation `c` is on node
/// `(c + j) % nodes`. Member 0 answers: an operator, who takes the role
/// by joining first where nobody is; the others are viewers, who may not
/// answer (so which member holds the role does not depend on who joined
/// first, and one conversation in `nodes` is answered on the killed node).
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub nodes: usize,
    pub members: usize,
}

/// A signed-in user: id and token.
pub type Agent = (Uuid, String);

impl Layout {
    pub fn node(&self, conversation: usize, member: usize) -> usize {
        (conversation + member) % self.nodes
    }

    /// Member `member` of `conversation`: an operator for member 0, else a
    /// viewer, each conversation's viewers distinct while there are at
    /// least `members - 1` of them.
    fn user<'a>(
        &self,
        conversation: usize,
        member: usize,
        operators: &'a [Agent],
        viewers: &'a [Agent],
    ) -> &'a Agent {
        if member == 0 {
            &operators[conversation % operators.len()]
        } else {
            let others = self.members - 1;
            &viewers[(conversation * others + member - 1) % viewers.len()]
        }
    }

    /// Every connection of `conversations` conversations, the killed node
    /// being the last: each member with the user it must see leave (the
    /// member on the killed node, if the conversation has one and this
    /// member is elsewhere), and on sampled conversations every member's
    /// user and the answering one.
    pub fn members(
        &self,
        conversations: &[Uuid],
        operators: &[Agent],
        viewers: &[Agent],
        sample_every: usize,
    ) -> Vec<ScaleMember> {
        let victim = self.nodes - 1;
        let mut all = Vec::with_capacity(conversations.len() * self.members);
        for (c, conversation) in conversations.iter().enumerate() {
            let user = |j: usize| self.user(c, j, operators, viewers);
            let leaver = (0..self.members)
                .find(|j| self.node(c, *j) == victim)
                .map(|j| user(j).0);
            let sampled = sample_every > 0 && c % sample_every == 0;
            let expected: Vec<Uuid> = if sampled {
                (0..self.members).map(|j| user(j).0).collect()
            } else {
                Vec::new()
            };
            for j in 0..self.members {
                let node = self.node(c, j);
                all.push(ScaleMember {
                    token: Some(user(j).1.clone()),
                    conversation_id: *conversation,
                    node,
                    answer: j == 0,
                    leaver: leaver.filter(|_| node != victim),
                    expected: expected.clone(),
                    expected_active: sampled.then(|| user(0).0),
                });
            }
        }
        all
    }
}

fn rss(pid: u32) -> u64 {
    procfs::process_rss_bytes(pid).unwrap_or(0)
}

impl ScalePart {
    pub async fn run(&self, cases: &Cases) -> anyhow::Result<()> {
        if self.nodes < 2 || self.members < 2 || self.members > self.nodes {
            anyhow::bail!("the scale part needs 2 ≤ members ≤ nodes and 2 nodes or more");
        }
        if self.operators == 0 || self.viewers < self.members - 1 {
            anyhow::bail!("the scale part needs an operator and a viewer per member but one");
        }
        let conversations = self.connections / self.members;
        let total = conversations * self.members;
        let say = |text: &str| cases.log.say(text);
        let database = ScratchDatabase::create(&self.postgres, "sb_bench_scale").await?;
        let redis =
            RedisServer::start_on(self.redis_port, Some(&cases.out.join("scale-redis.log")))
                .await?;
        let admin = Admin::new(&self.switchboard, &database.url);
        admin.migrate().await?;
        let mut nodes = Vec::new();
        let http = reqwest::Client::new();
        for i in 1..=self.nodes {
            let listen = format!("127.0.0.1:{}", usize::from(self.cluster_port) + i);
            let launch = serve_launch(
                &self.switchboard,
                &database.url,
                [
                    ("SWITCHBOARD_LISTEN", listen.as_str()),
                    ("SWITCHBOARD_REDIS_URL", &redis.url()),
                    ("SWITCHBOARD_DB_MAX_CONNECTIONS", DB_CONNECTIONS_PER_NODE),
                    ("SWITCHBOARD_RATE_LIMIT_PER_SEC", "1000000"),
                    ("SWITCHBOARD_RATE_LIMIT_BURST", "1000000"),
                    ("SWITCHBOARD_MAX_CONNECTIONS_PER_IP", "1000000"),
                    ("SWITCHBOARD_MAX_CONNECTIONS_PER_USER", "1000000"),
                    // the roles taken at join stay for the whole run
                    ("SWITCHBOARD_ACTIVE_IDLE_SECS", "86400"),
                    ("SWITCHBOARD_WS_READ_BUFFER_BYTES", "4096"),
                    ("SWITCHBOARD_WS_WRITE_BUFFER_BYTES", "4096"),
                ],
            );
            let log = LogOptions {
                keep: Some(LOG_TAIL),
                file: Some(cases.out.join(format!("scale-node{i}.log"))),
            };
            let node = ServerProcess::start(&launch, &log)
                .await
                .with_context(|| format!("node {i} (log: scale-node{i}.log)"))?;
            wait_ready(&http, &node.http_base(), READY_TIMEOUT)
                .await
                .with_context(|| format!("node {i} (log: scale-node{i}.log)"))?;
            nodes.push(node);
        }
        say(&format!(
            "scale: {} nodes on :{}-{}, redis :{}",
            self.nodes,
            usize::from(self.cluster_port) + 1,
            usize::from(self.cluster_port) + self.nodes,
            self.redis_port
        ));

        // Setup through the first node: the agents (capacity 0, so routing
        // stays out of it), their logins, the conversations.
        let setup_started = now_ns();
        let run = Uuid::now_v7().simple().to_string();
        let run = &run[run.len() - 8..];
        let spec = TenantSpec {
            account_name: format!("Scale {run}"),
            owner_email: format!("owner-{run}@loadgen.test"),
            owner_name: "Scale Owner".into(),
            password: PASSWORD.into(),
            users: [("operator", self.operators), ("viewer", self.viewers)]
                .into_iter()
                .flat_map(|(role, count)| {
                    (0..count).map(move |i| UserSpec {
                        email: format!("{role}{i}-{run}@loadgen.test"),
                        name: format!("{role} {i}"),
                        role: role.into(),
                        capacity: (role == "operator").then_some(0),
                    })
                })
                .collect(),
            inbox_name: "Scale".into(),
        };
        let first = nodes[0].http_base();
        let tenant = Tenant::create(&admin, &first, &spec).await?;
        let mut operators: Vec<Agent> = tenant.users.into_iter().map(|u| (u.id, u.token)).collect();
        let viewers = operators.split_off(self.operators);
        let setup_http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let ids = create_conversations(
            &setup_http,
            &first,
            tenant.inbox,
            &tenant.inbox_key,
            conversations,
        )
        .await?;
        say(&format!(
            "  {} operators, {} viewers and {conversations} conversations made in {:.0} s",
            self.operators,
            self.viewers,
            (now_ns() - setup_started) as f64 / 1e9
        ));

        let layout = Layout {
            nodes: self.nodes,
            members: self.members,
        };
        let members = layout.members(&ids, &operators, &viewers, self.sample_every);
        let mut per_node = vec![0usize; self.nodes];
        for member in &members {
            per_node[member.node] += 1;
        }
        let workers = total.div_ceil(self.max_per_worker.max(1)).max(1);
        let mut shares = vec![Vec::new(); workers];
        for (k, member) in members.into_iter().enumerate() {
            shares[k % workers].push(member);
        }
        tokio::time::sleep(Duration::from_secs_f64(self.settle_secs)).await;
        let pids: Vec<u32> = nodes.iter().map(ServerProcess::pid).collect();
        let rss_before: Vec<u64> = pids.iter().map(|p| rss(*p)).collect();

        let kill_after_ms = (self.kill_after_secs * 1000.0) as u64;
        let exe = std::env::current_exe()?;
        let network = run_network();
        let addrs: Vec<_> = nodes.iter().map(ServerProcess::addr).collect();
        let mut handles = Vec::with_capacity(workers);
        for (index, share) in shares.into_iter().enumerate() {
            let handle = WorkerHandle::subprocess(index, &exe, 1)?;
            handle
                .send(ToWorker::Plan(Box::new(WorkerPlan {
                    index,
                    nodes: addrs.clone(),
                    source_ip: source_ip(addrs[0], index, network)?,
                    ramp_per_sec: self.ramp_per_sec / workers as f64,
                    max_pending: self.max_pending.div_ceil(workers),
                    connect_timeout_ms: 60_000,
                    floor: false,
                    wire: Wire::Switchboard,
                    work: Work::Scale {
                        members: share,
                        kill_after_ms,
                    },
                })))
                .await?;
            handles.push(handle);
        }
        say(&format!(
            "  {total} connections from {workers} workers at {}/s: {}",
            self.ramp_per_sec,
            per_node
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        ));
        let ramp_limit = Duration::from_secs_f64(self.ready_timeout_secs);
        let ready = await_ready(&mut handles, ramp_limit).await?;
        say(&format!(
            "  ready: {} connected, {} failed, {} joins failed",
            ready.connected, ready.failed, ready.setup_failed
        ));
        for note in &ready.notes {
            say(&format!("    {note}"));
        }
        tokio::time::sleep(Duration::from_secs_f64(self.settle_secs)).await;
        let rss_after: Vec<u64> = pids.iter().map(|p| rss(*p)).collect();
        let redis_rss = redis.pid().map(rss);

        let start_ns = now_ns() + secs_to_ns(0.5);
        let kill_ns = start_ns + kill_after_ms * 1_000_000;
        let window = Window {
            start_ns,
            end_ns: kill_ns + secs_to_ns(self.cleanup_secs),
        };
        for handle in &handles {
            handle.send(ToWorker::Start { window }).await?;
        }
        sleep_until_ns(kill_ns).await;
        let victim = nodes.last().context("no nodes")?;
        victim.signal(Signal::KILL)?;
        let killed_at = chrono::Utc::now();
        let lateness_ns = now_ns().saturating_sub(kill_ns);
        // to the millisecond, to line up with the nodes' logs
        say(&format!(
            "  killed node {} (pid {}) at {} holding {} connections",
            self.nodes,
            victim.pid(),
            killed_at.format("%H:%M:%S%.3f"),
            per_node[self.nodes - 1]
        ));

        let (end, histograms) = await_reports(&mut handles, REPORT_TIMEOUT).await?;
        for handle in handles {
            handle.finish().await;
        }
        let lateness_ms = lateness_ns as f64 / 1e6;
        let latency = |name: &str| {
            histograms.get(name).filter(|h| !h.is_empty()).map(|h| {
                let mut m = Millis::of(h);
                m.p50 = (m.p50 - lateness_ms).max(0.0);
                m.p99 = (m.p99 - lateness_ms).max(0.0);
                m.max = (m.max - lateness_ms).max(0.0);
                m
            })
        };
        let kill_to_leave = latency(histo::names::KILL_TO_LEAVE);
        let kill_to_role_free = latency(histo::names::KILL_TO_ROLE_FREE);
        let report = ScaleReport {
            nodes: self.nodes,
            connections: total,
            conversations,
            members: self.members,
            operators: self.operators,
            viewers: self.viewers,
            workers,
            ramp_per_sec: self.ramp_per_sec,
            ramp_secs: ready
                .first_attempt_ns
                .zip(ready.last_connected_ns)
                .map_or(0.0, |(a, b)| b.saturating_sub(a) as f64 / 1e9),
            connected: ready.connected,
            failed: ready.failed,
            setup_failed: ready.setup_failed,
            lost_before_kill: ready.dropped,
            dropped: end.dropped,
            killed_node_connections: per_node[self.nodes - 1],
            node: (0..self.nodes)
                .map(|i| NodeFacts {
                    connections: per_node[i],
                    rss_before: rss_before[i],
                    rss_after: rss_after[i],
                    bytes_per_connection: rss_after[i].saturating_sub(rss_before[i]) as f64
                        / per_node[i].max(1) as f64,
                })
                .collect(),
            redis_rss,
            presence: end.scale,
            kill_lateness_ms: lateness_ms,
            cleanup_ms: kill_to_leave
                .iter()
                .chain(&kill_to_role_free)
                .map(|m| m.max)
                .reduce(f64::max),
            kill_to_leave,
            kill_to_role_free,
            notes: end.notes.clone(),
        };
        std::fs::write(
            cases.out.join("scale.json"),
            serde_json::to_string_pretty(&report)? + "\n",
        )?;
        let p = &report.presence;
        say(&format!(
            "  views: {}/{} sampled right; {}/{} saw the user leave, {}/{} the role freed; cleanup {} ms",
            p.presence_checked - p.presence_wrong,
            p.presence_checked,
            p.leaves_seen,
            p.leaves_expected,
            p.roles_freed,
            p.roles_expected,
            report
                .cleanup_ms
                .map_or("-".into(), |ms| format!("{ms:.0}"))
        ));
        for mut node in nodes {
            if node.is_running()
                && let Err(error) = node.terminate(STOP_TIMEOUT).await
            {
                say(&format!("  {error:#}"));
            }
        }
        let problems = report.problems();
        if !problems.is_empty() {
            anyhow::bail!("the scale run failed: {}", problems.join("; "));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn agents(kind: &str, count: usize) -> Vec<Agent> {
        (0..count)
            .map(|i| (Uuid::now_v7(), format!("{kind} token {i}")))
            .collect()
    }

    #[test]
    fn each_conversations_members_are_on_different_nodes_and_users() {
        let layout = Layout {
            nodes: 11,
            members: 10,
        };
        let conversations: Vec<Uuid> = (0..33).map(|_| Uuid::now_v7()).collect();
        let (operators, viewers) = (agents("operator", 5), agents("viewer", 50));
        let members = layout.members(&conversations, &operators, &viewers, 10);
        assert_eq!(members.len(), 330);
        let id_of = |m: &ScaleMember| {
            operators
                .iter()
                .chain(&viewers)
                .find(|(_, t)| Some(t) == m.token.as_ref())
                .unwrap()
                .0
        };
        let mut per_node = [0; 11];
        let mut answered_on_victim = 0;
        for (c, chunk) in members.chunks(10).enumerate() {
            let nodes: BTreeSet<_> = chunk.iter().map(|m| m.node).collect();
            let users: BTreeSet<_> = chunk.iter().map(id_of).collect();
            assert_eq!((nodes.len(), users.len()), (10, 10), "conversation {c}");
            assert_eq!(id_of(&chunk[0]), operators[c % 5].0, "member 0 answers");
            assert!(chunk[0].answer && chunk[1..].iter().all(|m| !m.answer));
            assert!(
                chunk[1..]
                    .iter()
                    .all(|m| viewers.iter().any(|v| v.0 == id_of(m)))
            );
            for m in chunk {
                per_node[m.node] += 1;
            }
            answered_on_victim += usize::from(chunk[0].node == 10);
            // the member on the killed node, if any, leaves the others' views
            let leaver = chunk.iter().find(|m| m.node == 10).map(id_of);
            let sampled = c % 10 == 0;
            for m in chunk {
                let expected = if m.node == 10 { None } else { leaver };
                assert_eq!(m.leaver, expected, "conversation {c}");
                assert_eq!(m.expected.len(), if sampled { 10 } else { 0 });
                assert_eq!(m.expected_active, sampled.then(|| operators[c % 5].0));
            }
        }
        assert_eq!(per_node, [30; 11], "the nodes share the connections evenly");
        assert_eq!(
            answered_on_victim, 3,
            "one conversation in 11 is answered there"
        );
    }
}
