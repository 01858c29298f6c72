//! The access matrix: every built-in role against every REST route and
//! every WebSocket client frame, on one real server; then the same routes
//! and frames against another account's resources.
//!
//! What each route and frame needs is written once, in [`tables::routes`]
//! and [`frames::frames`]; what each role holds is read from the server's catalogue
//! (`GET /v1/roles`, checked equal to `BuiltinRole::permissions`). The
//! expected answer is computed from the two by the policy of
//! docs/ACCESS.md and proto/PROTOCOL.md, never listed per role:
//!
//! - another account's resource, a group where the user holds nothing, or
//!   a conversation they do not see: `not_found` (404);
//! - a resource they see, without the permission: `forbidden` (403);
//! - otherwise the route's success status, or the frame's ack (or, for a
//!   row built to meet a refusal past every access check, such as a
//!   transfer of ownership to a deactivated user, that refusal).
//!
//! Ownership is no permission: what only the owner may do is allowed to
//! the owner and forbidden to everyone else.
//!
//! Every user of the matrix holds one grant, of their role at the root, and
//! every resource lies at the root or under it, so what a user holds at a
//! resource's group is exactly their role's permissions. A conversation is
//! tried unassigned (or assigned to a colleague) and, for the roles that may
//! be assigned conversations, assigned to the user too (what
//! `conversations.view_assigned` turns on).
//!
//! Each case makes its own resources (a conversation, a group, a role, an
//! invitation, a user, a second session...) so that none depends on
//! another; no case leaves the account changed for the next (see
//! `people` for the people routes). Both tables are checked complete: every
//! path and method of the OpenAPI description, and every frame type of the
//! protocol's JSON schema, has a row. Failures are collected and reported
//! together, each naming the user's role, the route or frame, what was
//! expected and what came.

mod frames;
mod people;
mod report;
mod rules;
mod subjects;
mod tables;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use switchboard_core::access::{BuiltinRole, Permission, PermissionSet};
use switchboard_proto::client::ClientFrame;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

use crate::support::client::conversation_ref;
use crate::support::server::Agent;
use crate::support::{Fixture, WsClient};
use frames::{Frame, Granted, frames, join};
use report::{Report, listed_ids, rest_outcome, ws_outcome};
use rules::{Catalogue, Needs, Outcome, Standing, may_be_assigned};
use subjects::Links;
use tables::{ASSIGNEE_CAPACITY, Case, How, Route, Subject, VICTIM, routes};

// ---------------------------------------------------------------------------
// The world: one server, one account with a user per role, a rival account.
// ---------------------------------------------------------------------------

/// Who acts in a case.
#[derive(Debug)]
struct Actor {
    /// The role's id, or what the user is.
    label: String,
    user: Agent,
    /// Their permissions at the root (and so everywhere in the account).
    held: PermissionSet,
    /// Of another account than the matrix's resources.
    foreign: bool,
    /// Owns their account.
    owner: bool,
}

struct World {
    fx: Fixture,
    root: Uuid,
    catalogue: Catalogue,
    /// The owner, then one user per other built-in role.
    actors: Vec<Actor>,
    /// The owner of another account.
    rival: Actor,
    /// An operator with room who is never online: conversations are
    /// assigned to them by hand, never automatically.
    assignee: Agent,
    /// An operator without room: holds the active role when a case needs a
    /// colleague to.
    holder: Mutex<WsClient>,
    /// A viewer at the root: the user the user routes manage.
    victim: Agent,
    /// A message template at the root, for `send` with `template_id`.
    template: Uuid,
    made: Cell<u64>,
    /// Invitation links not used yet.
    links: Links,
    /// Where the server writes the invitations' mails.
    _mail: tempfile::TempDir,
}

