//! Sessions (docs/PEOPLE.md, "Sessions"): an ended session closes its live
//! sockets on every node of a cluster within two seconds; a password
//! change ends every other session; a user lists and ends their own.

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::lifecycle::ended_by;
use crate::support::WsClient;
use crate::support::cluster::Cluster;
use crate::support::server::PASSWORD;

const WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

#[tokio::test]
async fn a_logout_on_node_two_closes_the_same_sessions_socket_on_node_one() {
    let c = Cluster::start(2, 2, &[]).await;
    let ann = &c.agents[0];
    let mut on_one = WsClient::connect(c.node(0), &ann.token).await;
    // Another session of hers, and another user, stay.
    let other_token = c.node(1).login(&ann.email).await;
    let mut other = WsClient::connect(c.node(0), &other_token).await;
    let mut bob = c.connect(0, 1).await;

    let (status, answer) = c
        .node(1)
        .call(&ann.token, "POST", "/v1/auth/logout", Value::Null)
        .await;
    assert_eq!(status, 204, "{answer}");
    ended_by(&mut on_one, Instant::now() + WITHIN, "the socket on node 1").await;

    // Only that session ended.
    other.settle().await;
    bob.settle().await;
    let (status, _) = c
        .node(0)
        .call(&ann.token, "GET", "/v1/me", Value::Null)
        .await;
    assert_eq!(status, 401, "the token logged out");
    let (status, _) = c
        .node(0)
        .call(&other_token, "GET", "/v1/me", Value::Null)
        .await;
    assert_eq!(status, 200, "her other session");
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_their_sockets_but_not_this_one() {
    let c = Cluster::start(2, 1, &[]).await;
    let ann = &c.agents[0];
    let current = ann.token.clone();
    let other_token = c.node(0).login(&ann.email).await;
    let mut mine = WsClient::connect(c.node(0), &current).await;
    let mut other = WsClient::connect(c.node(0), &other_token).await;

    // A wrong current password changes nothing.
    let body = json!({"current": "not it", "new": "a new password"});
    let (status, answer) = c
        .node(1)
        .call(&current, "PUT", "/v1/me/password", body)
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    // Nor does a new one that breaks the rules.
    let body = json!({"current": PASSWORD, "new": "short"});
    let (status, _) = c
        .node(1)
        .call(&current, "PUT", "/v1/me/password", body)
        .await;
    assert_eq!(status, 400);
    other.settle().await;

    let body = json!({"current": PASSWORD, "new": "a brand new password"});
    let (status, answer) = c
        .node(1)
        .call(&current, "PUT", "/v1/me/password", body)
        .await;
    assert_eq!(status, 204, "{answer}");
    ended_by(
        &mut other,
        Instant::now() + WITHIN,
        "the other session's socket",
    )
    .await;
    mine.settle().await;
    let (status, _) = c.node(0).call(&current, "GET", "/v1/me", Value::Null).await;
    assert_eq!(status, 200, "this session stays");
    let (status, _) = c
        .node(0)
        .call(&other_token, "GET", "/v1/me", Value::Null)
        .await;
    assert_eq!(status, 401, "the other session ended");

    // The new password signs in; the old one does not.
    let login = |password: &str| json!({"email": ann.email, "password": password});
    let (status, _) = c
        .node(0)
        .call("", "POST", "/v1/auth/login", login(PASSWORD))
        .await;
    assert_eq!(status, 401);
    let (status, _) = c
        .node(0)
        .call("", "POST", "/v1/auth/login", login("a brand new password"))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_user_lists_their_sessions_and_ends_one_of_theirs_only() {
    let c = Cluster::start(2, 2, &[]).await;
    let (ann, bob) = (&c.agents[0], &c.agents[1]);
    let second = c.node(1).login(&ann.email).await;
    let mut socket = WsClient::connect(c.node(0), &second).await;

    let (status, sessions) = c
        .node(0)
        .call(&ann.token, "GET", "/v1/me/sessions", Value::Null)
        .await;
    assert_eq!(status, 200, "{sessions}");
    let sessions = sessions.as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "one is this request's: {sessions:?}");
    for s in &sessions {
        assert!(s["id"].is_string() && s["created_at"].is_string() && s["expires_at"].is_string());
    }
    let other_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Bob cannot end it: not his.
    let path = format!("/v1/me/sessions/{other_id}");
    let (status, answer) = c
        .node(1)
        .call(&bob.token, "DELETE", &path, Value::Null)
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    socket.settle().await;

    // Ann ends it through node 2: its socket on node 1 closes.
    let (status, answer) = c
        .node(1)
        .call(&ann.token, "DELETE", &path, Value::Null)
        .await;
    assert_eq!(status, 204, "{answer}");
    ended_by(
        &mut socket,
        Instant::now() + WITHIN,
        "the ended session's socket",
    )
    .await;
    let (status, _) = c.node(0).call(&second, "GET", "/v1/me", Value::Null).await;
    assert_eq!(status, 401);
    let (_, sessions) = c
        .node(0)
        .call(&ann.token, "GET", "/v1/me/sessions", Value::Null)
        .await;
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
}
