//! Writing: only the active responder, acked after commit, delivered to every
//! observer, stored once per `client_msg_id`.

use switchboard_proto::{Direction, ErrorCode, ServerFrame};

use crate::support::Fixture;
use crate::support::client::typing;

#[tokio::test]
async fn only_the_active_responder_writes_and_everyone_receives_it() {
    let fx = Fixture::new(3, &[]).await;
    let (ann, bob, cat) = (&fx.agents[0], &fx.agents[1], &fx.agents[2]);
    let conversation = fx.conversation("+15550400").await;
    let mut a = fx.connect(ann).await;
    let mut b = fx.connect(bob).await;
    let mut c = fx.connect(cat).await;
    let last = a.join(conversation).await.last_seq.unwrap();
    b.join(conversation).await;
    c.join(conversation).await;

    // An observer's send is refused and stores nothing.
    let refused = b
        .say(conversation, "b-1", "let me answer")
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotActive);

    let stored = a
        .say(conversation, "a-1", "Hi! How can I help?")
        .await
        .expect("ack");
    assert_eq!(
        stored.seq,
        last + 1,
        "the refused send took no sequence number"
    );
    assert_eq!(stored.direction, Direction::Outbound);
    assert_eq!(stored.author.as_ref().unwrap().user_id, ann.id);
    assert_eq!(stored.body.as_deref(), Some("Hi! How can I help?"));
    for client in [&mut b, &mut c] {
        let got = client.expect_message(conversation, stored.seq).await;
        assert_eq!(got, stored);
    }

    // The ack came after the commit: a fresh reader finds the message.
    let mut late = fx.connect(cat).await;
    let history = late.join_after(conversation, Some(0)).await;
    let seqs: Vec<u64> = history.messages.unwrap().iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=stored.seq).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_repeated_client_msg_id_stores_once() {
    let fx = Fixture::new(2, &[]).await;
    let conversation = fx.conversation("+15550401").await;
    let mut a = fx.connect(&fx.agents[0]).await;
    let mut b = fx.connect(&fx.agents[1]).await;
    a.join(conversation).await;
    b.join(conversation).await;

    let first = a.say(conversation, "same-id", "once").await.unwrap();
    let again = a.say(conversation, "same-id", "once").await.unwrap();
    assert_eq!(again, first, "the retry is acked with the same message");
    let next = a.say(conversation, "other-id", "twice").await.unwrap();
    assert_eq!(next.seq, first.seq + 1, "the retry stored nothing");

    b.expect_message(conversation, next.seq).await;
    let deliveries = b
        .settle()
        .await
        .into_iter()
        .filter(|f| matches!(f, ServerFrame::Message(m) if m.message.seq == first.seq))
        .count();
    assert_eq!(deliveries, 1, "observers got the message once");
}

#[tokio::test]
async fn typing_reaches_the_others_and_only_the_active_may_type() {
    let fx = Fixture::new(2, &[]).await;
    let (ann, bob) = (&fx.agents[0], &fx.agents[1]);
    let conversation = fx.conversation("+15550402").await;
    let mut a = fx.connect(ann).await;
    let mut b = fx.connect(bob).await;
    a.join(conversation).await;
    b.join(conversation).await;

    assert_eq!(
        b.request(typing(conversation)).await.unwrap_err().code,
        ErrorCode::NotActive
    );
    a.request(typing(conversation))
        .await
        .expect("the holder types");
    let seen = b
        .expect("typing", |f| matches!(f, ServerFrame::Typing(_)))
        .await;
    match seen {
        ServerFrame::Typing(t) => {
            assert_eq!(t.user_id, ann.id);
            assert_eq!(t.conversation_id, conversation);
        }
        _ => unreachable!(),
    }
    assert!(
        !a.settle()
            .await
            .iter()
            .any(|f| matches!(f, ServerFrame::Typing(_))),
        "the typist does not hear themselves"
    );
}

#[tokio::test]
async fn oversized_and_empty_bodies_are_refused() {
    let fx = Fixture::new(1, &[("SWITCHBOARD_MAX_MESSAGE_BYTES", "1000")]).await;
    let conversation = fx.conversation("+15550403").await;
    let mut a = fx.connect(&fx.agents[0]).await;
    let last = a.join(conversation).await.last_seq.unwrap();
    let error = a
        .say(conversation, "big", &"x".repeat(1001))
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::TooLarge);
    assert_eq!(error.max_bytes, Some(1000));
    let error = a.say(conversation, "empty", "   ").await.unwrap_err();
    assert_eq!(error.code, ErrorCode::BadRequest);
    let ok = a
        .say(conversation, "fits", &"x".repeat(1000))
        .await
        .unwrap();
    assert_eq!(ok.seq, last + 1);
}