impl World {
    async fn set_up() -> Self {
        let roles: Vec<BuiltinRole> = BuiltinRole::ALL
            .into_iter()
            .filter(|r| *r != BuiltinRole::Owner)
            .collect();
        let mut users = vec!["operator"; roles.len() + 2];
        users.push("viewer");
        let mail = tempfile::tempdir().expect("a mail directory");
        let mail_dir = mail.path().display().to_string();
        // Webhooks point at a closed port on loopback: the deliveries the
        // cases' conversations cause go nowhere else.
        let env = [
            ("SWITCHBOARD_MAIL_DIR", mail_dir.as_str()),
            ("SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE", "true"),
        ];
        let fx = Fixture::with_roles(&users, &env).await;
        let groups = owner_ok(&fx, "GET", "/v1/groups", Value::Null, 200).await;
        let root = groups
            .as_array()
            .and_then(|g| g.iter().find(|g| g["parent_id"].is_null()))
            .map(|g| id(&g["id"]))
            .expect("the root group");
        let catalogue = read_catalogue(&fx).await;
        let greeting = json!({"name": "Greeting", "body": "Hi {{contact.name}}"});
        let template = id(&owner_ok(&fx, "POST", "/v1/templates", greeting, 201).await["id"]);

        let (assignee, holder, victim) = (
            fx.agents[roles.len()].clone(),
            fx.agents[roles.len() + 1].clone(),
            fx.agents[roles.len() + 2].clone(),
        );
        // Nobody but the assignee has room, and the assignee is never
        // online: no conversation is ever assigned automatically.
        let no_room = json!({"capacity": 0});
        let mut changes: Vec<(Uuid, Value)> = fx.agents[..roles.len()]
            .iter()
            .chain([&fx.owner, &holder])
            .map(|user| (user.id, no_room.clone()))
            .collect();
        changes.push((assignee.id, json!({"capacity": ASSIGNEE_CAPACITY})));
        changes.push((victim.id, json!({"name": VICTIM})));
        for (user, change) in changes {
            owner_ok(&fx, "PATCH", &format!("/v1/users/{user}"), change, 200).await;
        }
        let mut actors = vec![Actor {
            label: BuiltinRole::Owner.as_str().into(),
            user: fx.owner.clone(),
            held: catalogue.permissions(BuiltinRole::Owner),
            foreign: false,
            owner: true,
        }];
        for (role, user) in roles.iter().zip(&fx.agents) {
            let grants = json!([{"role": role.as_str(), "group_id": root}]);
            let path = format!("/v1/users/{}/grants", user.id);
            owner_ok(&fx, "PUT", &path, grants, 200).await;
            actors.push(Actor {
                label: role.as_str().into(),
                user: user.clone(),
                held: catalogue.permissions(*role),
                foreign: false,
                owner: false,
            });
        }
        let holder = Mutex::new(WsClient::connect(&fx.server, &holder.token).await);
        let rival = rival(&fx).await;
        Self {
            fx,
            root,
            catalogue,
            actors,
            rival,
            assignee,
            holder,
            victim,
            template,
            made: Cell::new(0),
            links: Links::default(),
            _mail: mail,
        }
    }

    /// A call of the owner's that must answer `status`; its answer.
    async fn owner(&self, method: &str, path: &str, body: Value, status: u16) -> Value {
        owner_ok(&self.fx, method, path, body, status).await
    }

    fn unique(&self) -> String {
        let n = self.made.get() + 1;
        self.made.set(n);
        format!("555{n:07}")
    }

    /// The variants a case runs in: as it is, and, for a conversation that
    /// the user may be assigned, assigned to them.
    fn variants(&self, actor: &Actor, subject: Subject) -> Vec<bool> {
        match subject {
            Subject::Conversation(_) if !actor.foreign && may_be_assigned(actor.held) => {
                vec![false, true]
            }
            _ => vec![false],
        }
    }

    /// Makes a route's call as `actor`: its status and JSON answer.
    async fn perform(&self, actor: &Actor, route: &Route, path: &str, body: Value) -> (u16, Value) {
        let server = &self.fx.server;
        match route.how {
            How::Bearer => {
                server
                    .call(&actor.user.token, route.method, path, body)
                    .await
            }
            How::NewSession => {
                let token = server.login(&actor.user.email).await;
                server.call(&token, route.method, path, body).await
            }
            How::Anonymous => anonymous(&server.http(path), route.method, body).await,
            How::Upgrade => {
                let mut request = server.ws_url().into_client_request().unwrap();
                let bearer = format!("Bearer {}", actor.user.token).parse().unwrap();
                request.headers_mut().insert("authorization", bearer);
                match WsClient::open(request).await {
                    Ok(_) => (101, Value::Null),
                    Err(tungstenite::Error::Http(response)) => {
                        let body = response.body().as_deref().unwrap_or_default();
                        let answer = serde_json::from_slice(body).unwrap_or(Value::Null);
                        (response.status().as_u16(), answer)
                    }
                    Err(error) => panic!("{}: upgrade failed: {error}", actor.label),
                }
            }
        }
    }

