//! What the operator sees and does around a server: the start-up line, the
//! errors of a wrong database URL, the lock on a served SQLite file, and
//! the admin commands that list and repair accounts, users and inboxes.

use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use switchboard_testkit::SWITCHBOARD_SERVING;
use uuid::Uuid;

use crate::support::cluster::Database;
use crate::support::server::{PASSWORD, binary};
use crate::support::{Fixture, TestServer};

/// How long a command that fails at once may take before the test gives up.
const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// Runs `switchboard ARGS` in `dir` with nothing of this process's
/// environment but `PATH`, `SWITCHBOARD_DATABASE_URL=url` and text logs at
/// info level to a pipe; stdin is `input`.
async fn switchboard(dir: &std::path::Path, url: &str, args: &[&str], input: &str) -> Output {
    use tokio::io::AsyncWriteExt as _;
    let mut child = tokio::process::Command::new(binary())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SWITCHBOARD_DATABASE_URL", url)
        .env("SWITCHBOARD_LOG", "info")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start switchboard");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(input.as_bytes())
        .await
        .expect("write stdin");
    drop(stdin);
    tokio::time::timeout(COMMAND_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("switchboard {args:?} did not finish"))
        .expect("switchboard output")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The file path of a `sqlite:` URL.
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite:").expect("a sqlite url")
}

/// A second `serve` on a served SQLite file would void the first one's
/// active roles as "left by an earlier run". It refuses to start instead,
/// naming the file; the first keeps its roles, and admin commands (writes
/// and migrations) still run beside it. Once the first stops, the file is
/// free.
#[tokio::test]
async fn a_second_server_on_one_sqlite_file_refuses_to_start() {
    let mut fx = Fixture::new(1, &[]).await;
    let conversation = fx.conversation("+15550990").await;
    let mut agent = fx.connect(&fx.agents[0]).await;
    agent.join(conversation).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let url = &fx.server.database_url;
    let second = switchboard(dir.path(), url, &["serve", "--listen", "127.0.0.1:0"], "").await;
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    let refusal = stderr(&second);
    assert!(
        refusal.contains("another switchboard server holds the database"),
        "{refusal}"
    );
    assert!(refusal.contains(sqlite_path(url)), "{refusal}");

    agent
        .say(conversation, "still-mine", "still answering")
        .await
        .expect("the first server's role survives");
    let created = fx
        .server
        .admin(&[
            "account",
            "create",
            "--name",
            "Beside",
            "--owner-email",
            "b@beside.test",
            "--owner-name",
            "Bea",
            "--owner-password",
            PASSWORD,
        ])
        .await;
    assert!(created["account_id"].is_string(), "{created}");
    let migrated = switchboard(dir.path(), url, &["migrate"], "").await;
    assert!(migrated.status.success(), "{}", stderr(&migrated));

    assert_eq!(fx.server.terminate().await, Some(0));
    let mut again = fx.server.restart(&[]).await;
    assert_eq!(again.terminate().await, Some(0));
}

/// One line says where the server is and what it runs on: its HTTP and
/// WebSocket URLs, the database (an absolute path, or a Postgres host and
/// database without the password) and the bus.
/// The start-up line of `server` and its JSON fields.
fn start_up_line(server: &TestServer) -> (String, Value) {
    let line = server
        .log()
        .into_iter()
        .find(|line| line.contains(SWITCHBOARD_SERVING))
        .expect("a start-up line");
    let fields = serde_json::from_str::<Value>(&line).expect("json")["fields"].clone();
    (line, fields)
}

#[tokio::test]
async fn the_start_up_line_tells_urls_database_and_bus() {
    let server = TestServer::start(&[]).await;
    let (line, fields) = start_up_line(&server);
    assert_eq!(fields["url"], format!("http://{}/", server.addr), "{line}");
    assert_eq!(fields["websocket"], server.ws_url(), "{line}");
    assert_eq!(
        fields["database"],
        format!("sqlite file {}", sqlite_path(&server.database_url)),
        "{line}"
    );
    assert_eq!(fields["bus"], "memory", "{line}");

    // the test server trusts loopback: the password is only to be hidden
    let database = Database::create().await;
    let with_password = database
        .url
        .replacen("://postgres@", "://postgres:hunter2@", 1);
    let server = TestServer::start_with(&with_password, &[]).await;
    let (line, fields) = start_up_line(&server);
    let database = fields["database"].as_str().expect("database");
    assert!(
        database.starts_with("postgres postgres@127.0.0.1:5432/"),
        "{line}"
    );
    assert!(!line.contains("hunter2"), "{line}");
}

/// A URL without a scheme that looks like a host is refused with the
/// accepted forms, and no file named like it is made.
#[tokio::test]
async fn a_database_url_that_looks_like_a_host_is_refused() {
    for url in ["postgres@localhost/test", "localhost:5432/test"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = switchboard(dir.path(), url, &["migrate"], "").await;
        assert!(!output.status.success(), "{url} was accepted");
        let error = stderr(&output);
        assert!(error.contains("unsupported database url"), "{error}");
        assert!(error.contains("sqlite:PATH"), "{error}");
        let made: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
        assert!(made.is_empty(), "{url} made {made:?}");
    }
}

