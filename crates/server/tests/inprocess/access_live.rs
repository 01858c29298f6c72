//! Access enforced on live sockets (issue #11, docs/ACCESS.md): a server on
//! loopback, real WebSocket clients, and access changed through the store
//! followed by `Hub::access_changed` (what the REST routes do). What each
//! built-in role receives on a conversation, a Sales user seeing a
//! conversation come and go with its assignment, an operator of a sub-group
//! losing an inbox moved out of it, and an active operator downgraded to
//! viewer.
//!
//! Absence is proven with a fence: events are queued before the call that
//! caused them returns (or before a witness that shares the delivery got
//! theirs), so a fence frame answered afterwards arrives behind them.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use switchboard_bus::MemoryBus;
use switchboard_core::access::{BuiltinRole, CustomRole, Grant, Permission, PermissionSet, RoleId};
use switchboard_core::input::Name;
use switchboard_core::model::{NewAccount, NewInbound, NewInbox, NewUser, User};
use switchboard_core::ports::{Bus, Store};
use switchboard_core::{AccountId, ConversationId, GroupId, InboxId, NodeId, Role};
use switchboard_server::accept;
use switchboard_server::app::{App, AppSettings};
use switchboard_server::clock::SystemClock;
use switchboard_server::config::Config;
use switchboard_server::hub::Hub;
use switchboard_server::metrics::Metrics;
use switchboard_server::state::AppState;
use switchboard_store::StoreOptions;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::support::{TIMING, active, join, observers, say, settings, take};

/// How long a test waits for a frame before it fails.
const PATIENCE: Duration = Duration::from_secs(5);

#[derive(Debug, Parser)]
struct Serve {
    #[command(flatten)]
    config: Config,
}

