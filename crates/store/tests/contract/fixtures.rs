//! Typed helpers so each test reads like a scenario.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::Role;
use switchboard_core::ids::{ConversationId, NodeId, UserId};
use switchboard_core::model::{
    Account, Acquired, Appended, Inbound, Inbox, LockState, NewAccount, NewInbound, NewInbox,
    NewOutbound, NewUser, User,
};
use switchboard_store::{Store, StoreError};

/// Long enough never to lapse during a test.
pub const LEASE: Duration = Duration::from_secs(60);
/// Short enough to wait for.
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

/// Waits (polling, with a deadline) until nobody holds a valid lease.
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

/// Lets the clocks move past the current millisecond, so that activity
/// timestamps (millisecond precision) differ.
pub async fn next_millisecond() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}