    /// One route, one user, one variant.
    async fn run_route(&self, actor: &Actor, route: &Route, mine: bool, report: &mut Report) {
        let case = self.prepare(route.subject, actor, mine).await;
        let standing = standing(actor, &case);
        let what = with_variant(route.label(), mine, &case);
        let expected = route
            .needs
            .outcome(standing, &self.catalogue, route.names_a_resource());
        let before = match actor.foreign {
            true => Some(self.snapshot(route.subject, &case).await),
            false => None,
        };
        let path = case.fill_text(&format!("{}{}", route.path, route.query));
        let body = case.fill(&route.body);
        let (status, answer) = self.perform(actor, route, &path, body).await;
        let got = rest_outcome(status, &answer, route.allowed(), expected);
        let allowed = got == Ok(Outcome::Allowed);
        report.compare(&actor.label, &what, expected, got);
        if let (true, Some(lists)) = (allowed, route.lists) {
            let expected = lists.outcome(standing, &self.catalogue, true) == Outcome::Allowed;
            report.listed(
                &actor.label,
                &what,
                case.subject,
                expected,
                &listed_ids(&answer),
            );
        }
        if allowed && route.bodies {
            let reads = self.reads_bodies(standing);
            let bodies: Vec<Value> = answer.as_array().cloned().unwrap_or_default();
            report.bodies(
                &actor.label,
                &what,
                reads,
                bodies.iter().map(|m| &m["body"]),
            );
        }
        if let Some(before) = before {
            let after = self.snapshot(route.subject, &case).await;
            report.unchanged(&actor.label, &what, &before, &after);
        }
        if let (Subject::Victim, Needs::ManageUserGranting(_)) = (route.subject, route.needs) {
            let grants = json!([{"role": "viewer", "group_id": self.root}]);
            let path = format!("/v1/users/{}/grants", self.victim.id);
            self.owner("PUT", &path, grants, 200).await;
        }
    }

    /// One frame, one user (on `ws`, their connection), one variant.
    async fn run_frame(
        &self,
        actor: &Actor,
        ws: &mut WsClient,
        row: &Frame,
        mine: bool,
        report: &mut Report,
    ) {
        let case = self.prepare(row.subject, actor, mine).await;
        let standing = standing(actor, &case);
        let what = with_variant(row.label(), mine, &case);
        let names = row.names_a_resource();
        let before = match actor.foreign {
            true => Some(self.snapshot(row.subject, &case).await),
            false => None,
        };
        if row.joined_first {
            let expected = Needs::Conversation(&[]).outcome(standing, &self.catalogue, names);
            let got = ws_outcome(&ws.request(join(case.subject)).await, Granted::Ack);
            report.compare(&actor.label, &format!("{what}: its join"), expected, got);
        }
        let frame = row.build(&case);
        assert_eq!(frame.type_name(), row.kind(), "{what}: the frame's type");
        let answer = ws.request(frame).await;
        let expected = row.needs.outcome(standing, &self.catalogue, names);
        let got = ws_outcome(&answer, row.ok);
        let allowed = got == Ok(Outcome::Allowed);
        report.compare(&actor.label, &what, expected, got);
        if let (true, Some(lists), Ok(ack)) = (allowed, row.lists, &answer) {
            let expected = lists.outcome(standing, &self.catalogue, true) == Outcome::Allowed;
            let ids: Vec<Uuid> = ack.conversations.iter().flatten().map(|c| c.id).collect();
            report.listed(&actor.label, &what, case.subject, expected, &ids);
        }
        if let (true, true, Ok(ack)) = (allowed, row.bodies, &answer) {
            let reads = self.reads_bodies(standing);
            let bodies: Vec<Value> = ack
                .messages
                .iter()
                .flatten()
                .map(|m| json!(m.body))
                .collect();
            report.bodies(&actor.label, &what, reads, bodies.iter());
        }
        if let Some(before) = before {
            let after = self.snapshot(row.subject, &case).await;
            report.unchanged(&actor.label, &what, &before, &after);
            if let Subject::Conversation(_) = row.subject {
                self.no_presence_of(actor, &case, &what, report).await;
            }
        }
        if let Subject::Conversation(setup) = row.subject
            && (setup.held || actor.foreign)
        {
            let left = self
                .holder
                .lock()
                .await
                .request(ClientFrame::Leave(conversation_ref(case.subject)))
                .await;
            assert!(
                left.is_ok(),
                "cleanup: the holder leaves {}: {left:?}",
                case.subject
            );
        }
    }

