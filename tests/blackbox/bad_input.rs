//! Bad input gets a clear error and harms nobody else.

use switchboard_proto::{ErrorCode, ServerFrame};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use uuid::Uuid;

use crate::support::client::{Ended, subscribe_inbox};
use crate::support::{Fixture, WsClient};

async fn error_of(
    client: &mut WsClient,
    reference: Option<&str>,
) -> switchboard_proto::server::ErrorFrame {
    match client
        .expect(
            "an error",
            |f| matches!(f, ServerFrame::Error(e) if e.reference.as_deref() == reference),
        )
        .await
    {
        ServerFrame::Error(error) => error,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn each_malformed_frame_gets_its_error_and_the_connection_lives_on() {
    let fx = Fixture::new(1, &[]).await;
    let mut c = fx.connect(&fx.agents[0]).await;

    c.send_text("{not json").await;
    let e = error_of(&mut c, None).await;
    assert_eq!(e.code, ErrorCode::BadRequest);
    assert!(e.message.starts_with("malformed json"), "{}", e.message);

    c.send_text(r#"{"type":"dance","ref":"u1"}"#).await;
    let e = error_of(&mut c, Some("u1")).await;
    assert_eq!(
        (e.code, e.message.as_str()),
        (ErrorCode::BadRequest, "unknown frame type `dance`")
    );

    c.send_text(r#"{"ref":"u2","conversation_id":"x"}"#).await;
    let e = error_of(&mut c, Some("u2")).await;
    assert_eq!(
        (e.code, e.message.as_str()),
        (ErrorCode::BadRequest, "missing field `type`")
    );

    c.send_text(r#"{"type":"join","ref":"u3"}"#).await;
    let e = error_of(&mut c, Some("u3")).await;
    assert_eq!(e.code, ErrorCode::BadRequest);
    assert!(e.message.contains("conversation_id"), "{}", e.message);

    c.send_text(r#"{"type":"join","ref":"u4","conversation_id":"not-a-uuid"}"#)
        .await;
    assert_eq!(
        error_of(&mut c, Some("u4")).await.code,
        ErrorCode::BadRequest
    );

    c.send_text(r#"{"type":"send","ref":"u5","conversation_id":"0192f3c1-0000-7000-8000-000000000000","client_msg_id":"a","body":7}"#).await;
    assert_eq!(
        error_of(&mut c, Some("u5")).await.code,
        ErrorCode::BadRequest
    );

    let unknown = Uuid::now_v7();
    c.send_text(format!(
        r#"{{"type":"join","ref":"u6","conversation_id":"{unknown}"}}"#
    ))
    .await;
    assert_eq!(error_of(&mut c, Some("u6")).await.code, ErrorCode::NotFound);

    c.send_raw(WsMessage::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(error_of(&mut c, None).await.code, ErrorCode::BadRequest);

    // Still serving this connection.
    let conversation = fx.conversation("+15550700").await;
    assert!(c.join(conversation).await.presence.is_some());
}

#[tokio::test]
async fn another_accounts_conversation_is_not_found() {
    let fx = Fixture::new(1, &[]).await;
    let conversation = fx.conversation("+15550701").await;
    // A second account on the same server.
    let other = fx.server.create_rival_account().await;
    assert!(other["account_id"].is_string());
    let token = fx.server.login("eve@rival.test").await;
    let mut eve = WsClient::connect(&fx.server, &token).await;
    for frame in [
        format!(r#"{{"type":"join","ref":"f1","conversation_id":"{conversation}"}}"#),
        format!(r#"{{"type":"take","ref":"f2","conversation_id":"{conversation}"}}"#),
        format!(
            r#"{{"type":"send","ref":"f3","conversation_id":"{conversation}","client_msg_id":"x","body":"hi"}}"#
        ),
    ] {
        eve.send_text(frame).await;
    }
    for reference in ["f1", "f2", "f3"] {
        let e = error_of(&mut eve, Some(reference)).await;
        assert_eq!(
            e.code,
            ErrorCode::NotFound,
            "{reference}: foreign ids look like unknown ones"
        );
    }
    // Eve's inbox list does not show Acme's conversation.
    let listed = eve.request(subscribe_inbox()).await.unwrap();
    assert!(listed.conversations.unwrap().is_empty());
}

#[tokio::test]
async fn a_one_mebibyte_frame_closes_only_its_own_connection() {
    let fx = Fixture::new(2, &[]).await;
    let conversation = fx.conversation("+15550702").await;
    let mut bystander = fx.connect(&fx.agents[0]).await;
    bystander.join(conversation).await;
    let mut offender = fx.connect(&fx.agents[1]).await;

    let huge = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(1024 * 1024));
    let _ = offender.send_raw(WsMessage::Text(huge.into())).await;
    assert_eq!(offender.closed().await, Ended::Closed(Some(1009)));

    // Everyone else is served as before.
    let m = bystander
        .say(conversation, "after-huge", "still here")
        .await
        .unwrap();
    assert_eq!(m.body.as_deref(), Some("still here"));
    assert!(
        fx.server
            .metric("switchboard_errors_total{code=\"too_large\"}")
            .await
            >= 1.0
    );
}

#[tokio::test]
async fn a_flood_is_rate_limited() {
    let fx = Fixture::new(
        1,
        &[
            ("SWITCHBOARD_RATE_LIMIT_PER_SEC", "1"),
            ("SWITCHBOARD_RATE_LIMIT_BURST", "3"),
        ],
    )
    .await;
    let mut c = fx.connect(&fx.agents[0]).await;
    for i in 0..4 {
        c.send_text(format!(r#"{{"type":"ping","ref":"p{i}"}}"#))
            .await;
    }
    for i in 0..3 {
        c.answer(&format!("p{i}")).await.expect("within the burst");
    }
    let limited = c.answer("p3").await.unwrap_err();
    assert_eq!(limited.code, ErrorCode::RateLimited);
    assert!(
        limited
            .retry_after_ms
            .is_some_and(|ms| ms > 0 && ms <= 1000)
    );
}

#[tokio::test]
async fn a_client_that_does_not_read_is_disconnected_and_others_are_unaffected() {
    let fx = Fixture::new(
        2,
        &[
            ("SWITCHBOARD_RATE_LIMIT_PER_SEC", "100000"),
            ("SWITCHBOARD_RATE_LIMIT_BURST", "100000"),
            ("SWITCHBOARD_OUTBOX_FRAMES", "16"),
            ("SWITCHBOARD_OUTBOX_BYTES", "524288"),
        ],
    )
    .await;
    let conversation = fx.conversation("+15550703").await;
    let mut writer = fx.connect(&fx.agents[0]).await;
    writer.join(conversation).await;
    let mut sleeper = fx.connect(&fx.agents[1]).await;
    sleeper.join(conversation).await;
    // The sleeper stops reading; the writer sends far more than any socket buffers.
    let body = "z".repeat(60_000);
    let mut i = 0;
    while fx.server.metric("switchboard_slow_consumers_total").await < 1.0 {
        for _ in 0..20 {
            writer
                .say(conversation, &format!("big-{i}"), &body)
                .await
                .expect("the writer is unaffected");
            i += 1;
        }
        assert!(i < 5_000, "the sleeper was never disconnected");
    }
    assert!(matches!(
        sleeper.closed().await,
        Ended::Closed(_) | Ended::Dropped
    ));
    writer
        .say(conversation, "after", "still fine")
        .await
        .expect("the writer is unaffected");
}
