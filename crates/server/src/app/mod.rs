//! The application layer: every use case of Switchboard, written once.
//!
//! A use case is one method of [`App`]: it takes the acting principal (a
//! signed-in user, a WebSocket session, or whoever runs the admin
//! commands) and a typed input already parsed at the edge (the newtypes of
//! `switchboard_core::input`), authorizes it, talks to the store, the hub
//! and the bus, and returns a typed result or an [`AppError`]. WebSocket,
//! REST and the CLI are thin adapters around it: parse, call, encode.
//!
//! It must know nothing of the transports: no axum, no HTTP types, no
//! WebSocket frames, no wire types (a test in `tests/inprocess/architecture.rs` reads
//! this directory's sources to hold that). The hub is below it; the
//! adapters are above it.

mod access;
mod accounts;
mod audit;
mod contacts;
mod error;
mod folders;
mod inbound;
mod invitations;
mod lifecycle;
mod messenger;
mod routing;
mod seats;
mod sessions;
mod setup;
mod templates;
mod two_factor;
// webhooks
mod webhooks;

// API keys (docs/MODULES.md).
mod api_keys;
// statistics
mod statistics;
pub use statistics::{Bucket, StatisticsRow, StatisticsRows};
// WebSocket tickets (docs/BROWSERS.md).
mod ws_tickets;
pub use ws_tickets::{WS_TICKET_PREFIX, WsTicket};

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::access::{Decision, Permission, Target};
use switchboard_core::model::Routed;
use switchboard_core::ports::Store;
use switchboard_core::two_factor::ThrottlePolicy;
use switchboard_core::{AccountId, InboxId, Principal, Resource, UserId};

pub use access::{
    AssigneeFilter, ConversationCursor, ConversationPage, ConversationQuery, InboxChanges,
    MESSAGES_DEFAULT, Me, MessagePage, PAGE_DEFAULT, RoleEntry, UserAccess,
};
pub use accounts::NewAccountInput;
pub use audit::{AUDIT_PAGE_DEFAULT, AuditPage};
pub use contacts::{CONTACTS_PAGE_DEFAULT, ContactPage, ContactView};
pub use error::AppError;
pub use folders::{FolderChanges, FolderView};
pub use inbound::{InboundInput, InboundTarget};
pub use invitations::{INVITATION_TOKEN_PREFIX, Invited};
pub use lifecycle::SessionEntry;
pub use messenger::{Inbox, JoinedView, Outgoing, Sent};
pub use routing::RouteChange;
pub use seats::Plan;
pub use sessions::{Authenticated, LoggedIn, LoginAttempt};
pub use setup::{FirstRun, SETUP_TOKEN_PREFIX};
pub use templates::TemplateChanges;
pub use two_factor::{BackupCodes, TwoFactorSetup};
// webhooks
pub use webhooks::{CreatedWebhook, DELIVERIES_PAGE_DEFAULT, WebhookUrl, parse_secret};

// API keys (docs/MODULES.md).
pub use api_keys::{API_KEY_PREFIX, CreatedApiKey};

use crate::access::{AccessBook, AccessNow};
use crate::hub::Hub;
use crate::mail::InvitationSettings;
use crate::secret_key::SecretKey;

/// What the use cases depend on besides the store and the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppSettings {
    /// The largest message body (`send`, inbound).
    pub max_message_bytes: usize,
    /// Personal folders one user may have.
    pub max_folders_per_user: u32,
    /// How long a login session lasts.
    pub session_ttl: Duration,
    /// Failed logins per email and per source address before throttling.
    pub login_throttle: ThrottlePolicy,
    /// How long a WebSocket ticket works (docs/BROWSERS.md).
    pub ws_ticket_ttl: Duration,
}

impl AppSettings {
    /// The defaults of `switchboard serve`.
    pub const DEFAULT: Self = Self {
        max_message_bytes: 64 * 1024,
        max_folders_per_user: 50,
        session_ttl: Duration::from_secs(30 * 24 * 3600),
        login_throttle: ThrottlePolicy::DEFAULT,
        ws_ticket_ttl: Duration::from_secs(30),
    };
}

impl Default for AppSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Who acts in a use case that both users and the operator may run.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// A signed-in user, within their account and rights.
    User(&'a Principal),
    /// Whoever runs the admin commands, trusted with the whole database.
    CommandLine,
}

#[derive(Debug, Clone)]
pub struct App {
    store: Arc<dyn Store>,
    /// The realtime engine of this node; none for the command line, whose
    /// changes a running server learns from the store.
    hub: Option<Arc<Hub>>,
    /// Every account's current access (the hub's, on a server).
    access: Arc<AccessBook>,
    settings: AppSettings,
    /// How invitations' links and mails are made.
    invitations: Arc<InvitationSettings>,
    /// Seals two-factor secrets; none for the command line, which never
    /// touches them.
    secret_key: Option<SecretKey>,
    /// Webhooks may reach internal addresses (`SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE`).
    webhook_private_allowed: bool,
    /// This node's first-run setup link, while the database has no account.
    first_run: Arc<FirstRun>,
}

impl App {
    /// The application of a running server.
    pub fn live(store: Arc<dyn Store>, hub: Arc<Hub>, settings: AppSettings) -> Self {
        Self {
            store,
            access: hub.access().clone(),
            hub: Some(hub),
            settings,
            invitations: Default::default(),
            secret_key: None,
            webhook_private_allowed: false,
            first_run: Default::default(),
        }
    }

