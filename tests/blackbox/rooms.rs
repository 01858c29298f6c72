//! Rooms are held only for conversations someone may see and views: joins
//! of another account's conversations, or of ids that do not exist, leave
//! no room on the node and no subscription on the bus; a connection views a
//! bounded number of conversations.

use std::time::Duration;

use switchboard_proto::ErrorCode;
use switchboard_proto::client::{ClientFrame, Join};
use uuid::Uuid;

use crate::support::cluster::{Cluster, Redis};
use crate::support::{TestServer, WsClient};

/// Foreign conversations, and as many unknown ids, each joined once.
const PROBES: usize = 200;
/// Frames a prober may send at once without being rate limited.
const GENEROUS_RATE: [(&str, &str); 2] = [
    ("SWITCHBOARD_RATE_LIMIT_PER_SEC", "100000"),
    ("SWITCHBOARD_RATE_LIMIT_BURST", "100000"),
];

/// A second account on `server` and its owner signed in.
async fn rival(server: &TestServer) -> WsClient {
    server.create_rival_account().await;
    let token = server.login("eve@rival.test").await;
    WsClient::connect(server, &token).await
}

fn join(conversation: Uuid) -> ClientFrame {
    ClientFrame::Join(Join {
        reference: None,
        conversation_id: conversation,
        after_seq: None,
        watch: false,
    })
}

/// `prober` joins each id and is told `not_found` every time.
async fn join_all_refused(prober: &mut WsClient, ids: &[Uuid]) {
    for id in ids {
        let refused = prober.request(join(*id)).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::NotFound, "{id}");
    }
}

async fn rooms(server: &TestServer) -> f64 {
    server.metric("switchboard_rooms").await
}

/// The conversation channels a node of the cluster follows on Redis.
async fn conversation_channels(redis: &Redis) -> usize {
    let output = tokio::process::Command::new("redis-cli")
        .args(["-p", &redis.port.to_string(), "PUBSUB", "CHANNELS", "*:c:*"])
        .output()
        .await
        .expect("redis-cli runs");
    assert!(output.status.success(), "redis-cli: {output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// Waits until `read` gives `want`, for at most ten seconds.
async fn eventually<F, Fut>(what: &str, want: usize, read: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = read().await;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {got}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn joins_of_foreign_or_unknown_conversations_leave_no_room() {
    let fx = crate::support::Fixture::new(1, &GENEROUS_RATE).await;
    let mut foreign = Vec::new();
    for i in 0..PROBES {
        foreign.push(fx.conversation(&format!("+1555200{i:04}")).await);
    }
    let unknown: Vec<Uuid> = (0..PROBES).map(|_| Uuid::now_v7()).collect();
    let mut eve = rival(&fx.server).await;
    join_all_refused(&mut eve, &foreign).await;
    join_all_refused(&mut eve, &unknown).await;
    assert_eq!(rooms(&fx.server).await, 0.0, "no room while connected");
    drop(eve);
    // A real join makes one, and closing the connection drops it (after
    // the disconnect grace): the gauge does count rooms.
    let mut ann = fx.connect(&fx.agents[0]).await;
    ann.join(foreign[0]).await;
    assert_eq!(rooms(&fx.server).await, 1.0);
    ann.leave(foreign[0]).await;
    assert_eq!(
        rooms(&fx.server).await,
        0.0,
        "a room nobody views is dropped"
    );
}

#[tokio::test]
async fn in_a_cluster_they_leave_no_bus_subscription_either() {
    let cluster = Cluster::start(1, 1, &GENEROUS_RATE).await;
    let node = cluster.node(0);
    let mut foreign = Vec::new();
    for i in 0..PROBES {
        foreign.push(cluster.conversation(&format!("+1555300{i:04}")).await);
    }
    let unknown: Vec<Uuid> = (0..PROBES).map(|_| Uuid::now_v7()).collect();
    let mut eve = rival(node).await;
    join_all_refused(&mut eve, &foreign).await;
    join_all_refused(&mut eve, &unknown).await;
    drop(eve);
    assert_eq!(rooms(node).await, 0.0);
    assert_eq!(conversation_channels(&cluster.redis).await, 0);
    // The count does see a subscription: a real join makes one, a leave
    // ends it.
    let mut ann = cluster.connect(0, 0).await;
    ann.join(foreign[0]).await;
    assert_eq!(conversation_channels(&cluster.redis).await, 1);
    ann.leave(foreign[0]).await;
    eventually("conversation channels", 0, || {
        conversation_channels(&cluster.redis)
    })
    .await;
    assert_eq!(rooms(node).await, 0.0);
}

#[tokio::test]
async fn a_connection_views_a_bounded_number_of_conversations() {
    let fx = crate::support::Fixture::new(
        1,
        &[
            ("SWITCHBOARD_MAX_JOINED_PER_CONNECTION", "3"),
            GENEROUS_RATE[0],
            GENEROUS_RATE[1],
        ],
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(fx.conversation(&format!("+1555400{i}")).await);
    }
    let mut ann = fx.connect(&fx.agents[0]).await;
    for id in &ids[..3] {
        ann.join(*id).await;
    }
    let refused = ann.request(join(ids[3])).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Conflict);
    assert!(
        refused.message.contains("3 conversations"),
        "{}",
        refused.message
    );
    let refused = ann
        .request(crate::support::client::take(ids[3], false))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Conflict, "take joins too");
    assert_eq!(rooms(&fx.server).await, 3.0, "no room for a refused join");
    // Joining again what it views is fine; leaving one makes room.
    ann.join(ids[0]).await;
    ann.leave(ids[0]).await;
    ann.join(ids[3]).await;
    // The cap is per connection: another one of the same user may join.
    let mut second = fx.connect(&fx.agents[0]).await;
    second.join(ids[0]).await;
}
