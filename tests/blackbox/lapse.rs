//! The active role belongs to someone currently writing: it lapses when idle,
//! and when its holder disconnects and does not come back within the grace.
//! Here on a real process with short real durations, waiting for the events;
//! the exact timings (activity keeping the role, a reload inside the grace)
//! are proven with a manual clock in the server's in-process tests.

use switchboard_proto::server::LockLostReason;
use switchboard_proto::{ErrorCode, ServerFrame};

use crate::support::Fixture;
use crate::support::client::{active_id, observer_ids, subscribe_inbox};

#[tokio::test]
async fn an_idle_holder_loses_the_role_and_the_card_loses_answered_by() {
    let fx = Fixture::new(3, &[("SWITCHBOARD_ACTIVE_IDLE_SECS", "1")]).await;
    let (ann, bob, cat) = (&fx.agents[0], &fx.agents[1], &fx.agents[2]);
    let conversation = fx.conversation("+15550600").await;
    let mut inbox = fx.connect(cat).await;
    inbox.request(subscribe_inbox()).await.unwrap();
    let mut a = fx.connect(ann).await;
    let mut b = fx.connect(bob).await;
    a.join(conversation).await;
    b.join(conversation).await;
    inbox
        .expect("answered by ann", |f| {
            matches!(f, ServerFrame::Conversation(c) if c.conversation.id == conversation
                && c.conversation.answered_by.as_ref().map(|u| u.user_id) == Some(ann.id))
        })
        .await;

    assert_eq!(a.expect_lock_lost().await.reason, LockLostReason::Idle);
    let ann_id = ann.id.to_string();
    fx.server
        .expect_log(&["active role lost", &ann_id, "Idle"])
        .await;
    for client in [&mut a, &mut b] {
        client
            .expect_presence(conversation, |p| {
                p.active.is_none() && observer_ids(p) == vec![ann.id, bob.id]
            })
            .await;
    }
    inbox
        .expect("no longer answered", |f| {
            matches!(f, ServerFrame::Conversation(c) if c.conversation.id == conversation
                && c.conversation.answered_by.is_none())
        })
        .await;
    assert_eq!(
        a.say(conversation, "late", "hello?")
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotActive
    );
    // Anyone may start chatting again.
    assert_eq!(
        active_id(&b.take(conversation).await.unwrap().presence.unwrap()),
        Some(bob.id)
    );
}

#[tokio::test]
async fn a_holder_who_disconnects_is_released_after_the_grace() {
    let fx = Fixture::new(2, &[("SWITCHBOARD_DISCONNECT_GRACE_SECS", "1")]).await;
    let (ann, bob) = (&fx.agents[0], &fx.agents[1]);
    let conversation = fx.conversation("+15550602").await;
    let mut a = fx.connect(ann).await;
    let mut b = fx.connect(bob).await;
    a.join(conversation).await;
    b.join(conversation).await;
    a.drop_connection();
    let presence = b
        .expect_presence(conversation, |p| p.active.is_none())
        .await;
    assert_eq!(
        observer_ids(&presence),
        vec![bob.id],
        "ann is gone after the grace"
    );
    assert_eq!(
        active_id(&b.take(conversation).await.unwrap().presence.unwrap()),
        Some(bob.id)
    );
}
