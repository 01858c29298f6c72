//! The active role belongs to someone currently writing: it lapses when
//! idle, and when its holder disconnects and does not come back within the
//! grace. Time here is a manual clock: the test moves it and runs the
//! hub's sweep, so each lapse happens exactly when the rules say.

use std::time::Duration;

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
