//! Running it: health, readiness, metrics, the OpenAPI description, the
//! admin CLI, graceful shutdown.

use serde_json::Value;
use uuid::Uuid;

use crate::support::client::Ended;
use crate::support::{Fixture, TestServer};

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let fx = Fixture::new(1, &[]).await;
    let health: Value = reqwest::get(fx.server.http("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready = reqwest::get(fx.server.http("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(
        (ready["store"].as_str(), ready["bus"].as_str()),
        (Some("ok"), Some("ok"))
    );

    let before = fx.server.metric("switchboard_frames_in_total").await;
    let conversation = fx.conversation("+15550900").await;
    let mut c = fx.connect(&fx.agents[0]).await;
    c.join(conversation).await;
    assert_eq!(fx.server.metric("switchboard_connections").await, 1.0);
    assert_eq!(fx.server.metric("switchboard_locks_held").await, 1.0);
    assert!(fx.server.metric("switchboard_frames_in_total").await > before);
    assert!(fx.server.metric("switchboard_frames_out_total").await >= 2.0);
    c.send_text("{broken").await;
    c.settle().await;
    assert_eq!(
        fx.server
            .metric("switchboard_errors_total{code=\"bad_request\"}")
            .await,
        1.0
    );
    c.leave(conversation).await;
    assert_eq!(fx.server.metric("switchboard_locks_held").await, 0.0);
}

#[tokio::test]
async fn the_openapi_description_covers_every_route() {
    let server = TestServer::start(&[]).await;
    let doc: Value = reqwest::get(server.http("/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/auth/login", "post"),
        ("/v1/auth/logout", "post"),
        ("/v1/inbound", "post"),
        ("/v1/ws", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/v1/openapi.json", "get"),
        ("/v1/teams", "post"),
        ("/v1/teams", "get"),
        ("/v1/teams/{id}/members", "put"),
        ("/v1/teams/{id}", "delete"),
        ("/v1/inboxes/{id}/team", "put"),
        ("/v1/users/{id}/capacity", "put"),
        ("/v1/agents/me", "get"),
        ("/v1/agents/me/availability", "put"),
        ("/v1/conversations/{id}/assign", "post"),
        ("/v1/conversations/{id}/unassign", "post"),
        ("/v1/conversations/{id}/resolve", "post"),
        ("/v1/conversations/{id}/reopen", "post"),
        ("/v1/conversations/{id}/assignments", "get"),
        ("/v1/me", "get"),
        ("/v1/permissions", "get"),
        ("/v1/roles", "get"),
        ("/v1/roles", "post"),
        ("/v1/roles/{id}", "patch"),
        ("/v1/roles/{id}", "delete"),
        ("/v1/groups", "get"),
        ("/v1/groups", "post"),
        ("/v1/groups/{id}", "patch"),
        ("/v1/groups/{id}", "delete"),
        ("/v1/users", "get"),
        ("/v1/users/{id}", "get"),
        ("/v1/users/{id}", "patch"),
        ("/v1/users/{id}/grants", "put"),
        ("/v1/inboxes", "get"),
        ("/v1/inboxes", "post"),
        ("/v1/inboxes/{id}", "patch"),
        ("/v1/conversations", "get"),
        ("/v1/conversations/{id}", "get"),
        ("/v1/conversations/{id}/messages", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is documented"
        );
        // And the route really exists: not the catch-all 404.
        let concrete = path.replace("{id}", &Uuid::now_v7().to_string());
        let response = reqwest::Client::new()
            .request(method.parse().unwrap(), server.http(&concrete))
            .send()
            .await
            .unwrap();
        // Unauthenticated: 401 from the route itself, never the catch-all's
        // 404 "no such endpoint".
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("no such endpoint"),
            "{method} {path} is served ({status})"
        );
    }
    assert_eq!(
        reqwest::get(server.http("/v1/nope"))
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn admin_commands_refuse_bad_input_clearly() {
    let server = TestServer::start(&[]).await;
    let run = |args: &[&str]| {
        std::process::Command::new(crate::support::server::binary())
            .args(args)
            .env("SWITCHBOARD_DATABASE_URL", &server.database_url)
            .output()
            .unwrap()
    };
    let short = run(&[
        "account",
        "create",
        "--name",
        "A",
        "--owner-email",
        "a@a.test",
        "--owner-name",
        "A",
        "--owner-password",
        "short",
    ]);
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));
    let ok = run(&[
        "account",
        "create",
        "--name",
        "A",
        "--owner-email",
        "a@a.test",
        "--owner-name",
        "A",
        "--owner-password",
        "long enough",
    ]);
    assert!(ok.status.success());
    let again = run(&[
        "account",
        "create",
        "--name",
        "B",
        "--owner-email",
        "A@a.test",
        "--owner-name",
        "B",
        "--owner-password",
        "long enough",
    ]);
    assert!(
        !again.status.success(),
        "emails are unique, whatever their case"
    );
    let account: Value = serde_json::from_slice(&ok.stdout).unwrap();
    let account = account["account_id"].as_str().unwrap();
    let role = run(&[
        "user",
        "create",
        "--account",
        account,
        "--email",
        "b@a.test",
        "--name",
        "B",
        "--password",
        "long enough",
        "--role",
        "wizard",
    ]);
    assert!(String::from_utf8_lossy(&role.stderr).contains("unknown role"));
    let channel = run(&[
        "inbox",
        "create",
        "--account",
        account,
        "--name",
        "X",
        "--channel",
        "pigeon",
    ]);
    assert!(String::from_utf8_lossy(&channel.stderr).contains("unknown channel"));
}

#[tokio::test]
async fn sigterm_closes_sessions_with_1001_and_releases_the_roles() {
    let mut fx = Fixture::new(2, &[]).await;
    let conversation = fx.conversation("+15550901").await;
    let mut a = fx.connect(&fx.agents[0]).await;
    a.join(conversation).await;
    assert_eq!(fx.server.terminate().await, Some(0));
    assert_eq!(a.closed().await, Ended::Closed(Some(1001)));

    // A new process on the same database: the role was released, not left to expire.
    let server = fx.server.restart(&[]).await;
    fx.server = server;
    let mut b = fx.connect(&fx.agents[1]).await;
    let joined = b.join(conversation).await.presence.unwrap();
    assert_eq!(joined.active.map(|a| a.user_id), Some(fx.agents[1].id));
    let log = fx.server.log().join("\n");
    assert!(
        !log.contains("cleared active roles"),
        "nothing was left to clear:\n{log}"
    );
}
