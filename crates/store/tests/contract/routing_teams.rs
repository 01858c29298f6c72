//! Teams: inboxes routed to their members, within one account.

use std::sync::Arc;

use switchboard_core::ids::{NodeId, TeamId};
use switchboard_store::{Store, StoreError};

use crate::fixtures::{
    agent, agent_with, assignee, conversation, inbound, inbox, load, online, position, routed_ids,
    tenant,
};

/// An inbox with a team routes to its members only; members who join take
/// its queue; a deleted team's inboxes route to everyone.
async fn team_routing(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let node = NodeId::new();
    let ann = agent_with(&store, &acme, "ann", 5).await;
    let bob = agent_with(&store, &acme, "bob", 5).await;
    let cat = agent_with(&store, &acme, "cat", 5).await;
    for user in [&ann, &bob, &cat] {
        online(&store, user, node).await;
    }
    let sales = inbox(&store, &acme.account, "acme-sales").await;
    let team = store
        .create_team(acme.account.id, "Sales", &[cat.id, bob.id, cat.id])
        .await
        .expect("create team");
    let mut members = vec![bob.id, cat.id];
    members.sort();
    assert_eq!(team.members, members, "each once, by id");
    assert_eq!(
        store.teams(acme.account.id).await.expect("teams"),
        vec![team.clone()]
    );
    store
        .set_inbox_team(sales.id, Some(team.id))
        .await
        .expect("route sales to the team");

    // ann is the least loaded, but not of the team
    let busy = conversation(&store, &acme, "busy-bob").await;
    assert_eq!(assignee(&store, busy).await, Some(ann.id));
    let mut sold = Vec::new();
    for n in 0..4 {
        let conv = inbound(&store, &sales, &format!("buyer-{n}"), "price?")
            .await
            .conversation;
        assert_ne!(conv.assignee.as_ref().map(|a| a.id), Some(ann.id));
        sold.push(conv.id);
    }
    assert_eq!((load(&store, &bob).await, load(&store, &cat).await), (2, 2));

    // a team nobody of which is online: its conversations wait, others go on
    store
        .set_online(bob.id, node, false)
        .await
        .expect("bob leaves");
    store
        .set_online(cat.id, node, false)
        .await
        .expect("cat leaves");
    let waiting = inbound(&store, &sales, "buyer-late", "anyone?")
        .await
        .conversation
        .id;
    assert_eq!(position(&store, waiting).await, Some(1));
    let general = conversation(&store, &acme, "general").await;
    assert_eq!(assignee(&store, general).await, Some(ann.id));

    // ann joins the team: the team's queue is hers
    let (team, routed) = store
        .set_team_members(team.id, &[ann.id])
        .await
        .expect("members");
    assert_eq!(team.members, vec![ann.id]);
    assert_eq!(routed_ids(&routed), vec![waiting]);
    assert_eq!(assignee(&store, waiting).await, Some(ann.id));

    // a team of nobody, then no team at all
    store.set_team_members(team.id, &[]).await.expect("members");
    let orphan = inbound(&store, &sales, "buyer-orphan", "hello?")
        .await
        .conversation
        .id;
    assert_eq!(position(&store, orphan).await, Some(1));
    let routed = store.delete_team(team.id).await.expect("delete team");
    assert_eq!(routed_ids(&routed), vec![orphan]);
    assert_eq!(assignee(&store, orphan).await, Some(ann.id));
    assert!(
        store
            .teams(acme.account.id)
            .await
            .expect("teams")
            .is_empty()
    );
}

/// Teams hold users of their own account only, one name per account.
async fn teams_stay_in_their_account(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let ann = agent(&store, &acme, "ann").await;
    let gus = agent(&store, &globex, "gus").await;

    let refused = store
        .create_team(acme.account.id, "Mixed", &[ann.id, gus.id])
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    let team = store
        .create_team(acme.account.id, "Support", &[ann.id])
        .await
        .expect("team");
    let again = store.create_team(acme.account.id, "Support", &[]).await;
    assert!(
        matches!(&again, Err(StoreError::Conflict(m)) if m == "team name already in use"),
        "{again:?}"
    );
    store
        .create_team(globex.account.id, "Support", &[gus.id])
        .await
        .expect("the same name elsewhere");

    let refused = store.set_team_members(team.id, &[gus.id]).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    let refused = store.set_inbox_team(globex.inbox.id, Some(team.id)).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    let refused = store.delete_team(TeamId::new()).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    assert_eq!(
        store.teams(acme.account.id).await.expect("teams"),
        vec![team]
    );
}

contract_tests!(team_routing, teams_stay_in_their_account,);
