//! Personal folders (docs/MODULES.md, "Folders") against real servers: two
//! agents, each subscribed to a folder of their own, watch one stream of
//! arrivals, assignments, takes, releases, resolutions and reopenings; after
//! every step each one's live list is exactly what their folder's filter
//! admits of the conversations as they are (read back from the server),
//! every `conversation` event they got matched their folder, and every
//! `conversation_removed` (`filter`) named a conversation their list showed.
//! Once on one node, once with the two agents on two nodes of a cluster.
//! Also: the folder routes (another user's folder is not found, open
//! counts, bad filters refused).

use std::collections::BTreeSet;

use serde_json::{Value, json};
use switchboard_proto::client::{self, ClientFrame};
use switchboard_proto::server::ConversationRemovedReason;
use switchboard_proto::{ConversationStatus, ErrorCode, ServerFrame, Summary};
use uuid::Uuid;

use crate::support::cluster::Cluster;
use crate::support::server::Agent;
use crate::support::{Fixture, TestServer, WsClient};

/// How long a list may take to catch up with a step.
const CONVERGE: std::time::Duration = std::time::Duration::from_secs(10);

fn id(value: &Value) -> Uuid {
    value.as_str().expect("an id").parse().expect("a uuid")
}

/// The folder rule, written again from the documentation (not the
/// server's code): which cards a filter admits for its owner `me`.
fn admits(filter: &Value, me: Uuid, card: &Summary) -> bool {
    let status = match card.status {
        ConversationStatus::Open => "open",
        ConversationStatus::Resolved => "resolved",
    };
    let assignee = card.assignee.as_ref().map(|a| a.user_id);
    let answering = card.answered_by.as_ref().map(|a| a.user_id) == Some(me);
    filter["status"].as_str().is_none_or(|s| s == status)
        && match filter["assignee"].as_str() {
            None | Some("any") => true,
            Some("me") => assignee == Some(me),
            Some("unassigned") => assignee.is_none(),
            Some(other) => panic!("the test's filter has assignee {other}"),
        }
        && filter["answered_by_me"]
            .as_bool()
            .is_none_or(|wanted| wanted == answering)
}

/// One agent's connection subscribed to one of their folders, and the
/// list it shows as a console would keep it.
struct Watcher {
    name: &'static str,
    me: Uuid,
    filter: Value,
    ws: WsClient,
    list: BTreeSet<Uuid>,
}

impl Watcher {
    /// Creates the folder through `server`, connects to `server` and
    /// subscribes to the folder; the ack's list is checked against `truth`.
    async fn subscribe(
        name: &'static str,
        server: &TestServer,
        agent: &Agent,
        filter: Value,
        truth: &[Summary],
    ) -> Self {
        let body = json!({"name": format!("{name}'s folder"), "filter": filter});
        let (status, folder) = server.call(&agent.token, "POST", "/v1/folders", body).await;
        assert_eq!(status, 201, "{folder}");
        let mut ws = WsClient::connect(server, &agent.token).await;
        let ack = ws
            .request(ClientFrame::SubscribeInbox(client::SubscribeInbox {
                reference: None,
                folder_id: Some(id(&folder["id"])),
            }))
            .await
            .expect("subscribe to the folder");
        let mut watcher = Self {
            name,
            me: agent.id,
            filter,
            ws,
            list: BTreeSet::new(),
        };
        for card in ack.conversations.expect("the folder's list") {
            assert!(watcher.admitted(&card), "{name}: listed {card:?}");
            watcher.list.insert(card.id);
        }
        assert_eq!(
            watcher.list,
            watcher.expected(truth),
            "{name}: the first list"
        );
        watcher
    }

    fn admitted(&self, card: &Summary) -> bool {
        admits(&self.filter, self.me, card)
    }

    fn expected(&self, truth: &[Summary]) -> BTreeSet<Uuid> {
        truth
            .iter()
            .filter(|c| self.admitted(c))
            .map(|c| c.id)
            .collect()
    }

