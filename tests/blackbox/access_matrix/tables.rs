//! The tables: every REST route and every client frame, each with the one
//! fact written down about it (what it needs), the resource a case makes
//! for it, and how its request is made.

use serde_json::{Value, json};
use switchboard_core::access::{BuiltinRole, Permission};
use switchboard_proto::ErrorCode;
use switchboard_proto::client::{self, ClientFrame};
use uuid::Uuid;

use super::rules::{Needs, Outcome};
use crate::support::server::PASSWORD;

use Permission::*;

/// What a case makes before the call, and the row names.
#[derive(Debug, Clone, Copy)]
pub(super) enum Subject {
    /// Nothing of the account.
    Nothing,
    /// The root group.
    Root,
    /// A new custom role (no permissions).
    Role,
    /// A new team (no members).
    Team,
    /// A new message template at the root.
    Template,
    /// A new group under the root.
    Group,
    /// A new group under the root, and another one (`Case::other`).
    TwoGroups,
    /// A new inbox at the root.
    Inbox,
    /// A new inbox at the root, and a new group (`Case::other`).
    InboxAndGroup,
    /// The viewer whose name and grants the user routes manage.
    Victim,
    /// The agent conversations are assigned to.
    Assignee,
    /// A new conversation with a customer's message.
    Conversation(Setup),
}

/// The state a case's conversation is put in before the call.
#[derive(Debug, Clone, Copy)]
pub(super) struct Setup {
    /// Assigned to a colleague (not the user) unless the case assigns it
    /// to the user.
    pub(super) colleague: bool,
    pub(super) resolved: bool,
    /// A colleague holds the active role.
    pub(super) held: bool,
}

pub(super) const OPEN: Subject = Subject::Conversation(Setup {
    colleague: false,
    resolved: false,
    held: false,
});
pub(super) const ASSIGNED: Subject = Subject::Conversation(Setup {
    colleague: true,
    resolved: false,
    held: false,
});
pub(super) const RESOLVED: Subject = Subject::Conversation(Setup {
    colleague: false,
    resolved: true,
    held: false,
});
pub(super) const HELD: Subject = Subject::Conversation(Setup {
    colleague: false,
    resolved: false,
    held: true,
});

/// The inputs of one case's request: what was made for it, and the
/// account's fixed cast. Requests name them by placeholders (see `fill`).
#[derive(Debug, Clone)]
pub(super) struct Case {
    /// The resource made for the case (nil when none): `{id}`.
    pub(super) subject: Uuid,
    /// A second one, for moves (nil when none): `$other`.
    pub(super) other: Uuid,
    /// Whether the case's conversation is assigned to the user, as read
    /// back from its card.
    pub(super) mine: bool,
    /// A name nothing else uses: `$unique`.
    pub(super) unique: String,
    /// `$root`, `$inbox` (the account's first inbox), `$assignee`,
    /// `$template` (a template at the root).
    pub(super) root: Uuid,
    pub(super) inbox: Uuid,
    pub(super) assignee: Uuid,
    pub(super) template: Uuid,
    /// The acting user's email: `$email`.
    pub(super) email: String,
}

impl Case {
    /// `text` with the case's placeholders replaced.
    pub(super) fn fill_text(&self, text: &str) -> String {
        [
            ("{id}", self.subject.to_string()),
            ("$other", self.other.to_string()),
            ("$unique", self.unique.clone()),
            ("$root", self.root.to_string()),
            ("$inbox", self.inbox.to_string()),
            ("$assignee", self.assignee.to_string()),
            ("$template", self.template.to_string()),
            ("$email", self.email.clone()),
        ]
        .iter()
        .fold(text.to_owned(), |text, (name, value)| {
            text.replace(name, value)
        })
    }

    /// `template` with the case's placeholders replaced in every string.
    pub(super) fn fill(&self, template: &Value) -> Value {
        match template {
            Value::String(text) => Value::String(self.fill_text(text)),
            Value::Array(items) => items.iter().map(|v| self.fill(v)).collect(),
            Value::Object(fields) => fields
                .iter()
                .map(|(k, v)| (k.clone(), self.fill(v)))
                .collect(),
            other => other.clone(),
        }
    }
}

