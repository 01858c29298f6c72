//! The Postgres backend: the authority shared by every node of a cluster.
//!
//! Ids are native uuids, times timestamptz truncated to milliseconds when
//! written. Every lease is judged and extended on the database's clock
//! (`now()`), never on a node's: nodes' clocks drift, the database's is the
//! one they share (a test may fix the store's clock instead, see
//! [`StoreClock`]). Single statements rely on row locks (READ COMMITTED
//! re-checks a conditional UPDATE against the row it waited for), so no
//! transaction needs SERIALIZABLE.
//!
//! Each [`Store`] method says where its work runs: on a connection of the
//! pool ([`PgTx`], each statement committing on its own), or in a
//! transaction of its own when it writes more than once. The work is
//! written once for both backends (`accounts`, `reads`, `fence`,
//! `inbound`, `routing::ops`); what is Postgres' own is the batched path of
//! new customers (`arrivals`), the one statement of a follow-up
//! (`followup`), and routing's statements over arrays (`routing`).

mod arrivals;
mod followup;
mod open;
mod routing;
mod tx;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use switchboard_core::access::{
    AccountAccess, ConversationFilter as AccessFilter, CustomRole, Grant,
};
use switchboard_core::audit::{AuditEntry, NewAuditEntry};
use switchboard_core::contacts::{ContactCard, ContactQuery};
use switchboard_core::folders::{Folder, FolderFilter};
use switchboard_core::ids::{
    AccountId, ContactId, ConversationId, CustomRoleId, FolderId, GroupId, InboxId, InvitationId,
    NodeId, TeamId, TemplateId, UserId,
};
use switchboard_core::input::Name;
use switchboard_core::invitations::{
    Acceptance, ClaimedMail, Invitation, InvitationStatus, NewInvitations, NewMail, Seats,
};
use switchboard_core::model::{
    Account, Acquired, AgentState, Appended, AssignmentRecord, Availability, Conversation,
    ConversationFilter, Group, Inbound, Inbox, LockState, ManualAssignment, Message, NewAccount,
    NewInbound, NewInbox, NewOutbound, NewUser, Routed, Team, User,
};
use switchboard_core::ports::Store;
use switchboard_core::templates::{Template, TemplateFields};
use switchboard_core::two_factor::{Reservation, ThrottlePolicy, TwoFactorRecord};
use switchboard_core::{Role, StoreError};
use uuid::Uuid;

use self::arrivals::{Gatherer, NewArrival};
use self::followup::Found;
use self::tx::PgTx;
use crate::clock::StoreClock;
use crate::error::from_sqlx;
use crate::routing::Consoles;
use crate::routing::ops::{self, AgentChange};
use crate::statistics;
use crate::{
    access, accounts, audit, contacts, fence, folders, inbound, invitations, lifecycle, mail,
    reads, seats, templates, two_factor,
};
use switchboard_core::lifecycle::{LoginSession, TokenHash, UserEnded};

// API keys (docs/MODULES.md).
use crate::api_keys;
// WebSocket tickets (docs/BROWSERS.md).
use crate::ws_tickets;
use switchboard_core::api_keys::{ApiKey, NewApiKey};
use switchboard_core::ids::ApiKeyId;

/// Runs an operation (`|tx| ops::...(tx, ...)`) in a transaction of its
/// own, committed when it succeeded (rolled back when dropped).
macro_rules! in_transaction {
    ($store:ident, |$tx:ident| $operation:expr) => {{
        let mut transaction = $store.begin().await?;
        let outcome = {
            let $tx = &mut PgTx::new(&mut transaction, &$store.clock);
            $operation.await
        };
        match outcome {
            Ok(done) => transaction.commit().await.map(|()| done).map_err(from_sqlx),
            Err(error) => Err(error),
        }
    }};
}

/// Runs an operation (`|tx| fence::...(tx, ...)`) on one connection of the
/// pool, each of its statements committing on its own.
macro_rules! on_connection {
    ($store:ident, |$tx:ident| $operation:expr) => {{
        let mut conn = $store.pool.acquire().await.map_err(from_sqlx)?;
        let $tx = &mut PgTx::new(&mut conn, &$store.clock);
        $operation.await
    }};
}

