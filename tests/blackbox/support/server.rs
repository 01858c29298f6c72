//! A real server process with its own SQLite file, and the account, agents
//! and inbox a scenario needs, made with the admin CLI (both through
//! `switchboard-testkit`, which the load generator shares).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchboard_testkit::{
    Admin, Contact, LogOptions, ServerProcess, Signal, TenantSpec, UserSpec,
};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";

/// The server binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_switchboard")
}

pub struct TestServer {
    process: ServerProcess,
    pub addr: String,
    pub database_url: String,
    _dir: Arc<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on a fresh database with extra `SWITCHBOARD_*` settings.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let database_url = format!("sqlite:{}", dir.path().join("switchboard.db").display());
        Self::start_on(dir, database_url, env).await
    }

    /// Starts another server process on the same database (after this one stopped).
    pub async fn restart(&self, env: &[(&str, &str)]) -> Self {
        Self::start_on(self._dir.clone(), self.database_url.clone(), env).await
    }

    /// Starts a server on a database of the caller's (a Postgres one, say).
    pub async fn start_with(database_url: &str, env: &[(&str, &str)]) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        Self::start_on(dir, database_url.to_owned(), env).await
    }

    async fn start_on(
        dir: Arc<tempfile::TempDir>,
        database_url: String,
        env: &[(&str, &str)],
    ) -> Self {
        // Metrics on a port of their own, found in the log (see `metric`).
        let metrics = [("SWITCHBOARD_METRICS_LISTEN", "127.0.0.1:0")];
        let launch = switchboard_testkit::serve_launch(
            binary().as_ref(),
            &database_url,
            metrics.into_iter().chain(env.iter().copied()),
        );
        let process = ServerProcess::start(&launch, &LogOptions::default())
            .await
            .unwrap_or_else(|error| panic!("server did not start: {error:#}"));
        Self {
            addr: process.addr().to_string(),
            process,
            database_url,
            _dir: dir,
        }
    }

    fn admin_cli(&self) -> Admin {
        Admin::new(binary(), self.database_url.clone())
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/v1/ws", self.addr)
    }

    /// What the server logged so far.
    pub fn log(&self) -> Vec<String> {
        self.process.log_lines()
    }

    /// Waits for a log line that holds every one of `parts`.
    pub async fn expect_log(&self, parts: &[&str]) {
        let deadline = tokio::time::Instant::now() + super::client::WAIT;
        while !self
            .log()
            .iter()
            .any(|line| parts.iter().all(|part| line.contains(part)))
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no log line with {parts:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends a signal (`KILL`, `STOP`, `CONT`, ...) to the process.
    pub async fn signal(&self, name: &str) {
        let signal = match name {
            "KILL" => Signal::KILL,
            "STOP" => Signal::STOP,
            "CONT" => Signal::CONT,
            "TERM" => Signal::TERM,
            "INT" => Signal::INT,
            "HUP" => Signal::HUP,
            other => panic!("no signal named {other}"),
        };
        self.process
            .signal(signal)
            .unwrap_or_else(|error| panic!("kill -{name}: {error:#}"));
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit code.
    pub async fn terminate(&mut self) -> Option<i32> {
        self.process
            .terminate(Duration::from_secs(30))
            .await
            .expect("server exits after SIGTERM")
            .code()
    }

    /// Runs an admin command against this server's database; returns its JSON.
    pub async fn admin(&self, args: &[&str]) -> Value {
        self.admin_cli()
            .run(args)
            .await
            .unwrap_or_else(|error| panic!("{args:?}: {error:#}"))
    }

    /// Runs an admin command that must be refused; returns its error text.
    pub async fn admin_refused(&self, args: &[&str]) -> String {
        match self.admin_cli().run(args).await {
            Ok(printed) => panic!("{args:?} was not refused: {printed}"),
            Err(error) => format!("{error:#}"),
        }
    }

    /// Creates a second account on this server, owned by Eve
    /// (`eve@rival.test`); returns the command's JSON.
    pub async fn create_rival_account(&self) -> Value {
        self.admin(&[
            "account",
            "create",
            "--name",
            "Rival",
            "--owner-email",
            "eve@rival.test",
            "--owner-name",
            "Eve",
            "--owner-password",
            PASSWORD,
        ])
        .await
    }

    /// The account's root group, as the user of `token` lists the groups.
    pub async fn root_group(&self, token: &str) -> Uuid {
        let (status, groups) = self.call(token, "GET", "/v1/groups", Value::Null).await;
        assert_eq!(status, 200, "GET /v1/groups: {groups}");
        let root = groups
            .as_array()
            .expect("a list of groups")
            .iter()
            .find(|g| g["parent_id"].is_null())
            .expect("the root group");
        root["id"].as_str().unwrap().parse().unwrap()
    }

    /// Replaces `user`'s grants with `role` at `group`, as the user of
    /// `token`; returns once answered, the grants stored.
    pub async fn set_grant(&self, token: &str, user: Uuid, role: &str, group: Uuid) {
        let path = format!("/v1/users/{user}/grants");
        let grants = serde_json::json!([{"role": role, "group_id": group}]);
        let (status, answer) = self.call(token, "PUT", &path, grants.clone()).await;
        assert_eq!(status, 200, "PUT {path}: {answer}");
        assert_eq!(answer["grants"], grants, "the grants stored");
    }

    /// Signs in; returns the token.
    pub async fn login(&self, email: &str) -> String {
        switchboard_testkit::login(&reqwest::Client::new(), &self.http(""), email, PASSWORD)
            .await
            .unwrap_or_else(|error| panic!("{error:#}"))
    }

    /// Posts a customer's message with an inbox key; returns the response JSON.
    pub async fn inbound(&self, key: &str, inbox: Uuid, handle: &str, body: &str) -> Value {
        switchboard_testkit::post_inbound(
            &reqwest::Client::new(),
            &self.http(""),
            key,
            inbox,
            &Contact::handle(handle),
            body,
        )
        .await
        .unwrap_or_else(|error| panic!("{error:#}"))
    }

    /// A JSON request with a bearer token; the status and the JSON answer
    /// (null when there is none).
    pub async fn call(&self, token: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .request(method.parse().expect("an HTTP method"), self.http(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Where the metrics listener listens, as its log line says.
    pub fn metrics_addr(&self) -> String {
        self.log()
            .iter()
            .find_map(|line| switchboard_testkit::listen_address(line, "serving metrics"))
            .expect("the server serves metrics")
            .to_string()
    }

    /// The value of a Prometheus sample (`name` with its labels as printed).
    pub async fn metric(&self, sample: &str) -> f64 {
        let text = reqwest::get(format!("http://{}/metrics", self.metrics_addr()))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|line| {
                line.strip_prefix(sample)
                    .and_then(|rest| rest.trim().parse().ok())
            })
            .unwrap_or_else(|| panic!("no sample {sample} in\n{text}"))
    }
}

impl Drop for TestServer {
    /// A failing test shows what the server said last.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log();
            let tail = log
                .iter()
                .rev()
                .take(40)
                .rev()
                .cloned()
                .collect::<Vec<_>>()
                .join("\n");
            eprintln!("--- last lines of the server at {} ---\n{tail}", self.addr);
        }
    }
}

/// A signed-in user.
pub type Agent = switchboard_testkit::User;

/// An account made with the admin CLI: its owner and one user per role
/// given (named "Agent i"), all signed in, and an inbox.
pub struct Tenant {
    pub account: Uuid,
    pub owner: Agent,
    pub inbox: Uuid,
    pub inbox_key: String,
    pub agents: Vec<Agent>,
}

impl Tenant {
    /// Creates it through `server` (its database; the tokens are good on
    /// every node of that database).
    pub async fn create(server: &TestServer, roles: &[&str]) -> Self {
        let spec = TenantSpec {
            account_name: "Acme".into(),
            owner_email: "owner@acme.test".into(),
            owner_name: "Olive Owner".into(),
            password: PASSWORD.into(),
            users: roles
                .iter()
                .enumerate()
                .map(|(i, role)| UserSpec {
                    email: format!("agent{i}@acme.test"),
                    name: format!("Agent {i}"),
                    role: (*role).into(),
                    capacity: None,
                })
                .collect(),
            inbox_name: "Support".into(),
        };
        let tenant =
            switchboard_testkit::Tenant::create(&server.admin_cli(), &server.http(""), &spec)
                .await
                .unwrap_or_else(|error| panic!("tenant setup: {error:#}"));
        Self {
            account: tenant.account,
            owner: tenant.owner,
            inbox: tenant.inbox,
            inbox_key: tenant.inbox_key,
            agents: tenant.users,
        }
    }
}

/// A server with an account (its owner signed in), agents and an inbox.
pub struct Fixture {
    pub server: TestServer,
    pub account: Uuid,
    pub owner: Agent,
    pub inbox: Uuid,
    pub inbox_key: String,
    pub agents: Vec<Agent>,
}

impl Fixture {
    /// A server with `agents` operators.
    pub async fn new(agents: usize, env: &[(&str, &str)]) -> Self {
        Self::with_roles(&vec!["operator"; agents], env).await
    }

    /// A server with one agent per role given (operator, viewer, admin).
    pub async fn with_roles(roles: &[&str], env: &[(&str, &str)]) -> Self {
        let server = TestServer::start(env).await;
        let tenant = Tenant::create(&server, roles).await;
        Self {
            account: tenant.account,
            owner: tenant.owner,
            inbox: tenant.inbox,
            inbox_key: tenant.inbox_key,
            agents: tenant.agents,
            server,
        }
    }

    /// A new conversation with one customer message in it; returns its id.
    pub async fn conversation(&self, handle: &str) -> Uuid {
        let stored = self
            .server
            .inbound(&self.inbox_key, self.inbox, handle, "hello, anyone there?")
            .await;
        stored["conversation_id"].as_str().unwrap().parse().unwrap()
    }

    /// A new conversation opened by a customer who gives their name; its id.
    pub async fn conversation_from(&self, handle: &str, name: &str) -> Uuid {
        let contact = switchboard_testkit::Contact {
            handle: handle.into(),
            name: Some(name.into()),
        };
        let http = reqwest::Client::new();
        let base = self.server.http("");
        let stored = switchboard_testkit::post_inbound(
            &http,
            &base,
            &self.inbox_key,
            self.inbox,
            &contact,
            "hello, anyone there?",
        )
        .await
        .unwrap_or_else(|error| panic!("{error:#}"));
        stored["conversation_id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn connect(&self, agent: &Agent) -> WsClient {
        WsClient::connect(&self.server, &agent.token).await
    }
}

use super::client::WsClient;