/// How a route's request is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum How {
    /// With the user's token.
    Bearer,
    /// Without credentials.
    Anonymous,
    /// With the token of a session opened for the case (one the call ends).
    NewSession,
    /// A WebSocket upgrade with the user's token.
    Upgrade,
}

/// One row of the REST table.
#[derive(Debug, Clone)]
pub(super) struct Route {
    pub(super) method: &'static str,
    /// As the OpenAPI description spells it.
    pub(super) path: &'static str,
    pub(super) query: &'static str,
    pub(super) variant: &'static str,
    pub(super) how: How,
    pub(super) subject: Subject,
    pub(super) needs: Needs,
    /// A listing: whether the subject is listed follows these needs.
    pub(super) lists: Option<Needs>,
    /// The status of success.
    pub(super) ok: u16,
    /// The messages' bodies follow `messages.read_bodies`.
    pub(super) bodies: bool,
    /// The JSON body, with placeholders (null: none).
    pub(super) body: Value,
}

pub(super) fn route(method: &'static str, path: &'static str, needs: Needs, ok: u16) -> Route {
    Route {
        method,
        path,
        query: "",
        variant: "",
        how: How::Bearer,
        subject: Subject::Nothing,
        needs,
        lists: None,
        ok,
        bodies: false,
        body: Value::Null,
    }
}

impl Route {
    pub(super) fn on(self, subject: Subject) -> Self {
        Self { subject, ..self }
    }

    pub(super) fn body(self, body: Value) -> Self {
        Self { body, ..self }
    }

    pub(super) fn query(self, query: &'static str) -> Self {
        Self { query, ..self }
    }

    pub(super) fn variant(self, variant: &'static str) -> Self {
        Self { variant, ..self }
    }

    pub(super) fn how(self, how: How) -> Self {
        Self { how, ..self }
    }

    pub(super) fn lists(self, needs: Needs) -> Self {
        let lists = Some(needs);
        Self { lists, ..self }
    }

    pub(super) fn bodies(self) -> Self {
        Self {
            bodies: true,
            ..self
        }
    }

    /// Whether the row names a resource of the account.
    pub(super) fn names_a_resource(&self) -> bool {
        self.path.contains('{') || self.query.contains('$') || self.needs.names_a_resource()
    }

    pub(super) fn label(&self) -> String {
        match self.variant {
            "" => format!("{} {}", self.method, self.path),
            variant => format!("{} {} ({variant})", self.method, self.path),
        }
    }
}

