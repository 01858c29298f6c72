//! Login throttling against a real server (docs/PEOPLE.md, "Login
//! throttling"): after 10 failed sign-ins within 15 minutes for one email,
//! or from one source address, the next attempt answers 429 `rate_limited`
//! with `Retry-After` without the password being checked (the right one is
//! refused too); a success does not wipe the address's count; and an
//! unknown email and a wrong password answer alike. Concurrent attempts
//! are counted before their passwords are checked, so no more than the
//! limit are ever checked, on one node or across a cluster; re-entering
//! one's password (to change it, or to hand over ownership) is throttled
//! alike. The test's clients come from different loopback addresses
//! (127.0.0.x) to tell the keys apart.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::cluster::Cluster;
use crate::support::server::PASSWORD;
use crate::support::{Fixture, TestServer};

/// A sign-in's answer.
struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<u64>,
    www_authenticate: Option<String>,
    took: Duration,
}

/// Signs in as `email` with `password` from loopback address 127.0.0.`from`.
async fn attempt(server: &TestServer, from: u8, email: &str, password: &str) -> Answer {
    let client = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, from)))
        .build()
        .expect("a client");
    let started = Instant::now();
    let response = client
        .post(server.http("/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header("retry-after").map(|v| v.parse().expect("whole seconds"));
    let www_authenticate = header("www-authenticate");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        body,
        retry_after,
        www_authenticate,
        took: started.elapsed(),
    }
}

fn assert_throttled(answer: &Answer, window_secs: u64, what: &str) {
    assert_eq!(answer.status, 429, "{what}: {}", answer.body);
    assert_eq!(answer.body["error"]["code"], "rate_limited", "{what}");
    let retry = answer.retry_after.expect("a Retry-After header");
    assert!(
        (1..=window_secs).contains(&retry),
        "{what}: Retry-After {retry}"
    );
    assert!(
        answer.body["error"]["retry_after_ms"].as_u64().is_some(),
        "{what}"
    );
}

