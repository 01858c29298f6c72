//! Customer messages arriving through `POST /v1/inbound`.

use serde_json::json;
use switchboard_proto::{ConversationStatus, Direction, ServerFrame};

use crate::support::Fixture;
use crate::support::client::subscribe_inbox;

#[tokio::test]
async fn an_inbound_message_reaches_viewers_and_inbox_subscribers() {
    let fx = Fixture::new(2, &[]).await;
    let conversation = fx.conversation("+15550800").await;
    let mut viewer = fx.connect(&fx.agents[0]).await;
    viewer.join(conversation).await;
    let mut lister = fx.connect(&fx.agents[1]).await;
    let listed = lister
        .request(subscribe_inbox())
        .await
        .unwrap()
        .conversations
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, conversation);
    assert_eq!(listed[0].status, ConversationStatus::Open);
    assert_eq!(listed[0].last_seq, 1);
    assert_eq!(listed[0].contact.handle, "+15550800");

    let stored = fx
        .server
        .inbound(&fx.inbox_key, fx.inbox, "+15550800", "second message")
        .await;
    assert_eq!(stored["conversation_id"], json!(conversation));
    assert_eq!(stored["message"]["seq"], 2);
    assert_eq!(stored["message"]["direction"], "inbound");
    assert!(stored["message"]["author"].is_null());

    let m = viewer.expect_message(conversation, 2).await;
    assert_eq!(m.direction, Direction::Inbound);
    assert_eq!(m.body.as_deref(), Some("second message"));
    lister
        .expect("the card update", |f| {
            matches!(f, ServerFrame::Conversation(c) if c.conversation.id == conversation && c.conversation.last_seq == 2)
        })
        .await;

    // A new contact starts a new conversation, and subscribers hear of it.
    let other = fx.conversation("+15550801").await;
    assert_ne!(other, conversation);
    lister
        .expect(
            "the new card",
            |f| matches!(f, ServerFrame::Conversation(c) if c.conversation.id == other),
        )
        .await;
}

#[tokio::test]
async fn inbound_credentials_and_input_are_checked() {
    let fx = Fixture::new(1, &[("SWITCHBOARD_MAX_MESSAGE_BYTES", "100")]).await;
    let client = reqwest::Client::new();
    let post = |key: Option<&str>, body: serde_json::Value| {
        let mut request = client.post(fx.server.http("/v1/inbound")).json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    let good = json!({"inbox_id": fx.inbox, "contact": {"handle": "+1555"}, "body": "hi"});
    assert_eq!(post(None, good.clone()).await.unwrap().status(), 401);
    assert_eq!(
        post(Some("sbk_wrong"), good.clone())
            .await
            .unwrap()
            .status(),
        401
    );
    let other_inbox =
        json!({"inbox_id": uuid::Uuid::now_v7(), "contact": {"handle": "+1555"}, "body": "hi"});
    assert_eq!(
        post(Some(&fx.inbox_key), other_inbox)
            .await
            .unwrap()
            .status(),
        403
    );
    let no_handle = json!({"inbox_id": fx.inbox, "contact": {"handle": " "}, "body": "hi"});
    assert_eq!(
        post(Some(&fx.inbox_key), no_handle).await.unwrap().status(),
        400
    );
    let missing = json!({"inbox_id": fx.inbox, "body": "hi"});
    let response = post(Some(&fx.inbox_key), missing).await.unwrap();
    assert_eq!(response.status(), 400);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "bad_request");
    let big =
        json!({"inbox_id": fx.inbox, "contact": {"handle": "+1555"}, "body": "x".repeat(101)});
    assert_eq!(post(Some(&fx.inbox_key), big).await.unwrap().status(), 413);

    // An operator's token may not post inbound; the owner's may.
    let as_operator = post(Some(&fx.agents[0].token), good.clone()).await.unwrap();
    assert_eq!(as_operator.status(), 403);
    let as_owner = post(Some(&fx.owner.token), good).await.unwrap();
    assert_eq!(as_owner.status(), 201);
}