/// Every REST route, with what it needs (docs/ACCESS.md "REST", README
/// "Assignment", the OpenAPI description).
pub(super) fn routes() -> Vec<Route> {
    use Needs::*;
    use Subject as S;
    let seen = Conversation(&[]);
    let assigning = Conversation(&[ConversationsAssign]);
    let forcing = Conversation(&[ConversationsAssignOverCapacity, ConversationsAssign]);
    let resolving = Conversation(&[ConversationsResolve]);
    let every: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
    let kept = json!([{"role": "viewer", "group_id": "$root"}]);
    let added = json!([
        {"role": "viewer", "group_id": "$root"},
        {"role": "administrator", "group_id": "$root"},
    ]);
    let unique = json!({"name": "$unique"});
    vec![
        // Signing in and out, operations, the WebSocket endpoint.
        route("POST", "/v1/auth/login", Nothing, 200)
            .body(json!({"email": "$email", "password": PASSWORD}))
            .how(How::Anonymous),
        route("POST", "/v1/auth/logout", Nothing, 204).how(How::NewSession),
        route("GET", "/healthz", Nothing, 200).how(How::Anonymous),
        route("GET", "/readyz", Nothing, 200).how(How::Anonymous),
        route("GET", "/v1/openapi.json", Nothing, 200).how(How::Anonymous),
        route("GET", "/v1/ws", Nothing, 101).how(How::Upgrade),
        // A customer's message posted with a user's token.
        route("POST", "/v1/inbound", Group(&[InboxesManage]), 201)
            .on(S::Inbox)
            .body(json!({"inbox_id": "{id}", "contact": {"handle": "+1$unique"}, "body": "hi"})),
        // Who I am, the catalogue, roles.
        route("GET", "/v1/me", Nothing, 200),
        route("GET", "/v1/permissions", Nothing, 200),
        route("GET", "/v1/roles", Nothing, 200)
            .on(S::Role)
            .lists(Nothing),
        route("POST", "/v1/roles", Account(&[RolesManage]), 201)
            .body(json!({"name": "$unique", "permissions": []})),
        route("POST", "/v1/roles", Account(Permission::ALL), 201)
            .body(json!({"name": "$unique", "permissions": every}))
            .variant("every permission"),
        route("PATCH", "/v1/roles/{id}", Account(&[RolesManage]), 200)
            .on(S::Role)
            .body(unique.clone()),
        route("DELETE", "/v1/roles/{id}", Account(&[RolesManage]), 204).on(S::Role),
        // Groups.
        route("GET", "/v1/groups", Nothing, 200)
            .on(S::Group)
            .lists(Group(&[])),
        route("POST", "/v1/groups", Group(&[SettingsManage]), 201)
            .on(S::Root)
            .body(json!({"name": "$unique", "parent_id": "$root"})),
        route("PATCH", "/v1/groups/{id}", Group(&[SettingsManage]), 200)
            .on(S::Group)
            .body(unique.clone())
            .variant("rename"),
        route("PATCH", "/v1/groups/{id}", Group(&[SettingsManage]), 200)
            .on(S::TwoGroups)
            .body(json!({"parent_id": "$other"}))
            .variant("move"),
        route("DELETE", "/v1/groups/{id}", Group(&[SettingsManage]), 204).on(S::Group),
        // Users and their grants.
        route("GET", "/v1/users", Nothing, 200)
            .on(S::Victim)
            .lists(ManageUser),
        route("GET", "/v1/users/{id}", ManageUser, 200).on(S::Victim),
        route("PATCH", "/v1/users/{id}", ManageUser, 200)
            .on(S::Victim)
            .body(json!({"name": VICTIM})),
        route("PUT", "/v1/users/{id}/grants", ManageUser, 200)
            .on(S::Victim)
            .body(kept)
            .variant("grants kept"),
        route(
            "PUT",
            "/v1/users/{id}/grants",
            ManageUserGranting(BuiltinRole::Administrator),
            200,
        )
        .on(S::Victim)
        .body(added)
        .variant("adding administrator"),
        route("PUT", "/v1/users/{id}/capacity", ManageUser, 200)
            .on(S::Assignee)
            .body(json!({"capacity": ASSIGNEE_CAPACITY})),
        // People: the audit log.
        route("GET", "/v1/audit", Account(&[UsersManage]), 200),
        // Routing: the caller's own agent state, teams.
        route("GET", "/v1/agents/me", Agent(Outcome::NotFound), 200),
        route(
            "PUT",
            "/v1/agents/me/availability",
            Agent(Outcome::Forbidden),
            200,
        )
        .body(json!({"status": "away"})),
        route("GET", "/v1/teams", Nothing, 200)
            .on(S::Team)
            .lists(Nothing),
        route("POST", "/v1/teams", Account(&[UsersManage]), 201).body(unique),
        route(
            "PUT",
            "/v1/teams/{id}/members",
            Account(&[UsersManage]),
            200,
        )
        .on(S::Team)
        .body(json!({"members": []})),
        route("DELETE", "/v1/teams/{id}", Account(&[UsersManage]), 204).on(S::Team),
        // Templates.
        route("GET", "/v1/templates", Nothing, 200)
            .on(S::Template)
            .lists(Group(&[TemplatesView])),
        route("POST", "/v1/templates", Group(&[TemplatesManage]), 201)
            .on(S::Root)
            .body(
                json!({"name": "$unique", "body": "Hello {{contact.name}}", "group_id": "$root"}),
            ),
        route(
            "PATCH",
            "/v1/templates/{id}",
            Group(&[TemplatesManage]),
            200,
        )
        .on(S::Template)
        .body(json!({"body": "Bye"})),
        route(
            "DELETE",
            "/v1/templates/{id}",
            Group(&[TemplatesManage]),
            204,
        )
        .on(S::Template),
        // Inboxes.
        route("GET", "/v1/inboxes", Nothing, 200)
            .on(S::Inbox)
            .lists(Group(&[])),
        route("POST", "/v1/inboxes", Group(&[InboxesManage]), 201)
            .on(S::Root)
            .body(json!({"name": "$unique", "channel": "sms", "group_id": "$root"})),
        route("PATCH", "/v1/inboxes/{id}", Group(&[InboxesManage]), 200)
            .on(S::InboxAndGroup)
            .body(json!({"group_id": "$other"}))
            .variant("move"),
        route("PATCH", "/v1/inboxes/{id}", Group(&[InboxesManage]), 200)
            .on(S::Inbox)
            .body(json!({"team_id": null}))
            .variant("team"),
        route("PUT", "/v1/inboxes/{id}/team", Group(&[InboxesManage]), 204)
            .on(S::Inbox)
            .body(json!({"team_id": null})),
        // Conversations.
        route("GET", "/v1/conversations", Nothing, 200)
            .on(OPEN)
            .query("?limit=200")
            .lists(seen),
        route("GET", "/v1/conversations", Group(&[]), 200)
            .on(OPEN)
            .query("?inbox_id=$inbox&limit=200")
            .lists(seen)
            .variant("of an inbox"),
        route("GET", "/v1/conversations/{id}", seen, 200).on(OPEN),
        route("GET", "/v1/conversations/{id}/messages", seen, 200)
            .on(OPEN)
            .bodies(),
        route("GET", "/v1/conversations/{id}/assignments", seen, 200).on(OPEN),
        route("POST", "/v1/conversations/{id}/assign", assigning, 200)
            .on(OPEN)
            .body(json!({"user_id": "$assignee"})),
        route("POST", "/v1/conversations/{id}/assign", forcing, 200)
            .on(OPEN)
            .body(json!({"user_id": "$assignee", "force": true}))
            .variant("force"),
        route("POST", "/v1/conversations/{id}/unassign", assigning, 200).on(ASSIGNED),
        route("POST", "/v1/conversations/{id}/resolve", resolving, 200).on(OPEN),
        route("POST", "/v1/conversations/{id}/reopen", resolving, 200).on(RESOLVED),
    ]
}

