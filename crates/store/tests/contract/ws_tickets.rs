//! WebSocket tickets (docs/BROWSERS.md): single use, bound to their login
//! session, valid for their time on the store's clock, pruned a bounded
//! batch at a time, and good on any node of one database.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use switchboard_core::lifecycle::TokenHash;
use switchboard_store::Store;

use crate::fixtures::tenant;
use crate::harness::Clocked;

const TTL: Duration = Duration::from_secs(30);

/// A login session of `acme`'s owner whose token hash is all `byte`.
async fn session(store: &Arc<dyn Store>, byte: u8) -> TokenHash {
    let acme = tenant(store, &format!("acme{byte}")).await;
    let hash = [byte; 32];
    let until = Utc::now() + chrono::Duration::days(3650);
    store
        .create_login_session(&hash, acme.owner.id, until)
        .await
        .expect("login session");
    hash
}

async fn ticket(store: &Arc<dyn Store>, ticket: &[u8], session: &[u8]) -> bool {
    store
        .create_ws_ticket(ticket, session, TTL)
        .await
        .expect("create ticket")
}

async fn consume(store: &Arc<dyn Store>, ticket: &[u8]) -> Option<TokenHash> {
    store.consume_ws_ticket(ticket).await.expect("consume")
}

/// A ticket gives its session once; unknown tickets give nothing; a
/// session that is not live gets no ticket.
async fn tickets_are_single_use(store: Arc<dyn Store>) {
    let ann = session(&store, 1).await;
    assert!(ticket(&store, b"t1", &ann).await);
    assert_eq!(consume(&store, b"t1").await, Some(ann));
    assert_eq!(consume(&store, b"t1").await, None, "used twice");
    assert_eq!(consume(&store, b"never made").await, None);
    assert!(!ticket(&store, b"t2", &[9; 32]).await, "no such session");
    assert_eq!(consume(&store, b"t2").await, None);
}

/// Ending the session (signing out, a password change) voids its tickets,
/// and nobody else's.
async fn ending_the_session_voids_its_tickets(store: Arc<dyn Store>) {
    let ann = session(&store, 1).await;
    let bob = session(&store, 2).await;
    assert!(ticket(&store, b"ann", &ann).await);
    assert!(ticket(&store, b"bob", &bob).await);
    store.delete_login_session(&ann).await.expect("sign out");
    assert_eq!(consume(&store, b"ann").await, None);
    assert_eq!(consume(&store, b"bob").await, Some(bob));
    assert!(!ticket(&store, b"again", &ann).await, "an ended session");
}

/// A ticket works until its time is up by the store's clock, not after.
async fn tickets_expire_on_the_stores_clock(Clocked { store, clock }: Clocked) {
    let ann = session(&store, 1).await;
    assert!(ticket(&store, b"early", &ann).await);
    assert!(ticket(&store, b"late", &ann).await);
    clock.advance(TTL - Duration::from_millis(1));
    assert_eq!(consume(&store, b"early").await, Some(ann));
    clock.advance(Duration::from_millis(1));
    assert_eq!(consume(&store, b"late").await, None, "expired");
}

/// Expired tickets go, at most `limit` per call; live ones stay.
async fn expired_tickets_are_pruned_in_bounded_batches(Clocked { store, clock }: Clocked) {
    let ann = session(&store, 1).await;
    for name in [b"a", b"b", b"c", b"d", b"e"] {
        assert!(ticket(&store, name, &ann).await);
    }
    assert_eq!(store.prune_ws_tickets(10).await.expect("prune"), 0);
    clock.advance(TTL);
    assert!(ticket(&store, b"live", &ann).await);
    let pruned = [
        store.prune_ws_tickets(2).await.expect("prune"),
        store.prune_ws_tickets(2).await.expect("prune"),
        store.prune_ws_tickets(2).await.expect("prune"),
        store.prune_ws_tickets(2).await.expect("prune"),
    ];
    assert_eq!(pruned, [2, 2, 1, 0]);
    assert_eq!(consume(&store, b"live").await, Some(ann));
}

contract_tests!(
    tickets_are_single_use,
    ending_the_session_voids_its_tickets,
    tickets_expire_on_the_stores_clock,
    expired_tickets_are_pruned_in_bounded_batches,
);

/// A ticket made through one node is taken on another, and of many
/// nodes presenting it at once exactly one gets the session.
async fn a_ticket_is_taken_once_across_nodes(stores: Vec<Arc<dyn Store>>) {
    let ann = session(&stores[0], 1).await;
    assert!(ticket(&stores[0], b"made on a", &ann).await);
    assert_eq!(consume(&stores[1], b"made on a").await, Some(ann));
    assert_eq!(consume(&stores[0], b"made on a").await, None);

    for round in 0..5u8 {
        let name = [b'r', round];
        assert!(ticket(&stores[round as usize % stores.len()], &name, &ann).await);
        let racers = (0..8).map(|i| {
            let store = Arc::clone(&stores[i % stores.len()]);
            tokio::spawn(async move { store.consume_ws_ticket(&name).await.expect("consume") })
        });
        let mut winners = 0;
        for racer in racers.collect::<Vec<_>>() {
            if racer.await.expect("racer").is_some() {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
}

node_contract_tests!(3; a_ticket_is_taken_once_across_nodes);
