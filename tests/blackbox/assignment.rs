//! Capacity, auto-assignment and the Unassigned queue, through the real
//! server: cards (`conversation` events) carry the assignee and the queue
//! position, agents see their own load.

use serde_json::{Value, json};
use switchboard_proto::server::ConversationEvent;
use switchboard_proto::{ClientFrame, ErrorCode, ServerFrame, Summary};
use uuid::Uuid;

use crate::support::client::subscribe_inbox;
use crate::support::{Fixture, WsClient};

/// Waits for the card of `conversation` that satisfies `pred`.
async fn card(list: &mut WsClient, conversation: Uuid, pred: impl Fn(&Summary) -> bool) -> Summary {
    match list
        .expect("a card", |f| matches!(f, ServerFrame::Conversation(ConversationEvent { conversation: c }) if c.id == conversation && pred(c)))
        .await
    {
        ServerFrame::Conversation(event) => event.conversation,
        _ => unreachable!(),
    }
}

fn assignee(summary: &Summary) -> Option<Uuid> {
    summary.assignee.as_ref().map(|a| a.user_id)
}

async fn set_capacity(fx: &Fixture, user: Uuid, capacity: u32) {
    let response = reqwest::Client::new()
        .put(fx.server.http(&format!("/v1/users/{user}/capacity")))
        .bearer_auth(&fx.owner.token)
        .json(&json!({"capacity": capacity}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

async fn post(fx: &Fixture, token: &str, path: &str, body: Value) -> (u16, Value) {
    fx.server.call(token, "POST", path, body).await
}

/// Agents online (a console open) with `capacity` each, and the owner
/// listening to the inbox (the owner is an agent too: capacity 0).
async fn online(fx: &Fixture, capacity: u32) -> (Vec<WsClient>, WsClient) {
    let mut consoles = Vec::new();
    for agent in &fx.agents {
        set_capacity(fx, agent.id, capacity).await;
        consoles.push(fx.connect(agent).await);
    }
    let mut list = fx.connect(&fx.owner).await;
    list.request(subscribe_inbox()).await.unwrap();
    (consoles, list)
}

#[tokio::test]
async fn new_conversations_go_to_the_least_loaded_agent_and_agents_see_their_load() {
    let fx = Fixture::new(3, &[]).await;
    let (mut consoles, mut list) = online(&fx, 2).await;
    let mut owners = std::collections::HashSet::new();
    for i in 0..3 {
        let conversation = fx.conversation(&format!("+1555700{i}")).await;
        let summary = card(&mut list, conversation, |s| s.assignee.is_some()).await;
        owners.insert(assignee(&summary).unwrap());
    }
    assert_eq!(owners.len(), 3, "one each: the least loaded gets the next");
    for console in consoles.iter_mut() {
        match console
            .expect(
                "own load",
                |f| matches!(f, ServerFrame::Agent(a) if a.load == 1),
            )
            .await
        {
            ServerFrame::Agent(agent) => assert_eq!((agent.capacity, agent.online), (2, true)),
            _ => unreachable!(),
        }
    }
}

#[tokio::test]
async fn the_queue_waits_in_arrival_order_and_a_resolve_hands_over_the_oldest() {
    let fx = Fixture::new(1, &[]).await;
    let (_consoles, mut list) = online(&fx, 1).await;
    let ann = fx.agents[0].id;
    let first = fx.conversation("+15557100").await;
    assert_eq!(
        assignee(&card(&mut list, first, |s| s.assignee.is_some()).await),
        Some(ann)
    );
    // The inbound response tells how the new conversation was routed.
    let mut queued = Vec::new();
    for handle in ["+15557101", "+15557102"] {
        let posted = fx
            .server
            .inbound(&fx.inbox_key, fx.inbox, handle, "hello?")
            .await;
        assert!(posted["assignee"].is_null(), "{posted}");
        queued.push((
            posted["conversation_id"]
                .as_str()
                .unwrap()
                .parse::<Uuid>()
                .unwrap(),
            posted["queue_position"].as_u64(),
        ));
    }
    assert_eq!((queued[0].1, queued[1].1), (Some(1), Some(2)));
    let (second, third) = (queued[0].0, queued[1].0);
    assert_eq!(
        card(&mut list, second, |_| true).await.queue_position,
        Some(1)
    );
    assert_eq!(
        card(&mut list, third, |_| true).await.queue_position,
        Some(2)
    );

    let (status, resolved) = post(
        &fx,
        &fx.agents[0].token,
        &format!("/v1/conversations/{first}/resolve"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(resolved["status"], "resolved");
    let handed = card(&mut list, second, |s| s.assignee.is_some()).await;
    assert_eq!(
        (assignee(&handed), handed.queue_position),
        (Some(ann), None),
        "the oldest goes first"
    );
    let listed = list
        .request(subscribe_inbox())
        .await
        .unwrap()
        .conversations
        .unwrap();
    let third_now = listed.iter().find(|s| s.id == third).unwrap();
    assert_eq!(
        (third_now.assignee.as_ref(), third_now.queue_position),
        (None, Some(1))
    );
}

#[tokio::test]
async fn manual_assignment_beyond_capacity_is_refused_unless_an_admin_forces_it() {
    let fx = Fixture::new(2, &[]).await;
    let (_consoles, mut list) = online(&fx, 1).await;
    let (ann, bob) = (&fx.agents[0], &fx.agents[1]);
    let a = fx.conversation("+15557200").await;
    let b = fx.conversation("+15557201").await;
    card(&mut list, a, |s| s.assignee.is_some()).await;
    card(&mut list, b, |s| s.assignee.is_some()).await;
    let c = fx.conversation("+15557202").await;
    card(&mut list, c, |s| s.queue_position == Some(1)).await;

    // An operator may not assign at all.
    let refused = list_frame(
        &fx,
        bob,
        json!({"type":"assign","ref":"x","conversation_id":c,"user_id":ann.id}),
    )
    .await;
    assert_eq!(refused["code"], "forbidden");

    let (status, body) = post(
        &fx,
        &fx.owner.token,
        &format!("/v1/conversations/{c}/assign"),
        json!({"user_id": ann.id}),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("capacity")
    );

    let mut owner = fx.connect(&fx.owner).await;
    let error = owner
        .request(ClientFrame::Assign(switchboard_proto::client::Assign {
            reference: None,
            conversation_id: c,
            user_id: ann.id,
            force: false,
        }))
        .await
        .unwrap_err();
    assert_eq!(
        (error.code, error.load, error.capacity),
        (ErrorCode::Forbidden, Some(1), Some(1))
    );

    let forced = owner
        .request(ClientFrame::Assign(switchboard_proto::client::Assign {
            reference: None,
            conversation_id: c,
            user_id: ann.id,
            force: true,
        }))
        .await
        .expect("an admin forces it");
    assert_eq!(
        forced.conversation.as_ref().and_then(assignee),
        Some(ann.id)
    );

    let log: Value = reqwest::Client::new()
        .get(
            fx.server
                .http(&format!("/v1/conversations/{c}/assignments")),
        )
        .bearer_auth(&fx.owner.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last = log.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "forced");
    assert_eq!(last["actor"], json!(fx.owner.id));
    assert_eq!(last["assignee"], json!(ann.id));
}

async fn list_frame(fx: &Fixture, agent: &crate::support::server::Agent, frame: Value) -> Value {
    let mut c = fx.connect(agent).await;
    c.send_text(frame.to_string()).await;
    match c
        .expect("the answer", |f| {
            matches!(f, ServerFrame::Error(_) | ServerFrame::Ack(_))
        })
        .await
    {
        ServerFrame::Error(e) => serde_json::to_value(e).unwrap(),
        ServerFrame::Ack(a) => serde_json::to_value(a).unwrap(),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn an_agent_coming_online_drains_the_queue_up_to_capacity_and_away_agents_get_nothing() {
    let fx = Fixture::new(1, &[]).await;
    let ann = &fx.agents[0];
    set_capacity(&fx, ann.id, 2).await;
    let mut list = fx.connect(&fx.owner).await;
    list.request(subscribe_inbox()).await.unwrap();
    let mut queued = Vec::new();
    for i in 0..3 {
        let c = fx.conversation(&format!("+1555730{i}")).await;
        card(&mut list, c, |s| s.queue_position == Some(i + 1)).await;
        queued.push(c);
    }
    // Ann opens her console: the two oldest are hers at once.
    let mut console = fx.connect(ann).await;
    for c in &queued[..2] {
        assert_eq!(
            assignee(&card(&mut list, *c, |s| s.assignee.is_some()).await),
            Some(ann.id)
        );
    }
    card(&mut list, queued[2], |s| s.queue_position == Some(1)).await;

    // Away: a free slot is not filled.
    let ack = console
        .request(ClientFrame::SetAvailability(
            switchboard_proto::client::SetAvailability {
                reference: None,
                status: switchboard_proto::client::Availability::Away,
            },
        ))
        .await
        .unwrap();
    assert_eq!(
        ack.agent.unwrap().availability,
        switchboard_proto::client::Availability::Away
    );
    let (status, _) = post(
        &fx,
        &ann.token,
        &format!("/v1/conversations/{}/resolve", queued[0]),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let still = list
        .request(subscribe_inbox())
        .await
        .unwrap()
        .conversations
        .unwrap();
    assert_eq!(
        still
            .iter()
            .find(|s| s.id == queued[2])
            .unwrap()
            .queue_position,
        Some(1)
    );
    // Available again: it is filled.
    console
        .request(ClientFrame::SetAvailability(
            switchboard_proto::client::SetAvailability {
                reference: None,
                status: switchboard_proto::client::Availability::Available,
            },
        ))
        .await
        .unwrap();
    assert_eq!(
        assignee(&card(&mut list, queued[2], |s| s.assignee.is_some()).await),
        Some(ann.id)
    );
}

#[tokio::test]
async fn unassign_requeues_and_an_offline_agents_conversations_return_when_configured() {
    let fx = Fixture::new(
        1,
        &[
            ("SWITCHBOARD_DISCONNECT_GRACE_SECS", "1"),
            ("SWITCHBOARD_REQUEUE_OFFLINE_AFTER_SECS", "1"),
        ],
    )
    .await;
    let ann = &fx.agents[0];
    set_capacity(&fx, ann.id, 3).await;
    let mut list = fx.connect(&fx.owner).await;
    list.request(subscribe_inbox()).await.unwrap();
    let console = fx.connect(ann).await;
    let c = fx.conversation("+15557400").await;
    card(&mut list, c, |s| assignee(s) == Some(ann.id)).await;

    // Ann closes her console: after the grace and the delay, it waits again.
    drop(console);
    card(&mut list, c, |s| {
        s.assignee.is_none() && s.queue_position == Some(1)
    })
    .await;

    // Back online, she gets it again; the owner can unassign it by hand.
    let _console = fx.connect(ann).await;
    card(&mut list, c, |s| assignee(s) == Some(ann.id)).await;
    let (status, body) = post(
        &fx,
        &fx.owner.token,
        &format!("/v1/conversations/{c}/unassign"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}
