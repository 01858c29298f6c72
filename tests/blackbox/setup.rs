//! The first run: a server on an empty database prints a one-time setup
//! link, and the page behind it (`POST /v1/setup`) makes the account and
//! its owner, once, for the holder of the link only.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::cluster::{Database, Redis};
use crate::support::server::TestServer;

/// The setup link a server printed, waited for.
async fn printed_link(server: &TestServer) -> String {
    server.expect_log(&["/setup?token="]).await;
    let line = server
        .log()
        .into_iter()
        .find(|line| line.contains("/setup?token="))
        .expect("the line just seen");
    line.trim().to_owned()
}

fn token_of(link: &str) -> String {
    link.split_once("token=").expect("a token").1.to_owned()
}

/// What the serving log line says of the first-run setup.
fn setup_announced(server: &TestServer) -> bool {
    server
        .log()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["fields"]["message"] == "switchboard is serving")
        .and_then(|line| line["fields"]["first_run_setup"].as_bool())
        .expect("the serving line says whether setup is pending")
}

fn owner(token: &str, email: &str) -> Value {
    json!({
        "token": token,
        "account_name": "Acme",
        "name": "Olive Owner",
        "email": email,
        "password": "a long enough password",
    })
}

async fn setup(server: &TestServer, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.http("/v1/setup"))
        .json(body)
        .send()
        .await
        .expect("setup answers")
}

async fn needed(server: &TestServer) -> bool {
    let status: Value = reqwest::get(server.http("/v1/setup"))
        .await
        .expect("status answers")
        .json()
        .await
        .expect("json");
    status["needed"].as_bool().expect("needed")
}

#[tokio::test]
async fn the_printed_link_makes_the_account_and_its_owner_once() {
    let server = TestServer::start(&[]).await;
    let link = printed_link(&server).await;
    assert!(
        link.starts_with(&server.http("/setup?token=sbf_")),
        "{link}"
    );
    assert!(setup_announced(&server));
    assert!(needed(&server).await);
    // The link is a secret of the terminal, not of the log.
    let logged = server
        .log()
        .iter()
        .filter(|l| l.contains(&token_of(&link)))
        .count();
    assert_eq!(logged, 1, "the token is printed once, never logged");

    let forged = setup(&server, &owner("sbf_not-the-one", "olive@acme.test")).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let mut weak = owner(&token_of(&link), "olive@acme.test");
    weak["password"] = json!("short");
    assert_eq!(
        setup(&server, &weak).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert!(
        needed(&server).await,
        "refused attempts leave the setup pending"
    );

    let made = setup(&server, &owner(&token_of(&link), "olive@acme.test")).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let cookie = made
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        cookie.starts_with("switchboard_session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let body: Value = made.json().await.expect("json");
    let token = body["token"].as_str().expect("a session token").to_owned();
    assert_eq!(body["user"]["role"], "owner");
    let me: Value = reqwest::Client::new()
        .get(server.http("/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me["user"]["email"], "olive@acme.test", "{me}");

    let again = setup(&server, &owner(&token_of(&link), "mallory@acme.test")).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "the link works once");
    assert!(!needed(&server).await);
}

#[tokio::test]
async fn a_server_set_up_at_the_command_line_offers_no_setup() {
    let first = TestServer::start(&[]).await;
    let link = printed_link(&first).await;
    first
        .admin(&[
            "account",
            "create",
            "--name",
            "Acme",
            "--owner-email",
            "olive@acme.test",
            "--owner-name",
            "Olive Owner",
            "--owner-password",
            "a long enough password",
        ])
        .await;
    assert!(
        !needed(&first).await,
        "an account made elsewhere ends the setup"
    );
    let late = setup(&first, &owner(&token_of(&link), "olive@acme.test")).await;
    assert_eq!(late.status(), StatusCode::NOT_FOUND);

    let mut first = first;
    first.terminate().await;
    let again = first.restart(&[]).await;
    assert!(!setup_announced(&again));
    assert!(!needed(&again).await);
}

#[tokio::test]
async fn two_nodes_on_one_empty_database_make_one_account() {
    let database = Database::create().await;
    let redis = Redis::start().await;
    let env = [("SWITCHBOARD_REDIS_URL", redis.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = TestServer::start_with(&database.url, &env).await;
    let b = TestServer::start_with(&database.url, &env).await;
    let (link_a, link_b) = (printed_link(&a).await, printed_link(&b).await);
    assert_ne!(
        token_of(&link_a),
        token_of(&link_b),
        "each node its own link"
    );
    // A node's link is not another's.
    let crossed = setup(&b, &owner(&token_of(&link_a), "olive@acme.test")).await;
    assert_eq!(crossed.status(), StatusCode::FORBIDDEN);

    let (ann, bob) = (
        owner(&token_of(&link_a), "ann@acme.test"),
        owner(&token_of(&link_b), "bob@acme.test"),
    );
    let (from_a, from_b) = tokio::join!(setup(&a, &ann), setup(&b, &bob));
    let mut statuses = [from_a.status(), from_b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::NOT_FOUND]);
    assert!(!needed(&a).await && !needed(&b).await);
}