    /// Whether a user standing so reads message bodies.
    fn reads_bodies(&self, standing: Standing) -> bool {
        let reading = Needs::Conversation(&[Permission::MessagesReadBodies]);
        reading.outcome(standing, &self.catalogue, true) == Outcome::Allowed
    }

    /// The holder, joining, finds `actor` neither active nor observing.
    async fn no_presence_of(&self, actor: &Actor, case: &Case, what: &str, report: &mut Report) {
        let joined = self.holder.lock().await.request(join(case.subject)).await;
        let presence = joined
            .ok()
            .and_then(|ack| ack.presence)
            .expect("the holder joins");
        let present = presence
            .active
            .iter()
            .chain(&presence.observers)
            .any(|u| u.user_id == actor.user.id);
        if present {
            report.fail(
                &actor.label,
                what,
                format!("is in the presence {presence:?}"),
            );
        }
    }

    /// The routes' table covers every route the server describes.
    async fn check_routes_complete(&self, routes: &[Route], report: &mut Report) {
        let api = anonymous(&self.fx.server.http("/v1/openapi.json"), "GET", Value::Null).await;
        let mut described = BTreeSet::new();
        for (path, item) in api.1["paths"].as_object().expect("the OpenAPI paths") {
            for method in item.as_object().expect("a path item").keys() {
                if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    described.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        let rows: BTreeSet<(String, String)> = routes
            .iter()
            .map(|r| (r.method.to_owned(), r.path.to_owned()))
            .collect();
        if rows != described {
            let missing: Vec<_> = described.difference(&rows).collect();
            let unknown: Vec<_> = rows.difference(&described).collect();
            let message = format!("rows missing for {missing:?}; rows for no route {unknown:?}");
            report.fail("the table", "REST routes", message);
        }
    }
}

/// The frames' table covers every frame type of the protocol's schema.
fn check_frames_complete(frames: &[Frame], report: &mut Report) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../proto/schema/client-frame.schema.json"
    );
    let text = std::fs::read_to_string(path).expect("the client frame schema");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    let described: BTreeSet<&str> = schema["oneOf"]
        .as_array()
        .expect("one of the frames")
        .iter()
        .map(|f| f["properties"]["type"]["const"].as_str().expect("a type"))
        .collect();
    let rows: BTreeSet<&str> = frames.iter().map(Frame::kind).collect();
    if rows != described {
        let message = format!("rows {rows:?}, the protocol's frames {described:?}");
        report.fail("the table", "client frames", message);
    }
}

fn standing(actor: &Actor, case: &Case) -> Standing {
    Standing {
        held: actor.held,
        foreign: actor.foreign,
        mine: case.mine,
        owner: actor.owner,
    }
}

/// A case's label: the row's, and whether the user was assigned the
/// conversation (and whether its card still says so).
fn with_variant(label: String, asked: bool, case: &Case) -> String {
    match (asked, case.mine) {
        (false, _) => label,
        (true, true) => format!("{label} [assigned to them]"),
        (true, false) => format!("{label} [assigned to them, no longer on its card]"),
    }
}

async fn owner_ok(fx: &Fixture, method: &str, path: &str, body: Value, status: u16) -> Value {
    let (got, answer) = fx.server.call(&fx.owner.token, method, path, body).await;
    assert_eq!(got, status, "setup: {method} {path}: {answer}");
    answer
}

