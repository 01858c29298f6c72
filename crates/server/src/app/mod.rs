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

mod accounts;
mod error;
mod inbound;
mod messenger;
mod routing;
mod sessions;

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::model::Routed;
use switchboard_core::ports::Store;
use switchboard_core::{AccountId, Action, Principal, Resource};

pub use accounts::NewAccountInput;
pub use error::AppError;
pub use inbound::{InboundInput, InboundTarget};
pub use messenger::{Inbox, JoinedView, Sent};
pub use routing::RouteChange;
pub use sessions::{Authenticated, LoggedIn};

use crate::hub::Hub;

/// What the use cases depend on besides the store and the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppSettings {
    /// The largest message body (`send`, inbound).
    pub max_message_bytes: usize,
    /// How long a login session lasts.
    pub session_ttl: Duration,
}

impl AppSettings {
    /// The defaults of `switchboard serve`.
    pub const DEFAULT: Self = Self {
        max_message_bytes: 64 * 1024,
        session_ttl: Duration::from_secs(30 * 24 * 3600),
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
    settings: AppSettings,
}

impl App {
    /// The application of a running server.
    pub fn live(store: Arc<dyn Store>, hub: Arc<Hub>, settings: AppSettings) -> Self {
        Self {
            store,
            hub: Some(hub),
            settings,
        }
    }

    /// The application of a command-line process (no connections).
    pub fn offline(store: Arc<dyn Store>, settings: AppSettings) -> Self {
        Self {
            store,
            hub: None,
            settings,
        }
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

impl Caller<'_> {
    /// May this caller do `action` to `resource`?
    fn can(self, action: Action, resource: Resource) -> bool {
        match self {
            Self::User(principal) => principal.can(action, resource),
            Self::CommandLine => true,
        }
    }

    /// Whether this caller sees what belongs to `account`.
    fn sees(self, account: AccountId) -> bool {
        match self {
            Self::User(principal) => principal.account_id() == account,
            Self::CommandLine => true,
        }
    }
}
