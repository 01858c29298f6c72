//! What each case makes before its call, and what the owner sees of it
//! afterwards (to tell that another account's attempt changed nothing).

use std::cell::{Cell, RefCell};

use serde_json::{Value, json};
use uuid::Uuid;

use super::people::WRONG_CODE;
use super::report::listed_ids;
use super::tables::{Case, Setup, Subject};
use super::{Actor, World, id};
use crate::support::client::take;
use crate::support::server::{Agent, PASSWORD};

/// Invitation links made at once at the command line (one process each
/// time), for the cases that need one.
const LINKS_AT_ONCE: usize = 25;

/// Tokens of invitations made at the command line, not yet used; each
/// case that needs a link takes one.
#[derive(Debug, Default)]
pub(super) struct Links {
    tokens: RefCell<Vec<String>>,
    made: Cell<usize>,
}

impl World {
    /// Makes what a case needs, as the owner (what is the user's own, as
    /// them).
    pub(super) async fn prepare(&self, subject: Subject, actor: &Actor, mine: bool) -> Case {
        let unique = self.unique();
        let mut case = Case {
            subject: Uuid::nil(),
            other: Uuid::nil(),
            mine: false,
            unique: format!("m{unique}"),
            root: self.root,
            inbox: self.fx.inbox,
            assignee: self.assignee.id,
            template: self.template,
            email: actor.user.email.clone(),
            token: String::new(),
        };
        match subject {
            Subject::Nothing => {}
            Subject::Root => case.subject = self.root,
            Subject::Role => {
                let body = json!({"name": case.unique, "permissions": []});
                case.subject = id(&self.owner("POST", "/v1/roles", body, 201).await["id"]);
            }
            Subject::Team => {
                let body = json!({"name": case.unique});
                case.subject = id(&self.owner("POST", "/v1/teams", body, 201).await["id"]);
            }
            Subject::Template => {
                let body = json!({"name": case.unique, "body": "Hi {{contact.name}}"});
                case.subject = id(&self.owner("POST", "/v1/templates", body, 201).await["id"]);
            }
            Subject::Contact => {
                let conversation = self.fx.conversation(&format!("+1{unique}")).await;
                let path = format!("/v1/conversations/{conversation}");
                let card = self.owner("GET", &path, Value::Null, 200).await;
                case.subject = id(&card["contact"]["id"]);
            }
            Subject::Group => case.subject = self.group(&case.unique).await,
            Subject::TwoGroups => {
                case.subject = self.group(&case.unique).await;
                case.other = self.group(&format!("{}b", case.unique)).await;
            }
            Subject::Inbox => case.subject = self.inbox(&case.unique).await,
            Subject::InboxAndGroup => {
                case.subject = self.inbox(&case.unique).await;
                case.other = self.group(&format!("{}b", case.unique)).await;
            }
            Subject::Victim => case.subject = self.victim.id,
            Subject::Assignee => case.subject = self.assignee.id,
            Subject::Conversation(setup) => {
                case.subject = self.fx.conversation(&format!("+1{unique}")).await;
                case.mine = self.put_in_state(case.subject, setup, actor, mine).await;
            }
            Subject::Invitation => {
                let body = json!({
                    "emails": [format!("{}@invited.test", case.unique)],
                    "grants": [{"role": "viewer", "group_id": self.root}],
                });
                let made = self.owner("POST", "/v1/invitations", body, 201).await;
                case.subject = id(&made["invitations"][0]["id"]);
            }
            Subject::InvitationLink => case.token = self.link().await,
            Subject::NewUser => case.subject = self.new_user(&case.unique).await,
            Subject::DeactivatedUser => {
                case.subject = self.new_user(&case.unique).await;
                let path = format!("/v1/users/{}/deactivate", case.subject);
                self.owner("POST", &path, Value::Null, 200).await;
            }
            Subject::Session => {
                let whose = if actor.foreign {
                    &self.victim
                } else {
                    &actor.user
                };
                (case.subject, case.token) = self.second_session(whose).await;
            }
            Subject::Folder => {
                let whose = if actor.foreign {
                    &self.victim
                } else {
                    &actor.user
                };
                let body = json!({"name": case.unique, "filter": {"status": "open"}});
                let (status, made) = self
                    .fx
                    .server
                    .call(&whose.token, "POST", "/v1/folders", body)
                    .await;
                assert_eq!(status, 201, "setup: {}'s folder: {made}", whose.email);
                case.subject = id(&made["id"]);
            }
            // Begun, never confirmed: the user's sign-ins need no code.
            Subject::TwoFactorPending => {
                self.two_factor(actor, "POST", "/v1/me/2fa/setup", &[200])
                    .await
            }
            // A pending setup dropped (204), or none there was (409).
            Subject::NoTwoFactor => {
                self.two_factor(actor, "DELETE", "/v1/me/2fa", &[204, 409])
                    .await
            }
            // API keys (docs/MODULES.md).
            Subject::ApiKey => {
                let grants = json!([{"role": "viewer", "group_id": self.root}]);
                let body = json!({"name": case.unique, "grants": grants});
                case.subject = id(&self.owner("POST", "/v1/api-keys", body, 201).await["id"]);
            }
            // webhooks
            Subject::Webhook => {
                let body = json!({
                    "url": format!("http://127.0.0.1:9/{}", case.unique),
                    "events": ["message.created"],
                });
                case.subject = id(&self.owner("POST", "/v1/webhooks", body, 201).await["id"]);
            }
        }
        case
    }

