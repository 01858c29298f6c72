//! A Postgres connection (a transaction's, or one from the pool) as the
//! store's transaction: the account's routing lock, the cards read on it,
//! and the statements of the fenced write ([`FenceTx`]) and of a customer's
//! message ([`InboundTx`]). Its routing statements are in `routing`, those
//! of a batch of arrivals in `arrivals`.
//!
//! Every statement that reads the clock binds it as `$1`: NULL, so that
//! Postgres reads its own clock, unless a test fixed the store's clock.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use switchboard_core::StoreError;
use switchboard_core::ids::{
    AccountId, ContactId, ConversationId, InboxId, MessageId, NodeId, UserId,
};
use switchboard_core::model::{Conversation, LockState, Message, NewOutbound, NewUser, User};
use uuid::Uuid;

use crate::clock::StoreClock;
use crate::error::{conflict_as, from_sqlx, is_unique_violation};
use crate::fence::{FenceTx, Stored};
use crate::inbound::{Bumped, InboundTx};
use crate::rows::{self, millis_to_time, signed};
use crate::sql;

/// The clock in unix milliseconds: `$1` when a test fixed it, else the
/// database's as it reads at this statement (not the transaction's start,
/// so times grow in the order decisions were taken under the lock).
macro_rules! clock_millis {
    () => {
        "floor(extract(epoch FROM COALESCE($1::timestamptz, clock_timestamp())) * 1000)::bigint"
    };
}
pub(super) use clock_millis;

/// Invariant 1 in one statement and one round trip: the seq bump is
/// conditional on the author holding the role at the epoch with a live
/// lease, and the insert takes the bumped seq; both commit or neither does.
const FENCED_INSERT: &str = concat!(
    "WITH bumped AS ( \
         UPDATE conversations \
         SET last_seq = last_seq + 1, last_message_at = ",
    sql::stamp!(postgres),
    " WHERE id = $2 AND lock_holder = $3 AND lock_epoch = $4 AND lock_until > ",
    sql::now!(postgres),
    " AND NOT EXISTS (SELECT 1 FROM messages \
                       WHERE conversation_id = $2 AND client_msg_id = $6) \
         RETURNING last_seq, last_message_at) \
     INSERT INTO messages \
     (conversation_id, seq, id, direction, author_id, body, client_msg_id, created_at) \
     SELECT $2, last_seq, $5, 'outbound', $3, $7, $6, last_message_at FROM bumped \
     RETURNING seq, created_at, (SELECT name FROM users WHERE id = $3) AS author_name"
);

/// A connection seen as the store's transaction, with the store's clock.
pub(super) struct PgTx<'c> {
    pub(super) conn: &'c mut PgConnection,
    clock: &'c StoreClock,
}

impl<'c> PgTx<'c> {
    pub(super) fn new(conn: &'c mut PgConnection, clock: &'c StoreClock) -> Self {
        Self { conn, clock }
    }

    /// What a statement binds as `$1`, its clock.
    pub(super) fn clock_param(&self) -> Option<DateTime<Utc>> {
        self.clock.fixed()
    }

    /// Waits for the account's routing lock, held until the transaction
    /// ends. What is read under it must be read by later statements (a
    /// statement's snapshot is taken when it starts).
    pub(super) async fn advisory_lock(&mut self, account: AccountId) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(lock_key(account))
            .execute(&mut *self.conn)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    /// Inserts a user (`sql::user_insert`).
    pub(super) async fn insert_user(&mut self, new: NewUser<'_>) -> Result<User, StoreError> {
        let row = sqlx::query(sql::user_insert!(postgres))
            .bind(self.clock_param())
            .bind(UserId::new().as_uuid())
            .bind(new.account_id.as_uuid())
            // stored lowercased: emails are unique case-insensitively
            .bind(new.email.to_lowercase())
            .bind(new.name)
            .bind(new.role.as_str())
            .bind(i64::from(new.capacity))
            .bind(new.password_hash)
            .fetch_one(&mut *self.conn)
            .await
            .map_err(conflict_as("email already in use"))?;
        rows::user(&row)
    }

    /// These conversations as the inbox list shows them, in any order.
    pub(super) async fn cards(
        &mut self,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        sqlx::query(concat!(
            sql::conversation_select!(postgres),
            "WHERE c.id = ANY($2)"
        ))
        .bind(self.clock_param())
        .bind(uuids(ids))
        .fetch_all(&mut *self.conn)
        .await
        .map_err(from_sqlx)?
        .iter()
        .map(rows::conversation)
        .collect()
    }
}

/// The account's routing lock: a transaction-level advisory lock on a
/// 64-bit key folded from its id. Two accounts sharing a key (a chance of
/// one in 2^64 per pair) would only route one after the other.
fn lock_key(account: AccountId) -> i64 {
    let (high, low) = account.as_uuid().as_u64_pair();
    i64::from_ne_bytes((high ^ low).to_ne_bytes())
}

