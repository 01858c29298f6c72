//! The active role belongs to someone currently writing: it lapses when
//! idle, and when its holder disconnects and does not come back within the
//! grace. Time here is a manual clock: the test moves it and runs the
//! hub's sweep, so each lapse happens exactly when the rules say.

use std::time::Duration;

use switchboard_core::ConversationId;
use tokio_util::sync::CancellationToken;

use crate::support::{Console, active, join, observers, say, take, timing, typing, world};

#[tokio::test]
async fn sending_and_typing_keep_the_role_alive_and_silence_ends_it() {
    let w = world(1, 2, timing(2_000, 5_000)).await;
    let (node, conv) = (&w.nodes[0], w.conversation);
    let mut ann = Console::open(node, &w.users[0]);
    let mut bob = Console::open(node, &w.users[1]);
    assert_eq!(
        active(&ann.send(join(conv, "a1")).await["presence"]),
        Some("Agent 0")
    );
    bob.send(join(conv, "b1")).await;

    // Three seconds of activity, each step well inside the idle time.
    for i in 0..6 {
        w.clock.advance(Duration::from_millis(500));
        node.hub.sweep().await;
        let reference = format!("k{i}");
        let frame = if i % 2 == 0 {
            typing(conv, &reference)
        } else {
            say(conv, &reference, "still here")
        };
        let answer = ann.send(frame).await;
        assert_eq!(answer["type"], "ack", "still active after {i}: {answer}");
    }
    assert_eq!(bob.send(take(conv, "b2")).await["code"], "locked");

    // Just short of the idle time nothing happens; at it, the role lapses.
    w.clock.advance(Duration::from_millis(1_999));
    node.hub.sweep().await;
    assert!(
        !ann.take_seen().iter().any(|f| f["type"] == "lock_lost"),
        "no lapse before the idle time"
    );
    w.clock.advance(Duration::from_millis(1));
    node.hub.sweep().await;
    let lost = ann.wait("lock_lost", |f| f["type"] == "lock_lost").await;
    assert_eq!(lost["reason"], "idle");
    let p = bob.presence(|p| active(p).is_none()).await;
    assert_eq!(observers(&p), vec!["Agent 0", "Agent 1"]);
    assert_eq!(
        ann.send(say(conv, "late", "hello?")).await["code"],
        "not_active"
    );
}

#[tokio::test]
async fn a_reload_inside_the_grace_keeps_the_role() {
    let w = world(1, 2, timing(60_000, 3_000)).await;
    let (node, conv) = (&w.nodes[0], w.conversation);
    let ann = {
        let mut ann = Console::open(node, &w.users[0]);
        ann.send(join(conv, "a1")).await;
        ann
    };
    let mut bob = Console::open(node, &w.users[1]);
    bob.send(join(conv, "b1")).await;
    ann.drop_connection().await;

    // The reload: a new connection of the same user joins again at once.
    w.clock.advance(Duration::from_millis(200));
    let mut ann = Console::open(node, &w.users[0]);
    let back = ann.send(join(conv, "a2")).await;
    assert_eq!(active(&back["presence"]), Some("Agent 0"));
    let sent = ann
        .send(say(conv, "after-reload", "sorry, my page reloaded"))
        .await;
    assert_eq!(sent["type"], "ack", "still the writer: {sent}");

    // Past the grace of the dropped connection, nothing is released.
    w.clock.advance(Duration::from_millis(3_000));
    node.hub.sweep().await;
    assert_eq!(bob.send(take(conv, "b2")).await["code"], "locked");
    let frames = bob.take_seen();
    assert!(
        !frames
            .iter()
            .any(|f| f["type"] == "presence" && f["active"].is_null()),
        "observers never saw the role go: {frames:#?}"
    );
}

#[tokio::test]
async fn a_holder_who_does_not_come_back_is_released_when_the_grace_ends() {
    let w = world(1, 2, timing(60_000, 3_000)).await;
    let (node, conv) = (&w.nodes[0], w.conversation);
    let mut ann = Console::open(node, &w.users[0]);
    ann.send(join(conv, "a1")).await;
    let mut bob = Console::open(node, &w.users[1]);
    bob.send(join(conv, "b1")).await;
    ann.drop_connection().await;

    w.clock.advance(Duration::from_millis(2_999));
    node.hub.sweep().await;
    assert_eq!(
        bob.send(take(conv, "b2")).await["code"],
        "locked",
        "ann keeps the role within the grace"
    );
    w.clock.advance(Duration::from_millis(1));
    node.hub.sweep().await;
    let p = bob.presence(|p| active(p).is_none()).await;
    assert_eq!(
        observers(&p),
        vec!["Agent 1"],
        "ann is gone after the grace"
    );
    let taken = bob.send(take(conv, "b3")).await;
    assert_eq!(active(&taken["presence"]), Some("Agent 1"));
}

/// A sweep carries out the lapses of several rooms at once, and shutting
/// down does not wait for a chore stuck in hand: here a room whose lock is
/// held (as by a store call that does not return) blocks the sweep's work
/// on it, the room that lapsed after it still lapses, and the timers stop
/// when told to while the first room is still held.
#[tokio::test]
async fn a_room_stuck_in_the_sweep_holds_back_neither_other_lapses_nor_shutdown() {
    let w = world(1, 3, timing(60_000, 3_000)).await;
    let node = &w.nodes[0];
    let first = ConversationId::from(w.conversation);
    let second = w.another_conversation("+15550200").await.conversation.id;
    let mut ann = Console::open(node, &w.users[0]);
    ann.send(join(first.as_uuid(), "a1")).await;
    let mut bob = Console::open(node, &w.users[1]);
    bob.send(join(second.as_uuid(), "b1")).await;
    // Carl watches through a real login session: the timers also check
    // sessions, and close connections without one.
    let hash: [u8; 32] = switchboard_server::auth::secret_hash("sbs_carls-session");
    let expires = w.store_clock.now() + chrono::Duration::hours(1);
    w.store
        .create_login_session(&hash, w.users[2].id, expires)
        .await
        .unwrap();
    let mut carl = Console::open_with(node, &w.users[2], hash);
    let joined = carl.send(join(second.as_uuid(), "c1")).await;
    assert_eq!(active(&joined["presence"]), Some("Agent 1"));

    // Ann's grace ends first, then Bob's: a sweep taking the due rooms one
    // after the other would reach Bob's only after Ann's.
    ann.drop_connection().await;
    w.clock.advance(Duration::from_millis(1));
    bob.drop_connection().await;
    w.clock.advance(Duration::from_millis(3_000));
    let stuck = node.hub.room(first, |_| true).await.unwrap();

    let cancel = CancellationToken::new();
    let timers = tokio::spawn(node.hub.clone().run_timers(cancel.clone()));
    let p = carl.presence(|p| active(p).is_none()).await;
    assert_eq!(observers(&p), vec!["Agent 2"], "bob's grace ended");

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(10), timers)
        .await
        .expect("the timers did not stop while a chore was stuck")
        .unwrap();
    drop(stuck);
}
