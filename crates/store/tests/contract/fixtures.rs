//! Typed helpers so each test reads like a scenario.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::Role;
use switchboard_core::ids::{AccountId, ConversationId, GroupId, NodeId, UserId};
use switchboard_core::input::Name;
use switchboard_core::model::{
    Account, Acquired, Appended, AssignmentKind, Conversation, ConversationFilter, Inbound, Inbox,
    LockState, NewAccount, NewInbound, NewInbox, NewOutbound, NewUser, Routed, User,
};
use switchboard_store::{ManualClock, Store, StoreError};

/// Long enough never to lapse during a test.
pub const LEASE: Duration = Duration::from_secs(60);
/// A lease a test lets lapse: by moving the manual clock past it, or, on
/// the backend's own clock, by waiting for it.
pub const SHORT_LEASE: Duration = Duration::from_millis(300);

pub const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

/// An account with its owner and one inbox.
#[derive(Debug)]
pub struct Tenant {
    pub account: Account,
    pub owner: User,
    pub inbox: Inbox,
}

pub async fn tenant(store: &Arc<dyn Store>, name: &str) -> Tenant {
    let (account, owner) = store
        .create_account(NewAccount {
            name,
            owner_email: &format!("owner@{name}.example"),
            owner_name: &format!("{name} owner"),
            owner_password_hash: HASH,
        })
        .await
        .expect("create account");
    let inbox = inbox(store, &account, &format!("{name}-sms")).await;
    Tenant {
        account,
        owner,
        inbox,
    }
}

pub async fn inbox(store: &Arc<dyn Store>, account: &Account, name: &str) -> Inbox {
    store
        .create_inbox(NewInbox {
            account_id: account.id,
            name,
            channel: "sms",
            key_hash: name.as_bytes(),
        })
        .await
        .expect("create inbox")
}

/// An operator of the tenant's account.
pub async fn agent(store: &Arc<dyn Store>, tenant: &Tenant, name: &str) -> User {
    store
        .create_user(NewUser {
            account_id: tenant.account.id,
            email: &format!("{name}@{}.example", tenant.account.name),
            name,
            password_hash: HASH,
            role: Role::Operator,
            capacity: 3,
        })
        .await
        .expect("create user")
}

/// A customer writes to the tenant's inbox.
pub async fn inbound(store: &Arc<dyn Store>, inbox: &Inbox, handle: &str, body: &str) -> Inbound {
    store
        .record_inbound(NewInbound {
            inbox_id: inbox.id,
            handle,
            contact_name: None,
            body,
        })
        .await
        .expect("record inbound")
}

/// A conversation with one inbound message.
pub async fn conversation(store: &Arc<dyn Store>, tenant: &Tenant, handle: &str) -> ConversationId {
    inbound(store, &tenant.inbox, handle, "hello")
        .await
        .conversation
        .id
}

/// Acquires the role and insists it was granted; returns the epoch.
pub async fn grant(
    store: &Arc<dyn Store>,
    conversation: ConversationId,
    user: UserId,
    node: NodeId,
    force: bool,
    lease: Duration,
) -> u64 {
    match store
        .acquire_lock(conversation, user, node, force, lease)
        .await
        .expect("acquire lock")
    {
        Acquired::Granted { epoch } => epoch,
        held => panic!("expected a grant, got {held:?}"),
    }
}

pub async fn append(
    store: &Arc<dyn Store>,
    conversation: ConversationId,
    author: UserId,
    epoch: u64,
    client_msg_id: &str,
) -> Result<Appended, StoreError> {
    store
        .append_outbound(NewOutbound {
            conversation_id: conversation,
            author,
            epoch,
            client_msg_id,
            body: &format!("reply {client_msg_id}"),
        })
        .await
}

pub async fn last_seq(store: &Arc<dyn Store>, conversation: ConversationId) -> u64 {
    store
        .conversation(conversation)
        .await
        .expect("read conversation")
        .expect("conversation exists")
        .last_seq
}

pub async fn seqs(store: &Arc<dyn Store>, conversation: ConversationId) -> Vec<u64> {
    store
        .messages_after(conversation, 0, 500)
        .await
        .expect("read messages")
        .iter()
        .map(|m| m.seq)
        .collect()
}

