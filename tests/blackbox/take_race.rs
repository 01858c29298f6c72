//! Twenty agents press "Start chatting" at once: exactly one wins.

use futures_util::future::join_all;
use switchboard_proto::ErrorCode;

use uuid::Uuid;

use crate::support::client::{take, take_all_at_once};
use crate::support::{Fixture, WsClient};

#[tokio::test]
async fn twenty_agents_take_at_once_exactly_one_wins_fifty_times() {
    let fx = Fixture::new(20, &[("SWITCHBOARD_RATE_LIMIT_PER_SEC", "1000")]).await;
    let mut clients: Vec<WsClient> = Vec::new();
    for agent in &fx.agents {
        clients.push(fx.connect(agent).await);
    }
    let users: Vec<Uuid> = fx.agents.iter().map(|a| a.id).collect();
    for round in 0..50 {
        let conversation = fx.conversation(&format!("+1555020{round:04}")).await;
        // Everyone observes first, so nobody becomes active by opening it.
        for client in clients.iter_mut() {
            client.join(conversation).await;
        }
        // The first joiner became active (nobody was there); free the role.
        clients[0].release(conversation).await;

        take_all_at_once(&mut clients, &users, conversation, round).await;
        for client in clients.iter_mut() {
            client.leave(conversation).await;
            client.settle().await;
        }
    }
}

#[tokio::test]
async fn twenty_agents_opening_an_empty_conversation_at_once_get_one_active() {
    let fx = Fixture::new(20, &[]).await;
    let mut clients: Vec<WsClient> = Vec::new();
    for agent in &fx.agents {
        clients.push(fx.connect(agent).await);
    }
    let conversation = fx.conversation("+15550300").await;
    // `take` on a conversation not yet joined joins it first.
    let answers = join_all(
        clients
            .iter_mut()
            .map(|client| client.request(take(conversation, false))),
    )
    .await;
    assert_eq!(answers.iter().filter(|a| a.is_ok()).count(), 1);
    assert!(
        answers
            .iter()
            .filter_map(|a| a.as_ref().err())
            .all(|e| e.code == ErrorCode::Locked)
    );
}
