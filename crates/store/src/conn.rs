//! A sqlx connection of either backend as [`Statements`]: every Postgres
//! statement runs on one, and so do SQLite's reads (its writes run on the
//! writer thread, see `sqlite`).
//!
//! The two databases differ here only in what [`Driver`] says: which texts
//! of `sql` they run, and how they store a time and read the clock.

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};
use switchboard_core::StoreError;
use uuid::Uuid;

use crate::clock::StoreClock;
use crate::error::from_sqlx;
use crate::rows::Columns;
use crate::sql;
use crate::statement::{Statements, Value};

/// What the store needs to know of a sqlx database beyond sqlx itself;
/// implemented by each backend for its database.
pub(crate) trait Driver: Database<Row: Columns, Arguments: IntoArguments<Self>> {
    /// Its statements that read the clock.
    const SQL: &'static sql::Dialect;
    /// How it stores a time.
    type Time: for<'q> Encode<'q, Self> + Type<Self> + Send;
    /// What a statement binds as its clock, `$1`.
    type Clock: for<'q> Encode<'q, Self> + Type<Self> + Send;

    fn clock(clock: &StoreClock) -> Self::Clock;
    fn time(at: DateTime<Utc>) -> Self::Time;
    fn rows_affected(done: &Self::QueryResult) -> u64;
}

/// A connection (a transaction's, or one from a pool) with the store's
/// clock.
pub(crate) struct Conn<'c, DB: Database> {
    pub(crate) conn: &'c mut DB::Connection,
    pub(crate) clock: &'c StoreClock,
}

impl<'c, DB: Database> Conn<'c, DB> {
    pub(crate) fn new(conn: &'c mut DB::Connection, clock: &'c StoreClock) -> Self {
        Self { conn, clock }
    }
}

type Query<DB> = sqlx::query::Query<'static, DB, <DB as Database>::Arguments>;

/// Binds a value the way the database stores it. Every [`Driver`] can;
/// this trait states once the bounds that say so.
pub(crate) trait Bind: Driver {
    fn bind(query: Query<Self>, value: Value<'_>, clock: &StoreClock) -> Query<Self>;
}

impl<DB: Driver> Bind for DB
where
    for<'q> Option<Uuid>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
{
    fn bind(query: Query<Self>, value: Value<'_>, clock: &StoreClock) -> Query<Self> {
        match value {
            Value::Clock => query.bind(DB::clock(clock)),
            Value::Uuid(uuid) => query.bind(uuid),
            Value::Int(int) => query.bind(int),
            Value::Text(text) => query.bind(text),
            Value::Bytes(bytes) => query.bind(bytes),
            Value::Flag(flag) => query.bind(flag),
            Value::Time(at) => query.bind(DB::time(at)),
        }
    }
}

impl<DB: Bind> Conn<'_, DB> {
    fn query(&self, sql: &'static str, params: &[Value<'_>]) -> Query<DB> {
        params.iter().fold(sqlx::query(sql), |query, value| {
            DB::bind(query, *value, self.clock)
        })
    }
}

impl<DB: Bind> Statements for Conn<'_, DB>
where
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
{
    const SQL: &'static sql::Dialect = DB::SQL;

    async fn execute(
        &mut self,
        sql: &'static str,
        params: &[Value<'_>],
    ) -> Result<u64, StoreError> {
        let done = self
            .query(sql, params)
            .execute(&mut *self.conn)
            .await
            .map_err(from_sqlx)?;
        Ok(DB::rows_affected(&done))
    }

    async fn one<T>(
        &mut self,
        sql: &'static str,
        params: &[Value<'_>],
        read: impl FnOnce(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.query(sql, params)
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(from_sqlx)?
            .map(|row| read(&row))
            .transpose()
    }

    async fn all<T>(
        &mut self,
        sql: &'static str,
        params: &[Value<'_>],
        mut read: impl FnMut(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.query(sql, params)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(from_sqlx)?
            .iter()
            .map(|row| read(row))
            .collect()
    }
}
