//! Every method of the `Store` port, through the node's link: each is the
//! real store's own, called by [`StoreLink::call`] (which applies the
//! node's faults and the seeded latency). `append_outbound` is also
//! watched, for the single-writer invariant ([`StoreLink::append_watched`]),
//! and `set_grants` counted ([`SimStore::grant_writes`]).
//! A method added to the port is a compile error here until it is added.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::StoreError;
use switchboard_core::access::{AccountAccess, CustomRole, Grant};
use switchboard_core::api_keys::{ApiKey, NewApiKey};
use switchboard_core::audit::{AuditEntry, NewAuditEntry};
use switchboard_core::contacts::{ContactCard, ContactQuery};
use switchboard_core::folders::{Folder, FolderFilter};
use switchboard_core::ids::{
    AccountId, ApiKeyId, ContactId, ConversationId, CustomRoleId, FolderId, GroupId, InboxId,
    InvitationId, NodeId, TeamId, TemplateId, UserId,
};
use switchboard_core::input::Name;
use switchboard_core::invitations::{
    Acceptance, ClaimedMail, Invitation, InvitationStatus, NewInvitations, NewMail, Seats,
};
use switchboard_core::lifecycle::{LoginSession, TokenHash, UserEnded};
use switchboard_core::model::{
    Account, Acquired, AgentState, Appended, AssignmentRecord, Availability, Conversation,
    ConversationFilter, Group, Inbound, Inbox, LockState, ManualAssignment, Message, NewAccount,
    NewInbound, NewInbox, NewOutbound, NewUser, Routed, Team, User,
};
use switchboard_core::permissions::Role;
use switchboard_core::ports::Store;
use switchboard_core::templates::{Template, TemplateFields};
use switchboard_core::two_factor::{Reservation, ThrottlePolicy, TwoFactorRecord};
use uuid::Uuid;

use super::StoreLink;

