//! Outbound webhooks (docs/MODULES.md, "Webhooks"): account-wide, so every
//! use case needs `developers.manage` at the root. A webhook of another
//! account is not found.
//!
//! The signing secret is returned once, at creation, and stored sealed
//! with the server's key (bound to the webhook's id), since the sender
//! must read it back to sign.
//!
//! A webhook posts every conversation of the account with its contact, so
//! making or changing one also needs `conversations.view` and
//! `contacts.view` at the root. Whether deliveries carry message bodies is
//! asked at creation and again at every send: only while the creator holds
//! `messages.read_bodies` at the root (a creator removed, deactivated or
//! downgraded sends null bodies from then on). An API key neither makes nor
//! changes webhooks: a webhook would outlive the key's revocation.

use switchboard_core::access::{Decision, Permission};
use switchboard_core::audit::AuditAction;
use switchboard_core::ids::WebhookId;
use switchboard_core::webhooks::{Delivery, NewWebhook, Webhook, WebhookChanges, WebhookEvents};
use switchboard_core::{Principal, Resource};

use super::{App, AppError, Caller};
use crate::webhooks::target::Target;

const MISSING: &str = "no such webhook";
/// Deliveries listed when the client names no limit.
pub const DELIVERIES_PAGE_DEFAULT: u32 = 50;
/// Deliveries listed at most, whatever the client asks.
const DELIVERIES_PAGE_MAX: u32 = 200;
/// The shortest and longest secret a client may choose.
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 16..=256;

/// A webhook just made, with its secret (shown this once).
#[derive(Debug, Clone)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    pub secret: String,
}

/// A webhook's URL as the client wrote it, and parsed.
#[derive(Debug, Clone)]
pub struct WebhookUrl {
    pub text: String,
    pub target: Target,
}

impl WebhookUrl {
    pub fn parse(text: &str) -> Result<Self, AppError> {
        let text = text.trim();
        let target = Target::parse(text).map_err(|e| AppError::BadRequest(e.to_string()))?;
        Ok(Self {
            text: text.to_owned(),
            target,
        })
    }
}

/// Checks a secret a client chose: 16 to 256 visible ASCII characters.
pub fn parse_secret(secret: &str) -> Result<String, AppError> {
    let visible = secret.bytes().all(|b| b.is_ascii_graphic());
    if !SECRET_BYTES.contains(&secret.len()) || !visible {
        return Err(AppError::BadRequest(
            "a webhook secret is 16 to 256 visible ASCII characters".into(),
        ));
    }
    Ok(secret.to_owned())
}

impl App {
    /// A new webhook: `developers.manage` at the root; its URL may not
    /// reach an internal address (unless the server allows it).
    pub async fn create_webhook(
        &self,
        who: &Principal,
        url: WebhookUrl,
        events: WebhookEvents,
        secret: Option<String>,
    ) -> Result<CreatedWebhook, AppError> {
        let account = who.account_id();
        self.check_writer(who).await?;
        self.check_reachable(&url).await?;
        let access = self.access_of(account).await?;
        let include_bodies = access.decide(
            who.id(),
            Permission::MessagesReadBodies,
            Resource::Account(account),
        ) == Decision::Allowed;
        let secret = secret.unwrap_or_else(generate_secret);
        let id = WebhookId::new();
        let key = self.secret_key.as_ref().ok_or_else(|| {
            tracing::error!("a webhook made without a secret key");
            AppError::Internal
        })?;
        let new = NewWebhook {
            id,
            url: url.text,
            events,
            secret_sealed: key.seal(secret.as_bytes(), id.to_string().as_bytes()),
            include_bodies,
            created_by: Some(who.id()),
        };
        let webhook = self.store.create_webhook(account, &new).await?;
        tracing::info!(webhook = %webhook.id, account = %account, "webhook created");
        let detail = webhook_detail(&webhook);
        self.audit(
            Caller::User(who),
            account,
            AuditAction::WebhookCreated,
            None,
            detail,
        )
        .await;
        Ok(CreatedWebhook { webhook, secret })
    }

