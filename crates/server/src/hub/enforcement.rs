//! Access changes reaching live connections (docs/ACCESS.md): when an
//! account's grants, roles, groups or inbox placement change, or a
//! conversation is assigned away from a user who sees only what is
//! assigned to them, every connection here is brought in line at once:
//!
//! - a joined viewer who may no longer see the conversation leaves it (the
//!   others' presence is updated) and is told `conversation_removed`; so
//!   does a supervisor watching it who may no longer assign it;
//! - an active responder who lost `conversations.answer` or visibility gets
//!   `lock_lost` reason `permission`, and the role is released;
//! - an inbox subscriber is told `conversation_removed` for each
//!   conversation that left their list, and gets a `conversation` event for
//!   each that entered it;
//! - an agent subscriber (`subscribe_agents`) is told `agent_removed` for
//!   each agent that left their reach, and gets `agent_status` for each
//!   that entered it.
//!
//! The node where the change was made reloads the account's access, tells
//! the others over the bus (`ClusterEvent::Access`), and each node does the
//! above for its own connections.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use switchboard_core::access::{Permission, PermissionSet};
use switchboard_core::model::Conversation;
use switchboard_core::ports::ClusterEvent;
use switchboard_core::{AccountId, ConversationId, UserId};

use super::Hub;
use super::conn::{Conn, Listing};
use super::frames::{Removal, card_frame, removed_frame};
use super::rooms::{RoomEntry, RoomState};
use crate::access::{AccessNow, Reloaded};

/// The most conversations compared per user when their list changes (the
/// size of the list `subscribe_inbox` sends).
pub(crate) const LIST_LIMIT: u32 = 500;

impl Hub {
    /// The account's access was changed through this node: reload it, tell
    /// the other nodes, and bring this node's connections in line.
    pub async fn access_changed(&self, account: AccountId) {
        let reloaded = self.access.reload(account).await;
        self.publish(|| ClusterEvent::Access {
            account_id: account,
        })
        .await;
        self.enforce(account, reloaded).await;
    }

    /// Another node changed the account's access.
    pub(super) async fn access_changed_elsewhere(&self, account: AccountId) {
        let reloaded = self.access.reload(account).await;
        self.enforce(account, reloaded).await;
    }

    /// The bus was away: access may have changed unheard. Every account
    /// loaded here is read again and enforced.
    pub(super) async fn access_resync(&self) {
        for account in self.access.loaded() {
            self.access_changed_elsewhere(account).await;
        }
    }

    /// Reloads and enforces the accounts whose stored access moved past
    /// this node's snapshot without anyone saying so (the clockwork calls
    /// it every `access_check` interval).
    pub(super) async fn access_recheck(&self) {
        match self.access.stale().await {
            Ok(stale) => {
                for account in stale {
                    tracing::debug!(%account, "access changed unannounced: reloading");
                    self.access_changed_elsewhere(account).await;
                    // a deactivation or removal made elsewhere ends sessions
                    self.check_sessions(Some(account)).await;
                }
            }
            Err(error) => tracing::warn!(%error, "could not compare access stamps"),
        }
    }

