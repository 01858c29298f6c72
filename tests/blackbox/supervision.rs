//! A supervisor's live view, through the real server: `join` with `watch`
//! follows a conversation without appearing in its presence or ever taking
//! its role, and `subscribe_agents` lists the agents the supervisor may
//! assign to and keeps each current (`agent_status`) or drops it
//! (`agent_removed`) as states and grants change, on one node and across a
//! cluster.

use serde_json::json;
use switchboard_proto::client::{self, Bare, SetAvailability};
use switchboard_proto::server::AgentStatus;
use switchboard_proto::{AckBody, Availability, ClientFrame, ErrorCode, Presence, ServerFrame};
use uuid::Uuid;

use crate::support::client::{active_id, observer_ids, typing};
use crate::support::cluster::Cluster;
use crate::support::{Fixture, WsClient};

fn watch(conversation: Uuid) -> ClientFrame {
    ClientFrame::Join(client::Join {
        reference: None,
        conversation_id: conversation,
        after_seq: None,
        watch: true,
    })
}

fn subscribe_agents() -> ClientFrame {
    ClientFrame::SubscribeAgents(Bare { reference: None })
}

fn availability(status: Availability) -> ClientFrame {
    ClientFrame::SetAvailability(SetAvailability {
        reference: None,
        status,
    })
}

fn presence_of(ack: &AckBody) -> &Presence {
    ack.presence.as_ref().expect("a presence")
}

/// Waits for the `agent_status` of `user` that satisfies `pred`.
async fn agent_status(
    client: &mut WsClient,
    user: Uuid,
    pred: impl Fn(&AgentStatus) -> bool,
) -> AgentStatus {
    match client
        .expect(
            "an agent_status",
            |f| matches!(f, ServerFrame::AgentStatus(a) if a.user_id == user && pred(a)),
        )
        .await
    {
        ServerFrame::AgentStatus(status) => status,
        _ => unreachable!(),
    }
}

/// Subscribes to the agents; the list the ack carries.
async fn agents_listed(supervisor: &mut WsClient) -> Vec<AgentStatus> {
    let ack = supervisor
        .request(subscribe_agents())
        .await
        .expect("subscribe");
    ack.agents.expect("agents")
}

/// `agent` sets themselves away; `supervisor` sees it.
async fn goes_away(agent: &mut WsClient, supervisor: &mut WsClient, user: Uuid) {
    agent
        .request(availability(Availability::Away))
        .await
        .unwrap();
    agent_status(supervisor, user, |a| a.availability == Availability::Away).await;
}

async fn agent_removed(client: &mut WsClient, user: Uuid) {
    client
        .expect(
            "an agent_removed",
            |f| matches!(f, ServerFrame::AgentRemoved(a) if a.user_id == user),
        )
        .await;
}

#[tokio::test]
async fn a_watcher_gets_every_event_and_nobody_sees_the_watcher() {
    let fx = Fixture::with_roles(&["inbox_manager", "operator"], &[]).await;
    let (sam, ann) = (&fx.agents[0], &fx.agents[1]);
    let conversation = fx.conversation("+15558100").await;

    let mut watcher = fx.connect(sam).await;
    let watched = watcher.request(watch(conversation)).await.expect("watch");
    let first = presence_of(&watched);
    assert_eq!(
        (active_id(first), observer_ids(first)),
        (None, vec![]),
        "watching an empty conversation makes nobody active, the watcher least"
    );
    let messages = watched.messages.expect("messages");
    assert_eq!(messages.len(), 1, "the customer's first message");

    let mut agent = fx.connect(ann).await;
    let joined = agent.join(conversation).await;
    let presence = presence_of(&joined);
    assert_eq!(
        (active_id(presence), observer_ids(presence)),
        (Some(ann.id), vec![]),
        "Ann answers at once; the watcher is nowhere in the presence"
    );
    watcher
        .expect_presence(conversation, |p| {
            active_id(p) == Some(ann.id) && p.observers.is_empty()
        })
        .await;

    let sent = agent
        .say(conversation, "m1", "Hello, how can I help?")
        .await
        .expect("sent");
    let seen = watcher.expect_message(conversation, sent.seq).await;
    assert_eq!(seen.body.as_deref(), Some("Hello, how can I help?"));
    agent.request(typing(conversation)).await.expect("typing");
    watcher
        .expect(
            "typing",
            |f| matches!(f, ServerFrame::Typing(t) if t.user_id == ann.id),
        )
        .await;

    // The watcher's comings and goings change nobody's presence.
    agent.settle().await;
    watcher.leave(conversation).await;
    watcher.request(watch(conversation)).await.expect("again");
    let unasked = agent.settle().await;
    assert!(
        !unasked
            .iter()
            .any(|f| matches!(f, ServerFrame::Presence(_))),
        "Ann saw a presence change: {unasked:?}"
    );

    // A plain join makes the watcher an observer like any other.
    let took_part = watcher.join(conversation).await;
    assert_eq!(observer_ids(presence_of(&took_part)), vec![sam.id]);
    agent
        .expect_presence(conversation, |p| observer_ids(p) == vec![sam.id])
        .await;
}