    /// The account's webhooks, oldest first.
    pub async fn webhooks(&self, who: &Principal) -> Result<Vec<Webhook>, AppError> {
        self.check_developer(who).await?;
        Ok(self.store.webhooks_of(who.account_id()).await?)
    }

    /// Changes a webhook's URL, events or whether it is active.
    pub async fn edit_webhook(
        &self,
        who: &Principal,
        id: WebhookId,
        url: Option<WebhookUrl>,
        events: Option<WebhookEvents>,
        active: Option<bool>,
    ) -> Result<Webhook, AppError> {
        self.webhook_of(who, id).await?;
        self.check_writer(who).await?;
        if let Some(url) = &url {
            self.check_reachable(url).await?;
        }
        let changes = WebhookChanges {
            url: url.map(|u| u.text),
            events,
            active,
        };
        let webhook = self
            .store
            .update_webhook(who.account_id(), id, &changes)
            .await?;
        let detail = webhook_detail(&webhook);
        self.audit(
            Caller::User(who),
            who.account_id(),
            AuditAction::WebhookEdited,
            None,
            detail,
        )
        .await;
        Ok(webhook)
    }

    /// Deletes a webhook with its pending deliveries and its log.
    pub async fn delete_webhook(&self, who: &Principal, id: WebhookId) -> Result<(), AppError> {
        let webhook = self.webhook_of(who, id).await?;
        self.store.delete_webhook(who.account_id(), id).await?;
        let detail = webhook_detail(&webhook);
        self.audit(
            Caller::User(who),
            who.account_id(),
            AuditAction::WebhookDeleted,
            None,
            detail,
        )
        .await;
        Ok(())
    }

    /// The webhook's latest deliveries (at most 200), newest first, with
    /// their tries.
    pub async fn webhook_deliveries(
        &self,
        who: &Principal,
        id: WebhookId,
        limit: u32,
    ) -> Result<Vec<Delivery>, AppError> {
        self.webhook_of(who, id).await?;
        let limit = limit.min(DELIVERIES_PAGE_MAX);
        Ok(self.store.webhook_deliveries(id, limit).await?)
    }

    /// `developers.manage` at the root of the caller's account.
    async fn check_developer(&self, who: &Principal) -> Result<(), AppError> {
        let resource = Resource::Account(who.account_id());
        self.check(
            Caller::User(who),
            Permission::DevelopersManage,
            resource,
            MISSING,
        )
        .await
    }

    /// May make or change a webhook: a person (not an API key) holding
    /// `developers.manage`, and seeing what a webhook posts
    /// (`conversations.view` and `contacts.view`), at the root.
    async fn check_writer(&self, who: &Principal) -> Result<(), AppError> {
        if who.is_api_key() {
            return Err(AppError::forbidden(
                "api keys cannot make or change webhooks: a webhook would outlive the key",
            ));
        }
        self.check_developer(who).await?;
        for permission in [Permission::ConversationsView, Permission::ContactsView] {
            let resource = Resource::Account(who.account_id());
            self.check(Caller::User(who), permission, resource, MISSING)
                .await?;
        }
        Ok(())
    }

    /// A webhook of the caller's account, which they may manage.
    async fn webhook_of(&self, who: &Principal, id: WebhookId) -> Result<Webhook, AppError> {
        self.check_developer(who).await?;
        self.store
            .webhook(id)
            .await?
            .filter(|w| w.account_id == who.account_id())
            .ok_or(AppError::NotFound(MISSING))
    }

    async fn check_reachable(&self, url: &WebhookUrl) -> Result<(), AppError> {
        url.target
            .check(self.webhook_private_allowed)
            .await
            .map_err(|e| AppError::BadRequest(e.to_string()))
    }
}

/// A new secret: 256 random bits, hex, with a prefix that says what it is.
fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

/// What the audit log records of a webhook: never its secret, nor its
/// URL's query, where receivers often put a token.
fn webhook_detail(webhook: &Webhook) -> serde_json::Value {
    let url = webhook.url.split(['?', '#']).next().unwrap_or_default();
    serde_json::json!({
        "webhook_id": webhook.id,
        "url": url,
        "events": webhook.events.to_text(),
        "active": webhook.active,
    })
}
