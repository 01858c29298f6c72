//! Catching up on a backlog of large messages: a `join` ack is bounded by
//! bytes as well as by count, so the joiner's outbox never overflows and
//! any backlog can be fetched by joining again from the last seq.

use uuid::Uuid;

use crate::support::{Fixture, WsClient};

/// A body near the 64 KiB default limit on messages.
const LARGE: usize = 60 * 1024;
/// The outbox of these servers: 2 MiB, less than fifty large messages.
const OUTBOX_BYTES: &str = "2097152";

/// A conversation with `count` large customer messages after its first.
async fn backlog(fx: &Fixture, handle: &str, count: usize) -> Uuid {
    let conversation = fx.conversation(handle).await;
    let body = "x".repeat(LARGE);
    for _ in 0..count {
        fx.server
            .inbound(&fx.inbox_key, fx.inbox, handle, &body)
            .await;
    }
    conversation
}

/// Still served: a ping is answered (a closed connection panics here).
async fn still_open(client: &mut WsClient) {
    client.settle().await;
}

#[tokio::test]
async fn a_backlog_of_large_messages_is_paged_through_without_a_close() {
    let fx = Fixture::new(1, &[("SWITCHBOARD_OUTBOX_BYTES", OUTBOX_BYTES)]).await;
    let conversation = backlog(&fx, "+15551000", 300).await;
    let mut reader = fx.connect(&fx.agents[0]).await;
    let mut seqs = Vec::new();
    let mut pages = 0;
    loop {
        let after = seqs.last().copied().unwrap_or(0);
        let ack = reader.join_after(conversation, Some(after)).await;
        pages += 1;
        let page: Vec<u64> = ack.messages.unwrap().iter().map(|m| m.seq).collect();
        assert!(!page.is_empty(), "page {pages} after {after} is empty");
        assert_eq!(
            page[0],
            after + 1,
            "page {pages} starts where the last ended"
        );
        let bytes: usize = page.len() * LARGE;
        assert!(
            bytes <= 2 * 1024 * 1024,
            "page {pages} carries {} messages",
            page.len()
        );
        seqs.extend(page);
        if ack.complete == Some(true) {
            assert_eq!(ack.last_seq, seqs.last().copied());
            break;
        }
        assert_eq!(ack.complete, Some(false));
        assert!(pages < 301, "paging makes progress");
    }
    assert_eq!(seqs, (1..=301).collect::<Vec<_>>(), "gap-free and complete");
    assert!(pages > 1, "{pages} page(s): the backlog needs several");
    still_open(&mut reader).await;
}

#[tokio::test]
async fn the_latest_messages_are_those_that_fit() {
    let fx = Fixture::new(1, &[("SWITCHBOARD_OUTBOX_BYTES", OUTBOX_BYTES)]).await;
    let conversation = backlog(&fx, "+15551001", 60).await;
    let mut reader = fx.connect(&fx.agents[0]).await;
    let ack = reader.join(conversation).await;
    let seqs: Vec<u64> = ack.messages.unwrap().iter().map(|m| m.seq).collect();
    assert!(
        !seqs.is_empty() && seqs.len() < 50,
        "{} messages",
        seqs.len()
    );
    let newest = *seqs.last().unwrap();
    assert_eq!(newest, 61, "the newest are returned");
    assert_eq!(
        seqs,
        (newest + 1 - seqs.len() as u64..=newest).collect::<Vec<_>>(),
        "contiguous up to the newest"
    );
    assert_eq!(ack.last_seq, Some(61));
    still_open(&mut reader).await;
}