#[tokio::test]
async fn the_eleventh_failure_for_one_email_is_refused_unchecked() {
    let fx = Fixture::new(2, &[]).await;
    let server = &fx.server;
    let ann = &fx.agents[0].email;
    let bob = &fx.agents[1].email;
    // Ten failures for Ann, each from an address of its own (so that no
    // address reaches the limit), the email typed in another case.
    for i in 0..10 {
        let wrong = attempt(server, 10 + i, &ann.to_uppercase(), "wrong password").await;
        assert_eq!(wrong.status, 401, "failure {i}: {}", wrong.body);
    }
    // The eleventh: refused before the password is looked at, so the
    // right one is refused too, from a fresh address.
    let right = attempt(server, 40, ann, PASSWORD).await;
    assert_throttled(&right, 900, "the right password while throttled");
    let wrong = attempt(server, 41, ann, "wrong password").await;
    assert_throttled(&wrong, 900, "a wrong one");
    // Another email from the same addresses is not held back.
    assert_eq!(attempt(server, 10, bob, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn the_eleventh_failure_from_one_address_is_refused_and_a_success_does_not_wipe_it() {
    let fx = Fixture::new(2, &[]).await;
    let server = &fx.server;
    let ann = &fx.agents[0].email;
    let bob = &fx.agents[1].email;
    // Nine failures from 127.0.0.2, over many emails (unknown ones too).
    for i in 0..9 {
        let email = if i % 2 == 0 {
            format!("nobody{i}@acme.test")
        } else {
            ann.clone()
        };
        assert_eq!(
            attempt(server, 2, &email, "wrong password").await.status,
            401
        );
    }
    // An attacker signing in to an account of their own between guesses
    // does not start the address's count again.
    assert_eq!(attempt(server, 2, bob, PASSWORD).await.status, 200);
    assert_eq!(
        attempt(server, 2, "nobody@acme.test", "wrong password")
            .await
            .status,
        401,
        "the tenth failure"
    );
    let right = attempt(server, 2, bob, PASSWORD).await;
    assert_throttled(&right, 900, "the right password from the address");
    // The same user from another address signs in.
    assert_eq!(attempt(server, 3, bob, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_answer_alike() {
    let fx = Fixture::new(1, &[]).await;
    let server = &fx.server;
    let ann = &fx.agents[0].email;
    let mut wrong_times = Vec::new();
    let mut unknown_times = Vec::new();
    for i in 0..4 {
        let wrong = attempt(server, 20 + i, ann, "wrong password").await;
        let unknown = attempt(server, 30 + i, "nobody@acme.test", "wrong password").await;
        assert_eq!(
            (wrong.status, &wrong.body, &wrong.www_authenticate),
            (unknown.status, &unknown.body, &unknown.www_authenticate),
            "the same status, body and headers"
        );
        assert_eq!(wrong.status, 401);
        wrong_times.push(wrong.took);
        unknown_times.push(unknown.took);
    }
    // Both verify a password hash: an unknown email is not answered at
    // once (the medians, generously bounded, against a loaded machine).
    wrong_times.sort();
    unknown_times.sort();
    let (wrong, unknown) = (wrong_times[2], unknown_times[2]);
    assert!(
        unknown * 3 >= wrong && wrong * 3 >= unknown,
        "wrong password {wrong:?}, unknown email {unknown:?}"
    );
}

#[tokio::test]
async fn the_limit_and_the_window_are_configurable_and_the_wait_ends() {
    let fx = Fixture::new(
        1,
        &[
            ("SWITCHBOARD_LOGIN_MAX_FAILURES", "3"),
            ("SWITCHBOARD_LOGIN_FAILURE_WINDOW_SECS", "2"),
        ],
    )
    .await;
    let server = &fx.server;
    let ann = &fx.agents[0].email;
    for _ in 0..3 {
        assert_eq!(attempt(server, 5, ann, "wrong password").await.status, 401);
    }
    assert_throttled(&attempt(server, 5, ann, PASSWORD).await, 2, "the fourth");
    // Once the failures leave the window, the right password signs in.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = attempt(server, 5, ann, PASSWORD).await;
        if answer.status == 200 {
            break;
        }
        assert_throttled(&answer, 2, "while waiting");
        assert!(
            Instant::now() < deadline,
            "still throttled after the window"
        );
        let wait = answer.retry_after.unwrap_or(1);
        tokio::time::sleep(Duration::from_millis(wait.min(2) * 250)).await;
    }
}

/// Sends `count` wrong-password sign-ins for `email` all at once, each
/// from an address of its own (so that only the email's count can hold
/// them back), spread over `servers`; answers how many were checked (401)
/// and how many refused unchecked (429).
async fn wrong_logins_at_once(servers: &[&TestServer], email: &str, count: u8) -> (usize, usize) {
    let attempts = (0..count).map(|i| {
        let server = servers[usize::from(i) % servers.len()];
        attempt(server, 100 + i, email, "wrong password")
    });
    let answers = futures_util::future::join_all(attempts).await;
    let mut checked = 0;
    let mut refused = 0;
    for answer in &answers {
        match answer.status {
            401 => checked += 1,
            429 => {
                assert_throttled(answer, 900, "an attempt beyond the limit");
                refused += 1;
            }
            other => panic!("a wrong password answered {other}: {}", answer.body),
        }
    }
    (checked, refused)
}

#[tokio::test]
async fn forty_wrong_passwords_at_once_are_checked_ten_times_at_most() {
    let fx = Fixture::new(1, &[]).await;
    let ann = &fx.agents[0].email;
    let (checked, refused) = wrong_logins_at_once(&[&fx.server], ann, 40).await;
    assert_eq!((checked, refused), (10, 30), "checked, refused");
    // Still throttled afterwards, the right password too.
    let right = attempt(&fx.server, 99, ann, PASSWORD).await;
    assert_throttled(&right, 900, "the right password afterwards");
}

#[tokio::test]
async fn wrong_passwords_at_once_across_a_cluster_are_checked_ten_times_at_most() {
    let c = Cluster::start(2, 1, &[]).await;
    let ann = &c.agents[0].email;
    let nodes = [c.node(0), c.node(1)];
    let (checked, refused) = wrong_logins_at_once(&nodes, ann, 40).await;
    assert_eq!((checked, refused), (10, 30), "checked, refused");
}

/// `PUT /v1/me/password` with this current password, and a valid new one.
async fn change_password(server: &TestServer, token: &str, current: &str) -> (u16, Value) {
    let body = json!({"current": current, "new": "another good password"});
    server.call(token, "PUT", "/v1/me/password", body).await
}

#[tokio::test]
async fn the_eleventh_wrong_password_re_entered_is_refused_unchecked() {
    let fx = Fixture::new(1, &[]).await;
    let server = &fx.server;
    let owner = &fx.owner;
    for i in 0..10 {
        let (status, body) = change_password(server, &owner.token, "not it").await;
        assert_eq!(status, 403, "wrong password {i}: {body}");
    }
    // The eleventh: refused before the password is looked at, the right
    // one too, and nothing changes.
    let (status, body) = change_password(server, &owner.token, PASSWORD).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (429, &json!("rate_limited"))
    );
    assert!(body["error"]["retry_after_ms"].as_u64().is_some(), "{body}");
    // The other re-entry of the password counts under the same key.
    let to = fx.agents[0].id;
    let body = json!({"user_id": to, "password": PASSWORD});
    let (status, answer) = server
        .call(&owner.token, "POST", "/v1/account/transfer-ownership", body)
        .await;
    assert_eq!(status, 429, "a transfer: {answer}");
    // Her password did not change, her sign-in is not held back by
    // these, and another user's re-entry is not either.
    assert_eq!(attempt(server, 7, &owner.email, PASSWORD).await.status, 200);
    let agent = &fx.agents[0];
    let (status, body) = change_password(server, &agent.token, PASSWORD).await;
    assert_eq!(status, 204, "{body}");
}