    async fn group(&self, name: &str) -> Uuid {
        let body = json!({"name": name, "parent_id": self.root});
        id(&self.owner("POST", "/v1/groups", body, 201).await["id"])
    }

    async fn inbox(&self, name: &str) -> Uuid {
        let body = json!({"name": name, "channel": "sms"});
        id(&self.owner("POST", "/v1/inboxes", body, 201).await["id"])
    }

    /// Assigns, resolves and has the holder take a new conversation as the
    /// setup says; answers whether its card names the user as assignee.
    async fn put_in_state(&self, id: Uuid, setup: Setup, actor: &Actor, mine: bool) -> bool {
        let path = |action: &str| format!("/v1/conversations/{id}/{action}");
        let assignee = match (mine, setup.colleague) {
            (true, _) => Some(actor.user.id),
            (false, true) => Some(self.assignee.id),
            (false, false) => None,
        };
        if let Some(user) = assignee {
            let body = json!({"user_id": user, "force": true});
            self.owner("POST", &path("assign"), body, 200).await;
        }
        if setup.resolved {
            self.owner("POST", &path("resolve"), Value::Null, 200).await;
        }
        if setup.held {
            let taken = self.holder.lock().await.request(take(id, false)).await;
            assert!(taken.is_ok(), "setup: the holder takes {id}: {taken:?}");
        }
        let card = self
            .owner("GET", &format!("/v1/conversations/{id}"), Value::Null, 200)
            .await;
        card["assignee"]["user_id"].as_str() == Some(&actor.user.id.to_string())
    }

    /// What the owner sees of what a case names, to tell that another
    /// account's attempt changed nothing.
    pub(super) async fn snapshot(&self, subject: Subject, case: &Case) -> Value {
        let get = |path: String| async move { self.owner("GET", &path, Value::Null, 200).await };
        match subject {
            Subject::Nothing => Value::Null,
            Subject::Role => get("/v1/roles".into()).await,
            Subject::Team => get("/v1/teams".into()).await,
            Subject::Template => get("/v1/templates".into()).await,
            Subject::Contact => get(format!("/v1/contacts/{}", case.subject)).await,
            Subject::Group | Subject::TwoGroups => get("/v1/groups".into()).await,
            Subject::Root => json!([
                get("/v1/groups".into()).await,
                get("/v1/inboxes".into()).await
            ]),
            Subject::Inbox | Subject::InboxAndGroup => {
                let listed = format!("/v1/conversations?inbox_id={}&limit=200", case.subject);
                json!([
                    get("/v1/inboxes".into()).await,
                    get("/v1/groups".into()).await,
                    get(listed).await
                ])
            }
            Subject::Victim | Subject::Assignee | Subject::NewUser | Subject::DeactivatedUser => {
                get("/v1/users".into()).await
            }
            // What may change of it (its mail's status changes by itself).
            Subject::Invitation => {
                let listed = get("/v1/invitations".into()).await;
                let found = listed["invitations"].as_array().and_then(|all| {
                    all.iter()
                        .find(|i| i["id"] == json!(case.subject))
                        .map(|i| json!([i["status"], i["expires_at"]]))
                });
                found.unwrap_or(Value::Null)
            }
            // Whether its token still works, and the ids of its user's sessions.
            Subject::Session => {
                let server = &self.fx.server;
                let (status, sessions) = server
                    .call(&case.token, "GET", "/v1/me/sessions", Value::Null)
                    .await;
                json!([status, listed_ids(&sessions)])
            }
            Subject::InvitationLink | Subject::TwoFactorPending | Subject::NoTwoFactor => {
                Value::Null
            }
            // The victim's folders, as the victim reads them.
            Subject::Folder => {
                let server = &self.fx.server;
                let (_, folders) = server
                    .call(&self.victim.token, "GET", "/v1/folders", Value::Null)
                    .await;
                folders
            }
            // API keys (docs/MODULES.md).
            Subject::ApiKey => get("/v1/api-keys".into()).await,
            // webhooks
            Subject::Webhook => get("/v1/webhooks".into()).await,
            Subject::Conversation(_) => {
                let at = format!("/v1/conversations/{}", case.subject);
                json!([
                    get(at.clone()).await,
                    get(format!("{at}/messages")).await,
                    get(format!("{at}/assignments")).await
                ])
            }
        }
    }

