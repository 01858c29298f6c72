//! The writer's connection as a transaction: the statement helpers every
//! SQLite write uses, the cards read inside the transaction, and the
//! statements of the fenced write ([`FenceTx`]) and of a customer's message
//! ([`InboundTx`]). Its routing statements are in `routing`.
//!
//! Statements run on the writer thread, inside its transaction; their
//! futures never wait (see `routing::ready`). Shared statements number
//! their parameters (`$1`...), which the writer binds by name.

use rusqlite::{Connection, OptionalExtension, Params, Row, named_params};
use switchboard_core::ids::{
    AccountId, ContactId, ConversationId, InboxId, MessageId, NodeId, UserId,
};
use switchboard_core::model::{Conversation, LockState, Message, NewOutbound, NewUser, User};
use switchboard_core::{Role, StoreError};

use crate::clock::StoreClock;
use crate::error::{from_rusqlite, rusqlite_conflict_as};
use crate::fence::{FenceTx, Stored};
use crate::inbound::{Bumped, InboundTx};
use crate::rows::{self, signed};
use crate::sql;

/// An outbound message stored only through the fence, in one statement:
/// the conversation's row must show the author holding the role at the
/// epoch with a valid lease; the seq is the next one; the trigger of
/// migration 0002 bumps the conversation; a duplicate `client_msg_id`
/// inserts nothing.
const FENCED_INSERT: &str = "INSERT INTO messages \
     (conversation_id, seq, id, direction, author_id, body, client_msg_id, created_at) \
     SELECT id, last_seq + 1, $4, 'outbound', $3, $6, $7, $1 FROM conversations \
     WHERE id = $2 AND lock_holder = $3 AND lock_epoch = $5 AND lock_until > $1 \
     ON CONFLICT DO NOTHING \
     RETURNING seq, created_at, (SELECT name FROM users WHERE id = author_id) AS author_name";

/// The writer's connection inside its transaction, with the store's clock.
pub(super) struct SqliteTx<'c> {
    conn: &'c Connection,
    clock: &'c StoreClock,
}

impl<'c> SqliteTx<'c> {
    pub(super) fn new(conn: &'c Connection, clock: &'c StoreClock) -> Self {
        Self { conn, clock }
    }

    /// The time (unix milliseconds) for this statement.
    pub(super) fn now(&self) -> i64 {
        self.clock.millis()
    }

    pub(super) fn execute(&self, sql: &str, params: impl Params) -> Result<usize, StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params))
            .map_err(from_rusqlite)
    }

    /// [`Self::execute`] of a statement whose only unique rule is the one
    /// `conflict` describes.
    pub(super) fn execute_unique(
        &self,
        conflict: &'static str,
        sql: &str,
        params: impl Params,
    ) -> Result<usize, StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params))
            .map_err(rusqlite_conflict_as(conflict))
    }

    /// The first row, read.
    pub(super) fn one<T>(
        &self,
        sql: &str,
        params: impl Params,
        read: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut statement = self.conn.prepare_cached(sql).map_err(from_rusqlite)?;
        let mut rows = statement.query(params).map_err(from_rusqlite)?;
        match rows.next().map_err(from_rusqlite)? {
            Some(row) => read(row).map(Some),
            None => Ok(None),
        }
    }

    /// [`Self::one`] of an insert whose only unique rule is the one
    /// `conflict` describes.
    pub(super) fn one_unique<T>(
        &self,
        conflict: &'static str,
        sql: &str,
        params: impl Params,
        read: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let map = |error| rusqlite_conflict_as(conflict)(error);
        let mut statement = self.conn.prepare_cached(sql).map_err(map)?;
        let mut rows = statement.query(params).map_err(map)?;
        match rows.next().map_err(map)? {
            Some(row) => read(row),
            None => Err(StoreError::Internal("an insert returned nothing".into())),
        }
    }

    /// Every row, read.
    pub(super) fn all<T>(
        &self,
        sql: &str,
        params: impl Params,
        mut read: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut statement = self.conn.prepare_cached(sql).map_err(from_rusqlite)?;
        let mut rows = statement.query(params).map_err(from_rusqlite)?;
        let mut all = Vec::new();
        while let Some(row) = rows.next().map_err(from_rusqlite)? {
            all.push(read(row)?);
        }
        Ok(all)
    }

    /// The first column of the first row.
    pub(super) fn scalar<T: rusqlite::types::FromSql>(
        &self,
        sql: &str,
        params: impl Params,
    ) -> Result<Option<T>, StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut statement| statement.query_row(params, |row| row.get(0)).optional())
            .map_err(from_rusqlite)
    }

    /// Conversations as the inbox list shows them, in the order of `ids`
    /// (those not found left out).
    pub(super) fn cards(&self, ids: &[ConversationId]) -> Result<Vec<Conversation>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.one(
                sql::conversation_by_id!(sqlite),
                named_params! { "$1": self.now(), "$2": id.as_uuid() },
                |row| rows::conversation(row),
            )?);
        }
        Ok(found)
    }

    /// Inserts a user (`sql::user_insert`) created at `at`.
    pub(super) fn insert_user(&self, user: &UserToInsert, at: i64) -> Result<User, StoreError> {
        self.one_unique(
            "email already in use",
            sql::user_insert!(sqlite),
            named_params! {
                "$1": at,
                "$2": UserId::new().as_uuid(),
                "$3": user.account_id.as_uuid(),
                "$4": user.email,
                "$5": user.name,
                "$6": user.role.as_str(),
                "$7": i64::from(user.capacity),
                "$8": user.password_hash,
            },
            |row| rows::user(row),
        )
    }
}

