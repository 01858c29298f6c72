//! Message history: order, limits, the shared sequence.

use std::sync::Arc;

use chrono::Timelike;
use switchboard_core::ids::{ConversationId, NodeId};
use switchboard_core::model::Direction;
use switchboard_store::Store;

use crate::fixtures::{LEASE, agent, append, grant, inbound, tenant};

async fn history_order_and_limits(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let mut conv = None;
    for n in 1..=7 {
        conv = Some(
            inbound(&store, &acme.inbox, "carol", &format!("m{n}"))
                .await
                .conversation
                .id,
        );
    }
    let conv = conv.expect("a conversation");
    let seq = |list: Vec<switchboard_core::model::Message>| {
        list.iter().map(|m| m.seq).collect::<Vec<_>>()
    };

    let all = store.messages_after(conv, 0, 500).await.expect("after");
    assert_eq!(seq(all.clone()), (1..=7).collect::<Vec<_>>());
    assert_eq!(all[0].body, "m1");
    assert_eq!(
        seq(store.messages_after(conv, 3, 2).await.expect("after")),
        vec![4, 5]
    );
    assert_eq!(
        seq(store.messages_after(conv, 7, 10).await.expect("after")),
        Vec::<u64>::new()
    );
    assert_eq!(
        seq(store
            .messages_after(conv, u64::MAX, 10)
            .await
            .expect("after")),
        Vec::<u64>::new()
    );
    assert_eq!(
        seq(store.messages_after(conv, 0, 0).await.expect("after")),
        Vec::<u64>::new()
    );

    assert_eq!(
        seq(store.recent_messages(conv, 3).await.expect("recent")),
        vec![5, 6, 7],
        "newest, oldest first"
    );
    assert_eq!(
        seq(store.recent_messages(conv, 100).await.expect("recent")),
        (1..=7).collect::<Vec<_>>()
    );

    let unknown = ConversationId::new();
    assert!(
        store
            .messages_after(unknown, 0, 10)
            .await
            .expect("after")
            .is_empty()
    );
    assert!(
        store
            .recent_messages(unknown, 10)
            .await
            .expect("recent")
            .is_empty()
    );
}

async fn inbound_and_outbound_share_the_sequence(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let bob = agent(&store, &acme, "bob").await;
    let first = inbound(&store, &acme.inbox, "carol", "hi").await;
    let conv = first.conversation.id;
    let epoch = grant(&store, conv, bob.id, NodeId::new(), false, LEASE).await;
    let reply = append(&store, conv, bob.id, epoch, "c1")
        .await
        .expect("append")
        .into_message();
    let again = inbound(&store, &acme.inbox, "carol", "thanks").await;

    assert_eq!((first.message.seq, reply.seq, again.message.seq), (1, 2, 3));
    assert_eq!(reply.direction, Direction::Outbound);
    assert_eq!(reply.author, Some(bob.as_ref()));
    assert_eq!(reply.body, "reply c1");

    let history = store.messages_after(conv, 0, 500).await.expect("history");
    assert_eq!(
        history,
        vec![first.message, reply, again.message],
        "read back exactly as returned"
    );
    for message in &history {
        assert_eq!(
            message.created_at.nanosecond() % 1_000_000,
            0,
            "millisecond precision"
        );
    }
    let read = store
        .conversation(conv)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read.last_seq, 3);
    assert_eq!(read.last_message_at, Some(history[2].created_at));
}

contract_tests!(
    history_order_and_limits,
    inbound_and_outbound_share_the_sequence
);