    /// The token of a new pending invitation (of a viewer at the root)
    /// nothing else uses. The command line prints the links when no SMTP
    /// server is configured; they are made `LINKS_AT_ONCE` at a time.
    async fn link(&self) -> String {
        if let Some(token) = self.links.tokens.borrow_mut().pop() {
            return token;
        }
        let first = self.links.made.get();
        self.links.made.set(first + LINKS_AT_ONCE);
        let emails: Vec<String> = (first..first + LINKS_AT_ONCE)
            .map(|n| format!("link{n}@invited.test"))
            .collect();
        let account = self.fx.account.to_string();
        let mut args = vec!["invite", "--account", &account, "--role", "viewer"];
        for email in &emails {
            args.extend(["--email", email.as_str()]);
        }
        let printed = self.fx.server.admin(&args).await;
        let tokens: Vec<String> = printed["invitations"]
            .as_array()
            .expect("the invitations made")
            .iter()
            .map(|i| {
                let link = i["link"].as_str().expect("a link (no SMTP server)");
                let token = link.split("token=").nth(1).expect("a token in the link");
                token.to_owned()
            })
            .collect();
        assert_eq!(tokens.len(), LINKS_AT_ONCE, "setup: links {printed}");
        let mut pool = self.links.tokens.borrow_mut();
        pool.extend(tokens);
        pool.pop().expect("a link")
    }

    /// A new user of the account: a viewer at the root who accepted an
    /// invitation (so the server knows their grants at once).
    async fn new_user(&self, unique: &str) -> Uuid {
        let body = json!({
            "token": self.link().await,
            "name": format!("New {unique}"),
            "password": PASSWORD,
        });
        let url = self.fx.server.http("/v1/invitations/accept");
        let (status, accepted) = super::anonymous(&url, "POST", body).await;
        assert_eq!(status, 201, "setup: accepting an invitation: {accepted}");
        id(&accepted["user"]["id"])
    }

    /// A new login session of `user`: its id and token.
    async fn second_session(&self, user: &Agent) -> (Uuid, String) {
        let server = &self.fx.server;
        let token = server.login(&user.email).await;
        let (status, sessions) = server
            .call(&token, "GET", "/v1/me/sessions", Value::Null)
            .await;
        assert_eq!(status, 200, "setup: {}'s sessions: {sessions}", user.email);
        let current = sessions
            .as_array()
            .and_then(|all| all.iter().find(|s| s["current"] == true))
            .unwrap_or_else(|| panic!("setup: no current session in {sessions}"));
        (id(&current["id"]), token)
    }

    /// A call of the user's to their own 2FA (with a wrong code, which
    /// never confirms anything), answering one of `expected`.
    async fn two_factor(&self, actor: &Actor, method: &str, path: &str, expected: &[u16]) {
        let body = json!({"code": WRONG_CODE});
        let (status, answer) = self
            .fx
            .server
            .call(&actor.user.token, method, path, body)
            .await;
        assert!(
            expected.contains(&status),
            "setup: {} {method} {path}: {status} {answer}",
            actor.label
        );
    }
}