/// A user to insert, owned so that it can travel to the writer thread.
#[derive(Debug)]
pub(super) struct UserToInsert {
    pub(super) account_id: AccountId,
    email: String,
    name: String,
    password_hash: String,
    role: Role,
    capacity: u32,
}

impl From<NewUser<'_>> for UserToInsert {
    fn from(new: NewUser<'_>) -> Self {
        Self {
            account_id: new.account_id,
            // stored lowercased: emails are unique case-insensitively
            email: new.email.to_lowercase(),
            name: new.name.to_owned(),
            password_hash: new.password_hash.to_owned(),
            role: new.role,
            capacity: new.capacity,
        }
    }
}

impl FenceTx for SqliteTx<'_> {
    async fn grant(
        &mut self,
        conversation: ConversationId,
        user: UserId,
        node: NodeId,
        force: bool,
        lease_millis: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.scalar(
            sql::grant!(sqlite),
            named_params! {
                "$1": self.now(),
                "$2": lease_millis,
                "$3": conversation.as_uuid(),
                "$4": user.as_uuid(),
                "$5": node.as_uuid(),
                "$6": force,
            },
        )
    }

    async fn lock_state(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<LockState>, StoreError> {
        self.one(
            sql::lock_state!(sqlite),
            named_params! { "$1": self.now(), "$2": conversation.as_uuid() },
            |row| rows::lock_state(row),
        )
    }

    async fn insert_fenced(
        &mut self,
        new: &NewOutbound<'_>,
        epoch: i64,
        id: MessageId,
    ) -> Result<Option<Stored>, StoreError> {
        self.one(
            FENCED_INSERT,
            named_params! {
                "$1": self.now(),
                "$2": new.conversation_id.as_uuid(),
                "$3": new.author.as_uuid(),
                "$4": id.as_uuid(),
                "$5": epoch,
                "$6": new.body,
                "$7": new.client_msg_id,
            },
            |row| Stored::read(row),
        )
    }

    async fn message_by_client_id(
        &mut self,
        conversation: ConversationId,
        client_msg_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        self.one(
            sql::MESSAGE_BY_CLIENT_ID,
            named_params! { "$1": conversation.as_uuid(), "$2": client_msg_id },
            |row| rows::message(row),
        )
    }

    async fn conversation_exists(
        &mut self,
        conversation: ConversationId,
    ) -> Result<bool, StoreError> {
        Ok(self
            .scalar::<i64>(
                sql::CONVERSATION_EXISTS,
                named_params! { "$1": conversation.as_uuid() },
            )?
            .is_some())
    }
}

impl InboundTx for SqliteTx<'_> {
    async fn upsert_contact(
        &mut self,
        account: AccountId,
        handle: &str,
        name: Option<&str>,
    ) -> Result<ContactId, StoreError> {
        self.one(
            sql::contact_upsert!(sqlite),
            named_params! {
                "$1": self.now(),
                "$2": ContactId::new().as_uuid(),
                "$3": account.as_uuid(),
                "$4": handle,
                "$5": name,
            },
            |row| Ok(rows::Columns::uuid(row, "id")?.into()),
        )?
        .ok_or_else(|| StoreError::Internal("a contact upsert returned nothing".into()))
    }

    async fn insert_conversation(
        &mut self,
        account: AccountId,
        inbox: InboxId,
        contact: ContactId,
    ) -> Result<bool, StoreError> {
        let inserted = self.execute(
            sql::conversation_insert!(sqlite),
            named_params! {
                "$1": self.now(),
                "$2": ConversationId::new().as_uuid(),
                "$3": account.as_uuid(),
                "$4": inbox.as_uuid(),
                "$5": contact.as_uuid(),
            },
        )?;
        Ok(inserted == 1)
    }

    async fn bump(
        &mut self,
        inbox: InboxId,
        contact: ContactId,
        only_open: bool,
    ) -> Result<Option<Bumped>, StoreError> {
        let sql = if only_open {
            sql::bump!(sqlite, open)
        } else {
            sql::bump!(sqlite, any)
        };
        self.one(
            sql,
            named_params! { "$1": self.now(), "$2": inbox.as_uuid(), "$3": contact.as_uuid() },
            |row| Bumped::read(row),
        )
    }

    async fn insert_inbound(&mut self, message: &Message) -> Result<(), StoreError> {
        self.execute(
            sql::INBOUND_INSERT,
            named_params! {
                "$1": message.conversation_id.as_uuid(),
                "$2": signed(message.seq).ok_or_else(|| {
                    StoreError::Internal(format!("seq out of range: {}", message.seq))
                })?,
                "$3": message.id.as_uuid(),
                "$4": message.body,
                "$5": message.created_at.timestamp_millis(),
            },
        )
        .map(drop)
    }
}