#[tokio::test]
async fn a_watching_connection_closing_leaves_its_users_seat_alone() {
    let grace = [("SWITCHBOARD_DISCONNECT_GRACE_SECS", "1")];
    let fx = Fixture::with_roles(&["inbox_manager", "operator", "operator"], &grace).await;
    let (sam, ann, bob) = (&fx.agents[0], &fx.agents[1], &fx.agents[2]);
    let conversation = fx.conversation("+15558101").await;
    let mut agent = fx.connect(ann).await;
    agent.join(conversation).await;
    let mut taking_part = fx.connect(sam).await;
    taking_part.join(conversation).await;
    let mut leaving = fx.connect(bob).await;
    leaving.join(conversation).await;
    agent
        .expect_presence(conversation, |p| observer_ids(p).len() == 2)
        .await;

    let mut watching = fx.connect(sam).await;
    let ack = watching.request(watch(conversation)).await.expect("watch");
    let listed = observer_ids(presence_of(&ack));
    assert_eq!(
        listed.iter().filter(|id| **id == sam.id).count(),
        1,
        "listed once"
    );
    // Sam's watching connection drops, then Bob's only one: Bob leaves
    // when the grace passes; Sam, still there through the other
    // connection, must not (had the watcher's drop counted, Sam's grace
    // would have passed first).
    agent.settle().await;
    watching.drop_connection();
    leaving.drop_connection();
    let after = agent
        .expect_presence(conversation, |p| !observer_ids(p).contains(&bob.id))
        .await;
    assert_eq!(observer_ids(&after), vec![sam.id], "Sam still observes");
    assert_eq!(active_id(&after), Some(ann.id));
}

#[tokio::test]
async fn watching_needs_conversations_assign() {
    let fx = Fixture::with_roles(&["operator", "viewer"], &[]).await;
    let conversation = fx.conversation("+15558102").await;
    for user in &fx.agents {
        let mut client = fx.connect(user).await;
        let refused = client.request(watch(conversation)).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::Forbidden, "{}", user.name);
        let refused = client.request(subscribe_agents()).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::Forbidden, "{}", user.name);
    }
    // Another account's supervisor does not learn the conversation exists.
    fx.server.create_rival_account().await;
    let token = fx.server.login("eve@rival.test").await;
    let mut stranger = WsClient::connect(&fx.server, &token).await;
    let refused = stranger.request(watch(conversation)).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn a_supervisor_follows_the_agents_it_may_assign_to_live() {
    let fx = Fixture::with_roles(&["inbox_manager", "operator", "viewer"], &[]).await;
    let (sam, ann, vic) = (&fx.agents[0], &fx.agents[1], &fx.agents[2]);
    let owner = &fx.owner.token;

    // Sam supervises, and is assigned nothing himself.
    let path = format!("/v1/users/{}/capacity", sam.id);
    let (status, _) = fx
        .server
        .call(owner, "PUT", &path, json!({"capacity": 0}))
        .await;
    assert_eq!(status, 200);
    let mut supervisor = fx.connect(sam).await;
    let listed = agents_listed(&mut supervisor).await;
    let names: Vec<&str> = listed.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["Agent 0", "Agent 1", "Olive Owner"],
        "every agent by name; the viewer answers nowhere"
    );
    assert!(!listed.iter().any(|a| a.user_id == vic.id));
    let before = listed.iter().find(|a| a.user_id == ann.id).unwrap();
    assert!(!before.online);

    let mut agent = fx.connect(ann).await;
    agent_status(&mut supervisor, ann.id, |a| a.online).await;
    goes_away(&mut agent, &mut supervisor, ann.id).await;
    agent
        .request(availability(Availability::Available))
        .await
        .unwrap();
    fx.conversation("+15558103").await;
    let loaded = agent_status(&mut supervisor, ann.id, |a| a.load == 1).await;
    assert_eq!(loaded.name, "Agent 1");

    // Grants decide who is within reach, at once.
    let root = fx.server.root_group(owner).await;
    fx.server.set_grant(owner, ann.id, "viewer", root).await;
    agent_removed(&mut supervisor, ann.id).await;
    fx.server.set_grant(owner, ann.id, "operator", root).await;
    agent_status(&mut supervisor, ann.id, |_| true).await;

    // Unsubscribed, nothing more comes.
    supervisor
        .request(ClientFrame::UnsubscribeAgents(Bare { reference: None }))
        .await
        .expect("unsubscribe");
    supervisor.take_backlog(); // what came before the ack
    agent
        .request(availability(Availability::Away))
        .await
        .unwrap();
    agent
        .expect(
            "own state",
            |f| matches!(f, ServerFrame::Agent(a) if a.availability == Availability::Away),
        )
        .await;
    let late = supervisor.settle().await;
    assert!(
        !late
            .iter()
            .any(|f| matches!(f, ServerFrame::AgentStatus(_))),
        "{late:?}"
    );
}