/// The [`Store`] on a Postgres database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// New conversations waiting to be created and routed together.
    gatherer: Arc<Gatherer>,
    clock: StoreClock,
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        on_connection!(self, |tx| reads::ping(tx))
    }

    async fn create_account(&self, new: NewAccount<'_>) -> Result<(Account, User), StoreError> {
        in_transaction!(self, |tx| accounts::create_account(tx, new))
    }

    async fn create_first_account(
        &self,
        new: NewAccount<'_>,
    ) -> Result<Option<(Account, User)>, StoreError> {
        in_transaction!(self, |tx| accounts::create_first_account(tx, new))
    }

    async fn has_accounts(&self) -> Result<bool, StoreError> {
        on_connection!(self, |tx| accounts::has_accounts(tx))
    }

    async fn create_user(&self, new: NewUser<'_>) -> Result<User, StoreError> {
        in_transaction!(self, |tx| accounts::create_user(tx, new))
    }

    async fn create_inbox(&self, new: NewInbox<'_>) -> Result<Inbox, StoreError> {
        on_connection!(self, |tx| accounts::create_inbox(tx, new))
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        on_connection!(self, |tx| accounts::accounts(tx))
    }

    async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        on_connection!(self, |tx| accounts::account(tx, id))
    }

    async fn users_of(&self, account: AccountId) -> Result<Vec<User>, StoreError> {
        on_connection!(self, |tx| accounts::users_of(tx, account))
    }

    async fn inboxes_of(&self, account: AccountId) -> Result<Vec<Inbox>, StoreError> {
        on_connection!(self, |tx| accounts::inboxes_of(tx, account))
    }

    async fn account_access(&self, account: AccountId) -> Result<AccountAccess, StoreError> {
        on_connection!(self, |tx| access::account_access(tx, account))
    }

    async fn grants_of(&self, user: UserId) -> Result<Vec<Grant>, StoreError> {
        on_connection!(self, |tx| access::grants_of(tx, user))
    }

    async fn set_grants(&self, user: UserId, grants: &[Grant]) -> Result<(), StoreError> {
        in_transaction!(self, |tx| access::set_grants(tx, user, grants))
    }

    async fn account_grants(&self, account: AccountId) -> Result<Vec<(UserId, Grant)>, StoreError> {
        on_connection!(self, |tx| access::account_grants(tx, account))
    }

    async fn groups_of(&self, account: AccountId) -> Result<Vec<Group>, StoreError> {
        on_connection!(self, |tx| access::groups_of(tx, account))
    }

    async fn create_group(
        &self,
        account: AccountId,
        name: &Name,
        parent: GroupId,
    ) -> Result<Group, StoreError> {
        on_connection!(self, |tx| access::create_group(tx, account, name, parent))
    }

    async fn rename_group(
        &self,
        account: AccountId,
        group: GroupId,
        name: &Name,
    ) -> Result<Group, StoreError> {
        on_connection!(self, |tx| access::rename_group(tx, account, group, name))
    }

    async fn move_group(
        &self,
        account: AccountId,
        group: GroupId,
        parent: GroupId,
    ) -> Result<Group, StoreError> {
        in_transaction!(self, |tx| access::move_group(tx, account, group, parent))
    }

    async fn delete_group(&self, account: AccountId, group: GroupId) -> Result<(), StoreError> {
        in_transaction!(self, |tx| access::delete_group(tx, account, group))
    }

    async fn create_custom_role(
        &self,
        account: AccountId,
        role: &CustomRole,
    ) -> Result<CustomRoleId, StoreError> {
        on_connection!(self, |tx| access::create_custom_role(tx, account, role))
    }

    async fn edit_custom_role(
        &self,
        account: AccountId,
        id: CustomRoleId,
        role: &CustomRole,
    ) -> Result<(), StoreError> {
        on_connection!(self, |tx| access::edit_custom_role(tx, account, id, role))
    }

    async fn delete_custom_role(
        &self,
        account: AccountId,
        id: CustomRoleId,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx| access::delete_custom_role(tx, account, id))
    }

    async fn set_inbox_group(&self, inbox: InboxId, group: GroupId) -> Result<Inbox, StoreError> {
        in_transaction!(self, |tx| access::set_inbox_group(tx, inbox, group))
    }

    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let entry = entry.clone();
        on_connection!(self, |tx| audit::record_audit(tx, &entry))
    }

    async fn audit_of(
        &self,
        account: AccountId,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        on_connection!(self, |tx| audit::audit_of(tx, account, before, limit))
    }

    async fn create_template(
        &self,
        account: AccountId,
        fields: &TemplateFields,
    ) -> Result<Template, StoreError> {
        on_connection!(self, |tx| templates::create_template(tx, account, fields))
    }

    async fn update_template(
        &self,
        account: AccountId,
        id: TemplateId,
        fields: &TemplateFields,
    ) -> Result<Template, StoreError> {
        on_connection!(self, |tx| templates::update_template(
            tx, account, id, fields
        ))
    }

    async fn delete_template(&self, account: AccountId, id: TemplateId) -> Result<(), StoreError> {
        on_connection!(self, |tx| templates::delete_template(tx, account, id))
    }

    async fn templates_of(&self, account: AccountId) -> Result<Vec<Template>, StoreError> {
        on_connection!(self, |tx| templates::templates_of(tx, account))
    }

    async fn template(&self, id: TemplateId) -> Result<Option<Template>, StoreError> {
        on_connection!(self, |tx| templates::template_by_id(tx, id))
    }

    async fn create_folder(&self, folder: &Folder, max: u32) -> Result<Option<Folder>, StoreError> {
        on_connection!(self, |tx| folders::create_folder(tx, folder, max))
    }

    async fn update_folder(
        &self,
        user: UserId,
        id: FolderId,
        name: &str,
        filter: &FolderFilter,
    ) -> Result<Folder, StoreError> {
        on_connection!(self, |tx| folders::update_folder(
            tx, user, id, name, filter
        ))
    }

    async fn delete_folder(&self, user: UserId, id: FolderId) -> Result<(), StoreError> {
        on_connection!(self, |tx| folders::delete_folder(tx, user, id))
    }

    async fn folders_of(&self, user: UserId) -> Result<Vec<Folder>, StoreError> {
        on_connection!(self, |tx| folders::folders_of(tx, user))
    }

    async fn folder(&self, id: FolderId) -> Result<Option<Folder>, StoreError> {
        on_connection!(self, |tx| folders::folder(tx, id))
    }

    async fn folder_conversations(
        &self,
        access: &AccessFilter,
        filter: &FolderFilter,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        on_connection!(self, |tx| folders::folder_conversations(
            tx, access, filter, limit
        ))
    }

    async fn team_inboxes(&self, team: TeamId) -> Result<Vec<InboxId>, StoreError> {
        on_connection!(self, |tx| folders::team_inboxes(tx, team))
    }

    async fn folder_open_count(
        &self,
        access: &AccessFilter,
        filter: &FolderFilter,
    ) -> Result<u64, StoreError> {
        on_connection!(self, |tx| folders::folder_open_count(tx, access, filter))
    }

    async fn create_invitations(
        &self,
        new: &NewInvitations,
    ) -> Result<Vec<Invitation>, StoreError> {
        in_transaction!(self, |tx| invitations::create_invitations(tx, new))
    }

    async fn invitations_of(
        &self,
        account: AccountId,
        status: Option<InvitationStatus>,
    ) -> Result<Vec<Invitation>, StoreError> {
        on_connection!(self, |tx| invitations::invitations_of(tx, account, status))
    }

    async fn invitation(&self, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        on_connection!(self, |tx| invitations::invitation(tx, id))
    }

    async fn invitation_by_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<Invitation>, StoreError> {
        on_connection!(self, |tx| invitations::invitation_by_token(tx, token_hash))
    }

    async fn resend_invitation(
        &self,
        id: InvitationId,
        token_hash: &[u8],
        ttl: Duration,
        mail: &NewMail,
    ) -> Result<Invitation, StoreError> {
        in_transaction!(self, |tx| invitations::resend_invitation(
            tx, id, token_hash, ttl, mail
        ))
    }

    async fn revoke_invitation(&self, id: InvitationId) -> Result<Invitation, StoreError> {
        in_transaction!(self, |tx| invitations::revoke_invitation(tx, id))
    }

    async fn accept_invitation(
        &self,
        acceptance: &Acceptance,
        role: Role,
    ) -> Result<(Invitation, User), StoreError> {
        in_transaction!(self, |tx| invitations::accept_invitation(
            tx, acceptance, role
        ))
    }

    async fn seats(&self, account: AccountId) -> Result<Seats, StoreError> {
        on_connection!(self, |tx| seats::seats(tx, account))
    }

    async fn set_seat_limit(
        &self,
        account: AccountId,
        limit: Option<u32>,
    ) -> Result<Seats, StoreError> {
        in_transaction!(self, |tx| seats::set_seat_limit(tx, account, limit))
    }

    async fn claim_mails(
        &self,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, StoreError> {
        on_connection!(self, |tx| mail::claim_mails(tx, lease, limit))
    }

    async fn mail_sent(&self, claimed: &ClaimedMail) -> Result<(), StoreError> {
        on_connection!(self, |tx| mail::mail_sent(tx, claimed))
    }

    async fn mail_failed(
        &self,
        claimed: &ClaimedMail,
        error: &str,
        retry_in: Option<Duration>,
    ) -> Result<(), StoreError> {
        on_connection!(self, |tx| mail::mail_failed(tx, claimed, error, retry_in))
    }

    async fn search_contacts(
        &self,
        account: AccountId,
        groups: &BTreeSet<GroupId>,
        query: Option<&ContactQuery>,
        before: Option<ContactId>,
        limit: u32,
    ) -> Result<Vec<ContactCard>, StoreError> {
        on_connection!(self, |tx| contacts::search_contacts(
            tx, account, groups, query, before, limit
        ))
    }

    async fn contact(&self, id: ContactId) -> Result<Option<ContactCard>, StoreError> {
        on_connection!(self, |tx| contacts::contact_card(tx, id))
    }

    async fn contact_groups(&self, id: ContactId) -> Result<Vec<GroupId>, StoreError> {
        on_connection!(self, |tx| contacts::contact_groups(tx, id))
    }

    async fn contact_conversations(
        &self,
        id: ContactId,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        on_connection!(self, |tx| contacts::contact_conversations(tx, id, limit))
    }

    async fn update_contact(
        &self,
        account: AccountId,
        id: ContactId,
        name: Option<Option<&str>>,
        notes: Option<Option<&str>>,
    ) -> Result<ContactCard, StoreError> {
        on_connection!(self, |tx| contacts::update_contact(
            tx,
            account,
            id,
            &contacts::ContactChanges { name, notes }
        ))
    }

    async fn rename_inbox(&self, inbox: InboxId, name: &Name) -> Result<Inbox, StoreError> {
        on_connection!(self, |tx| accounts::rename_inbox(tx, inbox, name))
    }

    async fn access_stamps(&self) -> Result<Vec<(AccountId, u64)>, StoreError> {
        on_connection!(self, |tx| accounts::access_stamps(tx))
    }

    async fn two_factor_secrets_exist(&self) -> Result<bool, StoreError> {
        on_connection!(self, |tx| accounts::two_factor_secrets_exist(tx))
    }

    async fn access_stamp(&self, account: AccountId) -> Result<u64, StoreError> {
        on_connection!(self, |tx| accounts::access_stamp(tx, account))
    }

    async fn rename_user(&self, user: UserId, name: &Name) -> Result<User, StoreError> {
        on_connection!(self, |tx| accounts::rename_user(tx, user, name))
    }

    async fn set_password(&self, user: UserId, password_hash: &str) -> Result<(), StoreError> {
        in_transaction!(self, |tx| accounts::set_password(tx, user, password_hash))
    }

    async fn deactivate_user(&self, user: UserId) -> Result<UserEnded, StoreError> {
        in_transaction!(self, |tx| lifecycle::deactivate_user(tx, user))
    }

    async fn reactivate_user(&self, user: UserId) -> Result<User, StoreError> {
        in_transaction!(self, |tx| lifecycle::reactivate_user(tx, user))
    }

    async fn remove_user(&self, user: UserId) -> Result<UserEnded, StoreError> {
        in_transaction!(self, |tx| lifecycle::remove_user(tx, user))
    }

    async fn transfer_ownership(
        &self,
        account: AccountId,
        from: UserId,
        to: UserId,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx| lifecycle::transfer_ownership(
            tx, account, from, to
        ))
    }

    async fn login_sessions_of(&self, user: UserId) -> Result<Vec<LoginSession>, StoreError> {
        on_connection!(self, |tx| lifecycle::login_sessions_of(tx, user))
    }

    async fn end_login_session(
        &self,
        user: UserId,
        id: Uuid,
    ) -> Result<Option<TokenHash>, StoreError> {
        on_connection!(self, |tx| lifecycle::end_login_session(tx, user, id))
    }

    async fn change_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep: &TokenHash,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx| lifecycle::change_password(
            tx,
            user,
            password_hash,
            keep
        ))
    }

    async fn live_sessions(
        &self,
        token_hashes: &[TokenHash],
    ) -> Result<Vec<(TokenHash, DateTime<Utc>)>, StoreError> {
        on_connection!(self, |tx| lifecycle::live_sessions(tx, token_hashes))
    }

    async fn set_inbox_key(&self, inbox: InboxId, key_hash: &[u8]) -> Result<Inbox, StoreError> {
        on_connection!(self, |tx| accounts::set_inbox_key(tx, inbox, key_hash))
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        on_connection!(self, |tx| accounts::user(tx, id))
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        on_connection!(self, |tx| accounts::user_by_email(tx, email))
    }

    async fn create_login_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_connection!(self, |tx| accounts::create_login_session(
            tx, token_hash, user, expires_at
        ))
    }

    async fn create_verified_login_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        password_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        on_connection!(self, |tx| accounts::create_verified_login_session(
            tx,
            token_hash,
            user,
            password_hash,
            expires_at
        ))
    }

    async fn login_session_user(&self, token_hash: &[u8]) -> Result<Option<User>, StoreError> {
        on_connection!(self, |tx| accounts::login_session_user(tx, token_hash))
    }

    async fn delete_login_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        on_connection!(self, |tx| accounts::delete_login_session(tx, token_hash))
    }

    // WebSocket tickets (docs/BROWSERS.md).
    async fn create_ws_ticket(
        &self,
        ticket_hash: &[u8],
        session_hash: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let (ticket_hash, session_hash) = (ticket_hash.to_vec(), session_hash.to_vec());
        on_connection!(self, |tx| ws_tickets::create_ws_ticket(
            tx,
            &ticket_hash,
            &session_hash,
            ttl
        ))
    }

    async fn consume_ws_ticket(&self, ticket_hash: &[u8]) -> Result<Option<TokenHash>, StoreError> {
        let ticket_hash = ticket_hash.to_vec();
        on_connection!(self, |tx| ws_tickets::consume_ws_ticket(tx, &ticket_hash))
    }

    async fn prune_ws_tickets(&self, limit: u32) -> Result<u64, StoreError> {
        on_connection!(self, |tx| ws_tickets::prune_ws_tickets(tx, limit))
    }

    async fn two_factor(&self, user: UserId) -> Result<Option<TwoFactorRecord>, StoreError> {
        on_connection!(self, |tx| two_factor::two_factor(tx, user))
    }

    async fn begin_two_factor(&self, user: UserId, sealed_secret: &str) -> Result<(), StoreError> {
        in_transaction!(self, |tx| two_factor::begin_two_factor(
            tx,
            user,
            sealed_secret
        ))
    }

    async fn confirm_two_factor(
        &self,
        user: UserId,
        sealed_secret: &str,
        step: i64,
        backup_code_hashes: &[[u8; 32]],
    ) -> Result<bool, StoreError> {
        in_transaction!(self, |tx| two_factor::confirm_two_factor(
            tx,
            user,
            sealed_secret,
            step,
            backup_code_hashes
        ))
    }

    async fn disable_two_factor(&self, user: UserId) -> Result<bool, StoreError> {
        in_transaction!(self, |tx| two_factor::disable_two_factor(tx, user))
    }

    async fn claim_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        on_connection!(self, |tx| two_factor::claim_totp_step(tx, user, step))
    }

    async fn use_backup_code(
        &self,
        user: UserId,
        code_hash: &[u8; 32],
    ) -> Result<bool, StoreError> {
        on_connection!(self, |tx| two_factor::use_backup_code(tx, user, code_hash))
    }

    async fn two_factor_required(&self, account: AccountId) -> Result<bool, StoreError> {
        on_connection!(self, |tx| two_factor::two_factor_required(tx, account))
    }

    async fn set_two_factor_required(
        &self,
        account: AccountId,
        required: bool,
    ) -> Result<bool, StoreError> {
        in_transaction!(self, |tx| two_factor::set_two_factor_required(
            tx, account, required
        ))
    }

    async fn must_enroll_two_factor(&self, user: UserId) -> Result<bool, StoreError> {
        on_connection!(self, |tx| two_factor::must_enroll_two_factor(tx, user))
    }

    /// Under each key's advisory lock, so that attempts at one key on
    /// every node are counted one after the other.
    async fn reserve_login_attempt(
        &self,
        attempt: Uuid,
        keys: &[String],
        policy: ThrottlePolicy,
    ) -> Result<Reservation, StoreError> {
        in_transaction!(self, |tx| two_factor::reserve_login_attempt(
            tx, attempt, keys, policy
        ))
    }

    async fn release_login_attempt(&self, attempt: Uuid) -> Result<(), StoreError> {
        on_connection!(self, |tx| two_factor::release_login_attempt(tx, attempt))
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        on_connection!(self, |tx| two_factor::clear_login_failures(tx, key))
    }

    async fn inbox(&self, id: InboxId) -> Result<Option<Inbox>, StoreError> {
        on_connection!(self, |tx| accounts::inbox(tx, id))
    }

    async fn inbox_by_key(&self, key_hash: &[u8]) -> Result<Option<Inbox>, StoreError> {
        on_connection!(self, |tx| accounts::inbox_by_key(tx, key_hash))
    }

    /// A follow-up to an open conversation: one statement, no routing
    /// lock. A new customer: created and routed with the others arriving
    /// at the same moment (`arrivals`). Anything else, or an arrival its
    /// batch did not record: alone, in a transaction of its own.
    async fn record_inbound(&self, new: NewInbound<'_>) -> Result<Inbound, StoreError> {
        match followup::append_if_open(&self.pool, self.clock.fixed(), &new).await? {
            Found::Open(inbound) => return Ok(*inbound),
            Found::Nothing(account) => {
                let arrival = NewArrival {
                    inbox: new.inbox_id,
                    handle: new.handle.to_owned(),
                    contact_name: new.contact_name.map(str::to_owned),
                    body: new.body.to_owned(),
                };
                if let Some(inbound) = self.arrive(account, arrival).await {
                    return Ok(inbound);
                }
            }
            Found::Other => {}
        }
        in_transaction!(self, |tx| inbound::record_inbound(tx, new))
    }

    async fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        on_connection!(self, |tx| reads::conversation(tx, id))
    }

    async fn conversations(
        &self,
        filter: ConversationFilter,
    ) -> Result<Vec<Conversation>, StoreError> {
        on_connection!(self, |tx| reads::conversations(tx, filter))
    }

    async fn admitted_conversations(
        &self,
        filter: &AccessFilter,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        on_connection!(self, |tx| reads::admitted_conversations(tx, filter, limit))
    }

    async fn messages_after(
        &self,
        conversation: ConversationId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        on_connection!(self, |tx| reads::messages_after(
            tx,
            conversation,
            after_seq,
            limit
        ))
    }

    async fn recent_messages(
        &self,
        conversation: ConversationId,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        on_connection!(self, |tx| reads::recent_messages(tx, conversation, limit))
    }

    async fn acquire_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        node: NodeId,
        force: bool,
        lease: Duration,
    ) -> Result<Acquired, StoreError> {
        on_connection!(self, |tx| fence::acquire_lock(
            tx,
            conversation,
            user,
            node,
            force,
            lease
        ))
    }

    async fn release_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        epoch: u64,
    ) -> Result<bool, StoreError> {
        on_connection!(self, |tx| fence::release_lock(
            tx,
            conversation,
            user,
            epoch
        ))
    }

    async fn renew_locks(
        &self,
        node: NodeId,
        lease: Duration,
    ) -> Result<Vec<(ConversationId, u64)>, StoreError> {
        on_connection!(self, |tx| fence::renew_locks(tx, node, lease))
    }

    async fn release_node_locks(&self, node: NodeId) -> Result<Vec<ConversationId>, StoreError> {
        on_connection!(self, |tx| fence::release_node_locks(tx, node))
    }

    async fn release_locks_except(&self, keep: NodeId) -> Result<u64, StoreError> {
        on_connection!(self, |tx| fence::release_locks_except(tx, keep))
    }

    async fn lock_state(&self, conversation: ConversationId) -> Result<LockState, StoreError> {
        on_connection!(self, |tx| fence::lock_state(tx, conversation))?.ok_or(StoreError::NotFound)
    }

    async fn lock_states(
        &self,
        conversations: &[ConversationId],
    ) -> Result<Vec<(ConversationId, LockState)>, StoreError> {
        on_connection!(self, |tx| fence::lock_states(tx, conversations))
    }

    async fn append_outbound(&self, new: NewOutbound<'_>) -> Result<Appended, StoreError> {
        on_connection!(self, |tx| fence::append_outbound(tx, new))
    }

    async fn create_team(
        &self,
        account: AccountId,
        name: &str,
        members: &[UserId],
    ) -> Result<Team, StoreError> {
        in_transaction!(self, |tx| ops::create_team(tx, account, name, members))
    }

    async fn teams(&self, account: AccountId) -> Result<Vec<Team>, StoreError> {
        on_connection!(self, |tx| reads::teams(tx, account))
    }

    async fn set_team_members(
        &self,
        team: TeamId,
        members: &[UserId],
    ) -> Result<(Team, Routed), StoreError> {
        in_transaction!(self, |tx| ops::set_team_members(tx, team, members))
    }

    async fn delete_team(&self, team: TeamId) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::delete_team(tx, team))
    }

    async fn set_inbox_team(
        &self,
        inbox: InboxId,
        team: Option<TeamId>,
    ) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::set_inbox_team(tx, inbox, team))
    }

    async fn agent(&self, user: UserId) -> Result<Option<AgentState>, StoreError> {
        on_connection!(self, |tx| reads::agent(tx, user))
    }

    async fn agents(&self, account: AccountId) -> Result<Vec<AgentState>, StoreError> {
        on_connection!(self, |tx| reads::agents(tx, account))
    }

    async fn set_capacity(&self, user: UserId, capacity: u32) -> Result<Routed, StoreError> {
        let change = AgentChange::Capacity(capacity);
        in_transaction!(self, |tx| ops::change_agent(tx, user, change))
    }

    async fn set_availability(
        &self,
        user: UserId,
        availability: Availability,
    ) -> Result<Routed, StoreError> {
        let change = AgentChange::Availability(availability);
        in_transaction!(self, |tx| ops::change_agent(tx, user, change))
    }

    async fn set_online(
        &self,
        user: UserId,
        node: NodeId,
        online: bool,
    ) -> Result<Routed, StoreError> {
        // a second console, on any node, changes nothing routing sees
        if online && in_transaction!(self, |tx| ops::add_console(tx, user, node))? {
            return Ok(Routed::default());
        }
        let change = AgentChange::Console { node, open: online };
        in_transaction!(self, |tx| ops::change_agent(tx, user, change))
    }

    async fn forget_node_agents(&self, node: NodeId) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::forget_consoles(tx, Consoles::On(node)))
    }

    async fn forget_agents_except(&self, keep: NodeId) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::forget_consoles(tx, Consoles::Except(keep)))
    }

    async fn auto_assign(&self, conversation: ConversationId) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::auto_assign(tx, conversation))
    }

    async fn assign(&self, request: ManualAssignment) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::assign(tx, request))
    }

    async fn unassign(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::unassign(tx, conversation, actor))
    }

    async fn resolve(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::resolve(tx, conversation, actor))
    }

    async fn reopen(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::reopen(tx, conversation, actor))
    }

    /// One transaction per account, so that one account's lock is held at
    /// a time.
    async fn requeue_offline(&self, offline_for: Duration) -> Result<Routed, StoreError> {
        let accounts = on_connection!(self, |tx| ops::accounts_to_requeue(tx, offline_for))?;
        let mut routed = Routed::default();
        for account in accounts {
            let more = in_transaction!(self, |tx| ops::requeue_offline(tx, account, offline_for))?;
            routed.conversations.extend(more.conversations);
            routed.agents.extend(more.agents);
        }
        Ok(routed)
    }

    async fn assignment_log(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        on_connection!(self, |tx| reads::assignment_log(tx, conversation))
    }

    // API keys (docs/MODULES.md, "API keys").
    async fn create_api_key(&self, new: &NewApiKey) -> Result<ApiKey, StoreError> {
        in_transaction!(self, |tx| api_keys::create_api_key(tx, new))
    }

    async fn api_keys_of(&self, account: AccountId) -> Result<Vec<ApiKey>, StoreError> {
        on_connection!(self, |tx| api_keys::api_keys_of(tx, account))
    }

    async fn api_key_by_hash(&self, key_hash: &[u8]) -> Result<Option<ApiKey>, StoreError> {
        on_connection!(self, |tx| api_keys::api_key_by_hash(tx, key_hash))
    }

    async fn revoke_api_key(&self, account: AccountId, id: ApiKeyId) -> Result<ApiKey, StoreError> {
        on_connection!(self, |tx| api_keys::revoke_api_key(tx, account, id))
    }

    async fn touch_api_key(&self, id: ApiKeyId, every: Duration) -> Result<(), StoreError> {
        on_connection!(self, |tx| api_keys::touch_api_key(tx, id, every))
    }

    async fn api_key_grants(
        &self,
        account: AccountId,
    ) -> Result<Vec<(ApiKeyId, Grant)>, StoreError> {
        on_connection!(self, |tx| api_keys::api_key_grants(tx, account))
    }

    // webhooks
    async fn webhook_secrets_exist(&self) -> Result<bool, StoreError> {
        on_connection!(self, |tx| crate::webhooks::any_webhook(tx))
    }

    async fn create_webhook(
        &self,
        account: AccountId,
        new: &switchboard_core::webhooks::NewWebhook,
    ) -> Result<switchboard_core::webhooks::Webhook, StoreError> {
        in_transaction!(self, |tx| crate::webhooks::create_webhook(tx, account, new))
    }

    async fn webhooks_of(
        &self,
        account: AccountId,
    ) -> Result<Vec<switchboard_core::webhooks::Webhook>, StoreError> {
        on_connection!(self, |tx| crate::webhooks::webhooks_of(tx, account))
    }

    async fn webhook(
        &self,
        id: switchboard_core::ids::WebhookId,
    ) -> Result<Option<switchboard_core::webhooks::Webhook>, StoreError> {
        on_connection!(self, |tx| crate::webhooks::webhook_by_id(tx, id))
    }

    async fn update_webhook(
        &self,
        account: AccountId,
        id: switchboard_core::ids::WebhookId,
        changes: &switchboard_core::webhooks::WebhookChanges,
    ) -> Result<switchboard_core::webhooks::Webhook, StoreError> {
        in_transaction!(self, |tx| crate::webhooks::update_webhook(
            tx, account, id, changes
        ))
    }

    async fn delete_webhook(
        &self,
        account: AccountId,
        id: switchboard_core::ids::WebhookId,
    ) -> Result<(), StoreError> {
        on_connection!(self, |tx| crate::webhooks::delete_webhook(tx, account, id))
    }

    async fn webhook_deliveries(
        &self,
        id: switchboard_core::ids::WebhookId,
        limit: u32,
    ) -> Result<Vec<switchboard_core::webhooks::Delivery>, StoreError> {
        on_connection!(self, |tx| crate::webhooks::webhook_deliveries(
            tx, id, limit
        ))
    }

    async fn claim_webhook_deliveries(
        &self,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<switchboard_core::webhooks::ClaimedDelivery>, StoreError> {
        on_connection!(self, |tx| crate::webhooks::claim_deliveries(
            tx, lease, limit
        ))
    }

    async fn webhook_attempted(
        &self,
        delivery: &switchboard_core::webhooks::ClaimedDelivery,
        attempt: &switchboard_core::webhooks::Attempt,
        next: switchboard_core::webhooks::AttemptNext,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx| crate::webhooks::attempted(
            tx, delivery, attempt, next
        ))
    }

    // Statistics (docs/MODULES.md, "Statistics").
    async fn statistics_messages(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: switchboard_core::statistics::Window,
    ) -> Result<switchboard_core::statistics::MessageCounts, StoreError> {
        on_connection!(self, |tx| statistics::messages(
            tx, account, inboxes, window
        ))
    }

    async fn statistics_messages_by_day(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: switchboard_core::statistics::Window,
    ) -> Result<
        Vec<(
            chrono::NaiveDate,
            switchboard_core::statistics::MessageCounts,
        )>,
        StoreError,
    > {
        on_connection!(self, |tx| statistics::messages_by_day(
            tx, account, inboxes, window
        ))
    }

    async fn statistics_messages_by_inbox(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: switchboard_core::statistics::Window,
    ) -> Result<Vec<(InboxId, switchboard_core::statistics::MessageCounts)>, StoreError> {
        on_connection!(self, |tx| statistics::messages_by_inbox(
            tx, account, inboxes, window
        ))
    }

    async fn statistics_messages_by_agent(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: switchboard_core::statistics::Window,
    ) -> Result<Vec<(UserId, u64)>, StoreError> {
        on_connection!(self, |tx| statistics::messages_by_agent(
            tx, account, inboxes, window
        ))
    }

    async fn statistics_spells_by_agent(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: switchboard_core::statistics::Window,
    ) -> Result<Vec<(UserId, switchboard_core::statistics::SpellTally)>, StoreError> {
        on_connection!(self, |tx| statistics::spells_by_agent(
            tx, account, inboxes, window
        ))
    }

    async fn statistics_spells(
        &self,
        account: AccountId,
        scope: &switchboard_core::statistics::BucketScope,
    ) -> Result<switchboard_core::statistics::SpellTally, StoreError> {
        on_connection!(self, |tx| statistics::spells(tx, account, scope))
    }
}
