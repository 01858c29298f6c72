//! Personal folders' storage (docs/MODULES.md): each is its owner's, read
//! and written only by them; a folder's conversations and their open count
//! are read with the access filter and the folder's conditions in one
//! query, so the list, the count and the live rule agree.

use switchboard_core::StoreError;
use switchboard_core::access::ConversationFilter as AccessFilter;
use switchboard_core::folders::{AssigneeCondition, Folder, FolderFilter};
use switchboard_core::ids::{FolderId, InboxId, TeamId, UserId};
use switchboard_core::model::Conversation;

use crate::error::conflict_as;
use crate::reads::json_ids;
use crate::rows::{self, Columns};
use crate::statement::{Statements, Value, id};

const FOLDERS_OF: &str = "SELECT id, account_id, user_id, name, filter, created_at \
     FROM folders WHERE user_id = $1 ORDER BY name, id";
const FOLDER_BY_ID: &str = "SELECT id, account_id, user_id, name, filter, created_at \
     FROM folders WHERE id = $1";
const FOLDER_UPDATE: &str = "UPDATE folders SET name = $3, filter = $4 \
     WHERE id = $1 AND user_id = $2 \
     RETURNING id, account_id, user_id, name, filter, created_at";
const FOLDER_DELETE: &str = "DELETE FROM folders WHERE id = $1 AND user_id = $2";
const TEAM_INBOXES: &str = "SELECT id FROM inboxes WHERE team_id = $1 ORDER BY id";
const NAME_IN_USE: &str = "you already have a folder with this name";

/// A new folder of `folder.user_id`; `None` when they have `max` already,
/// `Conflict` for a name they use already.
pub(crate) async fn create_folder<T: Statements>(
    tx: &mut T,
    folder: &Folder,
    max: u32,
) -> Result<Option<Folder>, StoreError> {
    let filter = filter_json(&folder.filter)?;
    let params = [
        Value::Clock,
        folder.id.into(),
        folder.user_id.into(),
        folder.account_id.into(),
        folder.name.as_str().into(),
        filter.as_str().into(),
        i64::from(max).into(),
    ];
    tx.one(T::SQL.folder_insert, &params, read_folder)
        .await
        .map_err(conflict_as(NAME_IN_USE))
}

/// Renames a folder of `user` and replaces its filter; `NotFound` for a
/// folder that is not theirs.
pub(crate) async fn update_folder<T: Statements>(
    tx: &mut T,
    user: UserId,
    id: FolderId,
    name: &str,
    filter: &FolderFilter,
) -> Result<Folder, StoreError> {
    let filter = filter_json(filter)?;
    let params = [id.into(), user.into(), name.into(), filter.as_str().into()];
    tx.one(FOLDER_UPDATE, &params, read_folder)
        .await
        .map_err(conflict_as(NAME_IN_USE))?
        .ok_or(StoreError::NotFound)
}

pub(crate) async fn delete_folder<T: Statements>(
    tx: &mut T,
    user: UserId,
    id: FolderId,
) -> Result<(), StoreError> {
    match tx.execute(FOLDER_DELETE, &[id.into(), user.into()]).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// The user's folders by name.
pub(crate) async fn folders_of<T: Statements>(
    tx: &mut T,
    user: UserId,
) -> Result<Vec<Folder>, StoreError> {
    tx.all(FOLDERS_OF, &[user.into()], read_folder).await
}

pub(crate) async fn folder<T: Statements>(
    tx: &mut T,
    id: FolderId,
) -> Result<Option<Folder>, StoreError> {
    tx.one(FOLDER_BY_ID, &[id.into()], read_folder).await
}

/// The inboxes that route to `team`.
pub(crate) async fn team_inboxes<T: Statements>(
    tx: &mut T,
    team: TeamId,
) -> Result<Vec<InboxId>, StoreError> {
    tx.all(TEAM_INBOXES, &[team.into()], |row| id(row, "id"))
        .await
}

/// The conversations the access filter admits that are in the folder,
/// newest activity first, at most `limit`.
pub(crate) async fn folder_conversations<T: Statements>(
    tx: &mut T,
    access: &AccessFilter,
    filter: &FolderFilter,
    limit: u32,
) -> Result<Vec<Conversation>, StoreError> {
    if access.is_empty() {
        return Ok(Vec::new());
    }
    let (all, assigned, inboxes) = (
        json_ids(&access.all),
        json_ids(&access.assigned),
        filter.inbox_ids.as_ref().map(json_ids),
    );
    let params = folder_params(access, filter, &all, &assigned, inboxes.as_deref(), limit);
    tx.all(T::SQL.conversations_in_folder, &params, rows::conversation)
        .await
}

/// How many open conversations the access filter admits in the folder.
pub(crate) async fn folder_open_count<T: Statements>(
    tx: &mut T,
    access: &AccessFilter,
    filter: &FolderFilter,
) -> Result<u64, StoreError> {
    if access.is_empty() {
        return Ok(0);
    }
    let (all, assigned, inboxes) = (
        json_ids(&access.all),
        json_ids(&access.assigned),
        filter.inbox_ids.as_ref().map(json_ids),
    );
    let params = folder_params(access, filter, &all, &assigned, inboxes.as_deref(), 0);
    let count = tx
        .one(T::SQL.folder_open_count, &params, |row| row.int("n"))
        .await?
        .unwrap_or(0);
    Ok(u64::try_from(count).unwrap_or(0))
}

/// `$1` to `$11` of the folder statements (see `sql::folder_conditions!`).
fn folder_params<'a>(
    access: &AccessFilter,
    filter: &'a FolderFilter,
    all: &'a str,
    assigned: &'a str,
    inboxes: Option<&'a str>,
    limit: u32,
) -> [Value<'a>; 11] {
    let assignee = match filter.assignee {
        Some(AssigneeCondition::Me) => Some("me"),
        Some(AssigneeCondition::Unassigned) => Some("unassigned"),
        Some(AssigneeCondition::Any) | None => None,
    };
    [
        Value::Clock,
        access.account.into(),
        all.into(),
        assigned.into(),
        access.user.into(),
        i64::from(limit).into(),
        filter.status.map(|s| s.as_str()).into(),
        inboxes.into(),
        assignee.into(),
        filter.team_id.into(),
        filter.answered_by_me.map(i64::from).into(),
    ]
}

fn filter_json(filter: &FolderFilter) -> Result<String, StoreError> {
    serde_json::to_string(filter)
        .map_err(|e| StoreError::Internal(format!("a folder's filter: {e}")))
}

fn read_folder(row: &dyn Columns) -> Result<Folder, StoreError> {
    let filter = row.text("filter")?;
    Ok(Folder {
        id: id(row, "id")?,
        account_id: id(row, "account_id")?,
        user_id: id(row, "user_id")?,
        name: row.text("name")?,
        filter: serde_json::from_str(&filter)
            .map_err(|e| StoreError::Internal(format!("a stored folder's filter: {e}")))?,
        created_at: row.time("created_at")?,
    })
}