    /// Applies what arrived, checking each frame.
    fn apply(&mut self, step: &str, frames: Vec<ServerFrame>) {
        for frame in frames {
            match frame {
                ServerFrame::Conversation(event) => {
                    let card = event.conversation;
                    assert!(
                        self.admitted(&card),
                        "{} at {step}: an event of a card outside the folder: {card:?}",
                        self.name
                    );
                    self.list.insert(card.id);
                }
                ServerFrame::ConversationRemoved(removed) => {
                    assert_eq!(
                        removed.reason,
                        ConversationRemovedReason::Filter,
                        "{} at {step}",
                        self.name
                    );
                    assert!(
                        self.list.remove(&removed.conversation_id),
                        "{} at {step}: removal of {} it did not show",
                        self.name,
                        removed.conversation_id
                    );
                }
                _ => {}
            }
        }
    }

    /// Reads events until the list is what the folder admits of `truth`,
    /// or fails at the deadline.
    async fn converge(&mut self, step: &str, truth: &[Summary]) {
        let expected = self.expected(truth);
        let deadline = tokio::time::Instant::now() + CONVERGE;
        loop {
            let frames = self.ws.settle().await;
            self.apply(step, frames);
            if self.list == expected {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} at {step}: the list is {:?}, the folder admits {expected:?}",
                self.name,
                self.list
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// Every conversation of the account as it is now, read by the owner.
async fn truth(server: &TestServer, owner: &Agent) -> Vec<Summary> {
    let (status, listed) = server
        .call(
            &owner.token,
            "GET",
            "/v1/conversations?limit=200",
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    serde_json::from_value(listed["conversations"].clone()).expect("cards")
}

/// The deployment a scenario runs on: one server, or nodes of a cluster.
struct Deployment<'a> {
    nodes: Vec<&'a TestServer>,
    owner: &'a Agent,
    agents: &'a [Agent],
    inbox: Uuid,
    inbox_key: &'a str,
}

impl Deployment<'_> {
    /// The node the `step`th action goes through.
    fn node(&self, step: usize) -> &TestServer {
        self.nodes[step % self.nodes.len()]
    }

    async fn owner_calls(&self, step: usize, path: String, body: Value) {
        let (status, answer) = self
            .node(step)
            .call(&self.owner.token, "POST", &path, body)
            .await;
        assert_eq!(status, 200, "{path}: {answer}");
    }

    async fn arrival(&self, step: usize, handle: &str) -> Uuid {
        let stored = self
            .node(step)
            .inbound(self.inbox_key, self.inbox, handle, "hello?")
            .await;
        id(&stored["conversation_id"])
    }
}

/// The scenario: Ann follows "assigned to me, open"; Bob follows "in the
/// queue, open, not answered by me". Ann watches on the first node, Bob on
/// the last; actions go through the nodes in turn.
async fn two_folders_over_one_stream(d: Deployment<'_>) {
    let (ann, bob) = (&d.agents[0], &d.agents[1]);
    let first = d.nodes[0];
    let last = d.nodes[d.nodes.len() - 1];
    // Away: nothing is assigned but by hand, so each step has one effect.
    for agent in [ann, bob] {
        let (status, answer) = first
            .call(
                &agent.token,
                "PUT",
                "/v1/agents/me/availability",
                json!({"status": "away"}),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    let c1 = d.arrival(0, "+4790000101").await;
    let c2 = d.arrival(1, "+4790000102").await;
    let now = truth(first, d.owner).await;
    let mut ann_watch = Watcher::subscribe(
        "ann",
        first,
        ann,
        json!({"assignee": "me", "status": "open"}),
        &now,
    )
    .await;
    let mut bob_watch = Watcher::subscribe(
        "bob",
        last,
        bob,
        json!({"assignee": "unassigned", "status": "open", "answered_by_me": false}),
        &now,
    )
    .await;
    assert_eq!(bob_watch.list, [c1, c2].into(), "both wait in the queue");
    // Bob answers from a second connection, on the node Ann watches from.
    let mut bob_console = WsClient::connect(first, &bob.token).await;

    let mut c3 = Uuid::nil();
    for step in 0..9 {
        let label = match step {
            0 => {
                c3 = d.arrival(step, "+4790000103").await;
                "a new arrival"
            }
            1 => {
                let body = json!({"user_id": ann.id, "force": true});
                d.owner_calls(step, format!("/v1/conversations/{c1}/assign"), body)
                    .await;
                "c1 assigned to ann"
            }
            2 => {
                bob_console.join(c2).await;
                bob_console.take(c2).await.expect("bob takes c2");
                "bob answers c2"
            }
            3 => {
                bob_console.release(c2).await;
                "bob stops answering c2"
            }
            4 => {
                let body = json!({"user_id": bob.id, "force": true});
                d.owner_calls(step, format!("/v1/conversations/{c1}/assign"), body)
                    .await;
                "c1 transferred to bob"
            }
            5 => {
                let body = json!({"user_id": ann.id, "force": true});
                d.owner_calls(step, format!("/v1/conversations/{c3}/assign"), body)
                    .await;
                "c3 assigned to ann"
            }
            6 => {
                d.owner_calls(step, format!("/v1/conversations/{c3}/resolve"), Value::Null)
                    .await;
                "c3 resolved"
            }
            7 => {
                d.owner_calls(step, format!("/v1/conversations/{c3}/reopen"), Value::Null)
                    .await;
                "c3 reopened"
            }
            _ => {
                d.owner_calls(
                    step,
                    format!("/v1/conversations/{c1}/unassign"),
                    Value::Null,
                )
                .await;
                "c1 unassigned"
            }
        };
        let now = truth(first, d.owner).await;
        ann_watch.converge(label, &now).await;
        bob_watch.converge(label, &now).await;
    }
    assert_eq!(
        ann_watch.list,
        BTreeSet::new(),
        "ann holds nothing at the end"
    );
    assert_eq!(bob_watch.list, [c1, c2, c3].into(), "all three wait again");
}

#[tokio::test]
async fn two_users_each_see_exactly_their_folder_live_on_one_node() {
    let fx = Fixture::new(2, &[]).await;
    two_folders_over_one_stream(Deployment {
        nodes: vec![&fx.server],
        owner: &fx.owner,
        agents: &fx.agents,
        inbox: fx.inbox,
        inbox_key: &fx.inbox_key,
    })
    .await;
}

#[tokio::test]
async fn two_users_each_see_exactly_their_folder_live_across_two_nodes() {
    let cluster = Cluster::start(2, 2, &[]).await;
    two_folders_over_one_stream(Deployment {
        nodes: vec![cluster.node(0), cluster.node(1)],
        owner: &cluster.owner,
        agents: &cluster.agents,
        inbox: cluster.inbox,
        inbox_key: &cluster.inbox_key,
    })
    .await;
}

#[tokio::test]
async fn folders_are_personal_counted_and_checked() {
    let fx = Fixture::new(2, &[("SWITCHBOARD_MAX_FOLDERS_PER_USER", "2")]).await;
    let server = &fx.server;
    let (ann, bob) = (&fx.agents[0], &fx.agents[1]);
    fx.conversation("+4790000201").await;
    let assigned = fx.conversation("+4790000202").await;
    let body = json!({"user_id": ann.id, "force": true});
    let (status, answer) = server
        .call(
            &fx.owner.token,
            "POST",
            &format!("/v1/conversations/{assigned}/assign"),
            body,
        )
        .await;
    assert_eq!(status, 200, "{answer}");

    let mine = json!({"name": "Mine", "filter": {"assignee": "me"}});
    let (status, folder) = server.call(&ann.token, "POST", "/v1/folders", mine).await;
    assert_eq!(status, 201, "{folder}");
    assert_eq!(folder["filter"], json!({"assignee": "me"}));
    let all = json!({"name": "All open", "filter": {"status": "open"}});
    let (status, _) = server.call(&ann.token, "POST", "/v1/folders", all).await;
    assert_eq!(status, 201);
    let (status, listed) = server
        .call(&ann.token, "GET", "/v1/folders", Value::Null)
        .await;
    assert_eq!(status, 200, "{listed}");
    let counts: Vec<(&str, u64)> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap(),
                f["open_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [("All open", 2), ("Mine", 1)],
        "by name, with counts"
    );

    let path = format!("/v1/folders/{}", folder["id"].as_str().unwrap());
    for (method, body) in [
        ("PATCH", json!({"name": "Stolen"})),
        ("DELETE", Value::Null),
    ] {
        let (status, refused) = server.call(&bob.token, method, &path, body).await;
        assert_eq!(
            (status, &refused["error"]["code"]),
            (404, &json!("not_found")),
            "bob {method} ann's folder"
        );
    }
    let (_, bobs) = server
        .call(&bob.token, "GET", "/v1/folders", Value::Null)
        .await;
    assert_eq!(bobs, json!([]), "bob lists none of ann's");
    let mut bob_ws = fx.connect(bob).await;
    let refused = bob_ws
        .request(ClientFrame::SubscribeInbox(client::SubscribeInbox {
            reference: None,
            folder_id: Some(id(&folder["id"])),
        }))
        .await
        .expect_err("another user's folder");
    assert_eq!(refused.code, ErrorCode::NotFound);

    for bad in [
        json!({"name": "x", "filter": {"assignee": "someone"}}),
        json!({"name": "x", "filter": {"colour": "red"}}),
        json!({"name": "x", "filter": {"inbox_ids": []}}),
        json!({"name": "", "filter": {}}),
    ] {
        let (status, refused) = server
            .call(&ann.token, "POST", "/v1/folders", bad.clone())
            .await;
        assert_eq!(status, 400, "{bad}: {refused}");
    }
    let unknown = json!({"name": "x", "filter": {"inbox_ids": [Uuid::now_v7()]}});
    let (status, refused) = server
        .call(&ann.token, "POST", "/v1/folders", unknown)
        .await;
    assert_eq!(
        (status, &refused["error"]["message"]),
        (404, &json!("no such inbox"))
    );
    let third = json!({"name": "Third"});
    let (status, refused) = server.call(&ann.token, "POST", "/v1/folders", third).await;
    assert_eq!(status, 409, "two folders at most here: {refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2 folders")),
        "{refused}"
    );
    let dup = json!({"name": "Mine"});
    let (status, _) = server
        .call(&bob.token, "POST", "/v1/folders", dup.clone())
        .await;
    assert_eq!(status, 201, "bob may use ann's folder name");
    let (status, refused) = server.call(&bob.token, "POST", "/v1/folders", dup).await;
    assert_eq!(status, 409, "a name once per user: {refused}");

    let (status, changed) = server
        .call(
            &ann.token,
            "PATCH",
            &path,
            json!({"filter": {"status": "resolved"}}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (&changed["name"], &changed["filter"], &changed["open_count"]),
        (&json!("Mine"), &json!({"status": "resolved"}), &json!(0))
    );
    let (status, _) = server.call(&ann.token, "DELETE", &path, Value::Null).await;
    assert_eq!(status, 204);
    let (status, _) = server.call(&ann.token, "DELETE", &path, Value::Null).await;
    assert_eq!(status, 404);

    // An inbox in a group ann holds nothing at is as unknown as no inbox.
    let owner = &fx.owner.token;
    let (_, groups) = server.call(owner, "GET", "/v1/groups", Value::Null).await;
    let root = groups
        .as_array()
        .and_then(|g| g.iter().find(|g| g["parent_id"].is_null()))
        .map(|g| g["id"].clone())
        .expect("the root group");
    let mut made = Vec::new();
    for name in ["North", "South"] {
        let body = json!({"name": name, "parent_id": root});
        let (status, group) = server.call(owner, "POST", "/v1/groups", body).await;
        assert_eq!(status, 201, "{group}");
        made.push(group["id"].clone());
    }
    let grants = json!([{"role": "operator", "group_id": made[0]}]);
    let (status, answer) = server
        .call(
            owner,
            "PUT",
            &format!("/v1/users/{}/grants", ann.id),
            grants,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let body = json!({"name": "South desk", "channel": "sms", "group_id": made[1]});
    let (status, south) = server.call(owner, "POST", "/v1/inboxes", body).await;
    assert_eq!(status, 201, "{south}");
    let unseen = json!({"name": "South", "filter": {"inbox_ids": [south["id"]]}});
    let (status, refused) = server.call(&ann.token, "POST", "/v1/folders", unseen).await;
    assert_eq!(
        (status, &refused["error"]["message"]),
        (404, &json!("no such inbox"))
    );
}
