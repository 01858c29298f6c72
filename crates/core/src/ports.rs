//! The ports: what the hub needs from persistence and from the bus between
//! nodes. `switchboard-store` and `switchboard-bus` implement them (SQLite and
//! Postgres; in-memory and Redis), each backend passing one contract suite.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::access::{AccountAccess, CustomRole, Grant};
use crate::audit::{AuditEntry, NewAuditEntry};
use crate::contacts::{ContactCard, ContactQuery};
use crate::error::StoreError;
use crate::folders::{Folder, FolderFilter};
use crate::ids::{
    AccountId, ContactId, ConversationId, CustomRoleId, FolderId, GroupId, InboxId, InvitationId,
    NodeId, TeamId, TemplateId, UserId,
};
use crate::input::Name;
use crate::invitations::{
    Acceptance, ClaimedMail, Invitation, InvitationStatus, NewInvitations, NewMail, Seats,
};
use crate::lifecycle::{EndedSessions, LoginSession, TokenHash, UserEnded};
use crate::model::{
    Account, Acquired, AgentState, Appended, AssignmentRecord, Availability, Conversation,
    ConversationFilter, Group, Inbound, Inbox, LockState, ManualAssignment, Message, NewAccount,
    NewInbound, NewInbox, NewOutbound, NewUser, Routed, Team, User, UserRef,
};
use crate::permissions::Role;
use crate::presence::LockLostReason;
use crate::templates::{Template, TemplateFields};
use crate::two_factor::{Reservation, ThrottlePolicy, TwoFactorRecord};

// API keys (docs/MODULES.md).
use crate::api_keys::{ApiKey, NewApiKey};
use crate::ids::ApiKeyId;

