//! One use case, one refusal: an application error reaches the client with
//! the same code, message and extra fields over WebSocket (an `error`
//! frame) and over HTTP (the status of its kind and `{"error": {...}}`), and
//! the command line prints the same message.

use serde_json::{Value, json};
use switchboard_proto::ClientFrame;
use switchboard_proto::client::{Assign, Availability, SetAvailability};
use switchboard_proto::server::ErrorFrame;
use uuid::Uuid;

use crate::support::Fixture;
use crate::support::client::conversation_ref;

async fn http(fx: &Fixture, token: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    fx.server.call(token, method, path, body).await
}

/// The WebSocket error and the HTTP one are the same error.
fn same(ws: &ErrorFrame, (status, body): &(u16, Value), expected_status: u16) {
    assert_eq!(*status, expected_status, "{body}");
    let error = &body["error"];
    assert_eq!(error["code"], ws.code.as_str(), "{body} vs {ws:?}");
    assert_eq!(error["message"], ws.message.as_str());
    assert_eq!(error["load"].as_u64(), ws.load.map(u64::from));
    assert_eq!(error["capacity"].as_u64(), ws.capacity.map(u64::from));
}

fn assign(conversation: Uuid, user: Uuid) -> ClientFrame {
    ClientFrame::Assign(Assign {
        reference: None,
        conversation_id: conversation,
        user_id: user,
        force: false,
    })
}

#[tokio::test]
async fn refusals_are_the_same_over_websocket_and_http() {
    let fx = Fixture::with_roles(&["operator", "viewer", "operator"], &[]).await;
    let (ann, vic, bob) = (&fx.agents[0], &fx.agents[1], &fx.agents[2]);
    let conversation = fx.conversation("+15551100").await;
    let mut a = fx.connect(ann).await;
    let mut v = fx.connect(vic).await;
    let mut boss = fx.connect(&fx.owner).await;

    // Not found: a conversation that does not exist.
    let nowhere = Uuid::now_v7();
    let ws = a
        .request(ClientFrame::Resolve(conversation_ref(nowhere)))
        .await
        .unwrap_err();
    let path = format!("/v1/conversations/{nowhere}/resolve");
    same(
        &ws,
        &http(&fx, &ann.token, "POST", &path, json!({})).await,
        404,
    );

    // Forbidden: an operator may not assign.
    let ws = a.request(assign(conversation, ann.id)).await.unwrap_err();
    let path = format!("/v1/conversations/{conversation}/assign");
    let body = json!({"user_id": ann.id});
    same(
        &ws,
        &http(&fx, &ann.token, "POST", &path, body.clone()).await,
        403,
    );

    // Forbidden with the agent's load and capacity: an assignment beyond it.
    let (status, _) = http(
        &fx,
        &fx.owner.token,
        "PUT",
        &format!("/v1/users/{}/capacity", bob.id),
        json!({"capacity": 0}),
    )
    .await;
    assert_eq!(status, 200);
    let ws = boss
        .request(assign(conversation, bob.id))
        .await
        .unwrap_err();
    assert_eq!((ws.load, ws.capacity), (Some(0), Some(0)));
    let body = json!({"user_id": bob.id});
    same(
        &ws,
        &http(&fx, &fx.owner.token, "POST", &path, body).await,
        409,
    );

    // Forbidden: a viewer is never assigned conversations.
    let ws = v
        .request(ClientFrame::SetAvailability(SetAvailability {
            reference: None,
            status: Availability::Away,
        }))
        .await
        .unwrap_err();
    let away = json!({"status": "away"});
    same(
        &ws,
        &http(&fx, &vic.token, "PUT", "/v1/agents/me/availability", away).await,
        403,
    );
}

#[tokio::test]
async fn the_command_line_refuses_with_the_words_of_http() {
    let fx = Fixture::new(1, &[]).await;
    let cli = |args: &[&str]| {
        let output = std::process::Command::new(crate::support::server::binary())
            .args(args)
            .env("SWITCHBOARD_DATABASE_URL", &fx.server.database_url)
            .env("SWITCHBOARD_LOG", "warn")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} was refused");
        String::from_utf8_lossy(&output.stderr).trim().to_owned()
    };
    let account = fx.account.to_string();
    let printed = cli(&["team", "create", "--account", &account, "--name", "  "]);
    let (status, body) = http(
        &fx,
        &fx.owner.token,
        "POST",
        "/v1/teams",
        json!({"name": "  "}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        printed,
        format!("error: {}", body["error"]["message"].as_str().unwrap())
    );

    let agent = fx.agents[0].id.to_string();
    let printed = cli(&[
        "user",
        "set-capacity",
        "--user",
        &agent,
        "--capacity",
        "10001",
    ]);
    let path = format!("/v1/users/{agent}/capacity");
    let (status, body) = http(
        &fx,
        &fx.owner.token,
        "PUT",
        &path,
        json!({"capacity": 10001}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        printed,
        format!("error: {}", body["error"]["message"].as_str().unwrap())
    );
}
