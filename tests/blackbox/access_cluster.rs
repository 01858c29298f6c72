//! Access changes on a cluster (docs/ACCESS.md, "Live changes"): a change
//! of grants made through one node reaches the live sockets of another, as
//! if there were one node.

use std::time::Duration;

use switchboard_proto::server::{LockLost, LockLostReason};
use switchboard_proto::{ErrorCode, ServerFrame};
use tokio::time::Instant;
use uuid::Uuid;

use crate::support::WsClient;
use crate::support::client::{active_id, observer_ids};
use crate::support::cluster::Cluster;

/// Cluster tests settle faster than the defaults allow.
const FAST: &[(&str, &str)] = &[
    ("SWITCHBOARD_NODE_TIMEOUT_MS", "2000"),
    ("SWITCHBOARD_DISCONNECT_GRACE_SECS", "1"),
];

/// How soon after the change is answered its holder must be told (the
/// issue's "within 2 seconds").
const TOLD_WITHIN: Duration = Duration::from_secs(2);

/// The `lock_lost` of `conversation` if it arrives by `deadline`.
async fn lock_lost_by(client: &mut WsClient, conversation: Uuid, deadline: Instant) -> LockLost {
    let waiting = client.expect(
        "lock_lost",
        |f| matches!(f, ServerFrame::LockLost(l) if l.conversation_id == conversation),
    );
    match tokio::time::timeout_at(deadline, waiting).await {
        Ok(ServerFrame::LockLost(lost)) => lost,
        Ok(_) => unreachable!(),
        Err(_) => panic!("no lock_lost within {TOLD_WITHIN:?} of the change"),
    }
}

/// Nodes are counted from 1 in the comments (node 1 is `c.node(0)`). The
/// holder is told by the news on the bus, or at the latest by the stamp
/// check of `SWITCHBOARD_ACCESS_CHECK_MS` (1 s by default): either way
/// within the 2 s the issue allows, counted from the REST answer.
#[tokio::test]
async fn an_active_operator_downgraded_through_another_node_loses_the_role_within_two_seconds() {
    let c = Cluster::start(3, 2, FAST).await;
    let conversation = c.conversation("+15557000").await;
    let (olga, bob) = (c.agents[0].id, c.agents[1].id);
    let root = c.node(1).root_group(&c.owner.token).await;

    // Olga answers on node 1; Bob watches on node 3.
    let mut oc = c.connect(0, 0).await;
    let taken = oc.take(conversation).await.expect("olga takes it");
    assert_eq!(active_id(&taken.presence.unwrap()), Some(olga));
    let mut witness = c.connect(2, 1).await;
    let seen = witness.join(conversation).await.presence.unwrap();
    assert_eq!(
        (active_id(&seen), observer_ids(&seen)),
        (Some(olga), vec![bob])
    );
    let before = oc.say(conversation, "o1", "on it").await.unwrap();
    witness.expect_message(conversation, before.seq).await;

    // What came before the change is forgotten, so only what follows it counts.
    oc.settle().await;
    witness.settle().await;

    // The owner makes her a viewer through node 2.
    c.node(1)
        .set_grant(&c.owner.token, olga, "viewer", root)
        .await;
    let changed = Instant::now();
    let lost = lock_lost_by(&mut oc, conversation, changed + TOLD_WITHIN).await;
    assert_eq!(lost.reason, LockLostReason::Permission);
    let refused = oc.say(conversation, "o2", "one more").await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden, "a viewer's send");
    let refused = oc.take(conversation).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden, "a viewer's take");

    // Nobody answers now; she still looks on, on every node.
    let presence = witness
        .expect_presence(conversation, |p| p.active.is_none())
        .await;
    assert!(
        observer_ids(&presence).contains(&olga),
        "she still observes: {presence:?}"
    );
    let presence = oc
        .expect_presence(conversation, |p| p.active.is_none())
        .await;
    assert!(
        observer_ids(&presence).contains(&olga),
        "she is still joined: {presence:?}"
    );

    // Another operator, on node 3, takes it; she sees him answer.
    let taken = witness.take(conversation).await.expect("bob takes it");
    assert_eq!(active_id(&taken.presence.unwrap()), Some(bob));
    let presence = oc
        .expect_presence(conversation, |p| active_id(p) == Some(bob))
        .await;
    assert_eq!(observer_ids(&presence), vec![olga]);
    let answer = witness
        .say(conversation, "b1", "I'll take it")
        .await
        .unwrap();
    assert_eq!(oc.expect_message(conversation, answer.seq).await, answer);
    assert_eq!(
        answer.seq,
        before.seq + 1,
        "nothing of her refused send was stored"
    );
}
