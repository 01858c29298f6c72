//! Who may make webhooks and where they may post: internal addresses,
//! unknown events and other schemes refused (and an internal address never
//! connected to at delivery time without the setting); another account's
//! webhook not found; a server whose key file went missing refuses to
//! start over the webhook secrets sealed with it.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use super::receiver::{Receiver, Reply};
use super::{FAST, wait_log};
use crate::support::Fixture;

#[tokio::test]
async fn internal_addresses_unknown_events_and_other_schemes_are_refused() {
    let fx = Fixture::with_roles(&["operator", "developer"], &[]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.5/hook",
        "http://[::1]:8080/hook",
        "http://localhost:8080/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.1.1/",
        "http://[fd00::1]/",
    ] {
        let (status, body) = server
            .call(
                owner,
                "POST",
                "/v1/webhooks",
                json!({"url": url, "events": ["message.created"]}),
            )
            .await;
        assert_eq!(status, 400, "{url}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("internal address"), "{url}: {message}");
    }
    for (url, events) in [
        ("ftp://203.0.113.7/hook", json!(["message.created"])),
        ("https://203.0.113.7/hook", json!(["message.deleted"])),
        ("https://203.0.113.7/hook", json!([])),
        ("not a url", json!(["message.created"])),
    ] {
        let (status, body) = server
            .call(
                owner,
                "POST",
                "/v1/webhooks",
                json!({"url": url, "events": events}),
            )
            .await;
        assert_eq!(status, 400, "{url} {events}: {body}");
    }

    // A public address is accepted; its secret is shown once.
    let (status, created) = server
        .call(
            &fx.agents[1].token,
            "POST",
            "/v1/webhooks",
            json!({"url": "https://203.0.113.7/hook", "events": ["message.created"]}),
        )
        .await;
    assert_eq!(status, 201, "a developer manages webhooks: {created}");
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    let (_, listed) = server.call(owner, "GET", "/v1/webhooks", Value::Null).await;
    assert_eq!(listed["webhooks"][0]["id"], created["id"]);
    assert!(listed["webhooks"][0].get("secret").is_none(), "{listed}");
    // An internal address is refused on a change too.
    let path = format!("/v1/webhooks/{}", created["id"].as_str().unwrap());
    let (status, _) = server
        .call(owner, "PATCH", &path, json!({"url": "http://127.0.0.1/"}))
        .await;
    assert_eq!(status, 400);
    let (status, changed) = server
        .call(owner, "PATCH", &path, json!({"active": false}))
        .await;
    assert_eq!((status, &changed["active"]), (200, &json!(false)));

    // An operator holds no developers.manage.
    let operator = &fx.agents[0].token;
    let (status, _) = server
        .call(operator, "GET", "/v1/webhooks", Value::Null)
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn another_accounts_webhook_is_not_found() {
    let fx = Fixture::new(0, &[]).await;
    let server = &fx.server;
    let (status, created) = server
        .call(
            &fx.owner.token,
            "POST",
            "/v1/webhooks",
            json!({"url": "https://203.0.113.7/hook", "events": ["message.created"], "secret": "a-secret-of-sixteen+"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["secret"], "a-secret-of-sixteen+");
    let id = created["id"].as_str().unwrap();
    server.create_rival_account().await;
    let eve = server.login("eve@rival.test").await;
    let path = format!("/v1/webhooks/{id}");
    for (method, path, body) in [
        ("PATCH", path.clone(), json!({"active": false})),
        ("DELETE", path.clone(), Value::Null),
        ("GET", format!("{path}/deliveries"), Value::Null),
    ] {
        let (status, answer) = server.call(&eve, method, &path, body).await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (404, &json!("not_found")),
            "{method} {path}"
        );
    }
    let (_, theirs) = server.call(&eve, "GET", "/v1/webhooks", Value::Null).await;
    assert_eq!(theirs["webhooks"], json!([]));
    let (status, _) = server
        .call(&fx.owner.token, "DELETE", &path, Value::Null)
        .await;
    assert_eq!(status, 204);

    // Made and deleted are in the audit log, the secret never.
    let (status, log) = server
        .call(&fx.owner.token, "GET", "/v1/audit", Value::Null)
        .await;
    assert_eq!(status, 200, "{log}");
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["detail"]["webhook_id"].as_str() == Some(id))
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["webhook.deleted", "webhook.created"], "{log}");
    assert!(!log.to_string().contains("a-secret-of-sixteen+"), "{log}");
}

#[tokio::test]
async fn a_delivery_never_connects_to_an_internal_address_without_the_setting() {
    // Made while internal addresses were allowed; the server then restarted
    // without the setting: the check at delivery time refuses to connect.
    let fx = Fixture::new(0, &FAST).await;
    let owner = fx.owner.token.clone();
    let receiver = Receiver::start(&[], Reply::Status(200)).await;
    let url = format!("http://localhost:{}/hook", receiver.addr.port());
    let (status, created) = fx
        .server
        .call(
            &owner,
            "POST",
            "/v1/webhooks",
            json!({"url": url, "events": ["conversation.created"]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let webhook: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    fx.server.signal("KILL").await;
    let strict = [FAST[1], FAST[2]];
    let restarted = fx.server.restart(&strict).await;
    restarted
        .inbound(&fx.inbox_key, fx.inbox, "+4790000010", "hello")
        .await;
    let deliveries = wait_log(&restarted, &owner, webhook, "two refused tries", |d| {
        d.len() == 1 && d[0]["attempts"].as_array().unwrap().len() >= 2
    })
    .await;
    for attempt in deliveries[0]["attempts"].as_array().unwrap() {
        assert!(attempt["http_status"].is_null(), "{attempt}");
        let error = attempt["error"].as_str().unwrap();
        assert!(error.contains("no address webhooks may reach"), "{error}");
    }
    assert!(receiver.log().is_empty(), "nothing reached the receiver");
}

/// A database whose key file went missing while it holds webhook secrets:
/// a new key could open none of them, so the server refuses to start.
#[tokio::test]
async fn a_server_whose_key_file_went_missing_refuses_to_start_over_webhook_secrets() {
    let mut fx = Fixture::new(0, &[]).await;
    let (status, created) = fx
        .server
        .call(
            &fx.owner.token,
            "POST",
            "/v1/webhooks",
            json!({"url": "https://203.0.113.7/hook", "events": ["message.created"]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(fx.server.terminate().await, Some(0));
    let db = fx
        .server
        .database_url
        .strip_prefix("sqlite:")
        .expect("a sqlite file")
        .to_owned();
    let key_file = format!("{db}.secret-key");
    std::fs::remove_file(&key_file).expect("remove the key file");
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(crate::support::server::binary())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SWITCHBOARD_DATABASE_URL", format!("sqlite:{db}"))
            .output(),
    )
    .await
    .expect("exits")
    .expect("runs");
    assert!(!output.status.success(), "started with a new key");
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("webhook secrets"), "{error}");
    assert!(!std::path::Path::new(&key_file).exists());
}
