//! A cluster on loopback: a fresh Postgres database, a private redis-server,
//! and several `switchboard` nodes on them, set up with the admin CLI (the
//! database and Redis come from `switchboard-testkit`).

use std::ops::Deref;

use switchboard_testkit::ScratchDatabase;
use uuid::Uuid;

use super::WsClient;
use super::server::{Agent, Tenant, TestServer};

pub use switchboard_testkit::RedisServer as Redis;

/// The Postgres server the tests create databases on.
pub fn postgres_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database of its own (its `url`), dropped when the test ends.
pub struct Database(ScratchDatabase);

impl Database {
    pub async fn create() -> Self {
        Self(
            ScratchDatabase::create(&postgres_url(), "sb_test")
                .await
                .unwrap_or_else(|error| panic!("{error:#}")),
        )
    }
}

impl Deref for Database {
    type Target = ScratchDatabase;

    fn deref(&self) -> &ScratchDatabase {
        &self.0
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
        self.boot_with(&[]).await
    }

    /// Starts one more node whose settings `env` overrides (its Redis URL
    /// through a proxy, say).
    pub async fn boot_with(&self, env: &[(&str, &str)]) -> TestServer {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(env.iter().copied())
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
