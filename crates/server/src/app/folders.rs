//! Personal folders (docs/MODULES.md, "Folders"): saved filters of a
//! user's conversation list, each with the number of open conversations it
//! holds for a console's badge.
//!
//! A folder is its owner's alone: anyone else's, or another account's, is
//! not found. It needs no permission, since it only narrows what its owner
//! may see: its conversations are always those the access policy lets the
//! owner see now, then filtered by the folder. Inboxes it names must be
//! in groups where the owner holds something, and teams of the account
//! (else not found, so a folder tells nobody which ids exist beyond their
//! sight).

use std::collections::BTreeSet;

use switchboard_core::access::{ConversationFilter, Decision, Permission};
use switchboard_core::folders::{Folder, FolderFilter, FolderMatch};
use switchboard_core::input::Name;
use switchboard_core::{FolderId, Principal, Resource, StoreError};

use super::{App, AppError};

const MISSING: &str = "no such folder";

/// A folder with how many open conversations it holds for its owner now.
#[derive(Debug, Clone)]
pub struct FolderView {
    pub folder: Folder,
    pub open_count: u64,
}

/// What `PATCH /v1/folders/{id}` changes (each `None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct FolderChanges {
    pub name: Option<Name>,
    pub filter: Option<FolderFilter>,
}

impl App {
    /// The user's folders by name, each with its open count.
    pub async fn folders(&self, who: &Principal) -> Result<Vec<FolderView>, AppError> {
        person(who)?;
        let folders = self.store.folders_of(who.id()).await?;
        let seen = self.seen_by(who).await?;
        let mut views = Vec::with_capacity(folders.len());
        for folder in folders {
            views.push(self.folder_view(&seen, folder).await?);
        }
        Ok(views)
    }

    /// A new folder of the user's; 409 past the per-user cap or for a
    /// name they use already.
    pub async fn create_folder(
        &self,
        who: &Principal,
        name: Name,
        filter: FolderFilter,
    ) -> Result<FolderView, AppError> {
        person(who)?;
        let filter = self.checked_filter(who, filter).await?;
        let max = self.settings.max_folders_per_user;
        let folder = Folder {
            id: FolderId::new(),
            account_id: who.account_id(),
            user_id: who.id(),
            name: name.as_str().to_owned(),
            filter,
            created_at: chrono::Utc::now(),
        };
        let created = self
            .store
            .create_folder(&folder, max)
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "you have {max} folders, the most one user may have: delete one first"
                ))
            })?;
        self.folder_view(&self.seen_by(who).await?, created).await
    }

    /// Renames a folder of the user's or replaces its filter.
    pub async fn edit_folder(
        &self,
        who: &Principal,
        id: FolderId,
        changes: FolderChanges,
    ) -> Result<FolderView, AppError> {
        let folder = self.own_folder(who, id).await?;
        let filter = match changes.filter {
            Some(filter) => self.checked_filter(who, filter).await?,
            None => folder.filter,
        };
        let name = changes.name.map_or(folder.name, |n| n.as_str().to_owned());
        let updated = self
            .store
            .update_folder(who.id(), id, &name, &filter)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => AppError::NotFound(MISSING),
                other => other.into(),
            })?;
        self.folder_view(&self.seen_by(who).await?, updated).await
    }

    pub async fn delete_folder(&self, who: &Principal, id: FolderId) -> Result<(), AppError> {
        person(who)?;
        match self.store.delete_folder(who.id(), id).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(AppError::NotFound(MISSING)),
            Err(other) => Err(other.into()),
        }
    }

    /// The rule a subscription to the user's folder applies to every card,
    /// with the folder's team resolved to its inboxes now.
    pub(super) async fn folder_match(
        &self,
        who: &Principal,
        id: FolderId,
    ) -> Result<(Folder, FolderMatch), AppError> {
        let folder = self.own_folder(who, id).await?;
        let team_inboxes = match folder.filter.team_id {
            Some(team) => Some(
                self.store
                    .team_inboxes(team)
                    .await?
                    .into_iter()
                    .collect::<BTreeSet<_>>(),
            ),
            None => None,
        };
        let rule = FolderMatch::new(folder.filter.clone(), who.id(), team_inboxes);
        Ok((folder, rule))
    }

    /// The user's filter of what they may see now (each folder narrows it).
    async fn seen_by(&self, who: &Principal) -> Result<ConversationFilter, AppError> {
        let access = self.access_of(who.account_id()).await?;
        Ok(access.policy(who.id()).conversation_filter())
    }

    async fn folder_view(
        &self,
        seen: &ConversationFilter,
        folder: Folder,
    ) -> Result<FolderView, AppError> {
        let open_count = self.store.folder_open_count(seen, &folder.filter).await?;
        Ok(FolderView { folder, open_count })
    }

    /// The user's folder; anyone else's is not found.
    async fn own_folder(&self, who: &Principal, id: FolderId) -> Result<Folder, AppError> {
        person(who)?;
        self.store
            .folder(id)
            .await?
            .filter(|f| f.user_id == who.id() && f.account_id == who.account_id())
            .ok_or(AppError::NotFound(MISSING))
    }

    /// The filter's inboxes must be of the account and in a group where
    /// the user holds something (else not found, as anywhere: a folder
    /// tells nobody which inbox ids exist beyond their sight), its team of
    /// the account.
    async fn checked_filter(
        &self,
        who: &Principal,
        filter: FolderFilter,
    ) -> Result<FolderFilter, AppError> {
        let filter = filter.check()?;
        let account = who.account_id();
        if let Some(inboxes) = &filter.inbox_ids {
            let access = self.access_of(account).await?;
            let unseen = inboxes.iter().any(|inbox| {
                let resource = Resource::Inbox {
                    account_id: account,
                    inbox_id: *inbox,
                };
                access.decide(who.id(), Permission::ConversationsView, resource)
                    == Decision::NotFound
            });
            if unseen {
                return Err(AppError::NotFound("no such inbox"));
            }
        }
        if let Some(team) = filter.team_id {
            let teams = self.store.teams(account).await?;
            if !teams.iter().any(|t| t.id == team) {
                return Err(AppError::NotFound("no such team"));
            }
        }
        Ok(filter)
    }
}

/// Folders are a person's: an API key keeps none.
fn person(who: &Principal) -> Result<(), AppError> {
    match who.is_api_key() {
        true => Err(AppError::forbidden("api keys cannot keep folders")),
        false => Ok(()),
    }
}