/// One node serving WebSockets on loopback, over a SQLite store.
struct Server {
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    app: Arc<App>,
    addr: std::net::SocketAddr,
    cancel: CancellationToken,
    account: AccountId,
    owner: User,
    root: GroupId,
    inbox: InboxId,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("a.db").display());
        let store = switchboard_store::connect(&url, &StoreOptions::default())
            .await
            .unwrap();
        let node = NodeId::new();
        let bus: Arc<dyn Bus> = Arc::new(MemoryBus::single(node));
        let hub = Hub::new(
            node,
            store.clone(),
            bus,
            settings(TIMING),
            Arc::new(SystemClock::new()),
            Arc::new(Metrics::new()),
        );
        let app = Arc::new(App::live(
            store.clone(),
            hub.clone(),
            AppSettings::default(),
        ));
        let config =
            Serve::try_parse_from(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
                .unwrap()
                .config;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cancel = CancellationToken::new();
        let state = AppState {
            app: app.clone(),
            hub: hub.clone(),
            ws_config: AppState::websocket_config(&config),
            config: Arc::new(config),
            cancel: cancel.clone(),
            tracker: TaskTracker::new(),
        };
        let service = accept::Service {
            router: switchboard_server::http::router(state.clone()),
            websockets: true,
        };
        tokio::spawn(accept::serve(listener, state, service));

        let (account, owner) = store
            .create_account(NewAccount {
                name: "Acme",
                owner_email: "owner@acme.test",
                owner_name: "Olive",
                owner_password_hash: "x",
            })
            .await
            .unwrap();
        let root = store
            .account_access(account.id)
            .await
            .unwrap()
            .groups
            .root();
        let inbox = store
            .create_inbox(NewInbox {
                account_id: account.id,
                name: "Support",
                channel: "sms",
                key_hash: &[7; 32],
            })
            .await
            .unwrap()
            .id;
        Self {
            store,
            hub,
            app,
            addr,
            cancel,
            account: account.id,
            owner,
            root,
            inbox,
            _dir: dir,
        }
    }

    /// A user holding exactly `grants` (role at group).
    async fn user(&self, name: &str, grants: &[(BuiltinRole, GroupId)]) -> User {
        let user = self
            .store
            .create_user(NewUser {
                account_id: self.account,
                email: &format!("{}@acme.test", name.to_lowercase()),
                name,
                password_hash: "x",
                role: Role::Operator,
                capacity: 5,
            })
            .await
            .unwrap();
        self.grant(&user, grants).await;
        user
    }

    /// Replaces the user's grants and tells the hub, as the REST route does.
    async fn grant(&self, user: &User, grants: &[(BuiltinRole, GroupId)]) {
        let grants: Vec<(RoleId, GroupId)> = grants
            .iter()
            .map(|(role, group)| (RoleId::Builtin(*role), *group))
            .collect();
        self.grant_roles(user, &grants).await;
    }

    async fn grant_roles(&self, user: &User, grants: &[(RoleId, GroupId)]) {
        let grants: Vec<Grant> = grants
            .iter()
            .map(|(role, group)| Grant::new(*role, *group))
            .collect();
        self.store.set_grants(user.id, &grants).await.unwrap();
        self.hub.access_changed(self.account).await;
    }

    /// A custom role of the account holding exactly `permissions`.
    async fn custom_role(&self, name: &str, permissions: &[Permission]) -> RoleId {
        let role = CustomRole {
            name: Name::parse("name", name).unwrap(),
            permissions: PermissionSet::of(permissions),
        };
        let id = self
            .store
            .create_custom_role(self.account, &role)
            .await
            .unwrap();
        self.hub.access_changed(self.account).await;
        RoleId::Custom(id)
    }

    /// A customer writes to `inbox` (a new conversation for a new handle);
    /// told to the hub before this returns.
    async fn inbound(&self, inbox: InboxId, handle: &str, body: &str) -> Uuid {
        let stored = self
            .store
            .record_inbound(NewInbound {
                inbox_id: inbox,
                handle,
                contact_name: None,
                body,
            })
            .await
            .unwrap();
        self.hub.inbound(&stored).await;
        stored.conversation.id.as_uuid()
    }

    /// The owner assigns the conversation by hand (the hub is told before
    /// this returns).
    async fn assign(&self, conversation: Uuid, to: &User) {
        self.app
            .assign(
                &self.owner.principal(),
                ConversationId::from(conversation),
                to.id,
                true,
            )
            .await
            .unwrap();
    }

    async fn group(&self, name: &str, parent: GroupId) -> GroupId {
        self.store
            .create_group(self.account, &Name::parse("name", name).unwrap(), parent)
            .await
            .unwrap()
            .id
    }

    async fn new_inbox(&self, name: &str, group: GroupId) -> InboxId {
        let inbox = self
            .store
            .create_inbox(NewInbox {
                account_id: self.account,
                name,
                channel: "sms",
                key_hash: name.as_bytes(),
            })
            .await
            .unwrap();
        self.store.set_inbox_group(inbox.id, group).await.unwrap();
        self.hub.access_changed(self.account).await;
        inbox.id
    }

    /// A signed-in WebSocket client of `user`.
    async fn connect(&self, user: &User) -> Client {
        let token = format!("sbs_live-{}", Uuid::now_v7());
        let hash = switchboard_server::auth::secret_hash(&token);
        let expires = chrono::Utc::now() + chrono::Duration::hours(1);
        self.store
            .create_login_session(&hash, user.id, expires)
            .await
            .unwrap();
        let mut request = format!("ws://{}/v1/ws", self.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        Client {
            who: user.name.clone(),
            ws,
            seen: Vec::new(),
            refs: 0,
        }
    }
}

/// A real WebSocket client: frames read so far, taken by matching.
struct Client {
    who: String,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    seen: Vec<Value>,
    refs: u32,
}

impl Client {
    /// Sends `frame` (its `ref` replaced by a fresh one) and returns the answer.
    async fn ask(&mut self, mut frame: Value) -> Value {
        self.refs += 1;
        let reference = format!("{}-{}", self.who, self.refs);
        frame["ref"] = json!(reference);
        if frame["type"] == "send" {
            frame["client_msg_id"] = json!(reference);
        }
        self.ws
            .send(WsMessage::text(frame.to_string()))
            .await
            .unwrap();
        self.wait(&format!("the answer to {frame}"), |f| {
            f["ref"] == reference.as_str()
        })
        .await
    }

