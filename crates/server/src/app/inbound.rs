//! A customer's message arriving from a channel: stored (creating the
//! contact and the conversation when new, opening a resolved one again),
//! routed, and told to everyone watching.

use switchboard_core::access::Permission;
use switchboard_core::input::{ContactHandle, ContactName, MessageBody};
use switchboard_core::model::{Inbound, Inbox, NewInbound};
use switchboard_core::{InboxId, Resource};

use super::{App, AppError, Caller};
use crate::auth::{self, INBOX_KEY_PREFIX};

/// A customer's message as a channel delivers it, parsed.
#[derive(Debug)]
pub struct InboundInput {
    pub handle: ContactHandle,
    pub name: Option<ContactName>,
    pub body: MessageBody,
}

/// An inbox whose credentials were checked: what [`App::inbound`] posts to.
/// Only [`App::inbound_target`] makes one.
#[derive(Debug)]
pub struct InboundTarget(Inbox);

impl App {
    /// Checks that `credential` (the inbox's API key, or the login token of
    /// a user allowed to post inbound messages) opens inbox `id`. The
    /// credentials are judged before the message is read, so a caller
    /// without them learns nothing from the answer.
    pub async fn inbound_target(
        &self,
        credential: Option<&str>,
        id: InboxId,
    ) -> Result<InboundTarget, AppError> {
        self.inbox_for(credential, id).await.map(InboundTarget)
    }

    /// Stores a customer's message.
    pub async fn inbound(
        &self,
        target: InboundTarget,
        input: InboundInput,
    ) -> Result<Inbound, AppError> {
        let inbox = target.0;
        let stored = self
            .store
            .record_inbound(NewInbound {
                inbox_id: inbox.id,
                handle: input.handle.as_str(),
                contact_name: input.name.as_ref().map(ContactName::as_str),
                body: input.body.as_str(),
            })
            .await?;
        if let Some(hub) = &self.hub {
            hub.inbound(&stored).await;
        }
        Ok(stored)
    }

    /// An inbox key opens only its own inbox; a user token opens the inboxes
    /// of the user's account, if the user may post inbound messages.
    async fn inbox_for(&self, credential: Option<&str>, id: InboxId) -> Result<Inbox, AppError> {
        let secret = credential.ok_or(AppError::Unauthorized("missing credentials"))?;
        if secret.starts_with(INBOX_KEY_PREFIX) {
            let inbox = self
                .store
                .inbox_by_key(&auth::secret_hash(secret))
                .await?
                .ok_or(AppError::Unauthorized("invalid inbox key"))?;
            if inbox.id != id {
                return Err(AppError::forbidden("this key belongs to another inbox"));
            }
            return Ok(inbox);
        }
        // a user's token, or an API key (docs/MODULES.md)
        let principal = self.authenticate_principal(Some(secret)).await?;
        let inbox = self
            .store
            .inbox(id)
            .await?
            .filter(|inbox| inbox.account_id == principal.account_id())
            .ok_or(AppError::NotFound("no such inbox"))?;
        let resource = Resource::Inbox {
            account_id: inbox.account_id,
            inbox_id: inbox.id,
        };
        // Posting as a channel is the integration's business: `inboxes.manage`.
        let caller = Caller::User(&principal);
        self.check(caller, Permission::InboxesManage, resource, "no such inbox")
            .await?;
        Ok(inbox)
    }
}
