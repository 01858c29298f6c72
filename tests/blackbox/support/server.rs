//! A real server process with its own SQLite file, and the account, agents
//! and inbox a scenario needs, made with the admin CLI.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";

/// The server binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_switchboard")
}

pub struct TestServer {
    child: Child,
    pub addr: String,
    pub database_url: String,
    _dir: Arc<tempfile::TempDir>,
    log: Arc<Mutex<Vec<String>>>,
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
        let mut command = Command::new(binary());
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SWITCHBOARD_LISTEN", "127.0.0.1:0")
            .env("SWITCHBOARD_DATABASE_URL", &database_url)
            .env("SWITCHBOARD_LOG_FORMAT", "json")
            .env("SWITCHBOARD_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start switchboard");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, listening) = tokio::sync::oneshot::channel();
        let sink = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut found = Some(found);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = listen_address(&line)
                    && let Some(found) = found.take()
                {
                    let _ = found.send(addr);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match tokio::time::timeout(Duration::from_secs(30), listening).await {
            Ok(Ok(addr)) => addr,
            _ => panic!("server did not start: {:#?}", log.lock().unwrap()),
        };
        Self {
            child,
            addr,
            database_url,
            _dir: dir,
            log,
        }
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/v1/ws", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// What the server logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Sends a signal (`KILL`, `STOP`, `CONT`, ...) to the process.
    pub async fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .await
            .expect("kill");
        assert!(status.success(), "kill -{name}");
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit code.
    pub async fn terminate(&mut self) -> Option<i32> {
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill");
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("server exits after SIGTERM")
            .expect("wait");
        exit.code()
    }

    /// Runs an admin command against this server's database; returns its JSON.
    pub async fn admin(&self, args: &[&str]) -> Value {
        let output = Command::new(binary())
            .args(args)
            .env("SWITCHBOARD_DATABASE_URL", &self.database_url)
            .env("SWITCHBOARD_LOG", "warn")
            .output()
            .await
            .expect("run admin command");
        assert!(
            output.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).expect("utf-8");
        assert_eq!(
            stdout.lines().count(),
            1,
            "exactly one JSON object: {stdout}"
        );
        serde_json::from_str(&stdout).expect("json")
    }

    /// Signs in; returns the token.
    pub async fn login(&self, email: &str) -> String {
        let response = reqwest::Client::new()
            .post(self.http("/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), 200, "login of {email}");
        let body: Value = response.json().await.expect("login json");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Posts a customer's message with an inbox key; returns the response JSON.
    pub async fn inbound(&self, key: &str, inbox: Uuid, handle: &str, body: &str) -> Value {
        let response = reqwest::Client::new()
            .post(self.http("/v1/inbound"))
            .bearer_auth(key)
            .json(&serde_json::json!({"inbox_id": inbox, "contact": {"handle": handle}, "body": body}))
            .send()
            .await
            .expect("inbound request");
        assert_eq!(response.status(), 201);
        response.json().await.expect("inbound json")
    }

    /// The value of a Prometheus sample (`name` with its labels as printed).
    pub async fn metric(&self, sample: &str) -> f64 {
        let text = reqwest::get(self.http("/metrics"))
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
            let log = self.log.lock().unwrap();
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

fn listen_address(line: &str) -> Option<String> {
    let value: Value = serde_json::from_str(line).ok()?;
    let fields = value.get("fields")?;
    (fields.get("message")?.as_str()? == "switchboard is serving")
        .then(|| fields.get("listen")?.as_str().map(str::to_owned))
        .flatten()
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Agent {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub token: String,
}

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
        let account = server
            .admin(&[
                "account",
                "create",
                "--name",
                "Acme",
                "--owner-email",
                "owner@acme.test",
                "--owner-name",
                "Olive Owner",
                "--owner-password",
                PASSWORD,
            ])
            .await;
        let account_id: Uuid = account["account_id"].as_str().unwrap().parse().unwrap();
        let owner = Agent {
            id: account["owner_id"].as_str().unwrap().parse().unwrap(),
            name: "Olive Owner".into(),
            email: "owner@acme.test".into(),
            token: server.login("owner@acme.test").await,
        };
        let account_arg = account_id.to_string();
        let mut agents = Vec::new();
        for (i, role) in roles.iter().enumerate() {
            let email = format!("agent{i}@acme.test");
            let name = format!("Agent {i}");
            let created = server
                .admin(&[
                    "user",
                    "create",
                    "--account",
                    &account_arg,
                    "--email",
                    &email,
                    "--name",
                    &name,
                    "--password",
                    PASSWORD,
                    "--role",
                    role,
                ])
                .await;
            agents.push(Agent {
                id: created["user_id"].as_str().unwrap().parse().unwrap(),
                token: server.login(&email).await,
                name,
                email,
            });
        }
        let inbox = server
            .admin(&[
                "inbox",
                "create",
                "--account",
                &account_arg,
                "--name",
                "Support",
                "--channel",
                "sms",
            ])
            .await;
        Self {
            account: account_id,
            owner,
            inbox: inbox["inbox_id"].as_str().unwrap().parse().unwrap(),
            inbox_key: inbox["api_key"].as_str().unwrap().to_owned(),
            agents,
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

    pub async fn connect(&self, agent: &Agent) -> WsClient {
        WsClient::connect(&self.server, &agent.token).await
    }
}

use super::client::WsClient;