/// What a frame answers when allowed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Granted {
    Ack,
    /// The permission check passes and the room refuses with this code.
    Refused(ErrorCode),
}

/// One row of the WebSocket table.
#[derive(Debug, Clone)]
pub(super) struct Frame {
    /// The frame, with placeholders (`{id}`: the case's conversation).
    pub(super) frame: Value,
    pub(super) variant: &'static str,
    pub(super) subject: Subject,
    pub(super) needs: Needs,
    pub(super) lists: Option<Needs>,
    /// The user sends `join` first (expected as `join` is).
    pub(super) joined_first: bool,
    pub(super) ok: Granted,
    pub(super) bodies: bool,
}

pub(super) fn frame(frame: Value, needs: Needs, subject: Subject) -> Frame {
    Frame {
        frame,
        variant: "",
        subject,
        needs,
        lists: None,
        joined_first: false,
        ok: Granted::Ack,
        bodies: false,
    }
}

impl Frame {
    pub(super) fn variant(self, variant: &'static str) -> Self {
        Self { variant, ..self }
    }

    pub(super) fn lists(self, needs: Needs) -> Self {
        let lists = Some(needs);
        Self { lists, ..self }
    }

    pub(super) fn joined_first(self) -> Self {
        Self {
            joined_first: true,
            ..self
        }
    }

    pub(super) fn refused(self, code: ErrorCode) -> Self {
        let ok = Granted::Refused(code);
        Self { ok, ..self }
    }