    /// Waits for a frame matching `pred` (frames read before count).
    async fn wait(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(i) = self.seen.iter().position(&pred) {
                return self.seen.remove(i);
            }
            let next = tokio::time::timeout_at(deadline, self.ws.next()).await;
            let frame = match next {
                Ok(Some(Ok(WsMessage::Text(text)))) => serde_json::from_str(text.as_str()).unwrap(),
                Ok(Some(Ok(_))) => continue,
                Ok(other) => panic!(
                    "{}: the socket ended waiting for {what}: {other:?}",
                    self.who
                ),
                Err(_) => panic!(
                    "{}: timed out waiting for {what}; seen {:#?}",
                    self.who, self.seen
                ),
            };
            self.seen.push(frame);
        }
    }

    /// Waits for a frame matching `pred` and forgets every frame read
    /// before it: what follows is what arrived after.
    async fn wait_then_forget(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let frame = self.wait(what, pred).await;
        self.seen.clear();
        frame
    }

    /// Every frame that arrives before the answer to a fence frame sent
    /// now (everything queued for this connection until then), taken.
    async fn fence(&mut self) -> Vec<Value> {
        self.ask(join(Uuid::now_v7(), "")).await;
        std::mem::take(&mut self.seen)
    }

    async fn subscribe(&mut self) -> Value {
        self.ask(json!({"type": "subscribe_inbox"})).await
    }
}

/// Events about `conversation` among `frames`.
fn about(frames: &[Value], conversation: Uuid) -> Vec<&Value> {
    let id = conversation.to_string();
    frames
        .iter()
        .filter(|f| f["conversation_id"] == id.as_str() || f["conversation"]["id"] == id.as_str())
        .collect()
}

fn listed(ack: &Value, conversation: Uuid) -> bool {
    ack["conversations"]
        .as_array()
        .unwrap_or_else(|| panic!("not a subscribe ack: {ack}"))
        .iter()
        .any(|c| c["id"] == conversation.to_string())
}

fn is_message(f: &Value, conversation: Uuid, body: &str) -> bool {
    f["type"] == "message"
        && f["conversation_id"] == conversation.to_string()
        && f["message"]["id"].is_string()
        && (f["message"]["body"] == body || f["message"]["body"].is_null())
        && f["message"]["direction"]
            == if body.starts_with("customer") {
                "inbound"
            } else {
                "outbound"
            }
}

fn removed(f: &Value, conversation: Uuid, reason: &str) -> bool {
    f["type"] == "conversation_removed"
        && f["conversation_id"] == conversation.to_string()
        && f["reason"] == reason
}

fn ok(answer: &Value) -> &Value {
    assert_eq!(answer["type"], "ack", "refused: {answer}");
    answer
}

fn refused<'a>(answer: &'a Value, code: &str) -> &'a Value {
    assert_eq!(answer["type"], "error", "not refused: {answer}");
    assert_eq!(answer["code"], code, "{answer}");
    answer
}