    /// The application of a command-line process (no connections).
    pub fn offline(store: Arc<dyn Store>, settings: AppSettings) -> Self {
        Self {
            access: Arc::new(AccessBook::new(store.clone())),
            store,
            hub: None,
            settings,
            invitations: Default::default(),
            secret_key: None,
            webhook_private_allowed: false,
            first_run: Default::default(),
        }
    }

    /// The same application, making invitations as `settings` say.
    pub fn with_invitations(mut self, settings: InvitationSettings) -> Self {
        self.invitations = Arc::new(settings);
        self
    }

    /// This application with the server's secret key (two-factor secrets).
    pub fn with_secret_key(mut self, key: SecretKey) -> Self {
        self.secret_key = Some(key);
        self
    }

    /// This application letting webhooks reach internal addresses or not.
    pub fn with_webhook_private_allowed(mut self, allowed: bool) -> Self {
        self.webhook_private_allowed = allowed;
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn hub(&self) -> Option<&Arc<Hub>> {
        self.hub.as_ref()
    }

    pub fn settings(&self) -> &AppSettings {
        &self.settings
    }

    pub fn access(&self) -> &Arc<AccessBook> {
        &self.access
    }

    /// The account's access now.
    async fn access_of(&self, account: AccountId) -> Result<Arc<AccessNow>, AppError> {
        Ok(self.access.now(account).await?)
    }

    /// The one check of a use case, against the account's current grants:
    /// `Ok` when allowed, else `not_found` (not theirs to see: `missing`
    /// names the thing) or `forbidden` (naming the permission lacking).
    async fn check(
        &self,
        caller: Caller<'_>,
        permission: Permission,
        resource: Resource,
        missing: &'static str,
    ) -> Result<(), AppError> {
        let Caller::User(principal) = caller else {
            return Ok(());
        };
        if principal.account_id() != resource.account_id() {
            return Err(AppError::NotFound(missing));
        }
        let snapshot = self.access_of(principal.account_id()).await?;
        refusal(
            snapshot.decide(principal.id(), permission, resource),
            missing,
        )
    }

    /// An inbox the caller manages (`inboxes.manage` at its group): another
    /// account's, or one out of the caller's sight, is not found.
    async fn managed_inbox(
        &self,
        caller: Caller<'_>,
        id: InboxId,
    ) -> Result<switchboard_core::model::Inbox, AppError> {
        const MISSING: &str = "no such inbox";
        let inbox = self
            .store
            .inbox(id)
            .await?
            .filter(|i| caller.sees(i.account_id))
            .ok_or(AppError::NotFound(MISSING))?;
        let resource = Resource::Inbox {
            account_id: inbox.account_id,
            inbox_id: inbox.id,
        };
        self.check(caller, Permission::InboxesManage, resource, MISSING)
            .await?;
        Ok(inbox)
    }

    /// Account-wide management (teams, the users list): `users.manage` at
    /// the account's root.
    async fn manage_account(&self, caller: Caller<'_>, account: AccountId) -> Result<(), AppError> {
        let resource = Resource::Account(account);
        self.check(caller, Permission::UsersManage, resource, "no such account")
            .await
    }

    /// Managing user `user` of `account` (capacity, name, grants):
    /// `users.manage` over every group they hold a grant at (docs/ACCESS.md).
    /// A user out of the caller's sight is not found.
    async fn check_manage_user(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        user: UserId,
    ) -> Result<(), AppError> {
        let Caller::User(principal) = caller else {
            return Ok(());
        };
        if principal.account_id() != account {
            return Err(AppError::NotFound("no such user"));
        }
        let access = self.access_of(account).await?;
        let target = Target::User {
            account,
            grants: access.grants(user),
        };
        let decision = access
            .policy(principal.id())
            .decide(target, Permission::UsersManage);
        refusal(decision, "no such user")
    }

    /// The account's access changed (grants, roles, groups, an inbox's
    /// group): reload it here, tell the other nodes, and carry the change
    /// out on live connections.
    pub async fn access_changed(&self, account: AccountId) -> Result<(), AppError> {
        match &self.hub {
            Some(hub) => hub.access_changed(account).await,
            None => {
                self.access.reload(account).await?;
            }
        }
        Ok(())
    }

    /// The hub, for the use cases that only a running server has.
    fn live_hub(&self) -> Result<&Arc<Hub>, AppError> {
        self.hub.as_ref().ok_or_else(|| {
            tracing::error!("a live use case ran without a hub");
            AppError::Internal
        })
    }

    /// Tells live connections what a routing operation changed, and
    /// rewrites its cards as this node shows them.
    async fn spread(&self, routed: &mut Routed) {
        if let Some(hub) = &self.hub {
            hub.routed(routed).await;
        }
    }
}

/// A decision as the use case's answer.
pub(crate) fn refusal(decision: Decision, missing: &'static str) -> Result<(), AppError> {
    match decision {
        Decision::Allowed => Ok(()),
        Decision::NotFound => Err(AppError::NotFound(missing)),
        Decision::Forbidden(permission) => Err(AppError::forbidden(format!(
            "you do not hold the permission {permission} here"
        ))),
    }
}

impl Caller<'_> {
    /// Whether this caller sees what belongs to `account`.
    fn sees(self, account: AccountId) -> bool {
        match self {
            Self::User(principal) => principal.account_id() == account,
            Self::CommandLine => true,
        }
    }
}
