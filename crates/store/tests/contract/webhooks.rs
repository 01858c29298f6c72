//! Outbound webhooks: kept per account; every event written to the outbox
//! by the change itself, only for the webhooks subscribed to it; claimed
//! for a lease by one sender at a time, a lapsed claim taken over, and a
//! conversation's deliveries of one webhook claimed one at a time in the
//! order of its events.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use switchboard_core::ids::{NodeId, WebhookId};
use switchboard_core::model::ManualAssignment;
use switchboard_core::webhooks::{
    Attempt, AttemptNext, ClaimedDelivery, DeliveryState, NewWebhook, WebhookChanges, WebhookEvent,
    WebhookEvents,
};
use switchboard_store::{Store, StoreError};

use crate::fixtures::{self, append, conversation, grant, inbound, tenant};
use crate::harness::Clocked;

const LEASE: Duration = Duration::from_secs(30);

fn new_webhook(url: &str, events: &[&str]) -> NewWebhook {
    NewWebhook {
        id: WebhookId::new(),
        url: url.into(),
        events: WebhookEvents::parse(events).expect("events"),
        secret_sealed: "v1:sealed".into(),
        include_bodies: true,
        created_by: None,
    }
}

const ALL: [&str; 5] = [
    "message.created",
    "conversation.created",
    "conversation.assigned",
    "conversation.resolved",
    "conversation.reopened",
];

fn attempt(status: u16) -> Attempt {
    Attempt {
        at: Utc::now(),
        http_status: Some(status),
        error: None,
        duration_ms: 3,
    }
}

async fn events_of(store: &Arc<dyn Store>, webhook: WebhookId) -> Vec<&'static str> {
    let mut log = store.webhook_deliveries(webhook, 100).await.expect("log");
    log.reverse();
    log.iter().map(|d| d.event.as_str()).collect()
}