    async fn enforce(
        &self,
        account: AccountId,
        reloaded: Result<Option<Reloaded>, switchboard_core::StoreError>,
    ) {
        let reloaded = match reloaded {
            Ok(Some(reloaded)) => reloaded,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, %account, "could not reload an account's access");
                return;
            }
        };
        for entry in self.rooms.all() {
            if entry.card.resource().account_id() != account {
                continue;
            }
            let Some(mut st) = entry.lock().await else {
                continue;
            };
            self.enforce_room(&entry, &mut st, &reloaded.after, Removal::Permission)
                .await;
            self.drop_if_idle(&entry, &mut st);
        }
        self.enforce_lists(account, &reloaded).await;
        self.enforce_agent_lists(account, &reloaded.after).await;
    }

    /// Brings a room's viewers here in line with `access`: those who may
    /// no longer see it leave (told `conversation_removed` with `why`), as
    /// do watchers who may no longer assign it; those who may no longer
    /// answer lose the role.
    pub(super) async fn enforce_room(
        &self,
        entry: &RoomEntry,
        st: &mut RoomState,
        access: &AccessNow,
        why: Removal,
    ) {
        let resource = entry.card.resource();
        let mut held: HashMap<UserId, PermissionSet> = HashMap::new();
        for viewer in &st.viewers {
            let user = viewer.conn.user().id;
            held.entry(user)
                .or_insert_with(|| access.on_conversation(user, resource));
        }
        let gone: Vec<Arc<Conn>> = st
            .viewers
            .iter()
            .filter(|v| {
                let held = held[&v.conn.user().id];
                !held.contains(Permission::ConversationsView)
                    || (v.watching && !held.contains(Permission::ConversationsAssign))
            })
            .map(|v| v.conn.clone())
            .collect();
        if !gone.is_empty() {
            let frame = removed_frame(entry.id, why);
            st.viewers
                .retain(|v| !gone.iter().any(|c| Arc::ptr_eq(c, &v.conn)));
            for conn in &gone {
                conn.joined.lock().retain(|c| *c != entry.id);
                self.delivery.to(conn, &frame);
            }
        }
        let now = self.now();
        let mut effects = Vec::new();
        for (user, held) in held {
            if !held.contains(Permission::ConversationsView) {
                effects.extend(st.room.expel(user, now));
            } else if !held.contains(Permission::ConversationsAnswer) {
                effects.extend(st.room.revoke(user, now));
            } else {
                st.room.allow_writing(user);
            }
        }
        if effects.is_empty() {
            // A user expelled here who still views from another node makes
            // no decision here, but their leave here must still be said
            // (the others would keep showing them, read from the shared
            // record).
            self.announce(entry, st).await;
            return;
        }
        if let Err(error) = self.carry_out(entry, st, effects).await {
            tracing::warn!(%error, conversation = %entry.id, "could not carry out an access change");
        }
    }

    /// A card changed (an assignment): viewers here who saw it only as
    /// its assignee and no longer may leave it (`unassigned`).
    pub(super) async fn card_reassigned(&self, card: &Conversation) {
        let Some(access) = self.access.cached(card.account_id) else {
            return;
        };
        let Some((entry, mut st)) = self.existing_room(card.id).await else {
            return;
        };
        self.enforce_room(&entry, &mut st, &access, Removal::Unassigned)
            .await;
        self.drop_if_idle(&entry, &mut st);
    }

    /// Each subscriber here whose list changed is told what left it and
    /// what entered it.
    async fn enforce_lists(&self, account: AccountId, reloaded: &Reloaded) {
        let mut by_user: HashMap<UserId, Vec<Arc<Conn>>> = HashMap::new();
        self.connections.subscribers(account, |conn| {
            by_user
                .entry(conn.user().id)
                .or_default()
                .push(conn.clone());
        });
        let moved = reloaded.after.groups_of_moved_inboxes(&reloaded.before);
        for (user, conns) in by_user {
            let before = reloaded.before.policy(user).conversation_filter();
            let after = reloaded.after.policy(user).conversation_filter();
            if before == after && moved.is_empty() {
                continue;
            }
            // The store places conversations by their inbox's group now, so
            // the candidates are read with a filter wide enough for both
            // snapshots (and the groups inboxes moved into), and each is
            // judged against the snapshot before and the one after.
            let mut wide = after.clone();
            wide.all.extend(before.all.iter().chain(&moved).copied());
            wide.assigned.extend(before.assigned.iter().copied());
            wide.assigned.retain(|g| !wide.all.contains(g));
            let candidates = match self.admitted(&wide).await {
                Ok(candidates) => candidates,
                Err(error) => {
                    tracing::warn!(%error, %user, "could not compare a user's lists");
                    continue;
                }
            };
            let sees = |access: &AccessNow, card: &Conversation| {
                access.allows(user, Permission::ConversationsView, card.resource())
            };
            let (was, now): (Vec<&Conversation>, Vec<&Conversation>) = (
                candidates
                    .iter()
                    .filter(|c| sees(&reloaded.before, c))
                    .collect(),
                candidates
                    .iter()
                    .filter(|c| sees(&reloaded.after, c))
                    .collect(),
            );
            let kept: HashSet<ConversationId> = now.iter().map(|c| c.id).collect();
            let had: HashSet<ConversationId> = was.iter().map(|c| c.id).collect();
            for conn in &conns {
                for id in had.difference(&kept) {
                    conn.assigned_shown.lock().remove(id);
                    if conn.unlist(*id) {
                        let frame = removed_frame(*id, Removal::Permission);
                        self.delivery.to(conn, &frame);
                    }
                }
                for card in now.iter().filter(|c| !had.contains(&c.id)) {
                    let card = self.card_as_shown((*card).clone());
                    if conn.listing(&card) == Listing::Show {
                        self.delivery.to(conn, &card_frame(&card));
                    }
                }
                for card in &now {
                    conn.note_sight(card.id, reloaded.after.sight(user, card.resource()));
                }
            }
        }
    }

    async fn admitted(
        &self,
        filter: &switchboard_core::access::ConversationFilter,
    ) -> Result<Vec<Conversation>, switchboard_core::StoreError> {
        if filter.is_empty() {
            return Ok(Vec::new());
        }
        self.store.admitted_conversations(filter, LIST_LIMIT).await
    }
}