/// Waits (polling, with a deadline) until nobody holds a valid lease: for
/// a store on the backend's own clock, where real time is the point.
pub async fn wait_lapsed(store: &Arc<dyn Store>, conversation: ConversationId) -> LockState {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let state = store.lock_state(conversation).await.expect("lock state");
        if state.holder.is_none() {
            return state;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "lease did not lapse in time: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Moves the store's clock to the next millisecond, so that the times it
/// records next (millisecond precision) differ from those before.
pub fn next_millisecond(clock: &ManualClock) {
    clock.advance(Duration::from_millis(1));
}

/// An operator of the tenant's account with this capacity.
pub async fn agent_with(
    store: &Arc<dyn Store>,
    tenant: &Tenant,
    name: &str,
    capacity: u32,
) -> User {
    let user = agent(store, tenant, name).await;
    store
        .set_capacity(user.id, capacity)
        .await
        .expect("set capacity");
    User { capacity, ..user }
}

/// An agent with a console open on `node` (online).
pub async fn online(store: &Arc<dyn Store>, user: &User, node: NodeId) -> Routed {
    store
        .set_online(user.id, node, true)
        .await
        .expect("set online")
}

/// The conversation as stored now.
pub async fn read(store: &Arc<dyn Store>, conversation: ConversationId) -> Conversation {
    store
        .conversation(conversation)
        .await
        .expect("read conversation")
        .expect("conversation exists")
}

pub async fn assignee(store: &Arc<dyn Store>, conversation: ConversationId) -> Option<UserId> {
    read(store, conversation).await.assignee.map(|a| a.id)
}

pub async fn position(store: &Arc<dyn Store>, conversation: ConversationId) -> Option<u64> {
    read(store, conversation).await.queue_position
}

pub async fn load(store: &Arc<dyn Store>, user: &User) -> u32 {
    store
        .agent(user.id)
        .await
        .expect("read agent")
        .expect("is an agent")
        .load
}

/// Every conversation of the account.
pub async fn all_conversations(store: &Arc<dyn Store>, account: AccountId) -> Vec<Conversation> {
    store
        .conversations(ConversationFilter {
            account_id: account,
            assignee: None,
            limit: 100_000,
        })
        .await
        .expect("list conversations")
}

/// The account's queue, first in line first.
pub async fn queue(store: &Arc<dyn Store>, account: AccountId) -> Vec<ConversationId> {
    let mut queued: Vec<(u64, ConversationId)> = all_conversations(store, account)
        .await
        .into_iter()
        .filter_map(|c| c.queue_position.map(|p| (p, c.id)))
        .collect();
    queued.sort_unstable();
    let positions: Vec<u64> = queued.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        positions,
        (1..=queued.len() as u64).collect::<Vec<_>>(),
        "queue positions are 1..=n"
    );
    queued.into_iter().map(|(_, id)| id).collect()
}

/// The kinds of a conversation's assignment history, oldest first.
pub async fn history(
    store: &Arc<dyn Store>,
    conversation: ConversationId,
) -> Vec<(AssignmentKind, Option<UserId>, Option<UserId>)> {
    store
        .assignment_log(conversation)
        .await
        .expect("read assignment log")
        .into_iter()
        .map(|r| (r.kind, r.assignee, r.actor))
        .collect()
}

/// The ids of the conversations a routing operation reports.
pub fn routed_ids(routed: &Routed) -> Vec<ConversationId> {
    routed.conversations.iter().map(|c| c.id).collect()
}

pub fn name(text: &str) -> Name {
    Name::parse("name", text).expect("name")
}

/// The tenant's root group.
pub async fn root_of(store: &Arc<dyn Store>, t: &Tenant) -> GroupId {
    store
        .account_access(t.account.id)
        .await
        .expect("access")
        .groups
        .root()
}

/// A new group of the tenant under `parent`.
pub async fn group(store: &Arc<dyn Store>, t: &Tenant, text: &str, parent: GroupId) -> GroupId {
    let made = store.create_group(t.account.id, &name(text), parent).await;
    made.expect("create group").id
}