/// Every built-in role, and two custom roles that see conversations
/// without `messages.read_bodies` (no built-in role does): what a user
/// granted it at the root receives on a conversation assigned to a
/// colleague, read from the role's permissions.
#[tokio::test]
async fn each_role_receives_what_its_permissions_allow() {
    let s = Server::start().await;
    let alice = s.user("Alice", &[(BuiltinRole::Operator, s.root)]).await;
    let conv = s.inbound(s.inbox, "+15550100", "customer: hello?").await;
    s.assign(conv, &alice).await;
    let mut ann = s.connect(&alice).await;
    let joined = ok(&ann.ask(join(conv, "")).await).clone();
    assert_eq!(active(&joined["presence"]), Some("Alice"));

    // Every built-in role but `owner`, which is never granted: an account
    // has exactly one owner, made with it (docs/PEOPLE.md, "Ownership").
    let mut roles: Vec<(String, RoleId, PermissionSet)> = BuiltinRole::ALL
        .into_iter()
        .filter(|r| *r != BuiltinRole::Owner)
        .map(|r| (r.as_str().to_owned(), RoleId::Builtin(r), r.permissions()))
        .collect();
    for (name, permissions) in [
        (
            "observer without bodies",
            &[Permission::ConversationsView][..],
        ),
        (
            "answerer without bodies",
            &[
                Permission::ConversationsView,
                Permission::ConversationsAnswer,
            ][..],
        ),
    ] {
        let id = s.custom_role(name, permissions).await;
        roles.push((name.to_owned(), id, PermissionSet::of(permissions)));
    }
    assert!(
        roles
            .iter()
            .any(|(_, _, held)| held.contains(Permission::ConversationsView)
                && !held.contains(Permission::MessagesReadBodies)),
        "the table covers redaction"
    );

    for (i, (label, role, held)) in roles.into_iter().enumerate() {
        let sees = held.contains(Permission::ConversationsView);
        let bodies = held.contains(Permission::MessagesReadBodies);
        let name = format!("Subject{i}");
        let subject = s.user(&name, &[]).await;
        s.grant_roles(&subject, &[(role, s.root)]).await;
        let mut sub = s.connect(&subject).await;
        let case = format!("{label} (sees {sees}, bodies {bodies})");

        let list = ok(&sub.subscribe().await).clone();
        assert_eq!(listed(&list, conv), sees, "{case}: listed");
        let answer = sub.ask(join(conv, "")).await;
        if sees {
            let messages = ok(&answer)["messages"].as_array().unwrap();
            assert!(!messages.is_empty(), "{case}: {answer}");
            for m in messages {
                assert_eq!(
                    m["body"].is_string(),
                    bodies,
                    "{case}: a join ack's body: {m}"
                );
            }
            assert_eq!(active(&answer["presence"]), Some("Alice"), "{case}");
            assert!(observers(&answer["presence"]).contains(&name.as_str()));
        } else {
            refused(&answer, "not_found");
        }

        // A customer writes, then Alice answers.
        let inbound = format!("customer: about {name}");
        s.inbound(s.inbox, "+15550100", &inbound).await;
        let outbound = format!("agent: hello {name}");
        ok(&ann.ask(say(conv, "", &outbound)).await);
        if sees {
            for body in [&inbound, &outbound] {
                let event = sub
                    .wait(&format!("{case}: the message {body}"), |f| {
                        is_message(f, conv, body) && f["message"]["seq"].is_u64()
                    })
                    .await;
                let got = &event["message"]["body"];
                if bodies {
                    assert_eq!(got, body.as_str(), "{case}");
                } else {
                    assert!(got.is_null(), "{case}: a body reached them: {event}");
                }
            }
            sub.wait(&format!("{case}: the card"), |f| {
                f["type"] == "conversation" && f["conversation"]["id"] == conv.to_string()
            })
            .await;
        } else {
            // Alice's send was delivered (and its ack queued) after every
            // event of both messages was queued for every connection.
            let seen = sub.fence().await;
            assert!(
                about(&seen, conv).is_empty(),
                "{case}: events of a conversation they do not see: {seen:#?}"
            );
        }
        sub.ws.close(None).await.unwrap();
    }
}

