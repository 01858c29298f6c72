//! The active role belongs to someone currently writing: it lapses when idle,
//! and when its holder disconnects and does not come back within the grace.

use std::time::Duration;

use switchboard_proto::server::LockLostReason;
use switchboard_proto::{ErrorCode, ServerFrame};

use crate::support::Fixture;
use crate::support::client::{active_id, observer_ids, subscribe_inbox, typing};

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
async fn sending_and_typing_keep_the_role_alive() {
    let fx = Fixture::new(2, &[("SWITCHBOARD_ACTIVE_IDLE_SECS", "2")]).await;
    let (ann, bob) = (&fx.agents[0], &fx.agents[1]);
    let conversation = fx.conversation("+15550601").await;
    let mut a = fx.connect(ann).await;
    let mut b = fx.connect(bob).await;
    a.join(conversation).await;
    b.join(conversation).await;
    // Three seconds of activity, each step well inside the idle time.
    for i in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if i % 2 == 0 {
            a.request(typing(conversation)).await.expect("still active");
        } else {
            a.say(conversation, &format!("k{i}"), "still here")
                .await
                .expect("still active");
        }
    }
    assert_eq!(
        b.take(conversation).await.unwrap_err().code,
        ErrorCode::Locked
    );
    // Then silence: the role lapses.
    assert_eq!(a.expect_lock_lost().await.reason, LockLostReason::Idle);
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

#[tokio::test]
async fn a_reload_inside_the_grace_keeps_the_role() {
    const GRACE_SECS: u64 = 3;
    let fx = Fixture::new(2, &[("SWITCHBOARD_DISCONNECT_GRACE_SECS", "3")]).await;
    let (ann, bob) = (&fx.agents[0], &fx.agents[1]);
    let conversation = fx.conversation("+15550603").await;
    let mut a = fx.connect(ann).await;
    let mut b = fx.connect(bob).await;
    a.join(conversation).await;
    b.join(conversation).await;
    let dropped_at = tokio::time::Instant::now();
    a.drop_connection();

    // The reload: a new connection of the same user joins again at once.
    let mut a = fx.connect(ann).await;
    let back = a.join(conversation).await.presence.unwrap();
    assert_eq!(active_id(&back), Some(ann.id));
    a.say(conversation, "after-reload", "sorry, my page reloaded")
        .await
        .expect("still the writer");

    // Let the grace deadline pass, then check that nothing was released.
    tokio::time::sleep_until(dropped_at + Duration::from_secs(GRACE_SECS + 1)).await;
    assert_eq!(
        b.take(conversation).await.unwrap_err().code,
        ErrorCode::Locked
    );
    let frames = b.settle().await;
    assert!(
        !frames
            .iter()
            .any(|f| matches!(f, ServerFrame::Presence(p) if p.active.is_none())),
        "observers never saw the role go: {frames:#?}"
    );
}
