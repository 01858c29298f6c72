//! The audit log's vocabulary: what was done to people and access in an
//! account, by whom, to whom, and when. The store keeps entries; the
//! application writes one for each change listed in [`AuditAction`].

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ids::{AccountId, UserId};

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    InvitationCreated,
    InvitationResent,
    InvitationRevoked,
    InvitationAccepted,
    GrantsChanged,
    RoleCreated,
    RoleEdited,
    RoleDeleted,
    GroupCreated,
    GroupEdited,
    GroupDeleted,
    UserCreated,
    UserEdited,
    UserDeactivated,
    UserReactivated,
    UserRemoved,
    OwnershipTransferred,
    PasswordChanged,
    TwoFactorEnabled,
    TwoFactorDisabled,
    SettingsChanged,
    PlanChanged,
    // API keys (docs/MODULES.md).
    ApiKeyCreated,
    ApiKeyRevoked,
    // Webhooks (docs/MODULES.md).
    WebhookCreated,
    WebhookEdited,
    WebhookDeleted,
}

impl AuditAction {
    pub const ALL: [AuditAction; 27] = [
        Self::InvitationCreated,
        Self::InvitationResent,
        Self::InvitationRevoked,
        Self::InvitationAccepted,
        Self::GrantsChanged,
        Self::RoleCreated,
        Self::RoleEdited,
        Self::RoleDeleted,
        Self::GroupCreated,
        Self::GroupEdited,
        Self::GroupDeleted,
        Self::UserCreated,
        Self::UserEdited,
        Self::UserDeactivated,
        Self::UserReactivated,
        Self::UserRemoved,
        Self::OwnershipTransferred,
        Self::PasswordChanged,
        Self::TwoFactorEnabled,
        Self::TwoFactorDisabled,
        Self::SettingsChanged,
        Self::PlanChanged,
        // API keys (docs/MODULES.md).
        Self::ApiKeyCreated,
        Self::ApiKeyRevoked,
        // Webhooks (docs/MODULES.md).
        Self::WebhookCreated,
        Self::WebhookEdited,
        Self::WebhookDeleted,
    ];

    /// The action as stored and shown: `<subject>.<verb>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvitationCreated => "invitation.created",
            Self::InvitationResent => "invitation.resent",
            Self::InvitationRevoked => "invitation.revoked",
            Self::InvitationAccepted => "invitation.accepted",
            Self::GrantsChanged => "grants.changed",
            Self::RoleCreated => "role.created",
            Self::RoleEdited => "role.edited",
            Self::RoleDeleted => "role.deleted",
            Self::GroupCreated => "group.created",
            Self::GroupEdited => "group.edited",
            Self::GroupDeleted => "group.deleted",
            Self::UserCreated => "user.created",
            Self::UserEdited => "user.edited",
            Self::UserDeactivated => "user.deactivated",
            Self::UserReactivated => "user.reactivated",
            Self::UserRemoved => "user.removed",
            Self::OwnershipTransferred => "ownership.transferred",
            Self::PasswordChanged => "password.changed",
            Self::TwoFactorEnabled => "2fa.enabled",
            Self::TwoFactorDisabled => "2fa.disabled",
            Self::SettingsChanged => "settings.changed",
            Self::PlanChanged => "plan.changed",
            // API keys (docs/MODULES.md).
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
            // Webhooks (docs/MODULES.md).
            Self::WebhookCreated => "webhook.created",
            Self::WebhookEdited => "webhook.edited",
            Self::WebhookDeleted => "webhook.deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An entry to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub account_id: AccountId,
    /// Who did it; `None`: an operator at the command line.
    pub actor_id: Option<UserId>,
    pub action: AuditAction,
    /// The user it was done to, if any.
    pub target_user_id: Option<UserId>,
    /// What changed, as a JSON object's text (`{}` when nothing more).
    pub detail: String,
}

/// A recorded entry. Ids grow with time, so the log reads newest first by
/// id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub entry: NewAuditEntry,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_from_its_text_and_the_texts_differ() {
        let mut seen = std::collections::HashSet::new();
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
            assert!(seen.insert(action.as_str()), "{action} twice");
        }
        assert_eq!(AuditAction::parse("grants.granted"), None);
    }
}
