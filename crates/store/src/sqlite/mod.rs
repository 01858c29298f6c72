//! The SQLite backend: the embedded, single-node default.
//!
//! Ids are 16-byte BLOBs, times INTEGER unix milliseconds on the process
//! clock (one process owns the file, so its clock is the only clock), or
//! on the manual clock a test gave the store; a write reads it once, so its
//! statements record one time. Every write runs on one OS
//! thread that owns the only write connection (rusqlite, see `writer`):
//! writes queue there rather than in SQLite, go together in one `BEGIN
//! IMMEDIATE` transaction per batch, and a second process (an admin
//! command beside a running server) makes the writer wait through the busy
//! timeout instead of failing a lock upgrade. Reads run on a small sqlx pool
//! beside the writer, which WAL allows. Both sides read and write the same
//! tables with the same statements (`crate::sql`), and `tx` makes the
//! writer bind exactly what sqlx binds: a `Uuid` as its 16 bytes, a time
//! as INTEGER milliseconds.
//!
//! Each [`Store`] method says where its work runs: a read on a connection
//! of the read pool, a write as a job of the writer over [`SqliteTx`]. The
//! work is written once for both backends (`accounts`, `reads`, `fence`,
//! `inbound`, `routing::ops`); what is SQLite's own is the writer and how
//! it binds (`tx`).

mod lock;
mod open;
mod routing;
mod tx;
mod writer;

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Sqlite;
use sqlx::sqlite::SqlitePool;
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

use self::tx::SqliteTx;
use self::writer::Writer;
use crate::clock::StoreClock;
use crate::conn::Conn;
use crate::error::from_sqlx;
use crate::routing::ops::{self, AgentChange};
use crate::routing::{Consoles, ready};
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

/// Runs a read (`|tx| reads::...(tx, ...)`) on a connection of the read
/// pool.
macro_rules! reading {
    ($store:ident, |$tx:ident| $read:expr) => {{
        let mut conn = $store.read.acquire().await.map_err(from_sqlx)?;
        let $tx = &mut Conn::<Sqlite>::new(&mut conn, &$store.clock);
        $read.await
    }};
}

/// Runs an operation (`|tx| fence::...(tx, ...)`) as a job of the writer;
/// what it takes is moved to the writer's thread, so it must own it.
macro_rules! writing {
    ($store:ident, |$tx:ident| $operation:expr) => {
        $store.write(move |$tx| ready($operation)?).await
    };
}

/// The [`Store`] on a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The thread that runs every write.
    writer: Writer,
    /// Reads, beside the writer.
    read: SqlitePool,
    /// The background checkpoints of a file database.
    checkpointer: Option<std::sync::Arc<open::Checkpointer>>,
    /// The serve lock on the file, held while any handle on the store is.
    _lock: Option<std::sync::Arc<lock::ServeLock>>,
    clock: StoreClock,
}

