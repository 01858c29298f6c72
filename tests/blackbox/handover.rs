//! The active role handed from one node to another: a `release`
//! acknowledged on one node is final for every node at once (a `take`
//! elsewhere the next millisecond is not refused by a stale view), and the
//! holder's connections on other nodes are told why the role ended as the
//! node that ended it tells its own.

use switchboard_proto::ServerFrame;
use switchboard_proto::server::LockLostReason;
use uuid::Uuid;

use crate::support::WsClient;
use crate::support::client::active_id;
use crate::support::cluster::Cluster;

/// Hand-overs tried: a stale view loses some of them, not necessarily the first.
const ROUNDS: usize = 60;

/// Waits until `client` sees `holder` answer `conversation` at `epoch`.
async fn sees_holder(client: &mut WsClient, conversation: Uuid, holder: Uuid, epoch: u64) {
    client
        .expect_presence(conversation, |p| {
            active_id(p) == Some(holder) && p.epoch == Some(epoch)
        })
        .await;
}

#[tokio::test]
async fn a_take_right_after_a_release_on_another_node_succeeds() {
    let c = Cluster::start(2, 2, &[]).await;
    let conversation = c.conversation("+15556000").await;
    let users = [c.agents[0].id, c.agents[1].id];
    let mut clients = [c.connect(0, 0).await, c.connect(1, 1).await];
    let opened = clients[0].join(conversation).await.presence.unwrap();
    let mut epoch = opened.epoch.expect("the opener answers");
    clients[1].join(conversation).await;
    for round in 0..ROUNDS {
        let (from, to) = (round % 2, (round + 1) % 2);
        // The taker's node knows the releaser holds the role.
        sees_holder(&mut clients[to], conversation, users[from], epoch).await;
        clients[from].release(conversation).await;
        let granted = clients[to].take(conversation).await.unwrap_or_else(|e| {
            panic!("round {round}: a take after an acknowledged release was refused: {e:?}")
        });
        let granted = granted.presence.unwrap();
        assert_eq!(active_id(&granted), Some(users[to]), "round {round}");
        epoch = granted.epoch.expect("a grant carries its epoch");
    }
}

/// One user with a tab on each node; the role is theirs, granted on node 0.
async fn two_tabs(c: &Cluster, conversation: Uuid) -> (WsClient, WsClient) {
    let mut here = c.connect(0, 0).await;
    here.join(conversation).await;
    let mut there = c.connect(1, 0).await;
    there.join(conversation).await;
    there.settle().await;
    (here, there)
}

#[tokio::test]
async fn a_release_through_one_tab_is_no_lost_role_for_a_tab_on_another_node() {
    let c = Cluster::start(2, 1, &[]).await;
    let conversation = c.conversation("+15556001").await;
    let (mut here, mut there) = two_tabs(&c, conversation).await;
    here.release(conversation).await;
    there
        .expect_presence(conversation, |p| p.active.is_none())
        .await;
    let lost: Vec<ServerFrame> = there
        .settle()
        .await
        .into_iter()
        .filter(|f| matches!(f, ServerFrame::LockLost(_)))
        .collect();
    assert!(lost.is_empty(), "told {lost:?} after their own release");
}

#[tokio::test]
async fn a_tab_on_another_node_is_told_the_idle_lapse_as_idle() {
    let c = Cluster::start(2, 1, &[("SWITCHBOARD_ACTIVE_IDLE_SECS", "1")]).await;
    let conversation = c.conversation("+15556002").await;
    let (_here, mut there) = two_tabs(&c, conversation).await;
    let lost = there.expect_lock_lost().await;
    assert_eq!(lost.conversation_id, conversation);
    assert_eq!(lost.reason, LockLostReason::Idle);
}
