//! Twenty agents press "Start chatting" at once: exactly one wins.

use futures_util::future::join_all;
use switchboard_proto::ErrorCode;

use crate::support::client::take;
use crate::support::{Fixture, WsClient};

#[tokio::test]
async fn twenty_agents_take_at_once_exactly_one_wins_fifty_times() {
    let fx = Fixture::new(20, &[("SWITCHBOARD_RATE_LIMIT_PER_SEC", "1000")]).await;
    let mut clients: Vec<WsClient> = Vec::new();
    for agent in &fx.agents {
        clients.push(fx.connect(agent).await);
    }
    for round in 0..50 {
        let conversation = fx.conversation(&format!("+1555020{round:04}")).await;
        // Everyone observes first, so nobody becomes active by opening it.
        for client in clients.iter_mut() {
            client.join(conversation).await;
        }
        // The first joiner became active (nobody was there); free the role.
        clients[0].release(conversation).await;

        let answers = join_all(
            clients
                .iter_mut()
                .map(|client| client.request(take(conversation, false))),
        )
        .await;
        let winners: Vec<usize> = answers
            .iter()
            .enumerate()
            .filter(|(_, a)| a.is_ok())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let winner = fx.agents[winners[0]].id;
        for (i, answer) in answers.iter().enumerate() {
            if let Err(error) = answer {
                assert_eq!(error.code, ErrorCode::Locked, "round {round}, agent {i}");
                assert_eq!(
                    error.answered_by.as_ref().map(|a| a.user_id),
                    Some(winner),
                    "round {round}: the loser is told who won"
                );
            }
        }
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