/// The built-in roles as `GET /v1/roles` lists them, which must be the
/// core's catalogue.
async fn read_catalogue(fx: &Fixture) -> Catalogue {
    let roles = owner_ok(fx, "GET", "/v1/roles", Value::Null, 200).await;
    let mut listed = BTreeMap::new();
    for role in roles.as_array().expect("a list of roles") {
        if role["builtin"] != true {
            continue;
        }
        let name = role["id"].as_str().expect("a role id");
        let builtin = BuiltinRole::parse(name).unwrap_or_else(|| panic!("unknown role {name}"));
        let ids = role["permissions"].as_array().expect("permissions");
        let held = PermissionSet::parse(ids.iter().map(|p| p.as_str().expect("an id")))
            .expect("permissions of the catalogue");
        listed.insert(builtin, held);
    }
    let core: BTreeMap<BuiltinRole, PermissionSet> = BuiltinRole::ALL
        .into_iter()
        .map(|role| (role, role.permissions()))
        .collect();
    assert_eq!(
        listed, core,
        "GET /v1/roles lists the core's built-in roles"
    );
    Catalogue(listed)
}

/// The owner of a second account, signed in.
async fn rival(fx: &Fixture) -> Actor {
    fx.server.create_rival_account().await;
    let token = fx.server.login("eve@rival.test").await;
    let (_, me) = fx.server.call(&token, "GET", "/v1/me", Value::Null).await;
    Actor {
        label: "another account's owner".into(),
        user: Agent {
            id: id(&me["user"]["id"]),
            name: "Eve".into(),
            email: "eve@rival.test".into(),
            token,
        },
        held: PermissionSet::all(),
        foreign: true,
        owner: true,
    }
}

/// A request without credentials: status and JSON answer (null if none).
async fn anonymous(url: &str, method: &str, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method.parse().expect("a method"), url);
    if !body.is_null() {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn id(value: &Value) -> Uuid {
    value.as_str().expect("an id").parse().expect("a uuid")
}

impl World {
    /// Each user's permissions as `GET /v1/me` tells them: their role's.
    async fn check_grants_took_effect(&self, report: &mut Report) {
        for actor in &self.actors {
            let (_, me) = self
                .fx
                .server
                .call(&actor.user.token, "GET", "/v1/me", Value::Null)
                .await;
            let ids = me["permissions"].as_array().cloned().unwrap_or_default();
            let held = PermissionSet::parse(ids.iter().filter_map(Value::as_str));
            if held != Ok(actor.held) {
                report.fail(&actor.label, "GET /v1/me", format!("permissions {ids:?}"));
            }
        }
    }

    /// Every route for `actor`, in every variant; only the rows that name
    /// a resource or list them for another account's.
    async fn routes_for(&self, actor: &Actor, routes: &[Route], report: &mut Report) {
        let rows = routes
            .iter()
            .filter(|r| !actor.foreign || r.names_a_resource() || r.lists.is_some());
        for route in rows {
            for mine in self.variants(actor, route.subject) {
                self.run_route(actor, route, mine, report).await;
            }
        }
    }

    /// Every frame for `actor` on a connection of theirs, as `routes_for`.
    async fn frames_for(&self, actor: &Actor, frames: &[Frame], report: &mut Report) {
        let mut ws = WsClient::connect(&self.fx.server, &actor.user.token).await;
        let rows = frames
            .iter()
            .filter(|f| !actor.foreign || f.names_a_resource() || f.lists.is_some());
        for row in rows {
            for mine in self.variants(actor, row.subject) {
                self.run_frame(actor, &mut ws, row, mine, report).await;
            }
        }
    }
}

/// Every built-in role meets every route and frame as the catalogue and
/// the policy say, and another account's owner finds none of the
/// account's resources (nor changes them).
#[tokio::test]
async fn every_role_on_every_route_and_frame() {
    let world = World::set_up().await;
    let (routes, frames) = (routes(), frames());
    let mut report = Report::default();
    world.check_routes_complete(&routes, &mut report).await;
    check_frames_complete(&frames, &mut report);
    world.check_grants_took_effect(&mut report).await;

    for actor in &world.actors {
        world.routes_for(actor, &routes, &mut report).await;
        world.frames_for(actor, &frames, &mut report).await;
    }
    world.routes_for(&world.rival, &routes, &mut report).await;
    world.frames_for(&world.rival, &frames, &mut report).await;

    eprintln!(
        "access matrix: {} route rows and {} frame rows x {} roles, then another account; {} checks",
        routes.len(),
        frames.len(),
        world.actors.len(),
        report.checks
    );
    assert!(
        report.failures.is_empty(),
        "{} of {} checks failed:\n{}",
        report.failures.len(),
        report.checks,
        report.failures.join("\n")
    );
}