#[async_trait]
impl Store for StoreLink {
    fn backend(&self) -> &'static str {
        self.shared.inner().backend()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.call(self.shared.inner().ping()).await
    }

    async fn create_account(&self, new: NewAccount<'_>) -> Result<(Account, User), StoreError> {
        self.call(self.shared.inner().create_account(new)).await
    }

    async fn create_first_account(
        &self,
        new: NewAccount<'_>,
    ) -> Result<Option<(Account, User)>, StoreError> {
        self.call(self.shared.inner().create_first_account(new))
            .await
    }

    async fn has_accounts(&self) -> Result<bool, StoreError> {
        self.call(self.shared.inner().has_accounts()).await
    }

    async fn create_user(&self, new: NewUser<'_>) -> Result<User, StoreError> {
        self.call(self.shared.inner().create_user(new)).await
    }

    async fn create_inbox(&self, new: NewInbox<'_>) -> Result<Inbox, StoreError> {
        self.call(self.shared.inner().create_inbox(new)).await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.call(self.shared.inner().accounts()).await
    }

    async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.call(self.shared.inner().account(id)).await
    }

    async fn users_of(&self, account: AccountId) -> Result<Vec<User>, StoreError> {
        self.call(self.shared.inner().users_of(account)).await
    }

    async fn inboxes_of(&self, account: AccountId) -> Result<Vec<Inbox>, StoreError> {
        self.call(self.shared.inner().inboxes_of(account)).await
    }

    async fn account_access(&self, account: AccountId) -> Result<AccountAccess, StoreError> {
        self.call(self.shared.inner().account_access(account)).await
    }

    async fn grants_of(&self, user: UserId) -> Result<Vec<Grant>, StoreError> {
        self.call(self.shared.inner().grants_of(user)).await
    }

    async fn set_grants(&self, user: UserId, grants: &[Grant]) -> Result<(), StoreError> {
        let noted = |_: &Result<(), StoreError>| self.shared.state.lock().grant_writes += 1;
        self.call_noting(self.shared.inner().set_grants(user, grants), noted)
            .await
    }

    async fn account_grants(&self, account: AccountId) -> Result<Vec<(UserId, Grant)>, StoreError> {
        self.call(self.shared.inner().account_grants(account)).await
    }

    async fn groups_of(&self, account: AccountId) -> Result<Vec<Group>, StoreError> {
        self.call(self.shared.inner().groups_of(account)).await
    }

    async fn create_group(
        &self,
        account: AccountId,
        name: &Name,
        parent: GroupId,
    ) -> Result<Group, StoreError> {
        self.call(self.shared.inner().create_group(account, name, parent))
            .await
    }

    async fn rename_group(
        &self,
        account: AccountId,
        group: GroupId,
        name: &Name,
    ) -> Result<Group, StoreError> {
        self.call(self.shared.inner().rename_group(account, group, name))
            .await
    }

    async fn move_group(
        &self,
        account: AccountId,
        group: GroupId,
        parent: GroupId,
    ) -> Result<Group, StoreError> {
        self.call(self.shared.inner().move_group(account, group, parent))
            .await
    }

    async fn delete_group(&self, account: AccountId, group: GroupId) -> Result<(), StoreError> {
        self.call(self.shared.inner().delete_group(account, group))
            .await
    }

    async fn create_custom_role(
        &self,
        account: AccountId,
        role: &CustomRole,
    ) -> Result<CustomRoleId, StoreError> {
        self.call(self.shared.inner().create_custom_role(account, role))
            .await
    }

    async fn edit_custom_role(
        &self,
        account: AccountId,
        id: CustomRoleId,
        role: &CustomRole,
    ) -> Result<(), StoreError> {
        self.call(self.shared.inner().edit_custom_role(account, id, role))
            .await
    }

    async fn delete_custom_role(
        &self,
        account: AccountId,
        id: CustomRoleId,
    ) -> Result<(), StoreError> {
        self.call(self.shared.inner().delete_custom_role(account, id))
            .await
    }

    async fn set_inbox_group(&self, inbox: InboxId, group: GroupId) -> Result<Inbox, StoreError> {
        self.call(self.shared.inner().set_inbox_group(inbox, group))
            .await
    }

    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError> {
        self.call(self.shared.inner().record_audit(entry)).await
    }

    async fn audit_of(
        &self,
        account: AccountId,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.call(self.shared.inner().audit_of(account, before, limit))
            .await
    }

    async fn create_template(
        &self,
        account: AccountId,
        fields: &TemplateFields,
    ) -> Result<Template, StoreError> {
        self.call(self.shared.inner().create_template(account, fields))
            .await
    }

    async fn update_template(
        &self,
        account: AccountId,
        id: TemplateId,
        fields: &TemplateFields,
    ) -> Result<Template, StoreError> {
        self.call(self.shared.inner().update_template(account, id, fields))
            .await
    }

    async fn delete_template(&self, account: AccountId, id: TemplateId) -> Result<(), StoreError> {
        self.call(self.shared.inner().delete_template(account, id))
            .await
    }

    async fn templates_of(&self, account: AccountId) -> Result<Vec<Template>, StoreError> {
        self.call(self.shared.inner().templates_of(account)).await
    }

    async fn template(&self, id: TemplateId) -> Result<Option<Template>, StoreError> {
        self.call(self.shared.inner().template(id)).await
    }

    async fn create_folder(&self, folder: &Folder, max: u32) -> Result<Option<Folder>, StoreError> {
        self.call(self.shared.inner().create_folder(folder, max))
            .await
    }

    async fn update_folder(
        &self,
        user: UserId,
        id: FolderId,
        name: &str,
        filter: &FolderFilter,
    ) -> Result<Folder, StoreError> {
        self.call(self.shared.inner().update_folder(user, id, name, filter))
            .await
    }

    async fn delete_folder(&self, user: UserId, id: FolderId) -> Result<(), StoreError> {
        self.call(self.shared.inner().delete_folder(user, id)).await
    }

    async fn folders_of(&self, user: UserId) -> Result<Vec<Folder>, StoreError> {
        self.call(self.shared.inner().folders_of(user)).await
    }

    async fn folder(&self, id: FolderId) -> Result<Option<Folder>, StoreError> {
        self.call(self.shared.inner().folder(id)).await
    }

    async fn folder_conversations(
        &self,
        access: &switchboard_core::access::ConversationFilter,
        filter: &FolderFilter,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        self.call(
            self.shared
                .inner()
                .folder_conversations(access, filter, limit),
        )
        .await
    }

    async fn team_inboxes(&self, team: TeamId) -> Result<Vec<InboxId>, StoreError> {
        self.call(self.shared.inner().team_inboxes(team)).await
    }

    async fn folder_open_count(
        &self,
        access: &switchboard_core::access::ConversationFilter,
        filter: &FolderFilter,
    ) -> Result<u64, StoreError> {
        self.call(self.shared.inner().folder_open_count(access, filter))
            .await
    }

    async fn create_invitations(
        &self,
        new: &NewInvitations,
    ) -> Result<Vec<Invitation>, StoreError> {
        self.call(self.shared.inner().create_invitations(new)).await
    }

    async fn invitations_of(
        &self,
        account: AccountId,
        status: Option<InvitationStatus>,
    ) -> Result<Vec<Invitation>, StoreError> {
        self.call(self.shared.inner().invitations_of(account, status))
            .await
    }

    async fn invitation(&self, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        self.call(self.shared.inner().invitation(id)).await
    }

    async fn invitation_by_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<Invitation>, StoreError> {
        self.call(self.shared.inner().invitation_by_token(token_hash))
            .await
    }

    async fn resend_invitation(
        &self,
        id: InvitationId,
        token_hash: &[u8],
        ttl: Duration,
        mail: &NewMail,
    ) -> Result<Invitation, StoreError> {
        self.call(
            self.shared
                .inner()
                .resend_invitation(id, token_hash, ttl, mail),
        )
        .await
    }

    async fn revoke_invitation(&self, id: InvitationId) -> Result<Invitation, StoreError> {
        self.call(self.shared.inner().revoke_invitation(id)).await
    }

    async fn accept_invitation(
        &self,
        acceptance: &Acceptance,
        role: Role,
    ) -> Result<(Invitation, User), StoreError> {
        self.call(self.shared.inner().accept_invitation(acceptance, role))
            .await
    }

    async fn seats(&self, account: AccountId) -> Result<Seats, StoreError> {
        self.call(self.shared.inner().seats(account)).await
    }

    async fn set_seat_limit(
        &self,
        account: AccountId,
        limit: Option<u32>,
    ) -> Result<Seats, StoreError> {
        self.call(self.shared.inner().set_seat_limit(account, limit))
            .await
    }

    async fn claim_mails(
        &self,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, StoreError> {
        self.call(self.shared.inner().claim_mails(lease, limit))
            .await
    }

    async fn mail_sent(&self, mail: &ClaimedMail) -> Result<(), StoreError> {
        self.call(self.shared.inner().mail_sent(mail)).await
    }

    async fn mail_failed(
        &self,
        mail: &ClaimedMail,
        error: &str,
        retry_in: Option<Duration>,
    ) -> Result<(), StoreError> {
        self.call(self.shared.inner().mail_failed(mail, error, retry_in))
            .await
    }

    async fn search_contacts(
        &self,
        account: AccountId,
        groups: &BTreeSet<GroupId>,
        query: Option<&ContactQuery>,
        before: Option<ContactId>,
        limit: u32,
    ) -> Result<Vec<ContactCard>, StoreError> {
        self.call(
            self.shared
                .inner()
                .search_contacts(account, groups, query, before, limit),
        )
        .await
    }

    async fn contact(&self, id: ContactId) -> Result<Option<ContactCard>, StoreError> {
        self.call(self.shared.inner().contact(id)).await
    }

    async fn contact_groups(&self, id: ContactId) -> Result<Vec<GroupId>, StoreError> {
        self.call(self.shared.inner().contact_groups(id)).await
    }

    async fn contact_conversations(
        &self,
        id: ContactId,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        self.call(self.shared.inner().contact_conversations(id, limit))
            .await
    }

    async fn update_contact(
        &self,
        account: AccountId,
        id: ContactId,
        name: Option<Option<&str>>,
        notes: Option<Option<&str>>,
    ) -> Result<ContactCard, StoreError> {
        self.call(self.shared.inner().update_contact(account, id, name, notes))
            .await
    }

    async fn rename_inbox(&self, inbox: InboxId, name: &Name) -> Result<Inbox, StoreError> {
        self.call(self.shared.inner().rename_inbox(inbox, name))
            .await
    }

    async fn access_stamps(&self) -> Result<Vec<(AccountId, u64)>, StoreError> {
        self.call(self.shared.inner().access_stamps()).await
    }

    async fn two_factor_secrets_exist(&self) -> Result<bool, StoreError> {
        self.call(self.shared.inner().two_factor_secrets_exist())
            .await
    }

    async fn access_stamp(&self, account: AccountId) -> Result<u64, StoreError> {
        self.call(self.shared.inner().access_stamp(account)).await
    }

    async fn rename_user(&self, user: UserId, name: &Name) -> Result<User, StoreError> {
        self.call(self.shared.inner().rename_user(user, name)).await
    }

    async fn set_password(&self, user: UserId, password_hash: &str) -> Result<(), StoreError> {
        self.call(self.shared.inner().set_password(user, password_hash))
            .await
    }

    async fn deactivate_user(&self, user: UserId) -> Result<UserEnded, StoreError> {
        self.call(self.shared.inner().deactivate_user(user)).await
    }

    async fn reactivate_user(&self, user: UserId) -> Result<User, StoreError> {
        self.call(self.shared.inner().reactivate_user(user)).await
    }

    async fn remove_user(&self, user: UserId) -> Result<UserEnded, StoreError> {
        self.call(self.shared.inner().remove_user(user)).await
    }

    async fn transfer_ownership(
        &self,
        account: AccountId,
        from: UserId,
        to: UserId,
    ) -> Result<(), StoreError> {
        self.call(self.shared.inner().transfer_ownership(account, from, to))
            .await
    }

    async fn login_sessions_of(&self, user: UserId) -> Result<Vec<LoginSession>, StoreError> {
        self.call(self.shared.inner().login_sessions_of(user)).await
    }

    async fn end_login_session(
        &self,
        user: UserId,
        id: Uuid,
    ) -> Result<Option<TokenHash>, StoreError> {
        self.call(self.shared.inner().end_login_session(user, id))
            .await
    }

    async fn change_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep: &TokenHash,
    ) -> Result<(), StoreError> {
        self.call(
            self.shared
                .inner()
                .change_password(user, password_hash, keep),
        )
        .await
    }

    async fn live_sessions(
        &self,
        token_hashes: &[TokenHash],
    ) -> Result<Vec<(TokenHash, DateTime<Utc>)>, StoreError> {
        self.call(self.shared.inner().live_sessions(token_hashes))
            .await
    }

    async fn set_inbox_key(&self, inbox: InboxId, key_hash: &[u8]) -> Result<Inbox, StoreError> {
        self.call(self.shared.inner().set_inbox_key(inbox, key_hash))
            .await
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.call(self.shared.inner().user(id)).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        self.call(self.shared.inner().user_by_email(email)).await
    }

    async fn create_login_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.call(
            self.shared
                .inner()
                .create_login_session(token_hash, user, expires_at),
        )
        .await
    }

    async fn create_verified_login_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        password_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.call(self.shared.inner().create_verified_login_session(
            token_hash,
            user,
            password_hash,
            expires_at,
        ))
        .await
    }

    async fn login_session_user(&self, token_hash: &[u8]) -> Result<Option<User>, StoreError> {
        self.call(self.shared.inner().login_session_user(token_hash))
            .await
    }

    async fn delete_login_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        self.call(self.shared.inner().delete_login_session(token_hash))
            .await
    }

    async fn create_ws_ticket(
        &self,
        ticket_hash: &[u8],
        session_hash: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.call(
            self.shared
                .inner()
                .create_ws_ticket(ticket_hash, session_hash, ttl),
        )
        .await
    }

    async fn consume_ws_ticket(&self, ticket_hash: &[u8]) -> Result<Option<TokenHash>, StoreError> {
        self.call(self.shared.inner().consume_ws_ticket(ticket_hash))
            .await
    }

    async fn prune_ws_tickets(&self, limit: u32) -> Result<u64, StoreError> {
        self.call(self.shared.inner().prune_ws_tickets(limit)).await
    }

    async fn two_factor(&self, user: UserId) -> Result<Option<TwoFactorRecord>, StoreError> {
        self.call(self.shared.inner().two_factor(user)).await
    }

    async fn begin_two_factor(&self, user: UserId, sealed_secret: &str) -> Result<(), StoreError> {
        self.call(self.shared.inner().begin_two_factor(user, sealed_secret))
            .await
    }

    async fn confirm_two_factor(
        &self,
        user: UserId,
        sealed_secret: &str,
        step: i64,
        backup_code_hashes: &[[u8; 32]],
    ) -> Result<bool, StoreError> {
        self.call(self.shared.inner().confirm_two_factor(
            user,
            sealed_secret,
            step,
            backup_code_hashes,
        ))
        .await
    }

    async fn disable_two_factor(&self, user: UserId) -> Result<bool, StoreError> {
        self.call(self.shared.inner().disable_two_factor(user))
            .await
    }

    async fn claim_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        self.call(self.shared.inner().claim_totp_step(user, step))
            .await
    }

    async fn use_backup_code(
        &self,
        user: UserId,
        code_hash: &[u8; 32],
    ) -> Result<bool, StoreError> {
        self.call(self.shared.inner().use_backup_code(user, code_hash))
            .await
    }

    async fn two_factor_required(&self, account: AccountId) -> Result<bool, StoreError> {
        self.call(self.shared.inner().two_factor_required(account))
            .await
    }

    async fn set_two_factor_required(
        &self,
        account: AccountId,
        required: bool,
    ) -> Result<bool, StoreError> {
        self.call(
            self.shared
                .inner()
                .set_two_factor_required(account, required),
        )
        .await
    }

    async fn must_enroll_two_factor(&self, user: UserId) -> Result<bool, StoreError> {
        self.call(self.shared.inner().must_enroll_two_factor(user))
            .await
    }

    async fn reserve_login_attempt(
        &self,
        attempt: Uuid,
        keys: &[String],
        policy: ThrottlePolicy,
    ) -> Result<Reservation, StoreError> {
        self.call(
            self.shared
                .inner()
                .reserve_login_attempt(attempt, keys, policy),
        )
        .await
    }

    async fn release_login_attempt(&self, attempt: Uuid) -> Result<(), StoreError> {
        self.call(self.shared.inner().release_login_attempt(attempt))
            .await
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        self.call(self.shared.inner().clear_login_failures(key))
            .await
    }

    async fn inbox(&self, id: InboxId) -> Result<Option<Inbox>, StoreError> {
        self.call(self.shared.inner().inbox(id)).await
    }

    async fn inbox_by_key(&self, key_hash: &[u8]) -> Result<Option<Inbox>, StoreError> {
        self.call(self.shared.inner().inbox_by_key(key_hash)).await
    }

    async fn record_inbound(&self, new: NewInbound<'_>) -> Result<Inbound, StoreError> {
        self.call(self.shared.inner().record_inbound(new)).await
    }

    async fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        self.call(self.shared.inner().conversation(id)).await
    }

    async fn conversations(
        &self,
        filter: ConversationFilter,
    ) -> Result<Vec<Conversation>, StoreError> {
        self.call(self.shared.inner().conversations(filter)).await
    }

    async fn admitted_conversations(
        &self,
        filter: &switchboard_core::access::ConversationFilter,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        self.call(self.shared.inner().admitted_conversations(filter, limit))
            .await
    }

    async fn messages_after(
        &self,
        conversation: ConversationId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        self.call(
            self.shared
                .inner()
                .messages_after(conversation, after_seq, limit),
        )
        .await
    }

    async fn recent_messages(
        &self,
        conversation: ConversationId,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        self.call(self.shared.inner().recent_messages(conversation, limit))
            .await
    }

    async fn acquire_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        node: NodeId,
        force: bool,
        lease: Duration,
    ) -> Result<Acquired, StoreError> {
        self.call(
            self.shared
                .inner()
                .acquire_lock(conversation, user, node, force, lease),
        )
        .await
    }

    async fn release_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        epoch: u64,
    ) -> Result<bool, StoreError> {
        self.call(self.shared.inner().release_lock(conversation, user, epoch))
            .await
    }

    async fn renew_locks(
        &self,
        node: NodeId,
        lease: Duration,
    ) -> Result<Vec<(ConversationId, u64)>, StoreError> {
        self.call(self.shared.inner().renew_locks(node, lease))
            .await
    }

    async fn release_node_locks(&self, node: NodeId) -> Result<Vec<ConversationId>, StoreError> {
        self.call(self.shared.inner().release_node_locks(node))
            .await
    }

    async fn release_locks_except(&self, keep: NodeId) -> Result<u64, StoreError> {
        self.call(self.shared.inner().release_locks_except(keep))
            .await
    }

    async fn lock_state(&self, conversation: ConversationId) -> Result<LockState, StoreError> {
        self.call(self.shared.inner().lock_state(conversation))
            .await
    }

    async fn lock_states(
        &self,
        conversations: &[ConversationId],
    ) -> Result<Vec<(ConversationId, LockState)>, StoreError> {
        self.call(self.shared.inner().lock_states(conversations))
            .await
    }

    async fn append_outbound(&self, new: NewOutbound<'_>) -> Result<Appended, StoreError> {
        self.append_watched(new).await
    }

    async fn create_team(
        &self,
        account: AccountId,
        name: &str,
        members: &[UserId],
    ) -> Result<Team, StoreError> {
        self.call(self.shared.inner().create_team(account, name, members))
            .await
    }

    async fn teams(&self, account: AccountId) -> Result<Vec<Team>, StoreError> {
        self.call(self.shared.inner().teams(account)).await
    }

    async fn set_team_members(
        &self,
        team: TeamId,
        members: &[UserId],
    ) -> Result<(Team, Routed), StoreError> {
        self.call(self.shared.inner().set_team_members(team, members))
            .await
    }

    async fn delete_team(&self, team: TeamId) -> Result<Routed, StoreError> {
        self.call(self.shared.inner().delete_team(team)).await
    }

    async fn set_inbox_team(
        &self,
        inbox: InboxId,
        team: Option<TeamId>,
    ) -> Result<Routed, StoreError> {
        self.call(self.shared.inner().set_inbox_team(inbox, team))
            .await
    }

    async fn agent(&self, user: UserId) -> Result<Option<AgentState>, StoreError> {
        self.call(self.shared.inner().agent(user)).await
    }

    async fn agents(&self, account: AccountId) -> Result<Vec<AgentState>, StoreError> {
        self.call(self.shared.inner().agents(account)).await
    }

    async fn set_capacity(&self, user: UserId, capacity: u32) -> Result<Routed, StoreError> {
        self.call(self.shared.inner().set_capacity(user, capacity))
            .await
    }

    async fn set_availability(
        &self,
        user: UserId,
        availability: Availability,
    ) -> Result<Routed, StoreError> {
        self.call(self.shared.inner().set_availability(user, availability))
            .await
    }

    async fn set_online(
        &self,
        user: UserId,
        node: NodeId,
        online: bool,
    ) -> Result<Routed, StoreError> {
        self.call(self.shared.inner().set_online(user, node, online))
            .await
    }

    async fn forget_node_agents(&self, node: NodeId) -> Result<Routed, StoreError> {
        self.call(self.shared.inner().forget_node_agents(node))
            .await
    }

    async fn forget_agents_except(&self, keep: NodeId) -> Result<Routed, StoreError> {
        self.call(self.shared.inner().forget_agents_except(keep))
            .await
    }

    async fn auto_assign(&self, conversation: ConversationId) -> Result<Routed, StoreError> {
        self.call(self.shared.inner().auto_assign(conversation))
            .await
    }

    async fn assign(&self, request: ManualAssignment) -> Result<Routed, StoreError> {
        self.call(self.shared.inner().assign(request)).await
    }

    async fn unassign(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        self.call(self.shared.inner().unassign(conversation, actor))
            .await
    }

    async fn resolve(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        self.call(self.shared.inner().resolve(conversation, actor))
            .await
    }

    async fn reopen(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        self.call(self.shared.inner().reopen(conversation, actor))
            .await
    }

    async fn requeue_offline(&self, offline_for: Duration) -> Result<Routed, StoreError> {
        self.call(self.shared.inner().requeue_offline(offline_for))
            .await
    }

    async fn assignment_log(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        self.call(self.shared.inner().assignment_log(conversation))
            .await
    }

    async fn create_api_key(&self, new: &NewApiKey) -> Result<ApiKey, StoreError> {
        self.call(self.shared.inner().create_api_key(new)).await
    }

    async fn api_keys_of(&self, account: AccountId) -> Result<Vec<ApiKey>, StoreError> {
        self.call(self.shared.inner().api_keys_of(account)).await
    }

    async fn api_key_by_hash(&self, key_hash: &[u8]) -> Result<Option<ApiKey>, StoreError> {
        self.call(self.shared.inner().api_key_by_hash(key_hash))
            .await
    }

    async fn revoke_api_key(&self, account: AccountId, id: ApiKeyId) -> Result<ApiKey, StoreError> {
        self.call(self.shared.inner().revoke_api_key(account, id))
            .await
    }

    async fn touch_api_key(&self, id: ApiKeyId, every: Duration) -> Result<(), StoreError> {
        self.call(self.shared.inner().touch_api_key(id, every))
            .await
    }

    async fn api_key_grants(
        &self,
        account: AccountId,
    ) -> Result<Vec<(ApiKeyId, Grant)>, StoreError> {
        self.call(self.shared.inner().api_key_grants(account)).await
    }

    async fn webhook_secrets_exist(&self) -> Result<bool, StoreError> {
        self.call(self.shared.inner().webhook_secrets_exist()).await
    }

    async fn create_webhook(
        &self,
        account: AccountId,
        new: &switchboard_core::webhooks::NewWebhook,
    ) -> Result<switchboard_core::webhooks::Webhook, StoreError> {
        self.call(self.shared.inner().create_webhook(account, new))
            .await
    }

    async fn webhooks_of(
        &self,
        account: AccountId,
    ) -> Result<Vec<switchboard_core::webhooks::Webhook>, StoreError> {
        self.call(self.shared.inner().webhooks_of(account)).await
    }

    async fn webhook(
        &self,
        id: switchboard_core::ids::WebhookId,
    ) -> Result<Option<switchboard_core::webhooks::Webhook>, StoreError> {
        self.call(self.shared.inner().webhook(id)).await
    }

    async fn update_webhook(
        &self,
        account: AccountId,
        id: switchboard_core::ids::WebhookId,
        changes: &switchboard_core::webhooks::WebhookChanges,
    ) -> Result<switchboard_core::webhooks::Webhook, StoreError> {
        self.call(self.shared.inner().update_webhook(account, id, changes))
            .await
    }

    async fn delete_webhook(
        &self,
        account: AccountId,
        id: switchboard_core::ids::WebhookId,
    ) -> Result<(), StoreError> {
        self.call(self.shared.inner().delete_webhook(account, id))
            .await
    }

    async fn webhook_deliveries(
        &self,
        id: switchboard_core::ids::WebhookId,
        limit: u32,
    ) -> Result<Vec<switchboard_core::webhooks::Delivery>, StoreError> {
        self.call(self.shared.inner().webhook_deliveries(id, limit))
            .await
    }

    async fn claim_webhook_deliveries(
        &self,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<switchboard_core::webhooks::ClaimedDelivery>, StoreError> {
        self.call(self.shared.inner().claim_webhook_deliveries(lease, limit))
            .await
    }

    async fn webhook_attempted(
        &self,
        delivery: &switchboard_core::webhooks::ClaimedDelivery,
        attempt: &switchboard_core::webhooks::Attempt,
        next: switchboard_core::webhooks::AttemptNext,
    ) -> Result<(), StoreError> {
        self.call(
            self.shared
                .inner()
                .webhook_attempted(delivery, attempt, next),
        )
        .await
    }

    async fn statistics_messages(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: switchboard_core::statistics::Window,
    ) -> Result<switchboard_core::statistics::MessageCounts, StoreError> {
        self.call(
            self.shared
                .inner()
                .statistics_messages(account, inboxes, window),
        )
        .await
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
        self.call(
            self.shared
                .inner()
                .statistics_messages_by_day(account, inboxes, window),
        )
        .await
    }

    async fn statistics_messages_by_inbox(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: switchboard_core::statistics::Window,
    ) -> Result<Vec<(InboxId, switchboard_core::statistics::MessageCounts)>, StoreError> {
        self.call(
            self.shared
                .inner()
                .statistics_messages_by_inbox(account, inboxes, window),
        )
        .await
    }

    async fn statistics_messages_by_agent(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: switchboard_core::statistics::Window,
    ) -> Result<Vec<(UserId, u64)>, StoreError> {
        self.call(
            self.shared
                .inner()
                .statistics_messages_by_agent(account, inboxes, window),
        )
        .await
    }

    async fn statistics_spells(
        &self,
        account: AccountId,
        scope: &switchboard_core::statistics::BucketScope,
    ) -> Result<switchboard_core::statistics::SpellTally, StoreError> {
        self.call(self.shared.inner().statistics_spells(account, scope))
            .await
    }

    async fn statistics_spells_by_agent(
        &self,
        account: AccountId,
        inboxes: &BTreeSet<InboxId>,
        window: switchboard_core::statistics::Window,
    ) -> Result<Vec<(UserId, switchboard_core::statistics::SpellTally)>, StoreError> {
        self.call(
            self.shared
                .inner()
                .statistics_spells_by_agent(account, inboxes, window),
        )
        .await
    }
}
