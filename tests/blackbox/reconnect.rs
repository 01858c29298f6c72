//! A client that comes back with `after_seq` gets exactly what it missed.

use switchboard_proto::ServerFrame;

use crate::support::Fixture;

#[tokio::test]
async fn reconnecting_with_after_seq_returns_exactly_the_missed_messages() {
    let fx = Fixture::new(2, &[("SWITCHBOARD_RATE_LIMIT_PER_SEC", "1000")]).await;
    let (ann, bob) = (&fx.agents[0], &fx.agents[1]);
    let conversation = fx.conversation("+15550500").await;
    let mut a = fx.connect(ann).await;
    a.join(conversation).await;
    let mut b = fx.connect(bob).await;
    b.join(conversation).await;

    let mut last_seen = 0;
    for i in 0..5 {
        let m = a
            .say(conversation, &format!("before-{i}"), &format!("before {i}"))
            .await
            .unwrap();
        last_seen = b.expect_message(conversation, m.seq).await.seq;
    }
    drop(b);

    let mut missed = Vec::new();
    for i in 0..7 {
        missed.push(
            a.say(conversation, &format!("during-{i}"), &format!("during {i}"))
                .await
                .unwrap(),
        );
    }
    // An inbound message while away counts too.
    fx.server
        .inbound(&fx.inbox_key, fx.inbox, "+15550500", "are you still there?")
        .await;

    let mut b = fx.connect(bob).await;
    let back = b.join_after(conversation, Some(last_seen)).await;
    let got = back.messages.unwrap();
    let seqs: Vec<u64> = got.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (last_seen + 1..=last_seen + 8).collect::<Vec<_>>());
    assert_eq!(&got[..7], &missed[..]);
    assert_eq!(back.last_seq, Some(last_seen + 8));
    assert_eq!(back.complete, Some(true));

    // Live from here on, without repeating anything.
    let next = a.say(conversation, "after", "welcome back").await.unwrap();
    b.expect_message(conversation, next.seq).await;
    let repeats = b
        .settle()
        .await
        .into_iter()
        .filter(|f| matches!(f, ServerFrame::Message(_)))
        .count();
    assert_eq!(repeats, 0, "no message arrived twice");
}

#[tokio::test]
async fn a_long_absence_is_paged_in_chunks_of_five_hundred() {
    let fx = Fixture::new(
        1,
        &[
            ("SWITCHBOARD_RATE_LIMIT_PER_SEC", "100000"),
            ("SWITCHBOARD_RATE_LIMIT_BURST", "100000"),
        ],
    )
    .await;
    let conversation = fx.conversation("+15550501").await;
    let mut a = fx.connect(&fx.agents[0]).await;
    a.join(conversation).await;
    for i in 0..520 {
        a.say(conversation, &format!("m{i}"), "x").await.unwrap();
    }
    let mut reader = fx.connect(&fx.agents[0]).await;
    let first = reader.join_after(conversation, Some(0)).await;
    let page = first.messages.unwrap();
    assert_eq!(page.len(), 500);
    assert_eq!(first.complete, Some(false));
    let rest = reader
        .join_after(conversation, Some(page.last().unwrap().seq))
        .await;
    let rest = rest.messages.unwrap();
    assert_eq!(rest.first().unwrap().seq, 501);
    assert_eq!(rest.last().unwrap().seq, 521);

    // Without after_seq: the latest fifty.
    let mut fresh = fx.connect(&fx.agents[0]).await;
    let recent = fresh.join(conversation).await.messages.unwrap();
    assert_eq!(recent.len(), 50);
    assert_eq!(recent.last().unwrap().seq, 521);
    assert_eq!(recent.first().unwrap().seq, 472);
}
