//! Inbound messages, conversations and the inbox list.

use std::sync::Arc;

use switchboard_core::ids::{ConversationId, InboxId, NodeId};
use switchboard_core::model::{ConversationFilter, ConversationStatus, Direction, NewInbound};
use switchboard_store::{Store, StoreError};

use crate::fixtures::{
    LEASE, agent, conversation, grant, inbound, inbox, next_millisecond, seqs, tenant,
};
use crate::harness::Clocked;

async fn inbound_creates_then_reuses(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let first = store
        .record_inbound(NewInbound {
            inbox_id: acme.inbox.id,
            handle: "+15550001",
            contact_name: Some("Carol"),
            body: "hi",
        })
        .await
        .expect("first inbound");
    assert!(first.created);
    assert_eq!(first.message.seq, 1);
    assert_eq!(first.message.direction, Direction::Inbound);
    assert_eq!(first.message.author, None);
    assert_eq!(first.message.body, "hi");
    let conv = &first.conversation;
    assert_eq!(conv.account_id, acme.account.id);
    assert_eq!(conv.inbox_id, acme.inbox.id);
    assert_eq!(conv.contact.handle, "+15550001");
    assert_eq!(conv.contact.name.as_deref(), Some("Carol"));
    assert_eq!(conv.status, ConversationStatus::Open);
    assert_eq!(conv.last_seq, 1);
    assert_eq!(conv.last_message_at, Some(first.message.created_at));
    assert_eq!(
        (
            conv.assignee.clone(),
            conv.answered_by.clone(),
            conv.queue_position
        ),
        (None, None, Some(1)),
        "no agent online: it waits in the queue"
    );

    let second = inbound(&store, &acme.inbox, "+15550001", "still there?").await;
    assert!(!second.created);
    assert_eq!(second.conversation.id, conv.id);
    assert_eq!(
        second.conversation.contact, conv.contact,
        "same contact, name kept"
    );
    let third = inbound(&store, &acme.inbox, "+15550001", "hello?").await;
    assert_eq!((second.message.seq, third.message.seq), (2, 3));
    assert_eq!(third.conversation.last_seq, 3);

    assert_eq!(seqs(&store, conv.id).await, vec![1, 2, 3], "gap-free");
    let stored = store
        .conversation(conv.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        stored, third.conversation,
        "what is read equals what was returned"
    );
}

async fn contacts_per_account_conversations_per_inbox(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let web = inbox(&store, &acme.account, "acme-web").await;
    let sms = inbound(&store, &acme.inbox, "carol", "via sms").await;
    let chat = inbound(&store, &web, "carol", "via web").await;
    assert!(chat.created, "one conversation per inbox and contact");
    assert_ne!(sms.conversation.id, chat.conversation.id);
    assert_eq!(
        sms.conversation.contact.id, chat.conversation.contact.id,
        "one contact per account"
    );

    let other = inbound(&store, &acme.inbox, "dave", "me too").await;
    assert!(other.created);
    assert_ne!(other.conversation.contact.id, sms.conversation.contact.id);
    assert_eq!(other.message.seq, 1, "seqs are per conversation");

    let globex = tenant(&store, "globex").await;
    let elsewhere = inbound(&store, &globex.inbox, "carol", "other business").await;
    assert_ne!(
        elsewhere.conversation.contact.id,
        sms.conversation.contact.id
    );
}

async fn inbound_to_unknown_inbox(store: Arc<dyn Store>) {
    let result = store
        .record_inbound(NewInbound {
            inbox_id: InboxId::new(),
            handle: "x",
            contact_name: None,
            body: "anyone?",
        })
        .await;
    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    assert_eq!(
        store
            .conversation(ConversationId::new())
            .await
            .expect("read"),
        None
    );
}

async fn list_newest_activity_first(Clocked { store, clock }: Clocked) {
    let acme = tenant(&store, "acme").await;
    let a = conversation(&store, &acme, "a").await;
    next_millisecond(&clock);
    let b = conversation(&store, &acme, "b").await;
    next_millisecond(&clock);
    let c = conversation(&store, &acme, "c").await;
    next_millisecond(&clock);
    inbound(&store, &acme.inbox, "a", "again").await;

    let filter = ConversationFilter {
        account_id: acme.account.id,
        assignee: None,
        limit: 50,
    };
    let ids = |list: Vec<switchboard_core::model::Conversation>| {
        list.into_iter().map(|c| c.id).collect::<Vec<_>>()
    };
    let list = store.conversations(filter).await.expect("list");
    assert_eq!(ids(list.clone()), vec![a, c, b]);
    assert!(
        list.windows(2)
            .all(|w| w[0].last_message_at >= w[1].last_message_at)
    );

    let two = store
        .conversations(ConversationFilter { limit: 2, ..filter })
        .await
        .expect("list");
    assert_eq!(ids(two), vec![a, c]);
}

async fn list_is_per_account(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let ours = conversation(&store, &acme, "carol").await;
    let theirs = conversation(&store, &globex, "carol").await;

    let list = store
        .conversations(ConversationFilter {
            account_id: acme.account.id,
            assignee: None,
            limit: 50,
        })
        .await
        .expect("list");
    assert_eq!(list.iter().map(|c| c.id).collect::<Vec<_>>(), vec![ours]);
    let list = store
        .conversations(ConversationFilter {
            account_id: globex.account.id,
            assignee: None,
            limit: 50,
        })
        .await
        .expect("list");
    assert_eq!(list.iter().map(|c| c.id).collect::<Vec<_>>(), vec![theirs]);

    let bob = agent(&store, &acme, "bob").await;
    let assigned = store
        .conversations(ConversationFilter {
            account_id: acme.account.id,
            assignee: Some(bob.id),
            limit: 50,
        })
        .await
        .expect("list");
    assert!(assigned.is_empty(), "nothing is assigned yet");
}

async fn answered_by_follows_the_lease(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let bob = agent(&store, &acme, "bob").await;
    let conv = conversation(&store, &acme, "carol").await;
    grant(&store, conv, bob.id, NodeId::new(), false, LEASE).await;

    let read = store
        .conversation(conv)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read.answered_by, Some(bob.as_ref()));
    let list = store
        .conversations(ConversationFilter {
            account_id: acme.account.id,
            assignee: None,
            limit: 10,
        })
        .await
        .expect("list");
    assert_eq!(list[0].answered_by, Some(bob.as_ref()));

    let epoch = store.lock_state(conv).await.expect("state").epoch;
    assert!(
        store
            .release_lock(conv, bob.id, epoch)
            .await
            .expect("release")
    );
    let read = store
        .conversation(conv)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read.answered_by, None);
}

contract_tests!(
    inbound_creates_then_reuses,
    contacts_per_account_conversations_per_inbox,
    inbound_to_unknown_inbox,
    list_newest_activity_first,
    list_is_per_account,
    answered_by_follows_the_lease,
);
