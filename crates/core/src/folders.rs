//! Personal folders: saved filters of a user's conversation list
//! (docs/MODULES.md). What a folder is, and the one rule deciding whether a
//! conversation's card belongs in it. Pure: the store keeps folders and
//! applies the same conditions in its queries; the hub applies [`FolderMatch`]
//! to every card it delivers to a folder's subscriber.
//!
//! A folder narrows what its owner may see; it never widens it. Whether the
//! user may see a conversation at all is the access policy's decision, taken
//! before a folder is asked.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, FolderId, InboxId, TeamId, UserId};
use crate::input::InputError;
use crate::model::{Conversation, ConversationStatus};

/// A user's folder. Only its owner ever sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub id: FolderId,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub name: String,
    pub filter: FolderFilter,
    pub created_at: DateTime<Utc>,
}

/// Which conversations a folder holds: every condition given must hold
/// (absent conditions hold for every conversation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ConversationStatus>,
    /// Conversations of these inboxes only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox_ids: Option<BTreeSet<InboxId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<AssigneeCondition>,
    /// Conversations of the inboxes that route to this team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    /// `true`: only those the owner is answering now; `false`: only those
    /// the owner is not answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by_me: Option<bool>,
}

/// Whom a folder's conversations are assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssigneeCondition {
    /// Assigned to the folder's owner.
    Me,
    /// In the Unassigned queue or resolved without an assignee.
    Unassigned,
    /// Any assignee or none (the same as leaving the condition out).
    Any,
}

impl AssigneeCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Me => "me",
            Self::Unassigned => "unassigned",
            Self::Any => "any",
        }
    }
}

impl FolderFilter {
    /// The most inboxes one folder may name.
    pub const MAX_INBOXES: usize = 100;

    /// Checks what a client sent: the bounds of the filter itself (that
    /// the inboxes and team exist is the application's to check).
    pub fn check(self) -> Result<Self, InputError> {
        if let Some(inboxes) = &self.inbox_ids {
            if inboxes.is_empty() {
                return Err(InputError::Invalid {
                    field: "filter.inbox_ids",
                    expected: "at least one inbox id (leave it out for every inbox)",
                });
            }
            if inboxes.len() > Self::MAX_INBOXES {
                return Err(InputError::Invalid {
                    field: "filter.inbox_ids",
                    expected: "at most 100 inbox ids",
                });
            }
        }
        Ok(self)
    }
}

/// A folder's filter for one user, with its team resolved to inboxes: the
/// rule every card delivered to the folder's subscriber is judged by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderMatch {
    filter: FolderFilter,
    owner: UserId,
    /// The inboxes routing to the filter's team when the subscription was
    /// made (none when the filter names no team).
    team_inboxes: Option<BTreeSet<InboxId>>,
}

impl FolderMatch {
    pub fn new(
        filter: FolderFilter,
        owner: UserId,
        team_inboxes: Option<BTreeSet<InboxId>>,
    ) -> Self {
        Self {
            filter,
            owner,
            team_inboxes,
        }
    }

