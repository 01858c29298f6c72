//! Outbound webhooks (docs/MODULES.md, "Webhooks") against real servers
//! and a real receiver on 127.0.0.1 (so `SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE`
//! is on where one is used) that checks every signature: retries until a
//! 2xx with each try in the log; a delivery surviving `kill -9` between
//! tries; a conversation's events in order, on one node and across three;
//! `send` acked while the receiver holds a request unanswered; no bodies
//! for a webhook whose creator could not read them. Who may make webhooks
//! and where they may post: `rules`.

mod receiver;
mod rules;

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use self::receiver::{Receiver, Reply};
use crate::support::client::send;
use crate::support::cluster::Cluster;
use crate::support::server::Agent;
use crate::support::{Fixture, TestServer};

/// Long enough for a few tries on a loaded machine.
const WAIT: Duration = Duration::from_secs(30);

/// A receiver on loopback, quick retries, quick polls.
const FAST: [(&str, &str); 4] = [
    ("SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE", "true"),
    ("SWITCHBOARD_WEBHOOK_RETRY_BASE_MS", "50"),
    ("SWITCHBOARD_WEBHOOK_POLL_MS", "20"),
    ("SWITCHBOARD_WEBHOOK_TIMEOUT_MS", "5000"),
];

/// Creates a webhook as `token`; returns its id, and tells the receiver
/// its secret.
async fn subscribe(server: &TestServer, token: &str, receiver: &Receiver, events: &[&str]) -> Uuid {
    let (status, created) = server
        .call(
            token,
            "POST",
            "/v1/webhooks",
            json!({"url": receiver.url(), "events": events}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().expect("the secret, once");
    receiver.set_secret(secret);
    created["id"].as_str().unwrap().parse().unwrap()
}

async fn log(server: &TestServer, token: &str, webhook: Uuid) -> Vec<Value> {
    let (status, body) = server
        .call(
            token,
            "GET",
            &format!("/v1/webhooks/{webhook}/deliveries?limit=200"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

/// Waits until the delivery log satisfies `done`.
async fn wait_log(
    server: &TestServer,
    token: &str,
    webhook: Uuid,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let deliveries = log(server, token, webhook).await;
        if done(&deliveries) {
            return deliveries;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the delivery log never showed {what}: {deliveries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_delivery_is_signed_retried_until_accepted_and_logged() {
    let fx = Fixture::new(0, &FAST).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let receiver = Receiver::start(
        &[Reply::Status(500), Reply::Status(500), Reply::Status(500)],
        Reply::Status(200),
    )
    .await;
    let webhook = subscribe(
        server,
        owner,
        &receiver,
        &["conversation.created", "message.created"],
    )
    .await;
    let conversation = fx.conversation("+4790000001").await;

    let seen = receiver
        .wait_for("both deliveries accepted", WAIT, |log| {
            log.iter().filter(|r| r.answered == Some(200)).count() == 2
        })
        .await;
    let created: Vec<_> = seen
        .iter()
        .filter(|r| r.event == "conversation.created")
        .collect();
    assert_eq!(
        created.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [Some(500), Some(500), Some(500), Some(200)],
        "three refusals, then accepted"
    );
    assert!(
        created.iter().all(|r| r.delivery == created[0].delivery),
        "every try carries the same delivery id"
    );
    let first = &created[0].body;
    assert_eq!(first["type"], "conversation.created");
    assert_eq!(first["account_id"], json!(fx.account));
    assert_eq!(first["data"]["conversation"]["id"], json!(conversation));
    assert_eq!(first["data"]["conversation"]["status"], "open");
    assert_eq!(
        first["data"]["conversation"]["contact"]["handle"],
        "+4790000001"
    );
    let message = &seen.last().unwrap().body;
    assert_eq!(message["type"], "message.created");
    assert_eq!(message["data"]["message"]["seq"], 1);
    assert_eq!(
        message["data"]["message"]["body"], "hello, anyone there?",
        "the owner, who made it, reads bodies"
    );

    let deliveries = wait_log(server, owner, webhook, "both delivered", |d| {
        d.iter().all(|d| d["status"] == "delivered") && d.len() == 2
    })
    .await;
    let created = deliveries
        .iter()
        .find(|d| d["event"] == "conversation.created")
        .unwrap();
    let statuses: Vec<_> = created["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["http_status"].clone())
        .collect();
    assert_eq!(statuses, [json!(500), json!(500), json!(500), json!(200)]);
    assert_eq!(created["id"].as_str(), Some(seen[0].delivery.as_str()));
    assert_eq!(created["conversation_id"], json!(conversation));
}

#[tokio::test]
async fn a_delivery_survives_a_kill_between_tries() {
    let env = [
        ("SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("SWITCHBOARD_WEBHOOK_RETRY_BASE_MS", "400"),
        ("SWITCHBOARD_WEBHOOK_POLL_MS", "20"),
    ];
    let fx = Fixture::new(0, &env).await;
    let owner = fx.owner.token.clone();
    let receiver = Receiver::start(&[], Reply::Status(503)).await;
    let webhook = subscribe(&fx.server, &owner, &receiver, &["conversation.created"]).await;
    fx.conversation("+4790000002").await;
    wait_log(&fx.server, &owner, webhook, "a first try recorded", |d| {
        d.len() == 1 && d[0]["attempts"].as_array().unwrap().len() == 1
    })
    .await;
    fx.server.signal("KILL").await;
    receiver.set_default(Reply::Status(200));

    let restarted = fx.server.restart(&env).await;
    let seen = receiver
        .wait_for("the delivery accepted after the restart", WAIT, |log| {
            log.iter().any(|r| r.answered == Some(200))
        })
        .await;
    assert!(seen.iter().all(|r| r.delivery == seen[0].delivery));
    let deliveries = wait_log(&restarted, &owner, webhook, "delivered", |d| {
        d[0]["status"] == "delivered"
    })
    .await;
    let attempts = deliveries[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.first().unwrap()["http_status"], 503);
    assert_eq!(attempts.last().unwrap()["http_status"], 200);
}

#[tokio::test]
async fn a_conversations_events_arrive_in_order_one_at_a_time() {
    let env = [
        FAST[0],
        FAST[1],
        FAST[2],
        ("SWITCHBOARD_WEBHOOK_CONCURRENCY", "8"),
    ];
    let fx = Fixture::new(0, &env).await;
    let owner = &fx.owner.token;
    // Every delivery is refused once: a line that did not wait for its
    // earlier events would overtake them here.
    let receiver = Receiver::start(&[], Reply::FailFirst).await;
    subscribe(
        &fx.server,
        owner,
        &receiver,
        &["conversation.created", "message.created"],
    )
    .await;
    const MESSAGES: usize = 6;
    let handles = ["+4790000003", "+4790000004"];
    for n in 0..MESSAGES {
        for handle in handles {
            fx.server
                .inbound(&fx.inbox_key, fx.inbox, handle, &format!("message {n}"))
                .await;
        }
    }
    let all = handles.len() * (MESSAGES + 1);
    let seen = receiver
        .wait_for("every event accepted", WAIT, |log| {
            log.iter().filter(|r| r.answered == Some(200)).count() == all
        })
        .await;
    for handle in handles {
        let line: Vec<_> = seen
            .iter()
            .filter(|r| r.body["data"]["conversation"]["contact"]["handle"] == handle)
            .collect();
        assert_eq!(
            line.len(),
            2 * (MESSAGES + 1),
            "each refused once: {line:#?}"
        );
        each_refused_then_accepted(&line);
        let events: Vec<_> = line
            .iter()
            .step_by(2)
            .map(|r| {
                let seq = &r.body["data"]["message"]["seq"];
                format!("{} {seq}", r.event)
            })
            .collect();
        let mut expected = vec!["conversation.created null".to_owned()];
        expected.extend((1..=MESSAGES).map(|seq| format!("message.created {seq}")));
        assert_eq!(events, expected);
    }
}

#[tokio::test]
async fn sends_are_acked_while_the_receiver_holds_a_request_unanswered() {
    let env = [
        ("SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("SWITCHBOARD_WEBHOOK_POLL_MS", "20"),
        ("SWITCHBOARD_WEBHOOK_TIMEOUT_MS", "60000"),
        ("SWITCHBOARD_WEBHOOK_CONCURRENCY", "2"),
    ];
    let fx = Fixture::new(1, &env).await;
    let owner = &fx.owner.token;
    const SENDS: usize = 20;
    // The same sends without any webhook, for comparison.
    let quiet = fx.conversation("+4790000004").await;
    let mut agent = fx.connect(&fx.agents[0]).await;
    agent.join(quiet).await;
    agent.take(quiet).await.expect("take");
    let started = std::time::Instant::now();
    for n in 0..SENDS {
        agent
            .request(send(quiet, &format!("q{n}"), "reply"))
            .await
            .expect("acked without webhooks");
    }
    let without = started.elapsed();
    agent.release(quiet).await;

    let receiver = Receiver::start(&[], Reply::Hold).await;
    let webhook = subscribe(
        &fx.server,
        owner,
        &receiver,
        &["conversation.created", "message.created"],
    )
    .await;
    let conversation = fx.conversation("+4790000005").await;
    receiver
        .wait_for("a request to hold", WAIT, |log| !log.is_empty())
        .await;

    agent.join(conversation).await;
    agent.take(conversation).await.expect("take");
    let started = std::time::Instant::now();
    for n in 0..SENDS {
        agent
            .request(send(conversation, &format!("m{n}"), "reply"))
            .await
            .expect("acked while the receiver holds its request");
    }
    let with = started.elapsed();
    eprintln!(
        "{SENDS} sends acked in {without:?} without webhooks, {with:?} with a receiver that never answers"
    );
    // A send that waited for the receiver would wait its whole 60 s
    // timeout; the bound is loose enough for a loaded machine and far
    // below that.
    assert!(
        with < without * 10 + std::time::Duration::from_secs(5),
        "sends slowed by a dead receiver: {without:?} without, {with:?} with"
    );
    let held = receiver.log();
    assert_eq!(held.len(), 1, "the first request is still held: {held:#?}");
    assert_eq!(held[0].answered, None);
    assert_eq!(held[0].event, "conversation.created");
    let deliveries = log(&fx.server, owner, webhook).await;
    assert_eq!(deliveries.len(), 2 + SENDS, "every event is recorded");
    assert!(deliveries.iter().all(|d| d["status"] == "pending"));
    drop(agent);
}

#[tokio::test]
async fn a_webhook_made_without_read_bodies_carries_no_bodies() {
    let fx = Fixture::with_roles(&["administrator", "operator"], &FAST).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let permissions = ["developers.manage", "conversations.view", "contacts.view"];
    let hooks_only = json!({"name": "Hooks", "permissions": permissions});
    let (status, role) = server.call(owner, "POST", "/v1/roles", hooks_only).await;
    assert_eq!(status, 201, "{role}");
    let (_, groups) = server.call(owner, "GET", "/v1/groups", Value::Null).await;
    let root = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["parent_id"].is_null())
        .unwrap()["id"]
        .clone();
    let hooks_only = json!([{"role": role["id"], "group_id": root}]);
    let make = |who: &Agent, url: String| {
        let body = json!({"url": url, "events": ["message.created"]});
        let token = who.token.clone();
        async move { server.call(&token, "POST", "/v1/webhooks", body).await }
    };

    // Made by a user without messages.read_bodies: null bodies.
    let developer = &fx.agents[1];
    let path = format!("/v1/users/{}/grants", developer.id);
    let (status, granted) = server.call(owner, "PUT", &path, hooks_only.clone()).await;
    assert_eq!(status, 200, "{granted}");
    let receiver = Receiver::start(&[], Reply::Status(200)).await;
    let (status, created) = make(developer, receiver.url()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["include_bodies"], false);
    receiver.set_secret(created["secret"].as_str().unwrap());
    fx.conversation("+4790000006").await;
    let seen = receiver
        .wait_for("the message", WAIT, |log| !log.is_empty())
        .await;
    let message = &seen[0].body["data"]["message"];
    assert_eq!(message["seq"], 1);
    assert!(message["body"].is_null(), "{message}");

    // Made by an administrator: bodies, until the administrator no longer
    // holds messages.read_bodies; asked at each send, not at creation.
    let admin = &fx.agents[0];
    let receiver = Receiver::start(&[], Reply::Status(200)).await;
    let (status, created) = make(admin, receiver.url()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["include_bodies"], true);
    receiver.set_secret(created["secret"].as_str().unwrap());
    fx.conversation("+4790000007").await;
    let seen = receiver
        .wait_for("the first message", WAIT, |log| !log.is_empty())
        .await;
    assert_eq!(
        seen[0].body["data"]["message"]["body"],
        "hello, anyone there?"
    );
    let path = format!("/v1/users/{}/grants", admin.id);
    let (status, granted) = server.call(owner, "PUT", &path, hooks_only).await;
    assert_eq!(status, 200, "{granted}");
    fx.conversation("+4790000008").await;
    let seen = receiver
        .wait_for("the second message", WAIT, |log| log.len() >= 2)
        .await;
    let message = &seen[1].body["data"]["message"];
    assert!(
        message["body"].is_null(),
        "the creator lost read_bodies: {message}"
    );

    // Neither do API keys make webhooks: one would outlive the key.
    let body = json!({"name": "Bot", "grants": [{"role": "administrator", "group_id": root}]});
    let (status, key) = server.call(owner, "POST", "/v1/api-keys", body).await;
    assert_eq!(status, 201, "{key}");
    let secret = key["key"].as_str().unwrap();
    let body = json!({"url": receiver.url(), "events": ["message.created"]});
    let (status, refused) = server.call(secret, "POST", "/v1/webhooks", body).await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api keys")
    );
}

#[tokio::test]
async fn nodes_of_a_cluster_share_the_outbox_and_keep_each_line_in_order() {
    let env = [
        FAST[0],
        FAST[1],
        FAST[2],
        ("SWITCHBOARD_WEBHOOK_CONCURRENCY", "4"),
    ];
    let cluster = Cluster::start(3, 0, &env).await;
    let owner = &cluster.owner.token;
    let receiver = Receiver::start(&[], Reply::FailFirst).await;
    subscribe(
        cluster.node(0),
        owner,
        &receiver,
        &["conversation.created", "message.created"],
    )
    .await;
    const MESSAGES: usize = 4;
    let handles = ["+4790000007", "+4790000008", "+4790000009"];
    for n in 0..MESSAGES {
        for (i, handle) in handles.iter().enumerate() {
            cluster
                .node(i)
                .inbound(&cluster.inbox_key, cluster.inbox, handle, &format!("m{n}"))
                .await;
        }
    }
    let all = handles.len() * (MESSAGES + 1);
    let seen = receiver
        .wait_for("every event accepted", WAIT, |log| {
            log.iter().filter(|r| r.answered == Some(200)).count() == all
        })
        .await;
    assert_eq!(seen.len(), 2 * all, "each refused once, then accepted once");
    for handle in handles {
        let line: Vec<_> = seen
            .iter()
            .filter(|r| r.body["data"]["conversation"]["contact"]["handle"] == handle)
            .collect();
        each_refused_then_accepted(&line);
        let seqs: Vec<_> = line
            .iter()
            .step_by(2)
            .map(|r| r.body["data"]["message"]["seq"].clone())
            .collect();
        let mut expected = vec![Value::Null];
        expected.extend((1..=MESSAGES).map(|seq| json!(seq)));
        assert_eq!(seqs, expected);
    }
}

/// The requests of one conversation's line, each delivery refused once
/// and accepted at its retry, before the next event's first try: the next
/// event waits until the earlier one is accepted.
fn each_refused_then_accepted<R: std::borrow::Borrow<receiver::Received>>(line: &[R]) {
    for pair in line.chunks(2) {
        let (first, retry) = (pair[0].borrow(), pair[1].borrow());
        assert_eq!(
            (first.delivery.as_str(), first.answered, retry.answered),
            (retry.delivery.as_str(), Some(500), Some(200)),
            "the next event waits until the earlier one is accepted: {:#?}",
            line.iter()
                .map(|r| r.borrow().delivery.clone())
                .collect::<Vec<_>>()
        );
    }
}
