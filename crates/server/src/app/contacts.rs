//! The Contact menu (docs/MODULES.md, "Contacts"): customers searched by
//! name or handle, each with the conversations the user may see, and the
//! name and notes a team keeps on them.
//!
//! A contact belongs to the groups of the inboxes it has conversations in.
//! A user finds it where they hold `contacts.view` at one of those groups,
//! changes it with `contacts.manage` at one; one whose groups the user
//! holds nothing at is not found, as is another account's.

use std::collections::BTreeSet;

use switchboard_core::access::Permission;
use switchboard_core::contacts::{ContactCard, ContactQuery, Notes};
use switchboard_core::input::ContactName;
use switchboard_core::model::Conversation;
use switchboard_core::{ContactId, GroupId, Principal};

use super::{App, AppError};

const MISSING: &str = "no such contact";
/// Conversations shown with one contact, at most.
const CONVERSATIONS_SHOWN: u32 = 200;
/// Contacts in a page when the client names no limit, and at most.
pub const CONTACTS_PAGE_DEFAULT: u32 = 50;
pub const CONTACTS_PAGE_MAX: u32 = 200;

/// A page of contacts, newest first; `next` is where the following page
/// starts (none: this was the last).
#[derive(Debug, Clone)]
pub struct ContactPage {
    pub contacts: Vec<ContactCard>,
    pub next: Option<ContactId>,
}

/// One contact with the conversations the user may see.
#[derive(Debug, Clone)]
pub struct ContactView {
    pub contact: ContactCard,
    pub conversations: Vec<Conversation>,
}

impl App {
    /// The contacts the user finds, matching `query` when given.
    pub async fn contacts(
        &self,
        who: &Principal,
        query: Option<ContactQuery>,
        cursor: Option<ContactId>,
        limit: u32,
    ) -> Result<ContactPage, AppError> {
        let access = self.access_of(who.account_id()).await?;
        let policy = access.policy(who.id());
        let root = access.access.groups.root();
        let groups: BTreeSet<GroupId> = access
            .access
            .groups
            .subtree(root)
            .into_iter()
            .filter(|g| policy.permissions_at(*g).contains(Permission::ContactsView))
            .collect();
        let limit = limit.clamp(1, CONTACTS_PAGE_MAX);
        let mut contacts = self
            .store
            .search_contacts(who.account_id(), &groups, query.as_ref(), cursor, limit + 1)
            .await?;
        let more = contacts.len() > limit as usize;
        contacts.truncate(limit as usize);
        let next = more.then(|| contacts.last().map(|c| c.id)).flatten();
        Ok(ContactPage { contacts, next })
    }

    /// One contact (`contacts.view` at one of its groups) with the
    /// conversations the user may see.
    pub async fn contact(&self, who: &Principal, id: ContactId) -> Result<ContactView, AppError> {
        let contact = self
            .reachable_contact(who, id, Permission::ContactsView)
            .await?;
        let access = self.access_of(who.account_id()).await?;
        let conversations = self
            .store
            .contact_conversations(id, CONVERSATIONS_SHOWN)
            .await?
            .into_iter()
            .filter(|c| access.allows(who.id(), Permission::ConversationsView, c.resource()))
            .map(|c| self.shown(c))
            .collect();
        Ok(ContactView {
            contact,
            conversations,
        })
    }

    /// Sets a contact's name and/or notes (`Some(None)`: clears it):
    /// `contacts.manage` at one of its groups.
    pub async fn edit_contact(
        &self,
        who: &Principal,
        id: ContactId,
        name: Option<Option<ContactName>>,
        notes: Option<Option<Notes>>,
    ) -> Result<ContactCard, AppError> {
        let contact = self
            .reachable_contact(who, id, Permission::ContactsManage)
            .await?;
        let name = name.as_ref().map(|n| n.as_ref().map(ContactName::as_str));
        let notes = notes.as_ref().map(|n| n.as_ref().map(Notes::as_str));
        Ok(self
            .store
            .update_contact(who.account_id(), contact.id, name, notes)
            .await?)
    }

    /// A contact of the user's account with `permission` at one of its
    /// groups: not found when they hold nothing at any, forbidden when
    /// they hold something but not that.
    async fn reachable_contact(
        &self,
        who: &Principal,
        id: ContactId,
        permission: Permission,
    ) -> Result<ContactCard, AppError> {
        let contact = self
            .store
            .contact(id)
            .await?
            .filter(|c| c.account_id == who.account_id())
            .ok_or(AppError::NotFound(MISSING))?;
        let access = self.access_of(who.account_id()).await?;
        let held = access.held_at_any(who.id(), self.store.contact_groups(id).await?);
        if held.is_empty() {
            return Err(AppError::NotFound(MISSING));
        }
        if !held.contains(permission) {
            return Err(AppError::forbidden(format!(
                "you do not hold the permission {permission} here"
            )));
        }
        Ok(contact)
    }
}
