//! New conversations arriving together. However a backend groups them
//! (Postgres records the arrivals of one process in batches, one
//! transaction each), every message is stored whole, each new conversation
//! is routed once (assigned or queued, never neither), and a caller whose
//! message fails, or who gives up, takes nobody else down with it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use switchboard_core::ids::{AccountId, ConversationId, NodeId, UserId};
use switchboard_core::model::{
    AssignmentKind, Conversation, ConversationStatus, Inbound, Inbox, NewInbound, User,
};
use switchboard_store::{Store, StoreError};
use tokio::task::JoinSet;

use crate::fixtures::{
    agent_with, all_conversations, history, inbound, inbox, load, online, queue, seqs, tenant,
};

async fn send(
    store: Arc<dyn Store>,
    inbox: Inbox,
    handle: String,
    name: Option<&'static str>,
    body: &'static str,
) -> Result<Inbound, StoreError> {
    store
        .record_inbound(NewInbound {
            inbox_id: inbox.id,
            handle: &handle,
            contact_name: name,
            body,
        })
        .await
}

/// Every open conversation of the account is assigned or queued, never
/// both, never neither; agents within capacity, their loads counted right.
async fn routed_whole(store: &Arc<dyn Store>, account: AccountId, agents: &[&User]) {
    let stored = all_conversations(store, account).await;
    let mut per_agent: HashMap<UserId, u32> = HashMap::new();
    for conv in &stored {
        if conv.status == ConversationStatus::Open {
            match (&conv.assignee, conv.queue_position) {
                (Some(agent), None) => *per_agent.entry(agent.id).or_default() += 1,
                (None, Some(_)) => {}
                other => panic!("open, but {other:?}: {conv:?}"),
            }
        }
    }
    for agent in agents {
        let counted = per_agent.get(&agent.id).copied().unwrap_or(0);
        assert_eq!(load(store, agent).await, counted);
        assert!(counted <= agent.capacity, "{} over capacity", agent.name);
    }
    // positions 1..=n
    queue(store, account).await;
}

/// What a caller was told about a conversation it routed: assigned within
/// capacity (and told the agent's new state), or queued.
fn told_routed(arrival: &Inbound, agents: &[&User]) {
    let conv = &arrival.conversation;
    assert_eq!(conv.status, ConversationStatus::Open);
    match (&conv.assignee, conv.queue_position) {
        (Some(agent), None) => {
            let state = arrival
                .routed
                .agents
                .iter()
                .find(|s| s.user.id == agent.id)
                .expect("told the assignee's state");
            let user = agents.iter().find(|a| a.id == agent.id).expect("an agent");
            assert!(state.load >= 1 && state.load <= user.capacity, "{state:?}");
        }
        (None, Some(place)) => assert!(place >= 1),
        other => panic!("neither assigned nor queued: {other:?}"),
    }
    assert!(
        arrival.routed.conversations.iter().any(|c| c == conv),
        "the routed conversations include its own card"
    );
}

/// New customers on two inboxes (one routed to a team), a customer whose
/// first messages race each other, messages to an open conversation and
/// to a resolved one, all at once from every store: every message stored,
/// each new conversation created once and routed once, capacity filled
/// exactly, the rest waiting.
async fn arrivals_of_every_kind_at_once(stores: Vec<Arc<dyn Store>>) {
    let store = stores[0].clone();
    let acme = tenant(&store, "acme").await;
    let node = NodeId::new();
    let ann = agent_with(&store, &acme, "ann", 4).await;
    let bob = agent_with(&store, &acme, "bob", 2).await;
    for agent in [&ann, &bob] {
        online(&store, agent, node).await;
    }
    let agents = [&ann, &bob];
    let sales = inbox(&store, &acme.account, "acme-sales").await;
    let team = store
        .create_team(acme.account.id, "Sales", &[bob.id])
        .await
        .expect("create team");
    store
        .set_inbox_team(sales.id, Some(team.id))
        .await
        .expect("route sales to the team");
    let regular = inbound(&store, &acme.inbox, "regular", "hi").await;
    let returning = inbound(&store, &acme.inbox, "returning", "hi").await;
    store
        .resolve(returning.conversation.id, acme.owner.id)
        .await
        .expect("resolve");

    let mut tasks = JoinSet::new();
    let mut n = 0;
    let mut spawn = |inbox: &Inbox, handle: String, name, body| {
        let store = stores[n % stores.len()].clone();
        n += 1;
        tasks.spawn(send(store, inbox.clone(), handle, name, body));
    };
    for k in 0..12 {
        spawn(&acme.inbox, format!("new-{k}"), None, "hello");
    }
    for k in 0..4 {
        spawn(&sales, format!("buyer-{k}"), None, "price?");
    }
    for _ in 0..3 {
        spawn(&acme.inbox, "twin".into(), None, "me again");
        spawn(&acme.inbox, "regular".into(), None, "more");
    }
    spawn(&acme.inbox, "named".into(), Some("Nora"), "hello");
    spawn(&acme.inbox, "returning".into(), None, "back again");
    let arrivals: Vec<Inbound> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|r| r.expect("record inbound"))
        .collect();

    let by_handle = |handle: &str| -> Vec<&Inbound> {
        arrivals
            .iter()
            .filter(|a| a.conversation.contact.handle == handle)
            .collect()
    };
    for arrival in &arrivals {
        assert_eq!(arrival.message.conversation_id, arrival.conversation.id);
        assert_eq!(arrival.message.seq, arrival.conversation.last_seq);
        if arrival.created {
            told_routed(arrival, &agents);
            assert_eq!(
                history(&store, arrival.conversation.id).await.len(),
                usize::from(arrival.conversation.assignee.is_some()),
                "routed once"
            );
        }
    }
    for k in 0..4 {
        let bought = &by_handle(&format!("buyer-{k}"))[0].conversation;
        assert!(
            bought.assignee.as_ref().is_none_or(|a| a.id == bob.id),
            "sales go to the team"
        );
    }
    let twins = by_handle("twin");
    assert_eq!(twins.iter().filter(|a| a.created).count(), 1);
    let twin: HashSet<ConversationId> = twins.iter().map(|a| a.conversation.id).collect();
    assert_eq!(twin.len(), 1, "one conversation for one customer");
    let twin = *twin.iter().next().expect("twin");
    assert_eq!(seqs(&store, twin).await, vec![1, 2, 3]);
    assert_eq!(
        by_handle("named")[0].conversation.contact.name.as_deref(),
        Some("Nora")
    );
    assert!(by_handle("regular").iter().all(|a| !a.created));
    assert_eq!(
        seqs(&store, regular.conversation.id).await,
        vec![1, 2, 3, 4]
    );
    let back = &by_handle("returning")[0];
    assert!(!back.created);
    told_routed(back, &agents);
    assert!(
        history(&store, returning.conversation.id)
            .await
            .iter()
            .any(|line| line.0 == AssignmentKind::Reopened)
    );

    // 12 + 4 + twin + named + returning new or reopened, with regular 20
    // open for a capacity of 6: both agents full, 14 waiting
    routed_whole(&store, acme.account.id, &agents).await;
    assert_eq!((load(&store, &ann).await, load(&store, &bob).await), (4, 2));
    assert_eq!(queue(&store, acme.account.id).await.len(), 14);
}

