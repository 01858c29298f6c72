//! Contacts' storage for the Contact menu (docs/MODULES.md): searched
//! within the groups a user may see them in, read with the groups of their
//! conversations, and given a name and notes. Written once for both
//! backends; who may do what is the application's decision.

use std::collections::BTreeSet;

use switchboard_core::StoreError;
use switchboard_core::contacts::{ContactCard, ContactQuery};
use switchboard_core::ids::{AccountId, ContactId, GroupId};
use switchboard_core::model::Conversation;

use crate::reads::json_ids;
use crate::rows::{self, Columns};
use crate::statement::{Statements, Value, id};

const CONTACT_BY_ID: &str = "SELECT id, account_id, handle, name, notes, created_at \
     FROM contacts WHERE id = $1";
const CONTACT_GROUPS: &str = "SELECT DISTINCT i.group_id FROM conversations c \
     JOIN inboxes i ON i.id = c.inbox_id WHERE c.contact_id = $1";
/// `$1` contact, `$2` account; `$3` whether to set the name to `$4`, `$5`
/// whether to set the notes to `$6`.
const CONTACT_UPDATE: &str = "UPDATE contacts SET \
     name = CASE WHEN $3 THEN $4 ELSE name END, \
     notes = CASE WHEN $5 THEN $6 ELSE notes END \
     WHERE id = $1 AND account_id = $2 \
     RETURNING id, account_id, handle, name, notes, created_at";

/// What changes of a contact (each `None`: unchanged; `Some(None)`:
/// cleared).
#[derive(Debug, Clone, Default)]
pub struct ContactChanges<'a> {
    pub name: Option<Option<&'a str>>,
    pub notes: Option<Option<&'a str>>,
}

/// The account's contacts with a conversation in one of `groups`, newest
/// first, those older than `before` (a contact's id) when given, matching
/// `query` when given; at most `limit`.
pub(crate) async fn search_contacts<T: Statements>(
    tx: &mut T,
    account: AccountId,
    groups: &BTreeSet<GroupId>,
    query: Option<&ContactQuery>,
    before: Option<ContactId>,
    limit: u32,
) -> Result<Vec<ContactCard>, StoreError> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let groups = json_ids(groups);
    let pattern = query.map(ContactQuery::like_pattern);
    let params = [
        Value::Clock,
        account.into(),
        groups.as_str().into(),
        pattern.as_deref().into(),
        before.into(),
        i64::from(limit).into(),
    ];
    tx.all(T::SQL.contacts_seen, &params, contact).await
}

pub(crate) async fn contact_card<T: Statements>(
    tx: &mut T,
    id: ContactId,
) -> Result<Option<ContactCard>, StoreError> {
    tx.one(CONTACT_BY_ID, &[id.into()], contact).await
}

/// The groups of the inboxes the contact has conversations in.
pub(crate) async fn contact_groups<T: Statements>(
    tx: &mut T,
    id: ContactId,
) -> Result<Vec<GroupId>, StoreError> {
    tx.all(CONTACT_GROUPS, &[id.into()], |row| {
        self::id(row, "group_id")
    })
    .await
}

/// The contact's conversations, newest activity first, at most `limit`.
pub(crate) async fn contact_conversations<T: Statements>(
    tx: &mut T,
    id: ContactId,
    limit: u32,
) -> Result<Vec<Conversation>, StoreError> {
    let params = [Value::Clock, id.into(), i64::from(limit).into()];
    tx.all(T::SQL.conversations_of_contact, &params, rows::conversation)
        .await
}

/// The contact with its changes; `NotFound` for one of another account.
pub(crate) async fn update_contact<T: Statements>(
    tx: &mut T,
    account: AccountId,
    id: ContactId,
    changes: &ContactChanges<'_>,
) -> Result<ContactCard, StoreError> {
    let params = [
        id.into(),
        account.into(),
        Value::Flag(changes.name.is_some()),
        changes.name.flatten().into(),
        Value::Flag(changes.notes.is_some()),
        changes.notes.flatten().into(),
    ];
    tx.one(CONTACT_UPDATE, &params, contact)
        .await?
        .ok_or(StoreError::NotFound)
}

fn contact(row: &dyn Columns) -> Result<ContactCard, StoreError> {
    Ok(ContactCard {
        id: id(row, "id")?,
        account_id: id(row, "account_id")?,
        handle: row.text("handle")?,
        name: row.opt_text("name")?,
        notes: row.opt_text("notes")?,
        created_at: row.time("created_at")?,
    })
}