    /// Whether the card belongs in the folder.
    pub fn admits(&self, card: &Conversation) -> bool {
        let f = &self.filter;
        let assignee = card.assignee.as_ref().map(|a| a.id);
        let answering = card.answered_by.as_ref().map(|a| a.id) == Some(self.owner);
        f.status.is_none_or(|s| s == card.status)
            && f.inbox_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&card.inbox_id))
            && match f.assignee {
                None | Some(AssigneeCondition::Any) => true,
                Some(AssigneeCondition::Me) => assignee == Some(self.owner),
                Some(AssigneeCondition::Unassigned) => assignee.is_none(),
            }
            && (f.team_id.is_none()
                || self
                    .team_inboxes
                    .as_ref()
                    .is_some_and(|ids| ids.contains(&card.inbox_id)))
            && f.answered_by_me.is_none_or(|wanted| wanted == answering)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ContactId, ConversationId};
    use crate::model::{Contact, UserRef};

    fn card(inbox: InboxId) -> Conversation {
        Conversation {
            id: ConversationId::new(),
            account_id: AccountId::new(),
            inbox_id: inbox,
            contact: Contact {
                id: ContactId::new(),
                handle: "+15550100".into(),
                name: None,
            },
            status: ConversationStatus::Open,
            assignee: None,
            answered_by: None,
            answered_epoch: 0,
            queue_position: Some(1),
            last_seq: 1,
            last_message_at: None,
        }
    }

    fn user(id: UserId) -> UserRef {
        UserRef {
            id,
            name: "Ann".into(),
        }
    }

    #[test]
    fn an_empty_filter_admits_everything() {
        let me = UserId::new();
        let folder = FolderMatch::new(FolderFilter::default(), me, None);
        let mut c = card(InboxId::new());
        assert!(folder.admits(&c));
        c.status = ConversationStatus::Resolved;
        c.assignee = Some(user(UserId::new()));
        assert!(folder.admits(&c));
    }

    #[test]
    fn assignee_me_unassigned_and_any() {
        let me = UserId::new();
        let with = |assignee| {
            let filter = FolderFilter {
                assignee: Some(assignee),
                ..FolderFilter::default()
            };
            FolderMatch::new(filter, me, None)
        };
        let mut c = card(InboxId::new());
        assert!(!with(AssigneeCondition::Me).admits(&c));
        assert!(with(AssigneeCondition::Unassigned).admits(&c));
        assert!(with(AssigneeCondition::Any).admits(&c));
        c.assignee = Some(user(me));
        assert!(with(AssigneeCondition::Me).admits(&c));
        assert!(!with(AssigneeCondition::Unassigned).admits(&c));
        c.assignee = Some(user(UserId::new()));
        assert!(!with(AssigneeCondition::Me).admits(&c));
        assert!(with(AssigneeCondition::Any).admits(&c));
    }

    #[test]
    fn status_inboxes_and_team_narrow() {
        let me = UserId::new();
        let (a, b) = (InboxId::new(), InboxId::new());
        let filter = FolderFilter {
            status: Some(ConversationStatus::Open),
            inbox_ids: Some([a, b].into()),
            team_id: Some(TeamId::new()),
            ..FolderFilter::default()
        };
        let folder = FolderMatch::new(filter.clone(), me, Some([a].into()));
        assert!(folder.admits(&card(a)));
        assert!(!folder.admits(&card(b)), "b does not route to the team");
        assert!(!folder.admits(&card(InboxId::new())));
        let mut resolved = card(a);
        resolved.status = ConversationStatus::Resolved;
        assert!(!folder.admits(&resolved));
        let unresolved_team = FolderMatch::new(filter, me, None);
        assert!(
            !unresolved_team.admits(&card(a)),
            "a team with no inboxes holds nothing"
        );
    }

    #[test]
    fn answered_by_me_both_ways() {
        let me = UserId::new();
        let with = |wanted| {
            let filter = FolderFilter {
                answered_by_me: Some(wanted),
                ..FolderFilter::default()
            };
            FolderMatch::new(filter, me, None)
        };
        let mut c = card(InboxId::new());
        assert!(!with(true).admits(&c));
        assert!(with(false).admits(&c));
        c.answered_by = Some(user(me));
        assert!(with(true).admits(&c));
        assert!(!with(false).admits(&c));
        c.answered_by = Some(user(UserId::new()));
        assert!(!with(true).admits(&c));
        assert!(with(false).admits(&c));
    }

    #[test]
    fn the_filter_reads_and_writes_the_documented_json() {
        let inbox = InboxId::new();
        let json = serde_json::json!({
            "status": "open",
            "inbox_ids": [inbox],
            "assignee": "unassigned",
            "answered_by_me": false
        });
        let filter: FolderFilter = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(filter.assignee, Some(AssigneeCondition::Unassigned));
        assert_eq!(serde_json::to_value(&filter).unwrap(), json);
        assert!(
            serde_json::from_value::<FolderFilter>(serde_json::json!({"assignee": "bob"})).is_err()
        );
        let empty = FolderFilter {
            inbox_ids: Some(BTreeSet::new()),
            ..FolderFilter::default()
        };
        assert!(empty.check().is_err());
    }
}
