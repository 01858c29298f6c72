//! One way to run the store's statements on every connection: a text of
//! `sql` with its numbered parameters as [`Value`]s, on [`Statements`].
//!
//! Two implement it: a sqlx connection of either backend (`conn`: every
//! Postgres statement, SQLite's reads) and SQLite's writer thread
//! (rusqlite, `sqlite::tx`). Each binds a [`Value`] as its database stores it (a
//! time as timestamptz or INTEGER milliseconds; the clock, `$1`, as the
//! store's clock reads in that dialect) and hands each row over as
//! [`Columns`]. So whatever both backends do statement for statement is
//! written once over this trait (`accounts`, `reads`, `fence`, `inbound`,
//! routing's `RoutingTx`), and a backend writes only what it does its own
//! way. This module imports only `sql` and `rows` of the crate.

use chrono::{DateTime, Utc};
use switchboard_core::StoreError;
use switchboard_core::ids::{
    AccountId, ContactId, ConversationId, CustomRoleId, FolderId, GroupId, InboxId, InvitationId,
    MailId, MessageId, NodeId, TeamId, TemplateId, UserId,
};
use uuid::Uuid;

use crate::rows::{Columns, millis_to_time};
use crate::sql;

/// A parameter of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// The store's clock: `$1` of the statements of [`sql::Dialect`].
    Clock,
    Uuid(Option<Uuid>),
    Int(Option<i64>),
    Text(Option<&'a str>),
    Bytes(&'a [u8]),
    Flag(bool),
    Time(DateTime<Utc>),
}

impl Value<'_> {
    /// A time in unix milliseconds (how routing counts time).
    pub(crate) fn millis(millis: i64) -> Result<Self, StoreError> {
        millis_to_time(millis).map(Value::Time)
    }
}

/// Runs statements inside the caller's transaction (or on one connection,
/// each statement its own).
#[allow(async_fn_in_trait)]
pub(crate) trait Statements {
    /// This dialect's statements that read the clock.
    const SQL: &'static sql::Dialect;

    /// Runs the statement; how many rows it changed.
    async fn execute(&mut self, sql: &'static str, params: &[Value<'_>])
    -> Result<u64, StoreError>;

    /// The first row the statement returns, read.
    async fn one<T>(
        &mut self,
        sql: &'static str,
        params: &[Value<'_>],
        read: impl FnOnce(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError>;

    /// Every row the statement returns, read.
    async fn all<T>(
        &mut self,
        sql: &'static str,
        params: &[Value<'_>],
        read: impl FnMut(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError>;
}

/// The row an insert returns; an insert that returns none is a bug.
pub(crate) fn inserted<T>(row: Option<T>) -> Result<T, StoreError> {
    row.ok_or_else(|| StoreError::Internal("an insert returned nothing".into()))
}

/// The id in column `col`.
pub(crate) fn id<T: From<Uuid>>(row: &dyn Columns, col: &str) -> Result<T, StoreError> {
    row.uuid(col).map(T::from)
}

macro_rules! values_from {
    ($($variant:ident: $($type:ty),+;)+) => {
        $($(
            impl<'a> From<$type> for Value<'a> {
                fn from(value: $type) -> Self {
                    Self::$variant(value.into())
                }
            }
        )+)+
    };
}

values_from! {
    Uuid: Uuid, Option<Uuid>;
    Int: i64, Option<i64>;
    Text: &'a str, Option<&'a str>;
    Bytes: &'a [u8];
    Flag: bool;
}

macro_rules! values_from_ids {
    ($($id:ty),+) => {
        $(
            impl From<$id> for Value<'_> {
                fn from(id: $id) -> Self {
                    Self::Uuid(Some(id.as_uuid()))
                }
            }

            impl From<Option<$id>> for Value<'_> {
                fn from(id: Option<$id>) -> Self {
                    Self::Uuid(id.map(|id| id.as_uuid()))
                }
            }
        )+
    };
}

values_from_ids!(
    AccountId,
    ContactId,
    ConversationId,
    CustomRoleId,
    FolderId,
    GroupId,
    InboxId,
    InvitationId,
    MailId,
    MessageId,
    NodeId,
    TeamId,
    TemplateId,
    UserId
);

// webhooks
values_from_ids!(
    switchboard_core::ids::WebhookId,
    switchboard_core::ids::DeliveryId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_options_become_their_values() {
        let user = UserId::new();
        assert_eq!(Value::from(user), Value::Uuid(Some(user.as_uuid())));
        assert_eq!(Value::from(None::<TeamId>), Value::Uuid(None));
        assert_eq!(Value::from(Some(7_i64)), Value::Int(Some(7)));
        assert_eq!(Value::from("a"), Value::Text(Some("a")));
        assert_eq!(Value::from(None::<&str>), Value::Text(None));
        assert_eq!(Value::from(&b"k"[..]), Value::Bytes(b"k"));
        assert_eq!(Value::from(true), Value::Flag(true));
    }
}
