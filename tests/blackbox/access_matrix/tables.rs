//! The REST table: every route, with the one fact written down about it
//! (what it needs), the resource a case makes for it, and how its request
//! is made; and what a case is. The people routes are in [`super::people`],
//! the frames in [`super::frames`].

use serde_json::{Value, json};
use switchboard_core::access::{BuiltinRole, Permission};
use switchboard_proto::ErrorCode;
use uuid::Uuid;

use super::report::Allowed;
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
    /// A new customer, with a conversation in the root's inbox.
    Contact,
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
    /// A new pending invitation of a viewer at the root, made by the owner.
    Invitation,
    /// A new pending invitation of a viewer at the root, made at the
    /// command line, whose link's token the case knows: `$token`.
    InvitationLink,
    /// A new user of the account (a viewer at the root, who accepted an
    /// invitation).
    NewUser,
    /// A new user of the account, deactivated by the owner.
    DeactivatedUser,
    /// A second login session of the user, opened for the case (`{id}`,
    /// its token `$token`); for another account's owner, one of the
    /// victim's.
    Session,
    /// A two-factor setup of the user's, pending (not confirmed: their
    /// sign-ins need no code).
    TwoFactorPending,
    /// The user's two-factor authentication neither on nor pending.
    NoTwoFactor,
    /// A personal folder of the user's (for another account's owner, one
    /// of the victim's).
    Folder,
    // API keys (docs/MODULES.md).
    /// A new API key (a viewer at the root), made by the owner.
    ApiKey,
    // webhooks
    /// A new webhook of the account, made by the owner.
    Webhook,
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
    /// A secret the case holds (an invitation link's token, a session's
    /// token; empty when none): `$token`.
    pub(super) token: String,
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
            ("$token", self.token.clone()),
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
    /// What the route answers those its needs allow, when that is a
    /// refusal the request is built to meet (a wrong password, a
    /// deactivated target...) rather than `ok`: the status and code.
    pub(super) refused: Option<(u16, ErrorCode)>,
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
        refused: None,
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

    /// Those the needs allow are refused with `status` and `code` (the
    /// field `refused`); the row's variant says why.
    pub(super) fn refused(self, status: u16, code: ErrorCode) -> Self {
        let refused = Some((status, code));
        Self { refused, ..self }
    }

    /// What the route answers those its needs allow.
    pub(super) fn allowed(&self) -> Allowed {
        match self.refused {
            Some((status, code)) => Allowed::Refused(status, code),
            None => Allowed::Status(self.ok),
        }
    }

    /// Whether the row names a resource of the account: in its path, its
    /// query or its body, or by what it needs. A request without
    /// credentials names nothing of anyone's: it is the same for all.
    pub(super) fn names_a_resource(&self) -> bool {
        let named = self.path.contains('{')
            || self.query.contains('$')
            || self.body.to_string().contains("{id}")
            || self.needs.names_a_resource();
        named && self.how != How::Anonymous
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
    let hooking = Account(&[DevelopersManage, ConversationsView, ContactsView]);
    let every: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
    let kept = json!([{"role": "viewer", "group_id": "$root"}]);
    let added = json!([
        {"role": "viewer", "group_id": "$root"},
        {"role": "administrator", "group_id": "$root"},
    ]);
    let unique = json!({"name": "$unique"});
    let mut rows = vec![
        // Signing in and out, operations, the WebSocket endpoint.
        route("POST", "/v1/auth/login", Nothing, 200)
            .body(json!({"email": "$email", "password": PASSWORD}))
            .how(How::Anonymous),
        route("POST", "/v1/auth/logout", Nothing, 204).how(How::NewSession),
        route("GET", "/healthz", Nothing, 200).how(How::Anonymous),
        route("GET", "/readyz", Nothing, 200).how(How::Anonymous),
        route("GET", "/v1/openapi.json", Nothing, 200).how(How::Anonymous),
        route("GET", "/v1/ws", Nothing, 101).how(How::Upgrade),
        // WebSocket tickets for browsers (docs/BROWSERS.md): any person's session.
        route("POST", "/v1/ws/ticket", Nothing, 200),
        // The first-run setup: a server with accounts has none to offer,
        // whoever asks (tests/blackbox/setup.rs runs it on an empty one).
        route("GET", "/v1/setup", Nothing, 200).how(How::Anonymous),
        route("POST", "/v1/setup", Nothing, 201)
            .body(json!({"token": "sbf_x", "account_name": "A", "name": "N", "email": "n@x.test", "password": PASSWORD}))
            .refused(404, ErrorCode::NotFound)
            .how(How::Anonymous),
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
        // Contacts.
        route("GET", "/v1/contacts", Nothing, 200)
            .on(S::Contact)
            .lists(Group(&[ContactsView])),
        route("GET", "/v1/contacts/{id}", Group(&[ContactsView]), 200).on(S::Contact),
        route("PATCH", "/v1/contacts/{id}", Group(&[ContactsManage]), 200)
            .on(S::Contact)
            .body(json!({"notes": "Prefers mornings"})),
        // Folders: the user's own, anyone signed in.
        route("GET", "/v1/folders", Nothing, 200)
            .on(S::Folder)
            .lists(Nothing),
        route("POST", "/v1/folders", Nothing, 201)
            .body(json!({"name": "$unique", "filter": {"assignee": "me"}})),
        route("PATCH", "/v1/folders/{id}", Nothing, 200)
            .on(S::Folder)
            .body(json!({"filter": {"status": "resolved"}})),
        route("DELETE", "/v1/folders/{id}", Nothing, 204).on(S::Folder),
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
        // Statistics: counted where the user holds statistics.view (403
        // when nowhere), exported where they hold both.
        route("GET", "/v1/statistics", Account(&[StatisticsView]), 200),
        route(
            "GET",
            "/v1/statistics/export",
            Account(&[StatisticsView, StatisticsExport]),
            200,
        ),
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
        // API keys (docs/MODULES.md): account-wide `developers.manage`, and
        // a key's grants only of roles the maker holds all of there (a
        // viewer at the root: the viewer's permissions there).
        route("GET", "/v1/api-keys", Account(&[DevelopersManage]), 200)
            .on(S::ApiKey)
            .lists(Account(&[DevelopersManage])),
        route(
            "POST",
            "/v1/api-keys",
            Account(&[DevelopersManage, ConversationsView, MessagesReadBodies]),
            201,
        )
        .body(json!({"name": "$unique", "grants": [{"role": "viewer", "group_id": "$root"}]})),
        route(
            "DELETE",
            "/v1/api-keys/{id}",
            Account(&[DevelopersManage]),
            204,
        )
        .on(S::ApiKey),
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
        // Webhooks: account-wide, developers.manage at the root; making or
        // changing one also needs seeing what it posts (conversations and
        // contacts at the root).
        route("GET", "/v1/webhooks", Account(&[DevelopersManage]), 200).on(S::Webhook),
        route("POST", "/v1/webhooks", hooking, 201)
            .body(json!({"url": "http://127.0.0.1:9/$unique", "events": ["message.created"]})),
        route("PATCH", "/v1/webhooks/{id}", hooking, 200)
            .on(S::Webhook)
            .body(json!({"active": false})),
        route(
            "DELETE",
            "/v1/webhooks/{id}",
            Account(&[DevelopersManage]),
            204,
        )
        .on(S::Webhook),
        route(
            "GET",
            "/v1/webhooks/{id}/deliveries",
            Account(&[DevelopersManage]),
            200,
        )
        .on(S::Webhook),
    ];
    rows.extend(super::people::routes());
    rows
}

/// The victim's name, kept by `PATCH /v1/users/{id}`.
pub(super) const VICTIM: &str = "Vic Victim";
/// The assignee's capacity: room for every assignment of the matrix.
pub(super) const ASSIGNEE_CAPACITY: u32 = 10_000;