/// A handle too long for Postgres's index of contacts (8,000 characters
/// that do not compress): found absent, refused when inserted.
fn unindexable_handle() -> String {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..8_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'!' + (state % 90) as u8)
        })
        .collect()
}

/// One message the database refuses amid arrivals at the same moment: the
/// others are recorded and routed; that one is recorded whole or not at all.
async fn a_refused_arrival_fails_alone(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let node = NodeId::new();
    let ann = agent_with(&store, &acme, "ann", 5).await;
    online(&store, &ann, node).await;

    let mut tasks = JoinSet::new();
    for k in 0..30 {
        let handle = if k == 17 {
            unindexable_handle()
        } else {
            format!("customer-{k}")
        };
        tasks.spawn(send(
            store.clone(),
            acme.inbox.clone(),
            handle,
            None,
            "hello",
        ));
    }
    let outcomes = tasks.join_all().await;
    let recorded: Vec<&Inbound> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert!(recorded.len() >= 29, "only the refused one may fail");
    for arrival in &recorded {
        assert!(arrival.created);
        told_routed(arrival, &[&ann]);
    }
    let stored = all_conversations(&store, acme.account.id).await;
    assert_eq!(stored.len(), recorded.len(), "a failure stored nothing");
    for conv in &stored {
        assert_eq!(seqs(&store, conv.id).await, vec![1]);
    }
    routed_whole(&store, acme.account.id, &[&ann]).await;
    assert_eq!(load(&store, &ann).await, 5);
}

/// Callers giving up at every point of their arrival: each of their
/// conversations is stored whole and routed, or not at all, and the others
/// are answered.
async fn arrivals_whose_callers_give_up(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let node = NodeId::new();
    let ann = agent_with(&store, &acme, "ann", 3).await;
    let bob = agent_with(&store, &acme, "bob", 3).await;
    for agent in [&ann, &bob] {
        online(&store, agent, node).await;
    }

    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for k in 0..60 {
        let task = tokio::spawn(send(
            store.clone(),
            acme.inbox.clone(),
            format!("customer-{k}"),
            None,
            "hello",
        ));
        if k % 3 == 0 {
            dropped.push(task);
        } else {
            kept.push(task);
        }
    }
    for (k, task) in dropped.iter().enumerate() {
        for _ in 0..k % 7 {
            tokio::task::yield_now().await;
        }
        task.abort();
    }
    for task in kept {
        let arrival = task.await.expect("task").expect("record inbound");
        told_routed(&arrival, &[&ann, &bob]);
    }
    for task in dropped {
        let _ = task.await;
    }
    // one more, after every arrival handed over before it
    let last = inbound(&store, &acme.inbox, "last", "hello").await;
    told_routed(&last, &[&ann, &bob]);

    let stored: Vec<Conversation> = all_conversations(&store, acme.account.id).await;
    assert!(
        stored.len() > 40,
        "the callers that waited are all recorded"
    );
    let handles: HashSet<&str> = stored.iter().map(|c| c.contact.handle.as_str()).collect();
    assert_eq!(handles.len(), stored.len(), "one conversation per customer");
    for conv in &stored {
        assert_eq!(seqs(&store, conv.id).await, vec![1]);
        assert_eq!(conv.last_seq, 1);
    }
    routed_whole(&store, acme.account.id, &[&ann, &bob]).await;
    assert_eq!((load(&store, &ann).await, load(&store, &bob).await), (3, 3));
}

contract_tests!(
    a_refused_arrival_fails_alone,
    arrivals_whose_callers_give_up
);
node_contract_tests!(3; arrivals_of_every_kind_at_once);