impl SqliteStore {
    /// Runs `work` as a job of the writer (see [`Writer::run`]), on the
    /// writer's transaction with the store's clock.
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut SqliteTx<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let clock = self.clock.clone();
        self.writer
            .run(move |conn| work(&mut SqliteTx::new(conn, &clock)))
            .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        reading!(self, |tx| reads::ping(tx))
    }

    async fn create_account(&self, new: NewAccount<'_>) -> Result<(Account, User), StoreError> {
        let (name, email) = (new.name.to_owned(), new.owner_email.to_owned());
        let (owner, hash) = (
            new.owner_name.to_owned(),
            new.owner_password_hash.to_owned(),
        );
        writing!(self, |tx| {
            let new = NewAccount {
                name: &name,
                owner_email: &email,
                owner_name: &owner,
                owner_password_hash: &hash,
            };
            accounts::create_account(tx, new)
        })
    }

    async fn create_first_account(
        &self,
        new: NewAccount<'_>,
    ) -> Result<Option<(Account, User)>, StoreError> {
        let (name, email) = (new.name.to_owned(), new.owner_email.to_owned());
        let (owner, hash) = (
            new.owner_name.to_owned(),
            new.owner_password_hash.to_owned(),
        );
        writing!(self, |tx| {
            let new = NewAccount {
                name: &name,
                owner_email: &email,
                owner_name: &owner,
                owner_password_hash: &hash,
            };
            accounts::create_first_account(tx, new)
        })
    }

    async fn has_accounts(&self) -> Result<bool, StoreError> {
        reading!(self, |tx| accounts::has_accounts(tx))
    }

    async fn create_user(&self, new: NewUser<'_>) -> Result<User, StoreError> {
        let (email, name) = (new.email.to_owned(), new.name.to_owned());
        let hash = new.password_hash.to_owned();
        let (account_id, role, capacity) = (new.account_id, new.role, new.capacity);
        writing!(self, |tx| {
            let new = NewUser {
                account_id,
                email: &email,
                name: &name,
                password_hash: &hash,
                role,
                capacity,
            };
            accounts::create_user(tx, new)
        })
    }

    async fn create_inbox(&self, new: NewInbox<'_>) -> Result<Inbox, StoreError> {
        let (account_id, name, channel) =
            (new.account_id, new.name.to_owned(), new.channel.to_owned());
        let key_hash = new.key_hash.to_vec();
        writing!(self, |tx| {
            let new = NewInbox {
                account_id,
                name: &name,
                channel: &channel,
                key_hash: &key_hash,
            };
            accounts::create_inbox(tx, new)
        })
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        reading!(self, |tx| accounts::accounts(tx))
    }

    async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        reading!(self, |tx| accounts::account(tx, id))
    }

    async fn users_of(&self, account: AccountId) -> Result<Vec<User>, StoreError> {
        reading!(self, |tx| accounts::users_of(tx, account))
    }

    async fn inboxes_of(&self, account: AccountId) -> Result<Vec<Inbox>, StoreError> {
        reading!(self, |tx| accounts::inboxes_of(tx, account))
    }

    async fn account_access(&self, account: AccountId) -> Result<AccountAccess, StoreError> {
        reading!(self, |tx| access::account_access(tx, account))
    }

    async fn grants_of(&self, user: UserId) -> Result<Vec<Grant>, StoreError> {
        reading!(self, |tx| access::grants_of(tx, user))
    }

    async fn set_grants(&self, user: UserId, grants: &[Grant]) -> Result<(), StoreError> {
        let grants = grants.to_vec();
        writing!(self, |tx| access::set_grants(tx, user, &grants))
    }

    async fn account_grants(&self, account: AccountId) -> Result<Vec<(UserId, Grant)>, StoreError> {
        reading!(self, |tx| access::account_grants(tx, account))
    }

    async fn groups_of(&self, account: AccountId) -> Result<Vec<Group>, StoreError> {
        reading!(self, |tx| access::groups_of(tx, account))
    }

    async fn create_group(
        &self,
        account: AccountId,
        name: &Name,
        parent: GroupId,
    ) -> Result<Group, StoreError> {
        let name = name.clone();
        writing!(self, |tx| access::create_group(tx, account, &name, parent))
    }

    async fn rename_group(
        &self,
        account: AccountId,
        group: GroupId,
        name: &Name,
    ) -> Result<Group, StoreError> {
        let name = name.clone();
        writing!(self, |tx| access::rename_group(tx, account, group, &name))
    }

    async fn move_group(
        &self,
        account: AccountId,
        group: GroupId,
        parent: GroupId,
    ) -> Result<Group, StoreError> {
        writing!(self, |tx| access::move_group(tx, account, group, parent))
    }

    async fn delete_group(&self, account: AccountId, group: GroupId) -> Result<(), StoreError> {
        writing!(self, |tx| access::delete_group(tx, account, group))
    }

    async fn create_custom_role(
        &self,
        account: AccountId,
        role: &CustomRole,
    ) -> Result<CustomRoleId, StoreError> {
        let role = role.clone();
        writing!(self, |tx| access::create_custom_role(tx, account, &role))
    }

    async fn edit_custom_role(
        &self,
        account: AccountId,
        id: CustomRoleId,
        role: &CustomRole,
    ) -> Result<(), StoreError> {
        let role = role.clone();
        writing!(self, |tx| access::edit_custom_role(tx, account, id, &role))
    }

    async fn delete_custom_role(
        &self,
        account: AccountId,
        id: CustomRoleId,
    ) -> Result<(), StoreError> {
        writing!(self, |tx| access::delete_custom_role(tx, account, id))
    }

    async fn set_inbox_group(&self, inbox: InboxId, group: GroupId) -> Result<Inbox, StoreError> {
        writing!(self, |tx| access::set_inbox_group(tx, inbox, group))
    }

    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let entry = entry.clone();
        writing!(self, |tx| audit::record_audit(tx, &entry))
    }

    async fn audit_of(
        &self,
        account: AccountId,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        reading!(self, |tx| audit::audit_of(tx, account, before, limit))
    }

    async fn create_template(
        &self,
        account: AccountId,
        fields: &TemplateFields,
    ) -> Result<Template, StoreError> {
        let fields = fields.clone();
        writing!(self, |tx| templates::create_template(tx, account, &fields))
    }

    async fn update_template(
        &self,
        account: AccountId,
        id: TemplateId,
        fields: &TemplateFields,
    ) -> Result<Template, StoreError> {
        let fields = fields.clone();
        writing!(self, |tx| templates::update_template(
            tx, account, id, &fields
        ))
    }

    async fn delete_template(&self, account: AccountId, id: TemplateId) -> Result<(), StoreError> {
        writing!(self, |tx| templates::delete_template(tx, account, id))
    }

    async fn templates_of(&self, account: AccountId) -> Result<Vec<Template>, StoreError> {
        reading!(self, |tx| templates::templates_of(tx, account))
    }

    async fn template(&self, id: TemplateId) -> Result<Option<Template>, StoreError> {
        reading!(self, |tx| templates::template_by_id(tx, id))
    }

    async fn create_folder(&self, folder: &Folder, max: u32) -> Result<Option<Folder>, StoreError> {
        let folder = folder.clone();
        writing!(self, |tx| folders::create_folder(tx, &folder, max))
    }

    async fn update_folder(
        &self,
        user: UserId,
        id: FolderId,
        name: &str,
        filter: &FolderFilter,
    ) -> Result<Folder, StoreError> {
        let (name, filter) = (name.to_owned(), filter.clone());
        writing!(self, |tx| folders::update_folder(
            tx, user, id, &name, &filter
        ))
    }

    async fn delete_folder(&self, user: UserId, id: FolderId) -> Result<(), StoreError> {
        writing!(self, |tx| folders::delete_folder(tx, user, id))
    }

    async fn folders_of(&self, user: UserId) -> Result<Vec<Folder>, StoreError> {
        reading!(self, |tx| folders::folders_of(tx, user))
    }

    async fn folder(&self, id: FolderId) -> Result<Option<Folder>, StoreError> {
        reading!(self, |tx| folders::folder(tx, id))
    }

    async fn folder_conversations(
        &self,
        access: &AccessFilter,
        filter: &FolderFilter,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        reading!(self, |tx| folders::folder_conversations(
            tx, access, filter, limit
        ))
    }

    async fn team_inboxes(&self, team: TeamId) -> Result<Vec<InboxId>, StoreError> {
        reading!(self, |tx| folders::team_inboxes(tx, team))
    }

    async fn folder_open_count(
        &self,
        access: &AccessFilter,
        filter: &FolderFilter,
    ) -> Result<u64, StoreError> {
        reading!(self, |tx| folders::folder_open_count(tx, access, filter))
    }

    async fn create_invitations(
        &self,
        new: &NewInvitations,
    ) -> Result<Vec<Invitation>, StoreError> {
        let new = new.clone();
        writing!(self, |tx| invitations::create_invitations(tx, &new))
    }

    async fn invitations_of(
        &self,
        account: AccountId,
        status: Option<InvitationStatus>,
    ) -> Result<Vec<Invitation>, StoreError> {
        reading!(self, |tx| invitations::invitations_of(tx, account, status))
    }

    async fn invitation(&self, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        reading!(self, |tx| invitations::invitation(tx, id))
    }

    async fn invitation_by_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<Invitation>, StoreError> {
        reading!(self, |tx| invitations::invitation_by_token(tx, token_hash))
    }

    async fn resend_invitation(
        &self,
        id: InvitationId,
        token_hash: &[u8],
        ttl: Duration,
        mail: &NewMail,
    ) -> Result<Invitation, StoreError> {
        let (token_hash, mail) = (token_hash.to_vec(), mail.clone());
        writing!(self, |tx| invitations::resend_invitation(
            tx,
            id,
            &token_hash,
            ttl,
            &mail
        ))
    }

    async fn revoke_invitation(&self, id: InvitationId) -> Result<Invitation, StoreError> {
        writing!(self, |tx| invitations::revoke_invitation(tx, id))
    }

    async fn accept_invitation(
        &self,
        acceptance: &Acceptance,
        role: Role,
    ) -> Result<(Invitation, User), StoreError> {
        let acceptance = acceptance.clone();
        writing!(self, |tx| invitations::accept_invitation(
            tx,
            &acceptance,
            role
        ))
    }

    async fn seats(&self, account: AccountId) -> Result<Seats, StoreError> {
        reading!(self, |tx| seats::seats(tx, account))
    }

    async fn set_seat_limit(
        &self,
        account: AccountId,
        limit: Option<u32>,
    ) -> Result<Seats, StoreError> {
        writing!(self, |tx| seats::set_seat_limit(tx, account, limit))
    }

    async fn claim_mails(
        &self,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, StoreError> {
        writing!(self, |tx| mail::claim_mails(tx, lease, limit))
    }

    async fn mail_sent(&self, claimed: &ClaimedMail) -> Result<(), StoreError> {
        let claimed = claimed.clone();
        writing!(self, |tx| mail::mail_sent(tx, &claimed))
    }

    async fn mail_failed(
        &self,
        claimed: &ClaimedMail,
        error: &str,
        retry_in: Option<Duration>,
    ) -> Result<(), StoreError> {
        let (claimed, error) = (claimed.clone(), error.to_owned());
        writing!(self, |tx| mail::mail_failed(tx, &claimed, &error, retry_in))
    }

    async fn search_contacts(
        &self,
        account: AccountId,
        groups: &BTreeSet<GroupId>,
        query: Option<&ContactQuery>,
        before: Option<ContactId>,
        limit: u32,
    ) -> Result<Vec<ContactCard>, StoreError> {
        let groups = groups.clone();
        let query = query.cloned();
        reading!(self, |tx| contacts::search_contacts(
            tx,
            account,
            &groups,
            query.as_ref(),
            before,
            limit
        ))
    }

    async fn contact(&self, id: ContactId) -> Result<Option<ContactCard>, StoreError> {
        reading!(self, |tx| contacts::contact_card(tx, id))
    }

    async fn contact_groups(&self, id: ContactId) -> Result<Vec<GroupId>, StoreError> {
        reading!(self, |tx| contacts::contact_groups(tx, id))
    }

    async fn contact_conversations(
        &self,
        id: ContactId,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        reading!(self, |tx| contacts::contact_conversations(tx, id, limit))
    }

    async fn update_contact(
        &self,
        account: AccountId,
        id: ContactId,
        name: Option<Option<&str>>,
        notes: Option<Option<&str>>,
    ) -> Result<ContactCard, StoreError> {
        let name = name.map(|n| n.map(str::to_owned));
        let notes = notes.map(|n| n.map(str::to_owned));
        writing!(self, |tx| contacts::update_contact(
            tx,
            account,
            id,
            &contacts::ContactChanges {
                name: name.as_ref().map(|n| n.as_deref()),
                notes: notes.as_ref().map(|n| n.as_deref()),
            }
        ))
    }

    async fn rename_inbox(&self, inbox: InboxId, name: &Name) -> Result<Inbox, StoreError> {
        let name = name.clone();
        writing!(self, |tx| accounts::rename_inbox(tx, inbox, &name))
    }

    async fn access_stamps(&self) -> Result<Vec<(AccountId, u64)>, StoreError> {
        reading!(self, |tx| accounts::access_stamps(tx))
    }

    async fn two_factor_secrets_exist(&self) -> Result<bool, StoreError> {
        reading!(self, |tx| accounts::two_factor_secrets_exist(tx))
    }

    async fn access_stamp(&self, account: AccountId) -> Result<u64, StoreError> {
        reading!(self, |tx| accounts::access_stamp(tx, account))
    }

    async fn rename_user(&self, user: UserId, name: &Name) -> Result<User, StoreError> {
        let name = name.clone();
        writing!(self, |tx| accounts::rename_user(tx, user, &name))
    }

    async fn set_password(&self, user: UserId, password_hash: &str) -> Result<(), StoreError> {
        let hash = password_hash.to_owned();
        writing!(self, |tx| accounts::set_password(tx, user, &hash))
    }

    async fn deactivate_user(&self, user: UserId) -> Result<UserEnded, StoreError> {
        writing!(self, |tx| lifecycle::deactivate_user(tx, user))
    }

    async fn reactivate_user(&self, user: UserId) -> Result<User, StoreError> {
        writing!(self, |tx| lifecycle::reactivate_user(tx, user))
    }

    async fn remove_user(&self, user: UserId) -> Result<UserEnded, StoreError> {
        writing!(self, |tx| lifecycle::remove_user(tx, user))
    }

    async fn transfer_ownership(
        &self,
        account: AccountId,
        from: UserId,
        to: UserId,
    ) -> Result<(), StoreError> {
        writing!(self, |tx| lifecycle::transfer_ownership(
            tx, account, from, to
        ))
    }

    async fn login_sessions_of(&self, user: UserId) -> Result<Vec<LoginSession>, StoreError> {
        reading!(self, |tx| lifecycle::login_sessions_of(tx, user))
    }

    async fn end_login_session(
        &self,
        user: UserId,
        id: Uuid,
    ) -> Result<Option<TokenHash>, StoreError> {
        writing!(self, |tx| lifecycle::end_login_session(tx, user, id))
    }

    async fn change_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep: &TokenHash,
    ) -> Result<(), StoreError> {
        let (hash, keep) = (password_hash.to_owned(), *keep);
        writing!(self, |tx| lifecycle::change_password(
            tx, user, &hash, &keep
        ))
    }

    async fn live_sessions(
        &self,
        token_hashes: &[TokenHash],
    ) -> Result<Vec<(TokenHash, DateTime<Utc>)>, StoreError> {
        reading!(self, |tx| lifecycle::live_sessions(tx, token_hashes))
    }

    async fn set_inbox_key(&self, inbox: InboxId, key_hash: &[u8]) -> Result<Inbox, StoreError> {
        let hash = key_hash.to_vec();
        writing!(self, |tx| accounts::set_inbox_key(tx, inbox, &hash))
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        reading!(self, |tx| accounts::user(tx, id))
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        reading!(self, |tx| accounts::user_by_email(tx, email))
    }

    async fn create_login_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let token_hash = token_hash.to_vec();
        writing!(self, |tx| accounts::create_login_session(
            tx,
            &token_hash,
            user,
            expires_at
        ))
    }

    async fn create_verified_login_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        password_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let token_hash = token_hash.to_vec();
        let password_hash = password_hash.to_owned();
        writing!(self, |tx| accounts::create_verified_login_session(
            tx,
            &token_hash,
            user,
            &password_hash,
            expires_at
        ))
    }

    async fn login_session_user(&self, token_hash: &[u8]) -> Result<Option<User>, StoreError> {
        reading!(self, |tx| accounts::login_session_user(tx, token_hash))
    }

    async fn delete_login_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        let token_hash = token_hash.to_vec();
        writing!(self, |tx| accounts::delete_login_session(tx, &token_hash))
    }

    // WebSocket tickets (docs/BROWSERS.md).
    async fn create_ws_ticket(
        &self,
        ticket_hash: &[u8],
        session_hash: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let (ticket_hash, session_hash) = (ticket_hash.to_vec(), session_hash.to_vec());
        writing!(self, |tx| ws_tickets::create_ws_ticket(
            tx,
            &ticket_hash,
            &session_hash,
            ttl
        ))
    }

    async fn consume_ws_ticket(&self, ticket_hash: &[u8]) -> Result<Option<TokenHash>, StoreError> {
        let ticket_hash = ticket_hash.to_vec();
        writing!(self, |tx| ws_tickets::consume_ws_ticket(tx, &ticket_hash))
    }

    async fn prune_ws_tickets(&self, limit: u32) -> Result<u64, StoreError> {
        writing!(self, |tx| ws_tickets::prune_ws_tickets(tx, limit))
    }

    async fn two_factor(&self, user: UserId) -> Result<Option<TwoFactorRecord>, StoreError> {
        reading!(self, |tx| two_factor::two_factor(tx, user))
    }

    async fn begin_two_factor(&self, user: UserId, sealed_secret: &str) -> Result<(), StoreError> {
        let sealed = sealed_secret.to_owned();
        writing!(self, |tx| two_factor::begin_two_factor(tx, user, &sealed))
    }

    async fn confirm_two_factor(
        &self,
        user: UserId,
        sealed_secret: &str,
        step: i64,
        backup_code_hashes: &[[u8; 32]],
    ) -> Result<bool, StoreError> {
        let sealed = sealed_secret.to_owned();
        let hashes = backup_code_hashes.to_vec();
        writing!(self, |tx| two_factor::confirm_two_factor(
            tx, user, &sealed, step, &hashes
        ))
    }

    async fn disable_two_factor(&self, user: UserId) -> Result<bool, StoreError> {
        writing!(self, |tx| two_factor::disable_two_factor(tx, user))
    }

    async fn claim_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        writing!(self, |tx| two_factor::claim_totp_step(tx, user, step))
    }

    async fn use_backup_code(
        &self,
        user: UserId,
        code_hash: &[u8; 32],
    ) -> Result<bool, StoreError> {
        let hash = *code_hash;
        writing!(self, |tx| two_factor::use_backup_code(tx, user, &hash))
    }

    async fn two_factor_required(&self, account: AccountId) -> Result<bool, StoreError> {
        reading!(self, |tx| two_factor::two_factor_required(tx, account))
    }

    async fn set_two_factor_required(
        &self,
        account: AccountId,
        required: bool,
    ) -> Result<bool, StoreError> {
        writing!(self, |tx| two_factor::set_two_factor_required(
            tx, account, required
        ))
    }

    async fn must_enroll_two_factor(&self, user: UserId) -> Result<bool, StoreError> {
        reading!(self, |tx| two_factor::must_enroll_two_factor(tx, user))
    }

    /// On the writer, which runs one transaction at a time: attempts are
    /// counted one after the other.
    async fn reserve_login_attempt(
        &self,
        attempt: Uuid,
        keys: &[String],
        policy: ThrottlePolicy,
    ) -> Result<Reservation, StoreError> {
        let keys = keys.to_vec();
        writing!(self, |tx| two_factor::reserve_login_attempt(
            tx, attempt, &keys, policy
        ))
    }

    async fn release_login_attempt(&self, attempt: Uuid) -> Result<(), StoreError> {
        writing!(self, |tx| two_factor::release_login_attempt(tx, attempt))
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        writing!(self, |tx| two_factor::clear_login_failures(tx, &key))
    }

    async fn inbox(&self, id: InboxId) -> Result<Option<Inbox>, StoreError> {
        reading!(self, |tx| accounts::inbox(tx, id))
    }

    async fn inbox_by_key(&self, key_hash: &[u8]) -> Result<Option<Inbox>, StoreError> {
        reading!(self, |tx| accounts::inbox_by_key(tx, key_hash))
    }

    async fn record_inbound(&self, new: NewInbound<'_>) -> Result<Inbound, StoreError> {
        let inbox_id = new.inbox_id;
        let (handle, body) = (new.handle.to_owned(), new.body.to_owned());
        let contact_name = new.contact_name.map(str::to_owned);
        writing!(self, |tx| {
            let new = NewInbound {
                inbox_id,
                handle: &handle,
                contact_name: contact_name.as_deref(),
                body: &body,
            };
            inbound::record_inbound(tx, new)
        })
    }

    async fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        reading!(self, |tx| reads::conversation(tx, id))
    }

    async fn conversations(
        &self,
        filter: ConversationFilter,
    ) -> Result<Vec<Conversation>, StoreError> {
        reading!(self, |tx| reads::conversations(tx, filter))
    }

    async fn admitted_conversations(
        &self,
        filter: &AccessFilter,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        reading!(self, |tx| reads::admitted_conversations(tx, filter, limit))
    }

    async fn messages_after(
        &self,
        conversation: ConversationId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        reading!(self, |tx| reads::messages_after(
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
        reading!(self, |tx| reads::recent_messages(tx, conversation, limit))
    }

    async fn acquire_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        node: NodeId,
        force: bool,
        lease: Duration,
    ) -> Result<Acquired, StoreError> {
        writing!(self, |tx| fence::acquire_lock(
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
        writing!(self, |tx| fence::release_lock(
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
        writing!(self, |tx| fence::renew_locks(tx, node, lease))
    }

    async fn release_node_locks(&self, node: NodeId) -> Result<Vec<ConversationId>, StoreError> {
        writing!(self, |tx| fence::release_node_locks(tx, node))
    }

    async fn release_locks_except(&self, keep: NodeId) -> Result<u64, StoreError> {
        writing!(self, |tx| fence::release_locks_except(tx, keep))
    }

    async fn lock_state(&self, conversation: ConversationId) -> Result<LockState, StoreError> {
        reading!(self, |tx| fence::lock_state(tx, conversation))?.ok_or(StoreError::NotFound)
    }

    async fn lock_states(
        &self,
        conversations: &[ConversationId],
    ) -> Result<Vec<(ConversationId, LockState)>, StoreError> {
        reading!(self, |tx| fence::lock_states(tx, conversations))
    }

    async fn append_outbound(&self, new: NewOutbound<'_>) -> Result<Appended, StoreError> {
        let (conversation_id, author, epoch) = (new.conversation_id, new.author, new.epoch);
        let (client_msg_id, body) = (new.client_msg_id.to_owned(), new.body.to_owned());
        writing!(self, |tx| {
            let new = NewOutbound {
                conversation_id,
                author,
                epoch,
                client_msg_id: &client_msg_id,
                body: &body,
            };
            fence::append_outbound(tx, new)
        })
    }

    async fn create_team(
        &self,
        account: AccountId,
        name: &str,
        members: &[UserId],
    ) -> Result<Team, StoreError> {
        let (name, members) = (name.to_owned(), members.to_vec());
        writing!(self, |tx| ops::create_team(tx, account, &name, &members))
    }

    async fn teams(&self, account: AccountId) -> Result<Vec<Team>, StoreError> {
        reading!(self, |tx| reads::teams(tx, account))
    }

    async fn set_team_members(
        &self,
        team: TeamId,
        members: &[UserId],
    ) -> Result<(Team, Routed), StoreError> {
        let members = members.to_vec();
        writing!(self, |tx| ops::set_team_members(tx, team, &members))
    }

    async fn delete_team(&self, team: TeamId) -> Result<Routed, StoreError> {
        writing!(self, |tx| ops::delete_team(tx, team))
    }

    async fn set_inbox_team(
        &self,
        inbox: InboxId,
        team: Option<TeamId>,
    ) -> Result<Routed, StoreError> {
        writing!(self, |tx| ops::set_inbox_team(tx, inbox, team))
    }

    async fn agent(&self, user: UserId) -> Result<Option<AgentState>, StoreError> {
        reading!(self, |tx| reads::agent(tx, user))
    }

    async fn agents(&self, account: AccountId) -> Result<Vec<AgentState>, StoreError> {
        reading!(self, |tx| reads::agents(tx, account))
    }

    async fn set_capacity(&self, user: UserId, capacity: u32) -> Result<Routed, StoreError> {
        let change = AgentChange::Capacity(capacity);
        writing!(self, |tx| ops::change_agent(tx, user, change))
    }

    async fn set_availability(
        &self,
        user: UserId,
        availability: Availability,
    ) -> Result<Routed, StoreError> {
        let change = AgentChange::Availability(availability);
        writing!(self, |tx| ops::change_agent(tx, user, change))
    }

    async fn set_online(
        &self,
        user: UserId,
        node: NodeId,
        online: bool,
    ) -> Result<Routed, StoreError> {
        // a second console, on any node, changes nothing routing sees
        if online && writing!(self, |tx| ops::add_console(tx, user, node))? {
            return Ok(Routed::default());
        }
        let change = AgentChange::Console { node, open: online };
        writing!(self, |tx| ops::change_agent(tx, user, change))
    }

    async fn forget_node_agents(&self, node: NodeId) -> Result<Routed, StoreError> {
        writing!(self, |tx| ops::forget_consoles(tx, Consoles::On(node)))
    }

    async fn forget_agents_except(&self, keep: NodeId) -> Result<Routed, StoreError> {
        writing!(self, |tx| ops::forget_consoles(tx, Consoles::Except(keep)))
    }

    async fn auto_assign(&self, conversation: ConversationId) -> Result<Routed, StoreError> {
        writing!(self, |tx| ops::auto_assign(tx, conversation))
    }

    async fn assign(&self, request: ManualAssignment) -> Result<Routed, StoreError> {
        writing!(self, |tx| ops::assign(tx, request))
    }

    async fn unassign(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        writing!(self, |tx| ops::unassign(tx, conversation, actor))
    }

    async fn resolve(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        writing!(self, |tx| ops::resolve(tx, conversation, actor))
    }

    async fn reopen(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        writing!(self, |tx| ops::reopen(tx, conversation, actor))
    }

    async fn requeue_offline(&self, offline_for: Duration) -> Result<Routed, StoreError> {
        self.write(move |tx| {
            let mut routed = Routed::default();
            for account in ready(ops::accounts_to_requeue(tx, offline_for))?? {
                let more = ready(ops::requeue_offline(tx, account, offline_for))??;
                routed.conversations.extend(more.conversations);
                routed.agents.extend(more.agents);
            }
            Ok(routed)
        })
        .await
    }

    async fn assignment_log(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        reading!(self, |tx| reads::assignment_log(tx, conversation))
    }

    // API keys (docs/MODULES.md, "API keys").
    async fn create_api_key(&self, new: &NewApiKey) -> Result<ApiKey, StoreError> {
        let new = new.clone();
        writing!(self, |tx| api_keys::create_api_key(tx, &new))
    }

    async fn api_keys_of(&self, account: AccountId) -> Result<Vec<ApiKey>, StoreError> {
        reading!(self, |tx| api_keys::api_keys_of(tx, account))
    }

    async fn api_key_by_hash(&self, key_hash: &[u8]) -> Result<Option<ApiKey>, StoreError> {
        let key_hash = key_hash.to_vec();
        reading!(self, |tx| api_keys::api_key_by_hash(tx, &key_hash))
    }

    async fn revoke_api_key(&self, account: AccountId, id: ApiKeyId) -> Result<ApiKey, StoreError> {
        writing!(self, |tx| api_keys::revoke_api_key(tx, account, id))
    }

    async fn touch_api_key(&self, id: ApiKeyId, every: Duration) -> Result<(), StoreError> {
        writing!(self, |tx| api_keys::touch_api_key(tx, id, every))
    }

    async fn api_key_grants(
        &self,
        account: AccountId,
    ) -> Result<Vec<(ApiKeyId, Grant)>, StoreError> {
        reading!(self, |tx| api_keys::api_key_grants(tx, account))
    }

    // webhooks
    async fn webhook_secrets_exist(&self) -> Result<bool, StoreError> {
        reading!(self, |tx| crate::webhooks::any_webhook(tx))
    }

    async fn create_webhook(
        &self,
        account: AccountId,
        new: &switchboard_core::webhooks::NewWebhook,
    ) -> Result<switchboard_core::webhooks::Webhook, StoreError> {
        let new = new.clone();
        writing!(self, |tx| crate::webhooks::create_webhook(
            tx, account, &new
        ))
    }

    async fn webhooks_of(
        &self,
        account: AccountId,
    ) -> Result<Vec<switchboard_core::webhooks::Webhook>, StoreError> {
        reading!(self, |tx| crate::webhooks::webhooks_of(tx, account))
    }

    async fn webhook(
        &self,
        id: switchboard_core::ids::WebhookId,
    ) -> Result<Option<switchboard_core::webhooks::Webhook>, StoreError> {
        reading!(self, |tx| crate::webhooks::webhook_by_id(tx, id))
    }

    async fn update_webhook(
        &self,
        account: AccountId,
        id: switchboard_core::ids::WebhookId,
        changes: &switchboard_core::webhooks::WebhookChanges,
    ) -> Result<switchboard_core::webhooks::Webhook, StoreError> {
        let changes = changes.clone();
        writing!(self, |tx| crate::webhooks::update_webhook(
            tx, account, id, &changes
        ))
    }

    async fn delete_webhook(
        &self,
        account: AccountId,
        id: switchboard_core::ids::WebhookId,
    ) -> Result<(), StoreError> {
        writing!(self, |tx| crate::webhooks::delete_webhook(tx, account, id))
    }

    async fn webhook_deliveries(
        &self,
        id: switchboard_core::ids::WebhookId,
        limit: u32,
    ) -> Result<Vec<switchboard_core::webhooks::Delivery>, StoreError> {
        reading!(self, |tx| crate::webhooks::webhook_deliveries(
            tx, id, limit
        ))
    }

    async fn claim_webhook_deliveries(
        &self,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<switchboard_core::webhooks::ClaimedDelivery>, StoreError> {
        writing!(self, |tx| crate::webhooks::claim_deliveries(
            tx, lease, limit
        ))
    }

    async fn webhook_attempted(
        &self,
        delivery: &switchboard_core::webhooks::ClaimedDelivery,
        attempt: &switchboard_core::webhooks::Attempt,
        next: switchboard_core::webhooks::AttemptNext,
    ) -> Result<(), StoreError> {
        let (delivery, attempt) = (delivery.clone(), attempt.clone());
        writing!(self, |tx| crate::webhooks::attempted(
            tx, &delivery, &attempt, next
        ))
    }

    // Statistics (docs/MODULES.md, "Statistics").
    async fn statistics_messages(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: switchboard_core::statistics::Window,
    ) -> Result<switchboard_core::statistics::MessageCounts, StoreError> {
        reading!(self, |tx| statistics::messages(
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
        reading!(self, |tx| statistics::messages_by_day(
            tx, account, inboxes, window
        ))
    }

    async fn statistics_messages_by_inbox(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: switchboard_core::statistics::Window,
    ) -> Result<Vec<(InboxId, switchboard_core::statistics::MessageCounts)>, StoreError> {
        reading!(self, |tx| statistics::messages_by_inbox(
            tx, account, inboxes, window
        ))
    }

    async fn statistics_messages_by_agent(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: switchboard_core::statistics::Window,
    ) -> Result<Vec<(UserId, u64)>, StoreError> {
        reading!(self, |tx| statistics::messages_by_agent(
            tx, account, inboxes, window
        ))
    }

    async fn statistics_spells_by_agent(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: switchboard_core::statistics::Window,
    ) -> Result<Vec<(UserId, switchboard_core::statistics::SpellTally)>, StoreError> {
        reading!(self, |tx| statistics::spells_by_agent(
            tx, account, inboxes, window
        ))
    }

    async fn statistics_spells(
        &self,
        account: AccountId,
        scope: &switchboard_core::statistics::BucketScope,
    ) -> Result<switchboard_core::statistics::SpellTally, StoreError> {
        reading!(self, |tx| statistics::spells(tx, account, scope))
    }
}