async fn webhooks_are_kept_per_account(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let account = acme.account.id;
    assert!(!store.webhook_secrets_exist().await.unwrap());
    let made = store
        .create_webhook(
            account,
            &new_webhook("https://a.example/hook", &["message.created"]),
        )
        .await
        .expect("create");
    assert_eq!((made.account_id, made.active), (account, true));
    assert!(store.webhook_secrets_exist().await.unwrap());
    assert_eq!(made.events.as_slice(), [WebhookEvent::MessageCreated]);
    assert_eq!(store.webhook(made.id).await.unwrap().as_ref(), Some(&made));
    assert_eq!(
        store.webhooks_of(account).await.unwrap(),
        std::slice::from_ref(&made)
    );
    assert!(
        store
            .webhooks_of(globex.account.id)
            .await
            .unwrap()
            .is_empty()
    );

    let changes = WebhookChanges {
        url: Some("https://b.example/hook".into()),
        events: None,
        active: Some(false),
    };
    let theirs = store
        .update_webhook(globex.account.id, made.id, &changes)
        .await;
    assert!(matches!(theirs, Err(StoreError::NotFound)), "{theirs:?}");
    let changed = store
        .update_webhook(account, made.id, &changes)
        .await
        .expect("update");
    assert_eq!(
        (changed.url.as_str(), changed.active),
        ("https://b.example/hook", false)
    );
    assert_eq!(changed.events, made.events);

    assert!(matches!(
        store.delete_webhook(globex.account.id, made.id).await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_webhook(account, made.id)
        .await
        .expect("delete");
    assert_eq!(store.webhook(made.id).await.unwrap(), None);
}

async fn changes_write_their_events_for_subscribed_webhooks(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let account = acme.account.id;
    let every = store
        .create_webhook(account, &new_webhook("https://a.example/all", &ALL))
        .await
        .unwrap();
    let messages = store
        .create_webhook(
            account,
            &new_webhook("https://a.example/m", &["message.created"]),
        )
        .await
        .unwrap();
    let paused = store
        .create_webhook(account, &new_webhook("https://a.example/p", &ALL))
        .await
        .unwrap();
    let pause = WebhookChanges {
        active: Some(false),
        ..Default::default()
    };
    store
        .update_webhook(account, paused.id, &pause)
        .await
        .unwrap();
    let theirs = store
        .create_webhook(globex.account.id, &new_webhook("https://g.example/", &ALL))
        .await
        .unwrap();

    let first = inbound(&store, &acme.inbox, "+15550001", "hello").await;
    let id = first.conversation.id;
    inbound(&store, &acme.inbox, "+15550001", "again").await;
    store
        .assign(ManualAssignment {
            conversation: id,
            assignee: acme.owner.id,
            actor: acme.owner.id,
            force: true,
        })
        .await
        .expect("assign");
    store.resolve(id, acme.owner.id).await.expect("resolve");
    store.reopen(id, acme.owner.id).await.expect("reopen");
    let epoch = grant(
        &store,
        id,
        acme.owner.id,
        NodeId::new(),
        false,
        fixtures::LEASE,
    )
    .await;
    append(&store, id, acme.owner.id, epoch, "reply-1")
        .await
        .expect("an agent's reply");

    let told = events_of(&store, every.id).await;
    assert_eq!(
        told[..4],
        [
            "conversation.created",
            "message.created",
            "message.created",
            "conversation.assigned"
        ],
        "{told:?}"
    );
    assert_eq!(
        told[4..6],
        ["conversation.resolved", "conversation.reopened"],
        "{told:?}"
    );
    let (last, between) = told[6..].split_last().expect("the reply");
    assert_eq!(*last, "message.created", "an agent's reply too: {told:?}");
    assert!(
        between.iter().all(|e| *e == "conversation.assigned"),
        "a reopened conversation may be assigned again: {told:?}"
    );
    assert_eq!(
        events_of(&store, messages.id).await,
        ["message.created", "message.created", "message.created"]
    );
    assert!(events_of(&store, paused.id).await.is_empty());
    assert!(events_of(&store, theirs.id).await.is_empty());
    let log = store.webhook_deliveries(every.id, 100).await.unwrap();
    assert!(
        log.iter()
            .all(|d| d.state == DeliveryState::Pending && d.attempts.is_empty())
    );
    assert!(log.iter().all(|d| d.conversation_id == id));
    assert_eq!(
        log.iter().filter(|d| d.message_id.is_some()).count(),
        3,
        "message deliveries name their message"
    );
}

async fn claim(store: &Arc<dyn Store>) -> Vec<ClaimedDelivery> {
    store
        .claim_webhook_deliveries(LEASE, 50)
        .await
        .expect("claim")
}

async fn report(store: &Arc<dyn Store>, delivery: &ClaimedDelivery, next: AttemptNext) {
    let status = if next == AttemptNext::Delivered {
        200
    } else {
        500
    };
    store
        .webhook_attempted(delivery, &attempt(status), next)
        .await
        .expect("report");
}

async fn deliveries_are_claimed_in_order_and_for_a_lease(Clocked { store, clock }: Clocked) {
    let acme = tenant(&store, "acme").await;
    let account = acme.account.id;
    let hook = store
        .create_webhook(
            account,
            &new_webhook(
                "https://a.example/",
                &["conversation.created", "message.created"],
            ),
        )
        .await
        .unwrap();
    let a = conversation(&store, &acme, "+15550001").await;
    let b = conversation(&store, &acme, "+15550002").await;

    // Only the first of each conversation's line is claimable.
    let first = claim(&store).await;
    let mut got: Vec<_> = first.iter().map(|d| (d.conversation.id, d.event)).collect();
    got.sort();
    let mut want = vec![
        (a, WebhookEvent::ConversationCreated),
        (b, WebhookEvent::ConversationCreated),
    ];
    want.sort();
    assert_eq!(got, want);
    assert!(
        first
            .iter()
            .all(|d| d.attempts == 1 && d.url == "https://a.example/")
    );
    assert!(claim(&store).await.is_empty(), "claimed and blocked");

    let on_a = first.iter().find(|d| d.conversation.id == a).unwrap();
    let on_b = first.iter().find(|d| d.conversation.id == b).unwrap();
    report(&store, on_a, AttemptNext::Delivered).await;
    let next = claim(&store).await;
    assert_eq!(next.len(), 1);
    assert_eq!(
        (next[0].conversation.id, next[0].event),
        (a, WebhookEvent::MessageCreated)
    );
    let message = next[0].message.as_ref().expect("the message");
    assert_eq!((message.body.as_str(), message.seq), ("hello", 1));
    assert_eq!(next[0].conversation.contact_handle, "+15550001");

    // A retry waits its time, and its conversation's line waits with it.
    report(&store, on_b, AttemptNext::RetryIn(Duration::from_secs(5))).await;
    assert!(claim(&store).await.is_empty(), "not due yet");
    clock.advance(Duration::from_secs(5));
    let again = claim(&store).await;
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (on_b.id, 2));

    // A lapsed claim is taken over; the old holder's report is void.
    clock.advance(LEASE);
    let taken = claim(&store).await;
    let mut ids: Vec<_> = taken.iter().map(|d| d.id).collect();
    ids.sort();
    let mut want = vec![again[0].id, next[0].id];
    want.sort();
    assert_eq!(ids, want, "both lapsed claims are taken over");
    report(&store, &again[0], AttemptNext::Delivered).await;
    let log = store.webhook_deliveries(hook.id, 10).await.unwrap();
    let on_b_log = log.iter().find(|d| d.id == on_b.id).unwrap();
    assert_eq!(
        on_b_log.state,
        DeliveryState::Pending,
        "a stale claim reports nothing"
    );
    assert_eq!(on_b_log.attempts.len(), 1);

    // Failed for good unblocks the line.
    let new_claim = taken.iter().find(|d| d.id == on_b.id).unwrap();
    report(&store, new_claim, AttemptNext::Failed).await;
    let after = claim(&store).await;
    assert_eq!(after.len(), 1);
    assert_eq!(
        (after[0].conversation.id, after[0].event),
        (b, WebhookEvent::MessageCreated)
    );

    let log = store.webhook_deliveries(hook.id, 10).await.unwrap();
    let on_b_log = log.iter().find(|d| d.id == on_b.id).unwrap();
    assert_eq!(on_b_log.state, DeliveryState::Failed);
    assert_eq!(
        on_b_log
            .attempts
            .iter()
            .map(|a| a.http_status)
            .collect::<Vec<_>>(),
        [Some(500), Some(500)]
    );
    let on_a_log = log.iter().find(|d| d.id == on_a.id).unwrap();
    assert_eq!(on_a_log.state, DeliveryState::Delivered);
    assert!(on_a_log.finished_at.is_some());
    assert_eq!(on_a_log.attempts[0].duration_ms, 3);
}

async fn a_paused_webhook_is_not_claimed(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let hook = store
        .create_webhook(acme.account.id, &new_webhook("https://a.example/", &ALL))
        .await
        .unwrap();
    conversation(&store, &acme, "+15550001").await;
    let pause = WebhookChanges {
        active: Some(false),
        ..Default::default()
    };
    store
        .update_webhook(acme.account.id, hook.id, &pause)
        .await
        .unwrap();
    assert!(claim(&store).await.is_empty());
    let resume = WebhookChanges {
        active: Some(true),
        ..Default::default()
    };
    store
        .update_webhook(acme.account.id, hook.id, &resume)
        .await
        .unwrap();
    assert_eq!(claim(&store).await.len(), 1);
}

contract_tests!(
    webhooks_are_kept_per_account,
    changes_write_their_events_for_subscribed_webhooks,
    deliveries_are_claimed_in_order_and_for_a_lease,
    a_paused_webhook_is_not_claimed,
);
