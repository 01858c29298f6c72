//! A cluster on loopback: a fresh Postgres database, a private redis-server,
//! and several `switchboard` nodes on them, set up with the admin CLI.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use uuid::Uuid;

use super::WsClient;
use super::server::{Agent, Tenant, TestServer};

/// The Postgres server the tests create databases on.
pub fn postgres_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database of its own, dropped when the test ends.
pub struct Database {
    pub url: String,
    name: String,
}

impl Database {
    pub async fn create() -> Self {
        let name = format!("sb_test_{}", Uuid::now_v7().simple());
        psql(&format!("CREATE DATABASE {name}")).await;
        let base = postgres_url();
        let (prefix, _) = base.rsplit_once('/').expect("a database in the url");
        Self {
            url: format!("{prefix}/{name}"),
            name,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .arg(postgres_url())
            .args([
                "-q",
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

async fn psql(sql: &str) {
    let status = Command::new("psql")
        .arg(postgres_url())
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .status()
        .await
        .expect("psql");
    assert!(status.success(), "{sql}");
}

/// A free port on loopback below the ephemeral range (32768 and up here):
/// a client reconnecting to a dead server on an ephemeral port can be handed
/// that very port as its own, and connect to itself.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        23_000 + (std::process::id() % 200) as u16 * 40,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let port = NEXT.fetch_add(1, Ordering::SeqCst);
        assert!(port < 32_000, "no free port left");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A redis-server of the test's own, so that it may be killed and restarted.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    pub async fn start() -> Self {
        let mut redis = Self {
            port: free_port(),
            child: None,
        };
        redis.restart().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on the same port.
    pub async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills it outright.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

pub struct Cluster {
    pub nodes: Vec<Option<TestServer>>,
    pub database: Database,
    pub redis: Redis,
    pub account: Uuid,
    pub inbox: Uuid,
    pub inbox_key: String,
    pub agents: Vec<Agent>,
    pub owner: Agent,
    env: Vec<(String, String)>,
}

impl Cluster {
    /// `nodes` nodes sharing a fresh database and a private Redis, with
    /// `agents` operators; `env` is extra configuration for every node.
    pub async fn start(nodes: usize, agents: usize, env: &[(&str, &str)]) -> Self {
        let database = Database::create().await;
        let redis = Redis::start().await;
        let prefix = format!("t{}", Uuid::now_v7().simple());
        let mut all_env: Vec<(String, String)> = vec![
            ("SWITCHBOARD_REDIS_URL".into(), redis.url()),
            ("SWITCHBOARD_REDIS_PREFIX".into(), prefix.clone()),
            ("SWITCHBOARD_RATE_LIMIT_PER_SEC".into(), "1000".into()),
            ("SWITCHBOARD_RATE_LIMIT_BURST".into(), "1000".into()),
        ];
        all_env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut cluster = Self {
            nodes: Vec::new(),
            database,
            redis,
            account: Uuid::nil(),
            inbox: Uuid::nil(),
            inbox_key: String::new(),
            agents: Vec::new(),
            owner: Agent {
                id: Uuid::nil(),
                name: String::new(),
                email: String::new(),
                token: String::new(),
            },
            env: all_env,
        };
        for _ in 0..nodes {
            let node = cluster.boot().await;
            cluster.nodes.push(Some(node));
        }
        cluster.setup(agents).await;
        cluster
    }

    /// Starts one more node process on the cluster's database and Redis.
    pub async fn boot(&self) -> TestServer {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        TestServer::start_with(&self.database.url, &env).await
    }

    pub fn node(&self, i: usize) -> &TestServer {
        self.nodes[i].as_ref().expect("a running node")
    }

    async fn setup(&mut self, agents: usize) {
        let tenant = Tenant::create(self.node(0), &vec!["operator"; agents]).await;
        self.account = tenant.account;
        self.owner = tenant.owner;
        self.inbox = tenant.inbox;
        self.inbox_key = tenant.inbox_key;
        self.agents = tenant.agents;
    }

    /// A new conversation (a customer message posted to node 0).
    pub async fn conversation(&self, handle: &str) -> Uuid {
        let stored = self
            .node(0)
            .inbound(&self.inbox_key, self.inbox, handle, "hello?")
            .await;
        stored["conversation_id"].as_str().unwrap().parse().unwrap()
    }

    /// Agent `agent` connects to node `node`.
    pub async fn connect(&self, node: usize, agent: usize) -> WsClient {
        WsClient::connect(self.node(node), &self.agents[agent].token).await
    }
}