/// Persistence, and the authority on the active role (invariant 1).
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Whether the database answers (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates an account with its owner, in one transaction.
    async fn create_account(&self, new: NewAccount<'_>) -> Result<(Account, User), StoreError>;
    /// Creates the first account of the database with its owner (the
    /// first-run setup): `None`, and nothing made, when any account
    /// exists, whoever else creates one at the same moment.
    async fn create_first_account(
        &self,
        new: NewAccount<'_>,
    ) -> Result<Option<(Account, User)>, StoreError>;
    /// Whether the database holds any account.
    async fn has_accounts(&self) -> Result<bool, StoreError>;
    async fn create_user(&self, new: NewUser<'_>) -> Result<User, StoreError>;
    async fn create_inbox(&self, new: NewInbox<'_>) -> Result<Inbox, StoreError>;

    /// Every account, oldest first.
    async fn accounts(&self) -> Result<Vec<Account>, StoreError>;
    async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError>;
    /// The users of an account, oldest first.
    async fn users_of(&self, account: AccountId) -> Result<Vec<User>, StoreError>;
    /// The inboxes of an account, oldest first (never their keys).
    async fn inboxes_of(&self, account: AccountId) -> Result<Vec<Inbox>, StoreError>;
    /// The account's group tree and custom roles (docs/ACCESS.md);
    /// `NotFound` for an unknown account.
    async fn account_access(&self, account: AccountId) -> Result<AccountAccess, StoreError>;
    /// The user's grants, sorted (none for an unknown user).
    async fn grants_of(&self, user: UserId) -> Result<Vec<Grant>, StoreError>;
    /// Replaces the user's grants in one transaction; `NotFound` for an
    /// unknown user, or a group or custom role not of their account.
    /// Leaves `users.role` as it was.
    async fn set_grants(&self, user: UserId, grants: &[Grant]) -> Result<(), StoreError>;
    /// Every grant of the account's users, sorted by user then grant.
    async fn account_grants(&self, account: AccountId) -> Result<Vec<(UserId, Grant)>, StoreError>;
    /// The account's groups with their names, oldest first.
    async fn groups_of(&self, account: AccountId) -> Result<Vec<Group>, StoreError>;
    /// A new group under `parent`; `NotFound` if `parent` is not the
    /// account's.
    async fn create_group(
        &self,
        account: AccountId,
        name: &Name,
        parent: GroupId,
    ) -> Result<Group, StoreError>;
    async fn rename_group(
        &self,
        account: AccountId,
        group: GroupId,
        name: &Name,
    ) -> Result<Group, StoreError>;
    /// Moves a group under `parent`: `Conflict` for the root or a move
    /// under the group's own subtree, `NotFound` for a group not the
    /// account's.
    async fn move_group(
        &self,
        account: AccountId,
        group: GroupId,
        parent: GroupId,
    ) -> Result<Group, StoreError>;
    /// Deletes an empty group: `Conflict` for the root or a group with
    /// subgroups, inboxes or grants.
    async fn delete_group(&self, account: AccountId, group: GroupId) -> Result<(), StoreError>;
    /// A new custom role; `Conflict` when the account has one of that name.
    async fn create_custom_role(
        &self,
        account: AccountId,
        role: &CustomRole,
    ) -> Result<CustomRoleId, StoreError>;
    /// Replaces a custom role's name and permissions.
    async fn edit_custom_role(
        &self,
        account: AccountId,
        id: CustomRoleId,
        role: &CustomRole,
    ) -> Result<(), StoreError>;
    /// Deletes a custom role; `Conflict` while anyone holds it.
    async fn delete_custom_role(
        &self,
        account: AccountId,
        id: CustomRoleId,
    ) -> Result<(), StoreError>;
    /// Puts an inbox in a group of its account; `NotFound` for a group
    /// of another account.
    async fn set_inbox_group(&self, inbox: InboxId, group: GroupId) -> Result<Inbox, StoreError>;
    /// Records an entry of the account's audit log.
    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError>;
    /// The account's audit log, newest first: at most `limit` entries
    /// older than `before` (an entry's id; `None`: from the newest).
    async fn audit_of(
        &self,
        account: AccountId,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    /// A new template in a group of its account: `NotFound` for a group of
    /// another account, `Conflict` for a shortcut in use in the account.
    async fn create_template(
        &self,
        account: AccountId,
        fields: &TemplateFields,
    ) -> Result<Template, StoreError>;
    /// Replaces a template's group, name, shortcut and body (as
    /// `create_template` refuses); `NotFound` for one of another account.
    async fn update_template(
        &self,
        account: AccountId,
        id: TemplateId,
        fields: &TemplateFields,
    ) -> Result<Template, StoreError>;
    async fn delete_template(&self, account: AccountId, id: TemplateId) -> Result<(), StoreError>;
    /// The account's templates, by name.
    async fn templates_of(&self, account: AccountId) -> Result<Vec<Template>, StoreError>;
    async fn template(&self, id: TemplateId) -> Result<Option<Template>, StoreError>;
    // Personal folders (docs/MODULES.md).
    /// A new folder; `None` when its user has `max` folders already,
    /// `Conflict` for a name they use already.
    async fn create_folder(&self, folder: &Folder, max: u32) -> Result<Option<Folder>, StoreError>;
    /// Renames a folder of `user` and replaces its filter; `NotFound` for
    /// a folder that is not theirs.
    async fn update_folder(
        &self,
        user: UserId,
        id: FolderId,
        name: &str,
        filter: &FolderFilter,
    ) -> Result<Folder, StoreError>;
    async fn delete_folder(&self, user: UserId, id: FolderId) -> Result<(), StoreError>;
    /// The user's folders, by name.
    async fn folders_of(&self, user: UserId) -> Result<Vec<Folder>, StoreError>;
    async fn folder(&self, id: FolderId) -> Result<Option<Folder>, StoreError>;
    /// The conversations `access` admits that are in the folder of
    /// `filter`, newest activity first, at most `limit`.
    async fn folder_conversations(
        &self,
        access: &crate::access::ConversationFilter,
        filter: &FolderFilter,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError>;
    /// The inboxes that route to the team (a folder's `team_id`).
    async fn team_inboxes(&self, team: TeamId) -> Result<Vec<InboxId>, StoreError>;
    /// How many open conversations `access` admits in the folder.
    async fn folder_open_count(
        &self,
        access: &crate::access::ConversationFilter,
        filter: &FolderFilter,
    ) -> Result<u64, StoreError>;
    /// Creates the invitations and queues their mails, all or none, under
    /// the account's lock: `Conflict` for an address that belongs to a
    /// user or to a pending invitation, `SeatLimit` beyond the plan's
    /// seats, `NotFound` for an unknown account.
    async fn create_invitations(&self, new: &NewInvitations)
    -> Result<Vec<Invitation>, StoreError>;
    /// The account's invitations, newest first (only those of `status`
    /// when given).
    async fn invitations_of(
        &self,
        account: AccountId,
        status: Option<InvitationStatus>,
    ) -> Result<Vec<Invitation>, StoreError>;
    async fn invitation(&self, id: InvitationId) -> Result<Option<Invitation>, StoreError>;
    /// The invitation whose token hashes to `token_hash`, whatever its status.
    async fn invitation_by_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<Invitation>, StoreError>;
    /// A pending (or expired) invitation gets a new token and `ttl` more,
    /// and `mail` is queued in place of its earlier one: the old link stops
    /// working. `NotFound` unless pending or expired; `SeatLimit` when an
    /// expired one would take a seat the plan no longer has.
    async fn resend_invitation(
        &self,
        id: InvitationId,
        token_hash: &[u8],
        ttl: Duration,
        mail: &NewMail,
    ) -> Result<Invitation, StoreError>;
    /// A pending (or expired) invitation is revoked and its unsent mail
    /// cancelled; `NotFound` otherwise.
    async fn revoke_invitation(&self, id: InvitationId) -> Result<Invitation, StoreError>;
    /// In one transaction: the invitation of the token turns from pending
    /// to accepted (only if still pending and unexpired), and its user is
    /// created with its grants. `NotFound` for an unknown, revoked or
    /// accepted token, `Expired` for an expired one; of concurrent calls
    /// with one token, one succeeds.
    async fn accept_invitation(
        &self,
        acceptance: &Acceptance,
        role: Role,
    ) -> Result<(Invitation, User), StoreError>;
    /// The account's seats; `NotFound` for an unknown account.
    async fn seats(&self, account: AccountId) -> Result<Seats, StoreError>;
    /// Sets the plan's cap (`None`: unlimited); `Conflict` below the seats
    /// in use.
    async fn set_seat_limit(
        &self,
        account: AccountId,
        limit: Option<u32>,
    ) -> Result<Seats, StoreError>;
    /// Claims up to `limit` queued mails that are due, for `lease`: no
    /// other caller gets them until it ends. Each claim counts as a try.
    async fn claim_mails(
        &self,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, StoreError>;
    /// A claimed mail went out.
    async fn mail_sent(&self, mail: &ClaimedMail) -> Result<(), StoreError>;
    /// A claimed mail's try failed: it is tried again after `retry_in`, or
    /// never (`None`: it failed for good).
    async fn mail_failed(
        &self,
        mail: &ClaimedMail,
        error: &str,
        retry_in: Option<Duration>,
    ) -> Result<(), StoreError>;
    /// The account's contacts with a conversation in an inbox of one of
    /// `groups`, matching `query` (a piece of the name or handle) when
    /// given, newest first, older than `before` when given; at most `limit`.
    async fn search_contacts(
        &self,
        account: AccountId,
        groups: &BTreeSet<GroupId>,
        query: Option<&ContactQuery>,
        before: Option<ContactId>,
        limit: u32,
    ) -> Result<Vec<ContactCard>, StoreError>;
    async fn contact(&self, id: ContactId) -> Result<Option<ContactCard>, StoreError>;
    /// The groups of the inboxes the contact has conversations in.
    async fn contact_groups(&self, id: ContactId) -> Result<Vec<GroupId>, StoreError>;
    /// The contact's conversations, newest activity first, at most `limit`.
    async fn contact_conversations(
        &self,
        id: ContactId,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError>;
    /// Sets a contact's name and/or notes (`Some(None)`: clears it);
    /// `NotFound` for a contact of another account.
    async fn update_contact(
        &self,
        account: AccountId,
        id: ContactId,
        name: Option<Option<&str>>,
        notes: Option<Option<&str>>,
    ) -> Result<ContactCard, StoreError>;
    /// Gives an inbox a new name; `NotFound` for an unknown inbox.
    async fn rename_inbox(&self, inbox: InboxId, name: &Name) -> Result<Inbox, StoreError>;
    /// Every account's access stamp: a counter that every change of the
    /// account's groups, custom roles, grants or inbox placement raises
    /// in the same transaction, whoever made it. Comparing it with the
    /// stamp read before a snapshot tells whether the snapshot is stale.
    async fn access_stamps(&self) -> Result<Vec<(AccountId, u64)>, StoreError>;
    /// Whether any user has a two-factor secret stored (sealed with the
    /// server's key): a server must not start with a new key then.
    async fn two_factor_secrets_exist(&self) -> Result<bool, StoreError>;
    /// One account's access stamp; `NotFound` for an unknown account.
    async fn access_stamp(&self, account: AccountId) -> Result<u64, StoreError>;
    /// Gives a user a new name; `NotFound` for an unknown user.
    async fn rename_user(&self, user: UserId, name: &Name) -> Result<User, StoreError>;
    /// Replaces a user's password hash and ends every login session of
    /// theirs, in one transaction; `NotFound` for an unknown user.
    async fn set_password(&self, user: UserId, password_hash: &str) -> Result<(), StoreError>;
    /// Deactivates a user of the account, in one transaction under the
    /// account's routing lock: `deactivated_at` set, every login session
    /// deleted, every active role they hold released, their console
    /// forgotten, the account's access stamp raised, and their open
    /// assigned conversations put back through assignment (to another
    /// agent, or the queue), and every invitation they sent that is still
    /// pending or expired revoked (its unsent mail cancelled). A
    /// deactivated user is no agent and no answerer. `Conflict` for the
    /// owner, `NotFound` for an unknown or removed user. Deactivating
    /// again changes nothing more.
    async fn deactivate_user(&self, user: UserId) -> Result<UserEnded, StoreError>;
    /// An active user again (their sessions stay gone); `NotFound` for an
    /// unknown or removed user.
    async fn reactivate_user(&self, user: UserId) -> Result<User, StoreError>;
    /// Removes a user: deactivated as [`Store::deactivate_user`] does, and
    /// in the same transaction marked removed (`removed_at`), their email
    /// rewritten to a tombstone (the address may be used again), their
    /// grants and team memberships deleted. The row stays, so their
    /// messages keep their author's name; a removed user is in no listing
    /// and [`Store::user`] no longer finds them. `Conflict` for the owner.
    async fn remove_user(&self, user: UserId) -> Result<UserEnded, StoreError>;
    /// Hands the account's ownership from `from` to `to` in one
    /// transaction, under the account row's lock: the owner grant changes
    /// holder, `from` keeps (or gets) an `administrator` grant at the root.
    /// `Conflict` when `from` is no longer the owner (a concurrent
    /// transfer won) or `to` is deactivated; `NotFound` when `to` is not
    /// a user of the account.
    async fn transfer_ownership(
        &self,
        account: AccountId,
        from: UserId,
        to: UserId,
    ) -> Result<(), StoreError>;
    /// The user's login sessions that have not expired, oldest first.
    async fn login_sessions_of(&self, user: UserId) -> Result<Vec<LoginSession>, StoreError>;
    /// Deletes the user's session `id`; the token hash it had, or `None`
    /// when the user has no such session (another user's is not theirs).
    async fn end_login_session(
        &self,
        user: UserId,
        id: Uuid,
    ) -> Result<Option<TokenHash>, StoreError>;
    /// Replaces the user's password hash and ends every login session of
    /// theirs but `keep`, in one transaction; `NotFound` for an unknown user.
    async fn change_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep: &TokenHash,
    ) -> Result<(), StoreError>;
    /// Of these token hashes, those whose session exists and has not
    /// expired, with their expiry: one read for a node's whole batch of
    /// connections.
    async fn live_sessions(
        &self,
        token_hashes: &[TokenHash],
    ) -> Result<Vec<(TokenHash, DateTime<Utc>)>, StoreError>;
    /// Replaces an inbox's API key hash (the old key stops working at once);
    /// `NotFound` for an unknown inbox.
    async fn set_inbox_key(&self, inbox: InboxId, key_hash: &[u8]) -> Result<Inbox, StoreError>;

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    /// The user with this email and their password hash (emails are unique).
    async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>, StoreError>;

    async fn create_login_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// A login session for a user who just gave their password, made only
    /// if their password hash is still `password_hash` (the one verified)
    /// and they are active, in one statement: false, and nothing made, when
    /// the password changed or the user was deactivated meanwhile.
    async fn create_verified_login_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        password_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// The user of a login session that has not expired.
    async fn login_session_user(&self, token_hash: &[u8]) -> Result<Option<User>, StoreError>;
    async fn delete_login_session(&self, token_hash: &[u8]) -> Result<(), StoreError>;

    // WebSocket tickets (docs/BROWSERS.md).
    /// Stores ticket `ticket_hash` for login session `session_hash`, valid
    /// for `ttl` by the store's clock; false, and nothing made, when that
    /// session is not live. Ending the session deletes its tickets.
    async fn create_ws_ticket(
        &self,
        ticket_hash: &[u8],
        session_hash: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError>;
    /// Uses ticket `ticket_hash` up, atomically (one caller of many gets
    /// it): its login session's token hash if it was still valid, else
    /// `None`. A used ticket is gone.
    async fn consume_ws_ticket(&self, ticket_hash: &[u8]) -> Result<Option<TokenHash>, StoreError>;
    /// Deletes at most `limit` expired tickets; how many it deleted.
    async fn prune_ws_tickets(&self, limit: u32) -> Result<u64, StoreError>;

    /// The user's TOTP enrolment (pending or active), if any.
    async fn two_factor(&self, user: UserId) -> Result<Option<TwoFactorRecord>, StoreError>;
    /// Stores a pending TOTP setup (sealed secret), replacing a pending
    /// one; `Conflict` while 2FA is on; `NotFound` for an unknown user.
    async fn begin_two_factor(&self, user: UserId, sealed_secret: &str) -> Result<(), StoreError>;
    /// Turns the pending setup whose secret is `sealed_secret` on, with
    /// `step` as its last accepted TOTP step and these backup code hashes,
    /// in one transaction; false when there is no such pending setup (none,
    /// already confirmed, or replaced meanwhile).
    async fn confirm_two_factor(
        &self,
        user: UserId,
        sealed_secret: &str,
        step: i64,
        backup_code_hashes: &[[u8; 32]],
    ) -> Result<bool, StoreError>;
    /// Removes the user's 2FA (pending or active) and backup codes; false
    /// when they had none.
    async fn disable_two_factor(&self, user: UserId) -> Result<bool, StoreError>;
    /// Accepts TOTP step `step` for the user's active 2FA if it is later
    /// than the last accepted one, atomically: of concurrent claims of a
    /// step, one is true.
    async fn claim_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError>;
    /// Uses (deletes) the backup code with this hash; true when it existed.
    async fn use_backup_code(&self, user: UserId, code_hash: &[u8; 32])
    -> Result<bool, StoreError>;
    /// Whether the account requires 2FA of every user; `NotFound` for an
    /// unknown account.
    async fn two_factor_required(&self, account: AccountId) -> Result<bool, StoreError>;
    /// Sets whether the account requires 2FA; true when that changed it.
    async fn set_two_factor_required(
        &self,
        account: AccountId,
        required: bool,
    ) -> Result<bool, StoreError>;
    /// Whether the user's account requires 2FA and the user has not turned
    /// it on (their sessions may only set it up); false for an unknown user.
    async fn must_enroll_two_factor(&self, user: UserId) -> Result<bool, StoreError>;
    /// Counts login attempt `attempt` under each of `keys` before its
    /// secret is checked, in one transaction serialised per key (so that
    /// concurrent attempts are counted one after the other): refused,
    /// counting nothing, when a key already has `policy.max_failures`
    /// attempts within the window (failures, and attempts still being
    /// checked; see [`ThrottlePolicy::wait`]); otherwise recorded under
    /// each key as a failure, and attempts older than the window forgotten.
    /// An attempt found right is released ([`Store::release_login_attempt`]).
    async fn reserve_login_attempt(
        &self,
        attempt: Uuid,
        keys: &[String],
        policy: ThrottlePolicy,
    ) -> Result<Reservation, StoreError>;
    /// Forgets login attempt `attempt` under every key: it was right, or
    /// ended without its secret being judged.
    async fn release_login_attempt(&self, attempt: Uuid) -> Result<(), StoreError>;
    /// Forgets the failed logins of a key.
    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError>;

    async fn inbox(&self, id: InboxId) -> Result<Option<Inbox>, StoreError>;
    /// The inbox whose API key hashes to `key_hash`.
    async fn inbox_by_key(&self, key_hash: &[u8]) -> Result<Option<Inbox>, StoreError>;

    /// Stores a customer's message, creating the contact and the conversation
    /// when they are new; a resolved conversation opens again.
    async fn record_inbound(&self, new: NewInbound<'_>) -> Result<Inbound, StoreError>;

    async fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError>;
    /// Newest activity first.
    async fn conversations(
        &self,
        filter: ConversationFilter,
    ) -> Result<Vec<Conversation>, StoreError>;
    /// The conversations a policy's filter admits (see
    /// [`Policy::conversation_filter`](crate::access::Policy::conversation_filter)),
    /// newest activity first, at most `limit`: the listing that must agree
    /// with `Policy::may_view` row for row.
    async fn admitted_conversations(
        &self,
        filter: &crate::access::ConversationFilter,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError>;
    /// Messages with `seq > after_seq`, in order, at most `limit`.
    async fn messages_after(
        &self,
        conversation: ConversationId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError>;
    /// The newest `limit` messages, oldest first.
    async fn recent_messages(
        &self,
        conversation: ConversationId,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError>;

    /// Grants the active role to `user` when nobody holds a valid lease (or
    /// `force`), bumping the fencing epoch by one; otherwise says who holds it.
    async fn acquire_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        node: NodeId,
        force: bool,
        lease: Duration,
    ) -> Result<Acquired, StoreError>;
    /// Ends `user`'s role granted at `epoch`; false when it was no longer theirs.
    async fn release_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        epoch: u64,
    ) -> Result<bool, StoreError>;
    /// Extends the leases of every role granted through `node` that is still
    /// valid; returns the roles that were extended.
    async fn renew_locks(
        &self,
        node: NodeId,
        lease: Duration,
    ) -> Result<Vec<(ConversationId, u64)>, StoreError>;
    /// Ends every role granted through `node` (at shutdown, or when it died);
    /// returns the conversations that had one.
    async fn release_node_locks(&self, node: NodeId) -> Result<Vec<ConversationId>, StoreError>;
    /// Ends every role granted through any node but `keep` (a single node
    /// starting on its own database clears what a previous run left behind).
    async fn release_locks_except(&self, keep: NodeId) -> Result<u64, StoreError>;
    async fn lock_state(&self, conversation: ConversationId) -> Result<LockState, StoreError>;
    /// The role of each of `conversations` that exists (in no order), read
    /// at once: a node burying another reads every room's this way.
    async fn lock_states(
        &self,
        conversations: &[ConversationId],
    ) -> Result<Vec<(ConversationId, LockState)>, StoreError>;

    /// Stores an outbound message only if `author` holds the active role at
    /// `epoch` with a valid lease, checked in the same transaction as the
    /// insert ([`StoreError::Fenced`] otherwise). A `client_msg_id` stored
    /// before returns that message instead.
    async fn append_outbound(&self, new: NewOutbound<'_>) -> Result<Appended, StoreError>;

    // Routing: teams, agents, assignment. Every operation that may free
    // capacity serves the Unassigned queue (oldest first, with the policy of
    // `switchboard_core::assignment`) in the same transaction, and returns
    // everything it changed. No agent is ever auto-assigned beyond capacity
    // and no conversation is assigned twice, however many nodes call at once.
    // A conversation is only ever assigned (automatically or by hand) to an
    // agent who may answer it: who holds `conversations.answer` and
    // `conversations.view` or `conversations.view_assigned` through grants
    // at its inbox's group or above (docs/ACCESS.md, "Assignment"); one
    // nobody online may answer waits in the queue. An agent (one with an
    // agent state: capacity, availability, presence, load) is a user who
    // holds `conversations.answer` through any of their grants, at any
    // group; `users.role` plays no part.

    async fn create_team(
        &self,
        account: AccountId,
        name: &str,
        members: &[UserId],
    ) -> Result<Team, StoreError>;
    async fn teams(&self, account: AccountId) -> Result<Vec<Team>, StoreError>;
    /// Replaces a team's members (agents who joined may take its queue).
    async fn set_team_members(
        &self,
        team: TeamId,
        members: &[UserId],
    ) -> Result<(Team, Routed), StoreError>;
    async fn delete_team(&self, team: TeamId) -> Result<Routed, StoreError>;
    /// Routes an inbox to a team, or to every agent of the account (`None`).
    async fn set_inbox_team(
        &self,
        inbox: InboxId,
        team: Option<TeamId>,
    ) -> Result<Routed, StoreError>;

    /// The user's state as an agent; `None` when they are no agent (hold
    /// `conversations.answer` through none of their grants).
    async fn agent(&self, user: UserId) -> Result<Option<AgentState>, StoreError>;
    /// The account's agents (users who hold `conversations.answer` through
    /// some grant), by id.
    async fn agents(&self, account: AccountId) -> Result<Vec<AgentState>, StoreError>;
    async fn set_capacity(&self, user: UserId, capacity: u32) -> Result<Routed, StoreError>;
    async fn set_availability(
        &self,
        user: UserId,
        availability: Availability,
    ) -> Result<Routed, StoreError>;
    /// `user` has a console open on `node` (or no longer has): online is
    /// having one on any node.
    async fn set_online(
        &self,
        user: UserId,
        node: NodeId,
        online: bool,
    ) -> Result<Routed, StoreError>;
    /// A dead node's consoles are gone (agents with none elsewhere go offline).
    async fn forget_node_agents(&self, node: NodeId) -> Result<Routed, StoreError>;
    /// A node starting on its own database: consoles of earlier runs are gone.
    async fn forget_agents_except(&self, keep: NodeId) -> Result<Routed, StoreError>;

    /// Assigns a new (or reopened) conversation by the policy, or queues it.
    async fn auto_assign(&self, conversation: ConversationId) -> Result<Routed, StoreError>;
    /// Assigns (or transfers) by hand; refused with [`StoreError::AtCapacity`]
    /// beyond capacity unless forced, with [`StoreError::Conflict`]`("the
    /// agent may not answer conversations of this inbox")` to an agent of
    /// the account whose grants do not let them answer it (forced or not),
    /// with `Conflict` to a user of the account who is no agent (holds
    /// `conversations.answer` through none of their grants) or for a
    /// resolved conversation, and `NotFound` for an unknown user or one of
    /// another account.
    async fn assign(&self, request: ManualAssignment) -> Result<Routed, StoreError>;
    /// Back to the Unassigned queue (its newest arrival).
    async fn unassign(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError>;
    async fn resolve(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError>;
    /// Open again, and assigned like a new conversation.
    async fn reopen(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError>;
    /// Conversations of agents offline for longer than `offline_for` go back
    /// to the queue.
    async fn requeue_offline(&self, offline_for: Duration) -> Result<Routed, StoreError>;
    /// The assignment history of a conversation, oldest first.
    async fn assignment_log(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<AssignmentRecord>, StoreError>;

    // API keys (docs/MODULES.md, "API keys"): stored with their secret
    // only as a hash; a revoked key is found by no lookup.
    /// Stores a new key with its grants in one transaction; `NotFound`
    /// when a grant's group is not the account's.
    async fn create_api_key(&self, new: &NewApiKey) -> Result<ApiKey, StoreError>;
    /// The account's live keys with their grants, oldest first.
    async fn api_keys_of(&self, account: AccountId) -> Result<Vec<ApiKey>, StoreError>;
    /// The live key whose secret hashes to `key_hash`, with its grants.
    async fn api_key_by_hash(&self, key_hash: &[u8]) -> Result<Option<ApiKey>, StoreError>;
    /// Revokes a live key of the account at once; `NotFound` for another
    /// account's, an unknown or an already revoked one.
    async fn revoke_api_key(&self, account: AccountId, id: ApiKeyId) -> Result<ApiKey, StoreError>;
    /// Records that the key was used now, unless a use was recorded within
    /// `every` (by any node).
    async fn touch_api_key(&self, id: ApiKeyId, every: Duration) -> Result<(), StoreError>;
    /// Every grant of the account's live keys (the access book's).
    async fn api_key_grants(
        &self,
        account: AccountId,
    ) -> Result<Vec<(ApiKeyId, Grant)>, StoreError>;

    // webhooks (docs/MODULES.md, "Webhooks")
    /// Whether any webhook is stored (their secrets are sealed with the
    /// server's key, which must then not be replaced).
    async fn webhook_secrets_exist(&self) -> Result<bool, StoreError>;
    async fn create_webhook(
        &self,
        account: AccountId,
        new: &crate::webhooks::NewWebhook,
    ) -> Result<crate::webhooks::Webhook, StoreError>;
    /// The account's webhooks, oldest first.
    async fn webhooks_of(
        &self,
        account: AccountId,
    ) -> Result<Vec<crate::webhooks::Webhook>, StoreError>;
    async fn webhook(
        &self,
        id: crate::ids::WebhookId,
    ) -> Result<Option<crate::webhooks::Webhook>, StoreError>;
    /// `NotFound` for a webhook of another account.
    async fn update_webhook(
        &self,
        account: AccountId,
        id: crate::ids::WebhookId,
        changes: &crate::webhooks::WebhookChanges,
    ) -> Result<crate::webhooks::Webhook, StoreError>;
    /// Deletes it with its deliveries; `NotFound` for one of another account.
    async fn delete_webhook(
        &self,
        account: AccountId,
        id: crate::ids::WebhookId,
    ) -> Result<(), StoreError>;
    /// The webhook's latest `limit` deliveries, newest first, each with its
    /// attempts (oldest first).
    async fn webhook_deliveries(
        &self,
        id: crate::ids::WebhookId,
        limit: u32,
    ) -> Result<Vec<crate::webhooks::Delivery>, StoreError>;
    /// Claims up to `limit` pending deliveries of active webhooks that are
    /// due, unclaimed (or whose claim lapsed), and have no earlier pending
    /// delivery of the same webhook and conversation, for `lease`.
    async fn claim_webhook_deliveries(
        &self,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<crate::webhooks::ClaimedDelivery>, StoreError>;
    /// Records a try of a claimed delivery and what follows it; nothing
    /// when the claim is no longer this sender's.
    async fn webhook_attempted(
        &self,
        delivery: &crate::webhooks::ClaimedDelivery,
        attempt: &crate::webhooks::Attempt,
        next: crate::webhooks::AttemptNext,
    ) -> Result<(), StoreError>;

    // Statistics (docs/MODULES.md, "Statistics").
    /// Messages of the account's `inboxes` stored within `window`, by
    /// direction.
    async fn statistics_messages(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: crate::statistics::Window,
    ) -> Result<crate::statistics::MessageCounts, StoreError>;
    /// Messages of the account's `inboxes` stored within `window`, by
    /// direction, per UTC day (days without any left out).
    async fn statistics_messages_by_day(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: crate::statistics::Window,
    ) -> Result<Vec<(chrono::NaiveDate, crate::statistics::MessageCounts)>, StoreError>;
    /// The same per inbox (inboxes without any are left out).
    async fn statistics_messages_by_inbox(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: crate::statistics::Window,
    ) -> Result<Vec<(InboxId, crate::statistics::MessageCounts)>, StoreError>;
    /// The messages each agent wrote there within `window` (agents without
    /// any are left out).
    async fn statistics_messages_by_agent(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: crate::statistics::Window,
    ) -> Result<Vec<(UserId, u64)>, StoreError>;
    /// The conversation spells of a bucket: those opened within its
    /// window with their first response times, those resolved within it
    /// with their resolution times.
    async fn statistics_spells(
        &self,
        account: AccountId,
        scope: &crate::statistics::BucketScope,
    ) -> Result<crate::statistics::SpellTally, StoreError>;
    /// Every agent's tally of [`statistics_spells`](Store::statistics_spells)
    /// for the account's `inboxes` within `window`, read in one pass: the
    /// first responses they wrote, the resolutions while assigned to them
    /// (agents with nothing counted left out).
    async fn statistics_spells_by_agent(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: crate::statistics::Window,
    ) -> Result<Vec<(UserId, crate::statistics::SpellTally)>, StoreError>;
}

/// What one node tells the others through the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClusterEvent {
    /// A message was stored.
    Message {
        conversation_id: ConversationId,
        message: Message,
    },
    /// Someone is typing.
    Typing {
        conversation_id: ConversationId,
        user_id: UserId,
    },
    /// A user's presence on the origin node changed (`present` false: gone).
    Member {
        conversation_id: ConversationId,
        user: UserRef,
        may_write: bool,
        present: bool,
    },
    /// The active role changed hands (granted, released, lapsed).
    Holder {
        conversation_id: ConversationId,
        holder: Option<UserRef>,
        epoch: u64,
        reason: Option<LockLostReason>,
    },
    /// A conversation's card changed (a message, a new answerer, an
    /// assignment): here is the new one.
    Summary { conversation: Box<Conversation> },
    /// An agent's routing state changed (load, availability, online).
    Agent { state: AgentState },
    /// An account's access changed (grants, roles, groups, an inbox's
    /// group): every node reads it again and enforces it.
    Access { account_id: AccountId },
    /// Login sessions of a user ended (logout, revocation, password
    /// change, deactivation, removal): every node closes the live
    /// connections opened with them.
    SessionsEnded {
        user_id: UserId,
        ended: EndedSessions,
    },
}

/// What a node listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Topic {
    Conversation(ConversationId),
    Account(AccountId),
    /// Access changes of every account, and ended login sessions: every
    /// node follows it, always.
    Access,
}

impl ClusterEvent {
    /// The topic an event is published on.
    pub fn topic(&self) -> Topic {
        match self {
            Self::Message {
                conversation_id, ..
            }
            | Self::Typing {
                conversation_id, ..
            }
            | Self::Member {
                conversation_id, ..
            }
            | Self::Holder {
                conversation_id, ..
            } => Topic::Conversation(*conversation_id),
            Self::Summary { conversation } => Topic::Account(conversation.account_id),
            Self::Agent { state } => Topic::Account(state.account_id),
            Self::Access { .. } | Self::SessionsEnded { .. } => Topic::Access,
        }
    }
}

/// An event with the node it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub origin: NodeId,
    pub event: ClusterEvent,
}

#[derive(Debug, Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
}

/// What a node receives from the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusDelivery {
    /// An event another node published on a topic this node follows.
    Event(Envelope),
    /// The bus was away and is back, subscriptions restored: events may
    /// have been missed meanwhile, so the node re-announces what it has and
    /// re-reads what others have.
    Reconnected,
}

/// Where a node receives what other nodes publish. It is called on the
/// bus's own task and must not block: hand the delivery over and return.
pub type BusSink = Arc<dyn Fn(BusDelivery) + Send + Sync>;

/// Fan-out between nodes, shared presence and node liveness. Redis never
/// decides who may write: that is the store's.
#[async_trait]
pub trait Bus: Send + Sync + std::fmt::Debug + 'static {
    /// `memory` or `redis`.
    fn backend(&self) -> &'static str;
    fn node_id(&self) -> NodeId;

    /// Where this node receives events published by the others (never its own).
    fn attach(&self, sink: BusSink);
    /// Start or stop receiving a topic's events.
    async fn set_interest(&self, topic: Topic, interested: bool) -> Result<(), BusError>;
    /// Send an event to every other node interested in its topic. Events of
    /// one topic from one node arrive in the order they were published.
    /// Publishing may batch: it returns once the event is queued for
    /// sending, and fails (without blocking) while the bus is away.
    async fn publish(&self, event: ClusterEvent) -> Result<(), BusError>;

    /// Record that `user` views `conversation` from this node (or no longer does).
    async fn set_present(
        &self,
        conversation: ConversationId,
        user: &UserRef,
        may_write: bool,
        present: bool,
    ) -> Result<(), BusError>;
    /// Everyone viewing `conversation` from any live node, with their node.
    async fn present(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<(NodeId, UserRef, bool)>, BusError>;
    /// Removes every presence record of `node` (declared dead by the others).
    /// [`Bus::present`] leaves out the records of nodes that are not live
    /// already, so this frees memory; it may do the work once however many
    /// nodes call it for the same node.
    async fn forget_node(&self, node: NodeId) -> Result<(), BusError>;

    /// Tell the others this node is alive.
    async fn heartbeat(&self) -> Result<(), BusError>;
    /// The nodes that heartbeated recently, this one included.
    async fn live_nodes(&self) -> Result<Vec<NodeId>, BusError>;
    /// Whether the bus answers (for `/readyz`).
    async fn ping(&self) -> Result<(), BusError>;
}