#[tokio::test]
async fn a_sales_user_sees_a_conversation_while_it_is_assigned_to_them() {
    let s = Server::start().await;
    let alice = s.user("Alice", &[(BuiltinRole::Operator, s.root)]).await;
    let bob = s.user("Bob", &[(BuiltinRole::Viewer, s.root)]).await;
    let sam = s.user("Sam", &[(BuiltinRole::Sales, s.root)]).await;
    let conv = s.inbound(s.inbox, "+15550100", "customer: hello?").await;
    s.assign(conv, &alice).await;
    let mut witness = s.connect(&bob).await;
    ok(&witness.ask(join(conv, "")).await);
    let mut list = s.connect(&sam).await;
    let mut room = s.connect(&sam).await;

    assert!(!listed(ok(&list.subscribe().await), conv), "not theirs yet");
    refused(&room.ask(join(conv, "")).await, "not_found");

    // Assigned to Sam: the card arrives, assigned to them.
    s.assign(conv, &sam).await;
    let card = list
        .wait("the card assigned to Sam", |f| {
            f["type"] == "conversation" && f["conversation"]["id"] == conv.to_string()
        })
        .await;
    assert_eq!(
        card["conversation"]["assignee"]["user_id"],
        sam.id.to_string()
    );
    let answer = room.ask(join(conv, "")).await;
    assert!(
        observers(&ok(&answer)["presence"]).contains(&"Sam"),
        "{answer}"
    );
    let taken = room.ask(take(conv, "")).await;
    assert_eq!(active(&ok(&taken)["presence"]), Some("Sam"));
    witness
        .wait("Sam active", |f| {
            f["type"] == "presence" && active(f) == Some("Sam")
        })
        .await;
    s.inbound(s.inbox, "+15550100", "customer: still there?")
        .await;
    room.wait("the message", |f| {
        is_message(f, conv, "customer: still there?")
            && f["message"]["body"] == "customer: still there?"
    })
    .await;

    // Transferred to Alice: gone from Sam's list and room, and Sam out of
    // the presence the others see.
    s.assign(conv, &alice).await;
    list.wait_then_forget("removed from the list", |f| removed(f, conv, "unassigned"))
        .await;
    room.wait_then_forget("removed from the room", |f| removed(f, conv, "unassigned"))
        .await;
    let presence = witness
        .wait("Sam gone", |f| {
            f["type"] == "presence"
                && f["conversation_id"] == conv.to_string()
                && active(f).is_none()
        })
        .await;
    assert!(!observers(&presence).contains(&"Sam"), "{presence}");

    s.inbound(s.inbox, "+15550100", "customer: hello again")
        .await;
    witness
        .wait("the message", |f| {
            is_message(f, conv, "customer: hello again")
        })
        .await;
    for sam in [&mut list, &mut room] {
        let seen = sam.fence().await;
        assert!(
            about(&seen, conv).is_empty(),
            "events after the transfer: {seen:#?}"
        );
    }
    refused(&room.ask(join(conv, "")).await, "not_found");
    refused(&room.ask(say(conv, "", "agent: hi")).await, "not_found");
}