    pub(super) fn bodies(self) -> Self {
        Self {
            bodies: true,
            ..self
        }
    }

    /// The frame's `type`.
    pub(super) fn kind(&self) -> &str {
        self.frame["type"].as_str().expect("a frame type")
    }

    pub(super) fn names_a_resource(&self) -> bool {
        self.needs.names_a_resource()
    }

    pub(super) fn label(&self) -> String {
        match self.variant {
            "" => format!("frame {}", self.kind()),
            variant => format!("frame {} ({variant})", self.kind()),
        }
    }

    /// The frame of a case.
    pub(super) fn build(&self, case: &Case) -> ClientFrame {
        serde_json::from_value(case.fill(&self.frame))
            .unwrap_or_else(|error| panic!("{}: not a client frame: {error}", self.label()))
    }
}

/// Every client frame, with what it needs (proto/PROTOCOL.md "Permissions").
pub(super) fn frames() -> Vec<Frame> {
    use Needs::*;
    let seen = Conversation(&[]);
    let answering = Conversation(&[ConversationsAnswer]);
    let taking_over = Conversation(&[ConversationsAnswer, ConversationsTakeOver]);
    let assigning = Conversation(&[ConversationsAssign]);
    let forcing = Conversation(&[ConversationsAssign, ConversationsAssignOverCapacity]);
    let resolving = Conversation(&[ConversationsResolve]);
    let on = |kind: &str| json!({"type": kind, "conversation_id": "{id}"});
    let sending = json!({"type": "send", "conversation_id": "{id}", "client_msg_id": "$unique", "body": "hi"});
    let holder = "a colleague holds the role";
    vec![
        frame(json!({"type": "subscribe_inbox"}), Nothing, OPEN).lists(seen),
        frame(on("join"), seen, OPEN).bodies(),
        frame(on("take"), answering, OPEN),
        frame(json!({"type": "take", "conversation_id": "{id}", "force": true}), taking_over, HELD)
            .variant("force, a colleague holds the role"),
        frame(on("release"), seen, OPEN),
        frame(on("leave"), seen, OPEN),
        frame(sending.clone(), answering, OPEN)
            .joined_first()
            .variant("after join"),
        frame(sending, answering, HELD)
            .refused(ErrorCode::NotActive)
            .variant(holder),
        frame(
            json!({"type": "send", "conversation_id": "{id}", "client_msg_id": "$unique", "template_id": "$template"}),
            Conversation(&[ConversationsAnswer, TemplatesView]),
            OPEN,
        )
        .joined_first()
        .variant("a template, after join"),
        frame(on("typing"), answering, OPEN)
            .joined_first()
            .variant("after join"),
        frame(on("typing"), answering, HELD)
            .refused(ErrorCode::NotActive)
            .variant(holder),
        frame(json!({"type": "ping"}), Nothing, Subject::Nothing),
        frame(
            json!({"type": "set_availability", "status": "away"}),
            Agent(Outcome::Forbidden),
            Subject::Nothing,
        ),
        frame(
            json!({"type": "assign", "conversation_id": "{id}", "user_id": "$assignee"}),
            assigning,
            OPEN,
        ),
        frame(
            json!({"type": "assign", "conversation_id": "{id}", "user_id": "$assignee", "force": true}),
            forcing,
            OPEN,
        )
        .variant("force"),
        frame(on("unassign"), assigning, ASSIGNED),
        frame(on("resolve"), resolving, OPEN),
        frame(on("reopen"), resolving, RESOLVED),
    ]
}

pub(super) fn join(conversation: Uuid) -> ClientFrame {
    ClientFrame::Join(client::Join {
        reference: None,
        conversation_id: conversation,
        after_seq: None,
    })
}

/// The victim's name, kept by `PATCH /v1/users/{id}`.
pub(super) const VICTIM: &str = "Vic Victim";
/// The assignee's capacity: room for every assignment of the matrix.
pub(super) const ASSIGNEE_CAPACITY: u32 = 10_000;