#[tokio::test]
async fn a_supervisor_losing_conversations_assign_stops_watching_and_sees_no_agents() {
    let fx = Fixture::with_roles(&["inbox_manager", "operator"], &[]).await;
    let (sam, ann) = (&fx.agents[0], &fx.agents[1]);
    let owner = &fx.owner.token;
    let conversation = fx.conversation("+15558104").await;
    let mut supervisor = fx.connect(sam).await;
    supervisor
        .request(watch(conversation))
        .await
        .expect("watch");
    supervisor
        .request(subscribe_agents())
        .await
        .expect("agents");

    let root = fx.server.root_group(owner).await;
    fx.server.set_grant(owner, sam.id, "operator", root).await;
    supervisor
        .expect(
            "conversation_removed",
            |f| matches!(f, ServerFrame::ConversationRemoved(r) if r.conversation_id == conversation),
        )
        .await;
    for user in [ann.id, fx.owner.id] {
        agent_removed(&mut supervisor, user).await;
    }
    // Nothing of the conversation reaches the former watcher any more.
    let mut agent = fx.connect(ann).await;
    agent.join(conversation).await;
    let sent = agent
        .say(conversation, "m1", "still there?")
        .await
        .expect("sent");
    let late = supervisor.settle().await;
    assert!(
        !late
            .iter()
            .any(|f| matches!(f, ServerFrame::Message(m) if m.message.seq == sent.seq)),
        "{late:?}"
    );
}

#[tokio::test]
async fn across_a_cluster_a_supervisor_sees_agents_and_conversations_of_every_node() {
    let cluster = Cluster::start(2, 1, &[]).await;
    let ann = &cluster.agents[0];
    let conversation = cluster.conversation("+15558105").await;
    let mut supervisor = WsClient::connect(cluster.node(0), &cluster.owner.token).await;
    let listed = agents_listed(&mut supervisor).await;
    assert!(listed.iter().any(|a| a.user_id == ann.id && !a.online));
    supervisor
        .request(watch(conversation))
        .await
        .expect("watch");

    let mut agent = cluster.connect(1, 0).await;
    agent_status(&mut supervisor, ann.id, |a| a.online).await;
    let joined = agent.join(conversation).await;
    assert_eq!(
        (
            active_id(presence_of(&joined)),
            observer_ids(presence_of(&joined))
        ),
        (Some(ann.id), vec![]),
        "the watcher on node 0 is in no presence"
    );
    supervisor
        .expect_presence(conversation, |p| active_id(p) == Some(ann.id))
        .await;
    let sent = agent
        .say(conversation, "m1", "hello from node 1")
        .await
        .expect("sent");
    supervisor.expect_message(conversation, sent.seq).await;
    goes_away(&mut agent, &mut supervisor, ann.id).await;
}