#[tokio::test]
async fn an_operator_of_a_sub_group_loses_an_inbox_moved_out_of_it() {
    let s = Server::start().await;
    let north = s.group("North", s.root).await;
    let north_east = s.group("North East", north).await;
    let south = s.group("South", s.root).await;
    let nora = s.user("Nora", &[(BuiltinRole::Operator, north)]).await;
    let bob = s.user("Bob", &[(BuiltinRole::Operator, s.root)]).await;
    let north_inbox = s.new_inbox("north", north).await;
    let east_inbox = s.new_inbox("north-east", north_east).await;
    let south_inbox = s.new_inbox("south", south).await;
    let in_north = s.inbound(north_inbox, "+15550001", "customer: north").await;
    let in_east = s.inbound(east_inbox, "+15550002", "customer: east").await;
    let in_south = s.inbound(south_inbox, "+15550003", "customer: south").await;
    let at_root = s.inbound(s.inbox, "+15550004", "customer: root").await;

    let mut list = s.connect(&nora).await;
    let mut room = s.connect(&nora).await;
    let ack = ok(&list.subscribe().await).clone();
    assert!(listed(&ack, in_north) && listed(&ack, in_east), "{ack}");
    assert!(!listed(&ack, in_south) && !listed(&ack, at_root), "{ack}");
    for elsewhere in [in_south, at_root] {
        refused(&room.ask(join(elsewhere, "")).await, "not_found");
        refused(&room.ask(take(elsewhere, "")).await, "not_found");
        refused(
            &room.ask(say(elsewhere, "", "agent: hi")).await,
            "not_found",
        );
    }
    for (i, mine) in [in_north, in_east].into_iter().enumerate() {
        ok(&room.ask(take(mine, "")).await);
        let sent = room.ask(say(mine, "", &format!("agent: answer {i}"))).await;
        assert_eq!(ok(&sent)["message"]["body"], format!("agent: answer {i}"));
    }

    // Bob watches North's conversation; the inbox moves to the South.
    let mut witness = s.connect(&bob).await;
    let joined = ok(&witness.ask(join(in_north, "")).await).clone();
    assert_eq!(active(&joined["presence"]), Some("Nora"));
    s.store.set_inbox_group(north_inbox, south).await.unwrap();
    s.hub.access_changed(s.account).await;

    list.wait_then_forget("removed from the list", |f| {
        removed(f, in_north, "permission")
    })
    .await;
    room.wait_then_forget("removed from the room", |f| {
        removed(f, in_north, "permission")
    })
    .await;
    let presence = witness
        .wait("Nora gone", |f| {
            f["type"] == "presence" && active(f).is_none()
        })
        .await;
    assert!(!observers(&presence).contains(&"Nora"), "{presence}");

    s.inbound(north_inbox, "+15550001", "customer: north again")
        .await;
    witness
        .wait("the message", |f| {
            is_message(f, in_north, "customer: north again")
        })
        .await;
    for nora in [&mut list, &mut room] {
        let seen = nora.fence().await;
        assert!(
            about(&seen, in_north).is_empty(),
            "events after the move: {seen:#?}"
        );
    }
    refused(&room.ask(join(in_north, "")).await, "not_found");
    refused(&room.ask(say(in_north, "", "agent: hi")).await, "not_found");
    // North East is still hers.
    let sent = room.ask(say(in_east, "", "agent: still here")).await;
    assert_eq!(ok(&sent)["message"]["body"], "agent: still here");

    // Moved back under North (into North East): the card comes back.
    s.store
        .set_inbox_group(north_inbox, north_east)
        .await
        .unwrap();
    s.hub.access_changed(s.account).await;
    list.wait("the card back", |f| {
        f["type"] == "conversation" && f["conversation"]["id"] == in_north.to_string()
    })
    .await;
    assert!(listed(ok(&list.subscribe().await), in_north));
    ok(&room.ask(join(in_north, "")).await);
}

#[tokio::test]
async fn an_active_operator_downgraded_to_viewer_loses_the_role_at_once() {
    let s = Server::start().await;
    let olga = s.user("Olga", &[(BuiltinRole::Operator, s.root)]).await;
    let bob = s.user("Bob", &[(BuiltinRole::Operator, s.root)]).await;
    let conv = s.inbound(s.inbox, "+15550100", "customer: hello?").await;
    let mut oc = s.connect(&olga).await;
    let mut witness = s.connect(&bob).await;
    let joined = ok(&oc.ask(join(conv, "")).await).clone();
    assert_eq!(active(&joined["presence"]), Some("Olga"));
    ok(&witness.ask(join(conv, "")).await);
    ok(&oc.ask(say(conv, "", "agent: on it")).await);

    s.grant(&olga, &[(BuiltinRole::Viewer, s.root)]).await;
    let lost = oc
        .wait("lock_lost", |f| {
            f["type"] == "lock_lost" && f["conversation_id"] == conv.to_string()
        })
        .await;
    assert_eq!(lost["reason"], "permission");
    let presence = witness
        .wait("nobody active", |f| {
            f["type"] == "presence" && active(f).is_none()
        })
        .await;
    assert!(
        observers(&presence).contains(&"Olga"),
        "she still observes: {presence}"
    );
    refused(&oc.ask(say(conv, "", "agent: one more")).await, "forbidden");
    refused(&oc.ask(take(conv, "")).await, "forbidden");

    // Operator again: she may take it back.
    s.grant(&olga, &[(BuiltinRole::Operator, s.root)]).await;
    let taken = oc.ask(take(conv, "")).await;
    assert_eq!(active(&ok(&taken)["presence"]), Some("Olga"));
    witness
        .wait("Olga active again", |f| {
            f["type"] == "presence" && active(f) == Some("Olga")
        })
        .await;
    let sent = oc.ask(say(conv, "", "agent: back")).await;
    assert_eq!(ok(&sent)["message"]["body"], "agent: back");
}