/// A time of routing (unix milliseconds) as Postgres stores it.
pub(super) fn at(millis: i64) -> Result<DateTime<Utc>, StoreError> {
    millis_to_time(millis)
}

pub(super) fn uuids<T: Into<Uuid> + Copy>(ids: &[T]) -> Vec<Uuid> {
    ids.iter().map(|&id| id.into()).collect()
}

impl FenceTx for PgTx<'_> {
    async fn grant(
        &mut self,
        conversation: ConversationId,
        user: UserId,
        node: NodeId,
        force: bool,
        lease_millis: i64,
    ) -> Result<Option<i64>, StoreError> {
        // the row lock serializes racing grants
        sqlx::query_scalar(sql::grant!(postgres))
            .bind(self.clock_param())
            .bind(lease_millis)
            .bind(conversation.as_uuid())
            .bind(user.as_uuid())
            .bind(node.as_uuid())
            .bind(force)
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(from_sqlx)
    }

    async fn lock_state(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<LockState>, StoreError> {
        sqlx::query(sql::lock_state!(postgres))
            .bind(self.clock_param())
            .bind(conversation.as_uuid())
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::lock_state(&row))
            .transpose()
    }

    async fn insert_fenced(
        &mut self,
        new: &NewOutbound<'_>,
        epoch: i64,
        id: MessageId,
    ) -> Result<Option<Stored>, StoreError> {
        let stored = sqlx::query(FENCED_INSERT)
            .bind(self.clock_param())
            .bind(new.conversation_id.as_uuid())
            .bind(new.author.as_uuid())
            .bind(epoch)
            .bind(id.as_uuid())
            .bind(new.client_msg_id)
            .bind(new.body)
            .fetch_optional(&mut *self.conn)
            .await;
        match stored {
            Ok(row) => row.map(|row| Stored::read(&row)).transpose(),
            // a racing insert of the same client_msg_id won (the whole
            // statement rolled back, its seq with it): refused, and the
            // refusal finds theirs
            Err(error) if is_unique_violation(&error) => Ok(None),
            Err(error) => Err(from_sqlx(error)),
        }
    }

    async fn message_by_client_id(
        &mut self,
        conversation: ConversationId,
        client_msg_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        sqlx::query(sql::MESSAGE_BY_CLIENT_ID)
            .bind(conversation.as_uuid())
            .bind(client_msg_id)
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::message(&row))
            .transpose()
    }

    async fn conversation_exists(
        &mut self,
        conversation: ConversationId,
    ) -> Result<bool, StoreError> {
        sqlx::query_scalar::<_, i32>(sql::CONVERSATION_EXISTS)
            .bind(conversation.as_uuid())
            .fetch_optional(&mut *self.conn)
            .await
            .map(|row| row.is_some())
            .map_err(from_sqlx)
    }
}

impl InboundTx for PgTx<'_> {
    async fn upsert_contact(
        &mut self,
        account: AccountId,
        handle: &str,
        name: Option<&str>,
    ) -> Result<ContactId, StoreError> {
        sqlx::query_scalar::<_, Uuid>(sql::contact_upsert!(postgres))
            .bind(self.clock_param())
            .bind(ContactId::new().as_uuid())
            .bind(account.as_uuid())
            .bind(handle)
            .bind(name)
            .fetch_one(&mut *self.conn)
            .await
            .map(Into::into)
            .map_err(from_sqlx)
    }

    async fn insert_conversation(
        &mut self,
        account: AccountId,
        inbox: InboxId,
        contact: ContactId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::conversation_insert!(postgres))
            .bind(self.clock_param())
            .bind(ConversationId::new().as_uuid())
            .bind(account.as_uuid())
            .bind(inbox.as_uuid())
            .bind(contact.as_uuid())
            .execute(&mut *self.conn)
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    async fn bump(
        &mut self,
        inbox: InboxId,
        contact: ContactId,
        only_open: bool,
    ) -> Result<Option<Bumped>, StoreError> {
        let sql = if only_open {
            sql::bump!(postgres, open)
        } else {
            sql::bump!(postgres, any)
        };
        sqlx::query(sql)
            .bind(self.clock_param())
            .bind(inbox.as_uuid())
            .bind(contact.as_uuid())
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(from_sqlx)?
            .map(|row| Bumped::read(&row))
            .transpose()
    }

    async fn insert_inbound(&mut self, message: &Message) -> Result<(), StoreError> {
        let seq = signed(message.seq)
            .ok_or_else(|| StoreError::Internal(format!("seq out of range: {}", message.seq)))?;
        sqlx::query(sql::INBOUND_INSERT)
            .bind(message.conversation_id.as_uuid())
            .bind(seq)
            .bind(message.id.as_uuid())
            .bind(&message.body)
            .bind(message.created_at)
            .execute(&mut *self.conn)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }
}