/// Postgres on a closed port: the error says the connection was refused,
/// not that a pool timed out.
#[tokio::test]
async fn postgres_on_a_closed_port_says_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = "postgres://postgres@127.0.0.1:1/none";
    let output = switchboard(dir.path(), url, &["migrate"], "").await;
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(error.contains("refused"), "{error}");
    assert!(!error.contains("timed out"), "{error}");
}

/// Text logs written to a file or a pipe carry no colour codes.
#[tokio::test]
async fn text_logs_to_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = switchboard(dir.path(), "sqlite:plain.db", &["migrate"], "").await;
    assert!(output.status.success(), "{}", stderr(&output));
    let log = stderr(&output);
    assert!(log.contains("migrations applied"), "{log}");
    assert!(!log.contains('\u{1b}'), "escape codes in {log:?}");
}

/// `account list`, `user list` and `inbox list` show what exists, and no
/// secret.
#[tokio::test]
async fn accounts_users_and_inboxes_are_listed() {
    let fx = Fixture::with_roles(&["operator", "viewer"], &[]).await;
    let account = fx.account.to_string();
    let accounts = fx.server.admin(&["account", "list"]).await;
    assert_eq!(accounts["accounts"][0]["account_id"], account, "{accounts}");
    assert_eq!(accounts["accounts"][0]["name"], "Acme", "{accounts}");

    let users = fx
        .server
        .admin(&["user", "list", "--account", &account])
        .await;
    let listed: Vec<(&str, &str)> = users["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| (u["email"].as_str().unwrap(), u["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("owner@acme.test", "owner"),
            ("agent0@acme.test", "operator"),
            ("agent1@acme.test", "viewer"),
        ]
    );
    let inboxes = fx
        .server
        .admin(&["inbox", "list", "--account", &account])
        .await;
    assert_eq!(inboxes["inboxes"][0]["inbox_id"], fx.inbox.to_string());
    assert_eq!(inboxes["inboxes"][0]["channel"], "sms");
    for listing in [&accounts, &users, &inboxes] {
        let text = listing.to_string();
        assert!(
            !text.contains(&fx.inbox_key) && !text.contains("argon2"),
            "{text}"
        );
    }

    let unknown = Uuid::now_v7().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let output = switchboard(
        dir.path(),
        &fx.server.database_url,
        &["user", "list", "--account", &unknown],
        "",
    )
    .await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no such account"),
        "{}",
        stderr(&output)
    );
}

/// `user reset-password` (the password on stdin) signs the user out: the
/// old token and the old password are refused, the new password works; a
/// password too short is refused as at creation.
#[tokio::test]
async fn a_reset_password_ends_the_users_sessions() {
    let fx = Fixture::new(1, &[]).await;
    let agent = &fx.agents[0];
    let user = agent.id.to_string();
    let (status, _) = fx
        .server
        .call(&agent.token, "GET", "/v1/agents/me", Value::Null)
        .await;
    assert_eq!(status, 200);

    let dir = tempfile::tempdir().expect("temp dir");
    let url = &fx.server.database_url;
    let args = ["user", "reset-password", "--user", &user];
    let short = switchboard(dir.path(), url, &args, "short\n").await;
    assert!(!short.status.success());
    let reset = switchboard(dir.path(), url, &args, "a much longer secret\n").await;
    assert!(reset.status.success(), "{}", stderr(&reset));
    let answer: Value = serde_json::from_slice(&reset.stdout).expect("json");
    assert_eq!(answer["user_id"], user, "{answer}");

    let (status, _) = fx
        .server
        .call(&agent.token, "GET", "/v1/agents/me", Value::Null)
        .await;
    assert_eq!(status, 401, "the old session still works");
    let http = reqwest::Client::new();
    let base = fx.server.http("");
    assert!(
        switchboard_testkit::login(&http, &base, &agent.email, PASSWORD)
            .await
            .is_err(),
        "the old password still works"
    );
    switchboard_testkit::login(&http, &base, &agent.email, "a much longer secret")
        .await
        .expect("the new password works");
}

/// `inbox rotate-key` prints a new key; the old one is refused by
/// `POST /v1/inbound` at once, on the running server.
#[tokio::test]
async fn a_rotated_inbox_key_replaces_the_old_one_at_once() {
    let fx = Fixture::new(0, &[]).await;
    fx.conversation("+15550991").await;
    let rotated = fx
        .server
        .admin(&["inbox", "rotate-key", "--inbox", &fx.inbox.to_string()])
        .await;
    let key = rotated["api_key"].as_str().expect("a new key");
    assert_ne!(key, fx.inbox_key);

    let post = |key: String| {
        let url = fx.server.http("/v1/inbound");
        let body = serde_json::json!({
            "inbox_id": fx.inbox, "contact": {"handle": "+15550991"}, "body": "again",
        });
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .expect("inbound")
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        post(fx.inbox_key.clone()).await,
        401,
        "the old key still works"
    );
    assert_eq!(post(key.to_owned()).await, 201);
}
