//! SQLite's two ways of running the store's statements: the writer's
//! connection inside its transaction ([`SqliteTx`], on rusqlite), and a
//! reader's (sqlx, through [`Driver`]). Both bind a time as INTEGER
//! milliseconds and the clock as the store's clock reads (the writer's
//! once per job, see [`SqliteTx`]). The writer's connection also has the
//! text of the fenced insert ([`FenceTx`]); its routing statements are in
//! `routing`.
//!
//! Statements on the writer run inside its transaction; their futures
//! never wait (see `routing::ready`). Shared statements number their
//! parameters (`$1`...), which the writer binds by name.

use chrono::{DateTime, Utc};
use rusqlite::types::ToSqlOutput;
use rusqlite::{CachedStatement, Connection, ToSql};
use sqlx::Sqlite;
use sqlx::sqlite::SqliteQueryResult;
use switchboard_core::StoreError;

use crate::clock::StoreClock;
use crate::conn::Driver;
use crate::error::from_rusqlite;
use crate::fence::FenceTx;
use crate::rows::Columns;
use crate::sql;
use crate::statement::{Statements, Value};

impl Driver for Sqlite {
    const SQL: &'static sql::Dialect = &sql::SQLITE;
    type Time = i64;
    type Clock = i64;

    fn clock(clock: &StoreClock) -> i64 {
        clock.millis()
    }

    fn time(at: DateTime<Utc>) -> i64 {
        at.timestamp_millis()
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }
}

/// The names the writer binds parameters by, in order.
const NAMES: [&str; 9] = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9"];

/// The writer's connection inside its transaction. The clock is read once,
/// when the job starts: a job's statements record one time, as those of a
/// Postgres transaction do (`now()`).
pub(super) struct SqliteTx<'c> {
    conn: &'c Connection,
    now: i64,
}

impl<'c> SqliteTx<'c> {
    pub(super) fn new(conn: &'c Connection, clock: &StoreClock) -> Self {
        Self {
            conn,
            now: clock.millis(),
        }
    }

    /// The time (unix milliseconds) of this job.
    pub(super) fn now(&self) -> i64 {
        self.now
    }

    /// The statement, prepared once, and its parameters by name.
    fn prepare<'p>(
        &self,
        sql: &str,
        params: &'p [Value<'p>],
    ) -> Result<(CachedStatement<'c>, Vec<Bound<'p>>), StoreError> {
        if params.len() > NAMES.len() {
            return Err(StoreError::Internal(format!(
                "a statement with {} parameters",
                params.len()
            )));
        }
        let statement = self.conn.prepare_cached(sql).map_err(from_rusqlite)?;
        let bound = params
            .iter()
            .map(|value| Bound {
                value,
                now: self.now,
            })
            .collect();
        Ok((statement, bound))
    }
}

/// The names and values of `bound`, as rusqlite takes them.
fn named<'b>(bound: &'b [Bound<'_>]) -> Vec<(&'static str, &'b dyn ToSql)> {
    NAMES
        .iter()
        .zip(bound)
        .map(|(name, value)| (*name, value as &dyn ToSql))
        .collect()
}

/// A parameter as the writer binds it: a time as INTEGER milliseconds, the
/// clock as the job's time.
struct Bound<'v> {
    value: &'v Value<'v>,
    now: i64,
}

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self.value {
            Value::Clock => Ok(self.now.into()),
            Value::Uuid(uuid) => uuid.to_sql(),
            Value::Int(int) => int.to_sql(),
            Value::Text(text) => text.to_sql(),
            Value::Bytes(bytes) => bytes.to_sql(),
            Value::Flag(flag) => flag.to_sql(),
            Value::Time(at) => Ok(at.timestamp_millis().into()),
        }
    }
}

impl Statements for SqliteTx<'_> {
    const SQL: &'static sql::Dialect = &sql::SQLITE;

    async fn execute(
        &mut self,
        sql: &'static str,
        params: &[Value<'_>],
    ) -> Result<u64, StoreError> {
        let (mut statement, bound) = self.prepare(sql, params)?;
        let changed = statement
            .execute(named(&bound).as_slice())
            .map_err(from_rusqlite)?;
        Ok(u64::try_from(changed).unwrap_or(u64::MAX))
    }

    async fn one<T>(
        &mut self,
        sql: &'static str,
        params: &[Value<'_>],
        read: impl FnOnce(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let (mut statement, bound) = self.prepare(sql, params)?;
        let mut rows = statement
            .query(named(&bound).as_slice())
            .map_err(from_rusqlite)?;
        match rows.next().map_err(from_rusqlite)? {
            Some(row) => read(row).map(Some),
            None => Ok(None),
        }
    }

    async fn all<T>(
        &mut self,
        sql: &'static str,
        params: &[Value<'_>],
        mut read: impl FnMut(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let (mut statement, bound) = self.prepare(sql, params)?;
        let mut rows = statement
            .query(named(&bound).as_slice())
            .map_err(from_rusqlite)?;
        let mut all = Vec::new();
        while let Some(row) = rows.next().map_err(from_rusqlite)? {
            all.push(read(row)?);
        }
        Ok(all)
    }
}

impl FenceTx for SqliteTx<'_> {
    /// The conversation's row must show the author holding the role at the
    /// epoch with a valid lease; the seq is the next one; the trigger of
    /// migration 0002 bumps the conversation; a duplicate `client_msg_id`
    /// inserts nothing.
    const FENCED_INSERT: &'static str = "INSERT INTO messages \
         (conversation_id, seq, id, direction, author_id, body, client_msg_id, created_at) \
         SELECT id, last_seq + 1, $4, 'outbound', $3, $6, $7, $1 FROM conversations \
         WHERE id = $2 AND lock_holder = $3 AND lock_epoch = $5 AND lock_until > $1 \
         ON CONFLICT DO NOTHING \
         RETURNING seq, created_at, (SELECT name FROM users WHERE id = author_id) AS author_name";
}

#[cfg(test)]
mod tests {
    use sqlx::Connection as _;
    use sqlx::SqliteConnection;
    use uuid::Uuid;

    use super::*;
    use crate::clock::ManualClock;
    use crate::conn::Conn;
    use crate::routing::ready;

    /// Every kind of value, each read back with its type; `$8` comes first
    /// in the text, so a parameter bound by position would land wrong.
    const ECHO: &str = "SELECT $8 AS none, $1 AS clock, $2 AS id, $3 AS n, $4 AS text, \
                        $5 AS bytes, $6 AS flag, $7 AS at, typeof($7) AS at_type";

    type Echo = (
        Option<i64>,
        i64,
        Uuid,
        i64,
        String,
        Vec<u8>,
        bool,
        i64,
        String,
    );

    fn read(row: &dyn Columns) -> Result<Echo, StoreError> {
        // 16 bytes, read as a uuid: `Columns` reads no other blob
        let bytes = row.uuid("bytes")?.as_bytes().to_vec();
        Ok((
            row.opt_int("none")?,
            row.int("clock")?,
            row.uuid("id")?,
            row.int("n")?,
            row.text("text")?,
            bytes,
            row.flag("flag")?,
            row.int("at")?,
            row.text("at_type")?,
        ))
    }

    #[tokio::test]
    async fn the_writer_binds_by_name_what_a_reader_binds() {
        let clock = StoreClock::from(ManualClock::starting_at(
            DateTime::from_timestamp_millis(1_700_000_000_123).unwrap(),
        ));
        let id = Uuid::now_v7();
        let key = *Uuid::now_v7().as_bytes();
        let at = DateTime::from_timestamp_millis(1_600_000_000_456).unwrap();
        let params = [
            Value::Clock,
            id.into(),
            42_i64.into(),
            "text".into(),
            key.as_slice().into(),
            true.into(),
            Value::Time(at),
            None::<i64>.into(),
        ];
        let expected: Echo = (
            None,
            1_700_000_000_123,
            id,
            42,
            "text".into(),
            key.to_vec(),
            true,
            1_600_000_000_456,
            "integer".into(),
        );

        let writer = Connection::open_in_memory().unwrap();
        let mut tx = SqliteTx::new(&writer, &clock);
        let written = ready(tx.one(ECHO, &params, read)).unwrap().unwrap();
        assert_eq!(written, Some(expected.clone()));

        let mut reader = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let mut conn = Conn::<Sqlite>::new(&mut reader, &clock);
        assert_eq!(conn.one(ECHO, &params, read).await.unwrap(), Some(expected));
    }

    #[test]
    fn a_writer_job_reads_the_clock_once() {
        let manual = ManualClock::new();
        let clock = StoreClock::from(manual.clone());
        let writer = Connection::open_in_memory().unwrap();
        let mut tx = SqliteTx::new(&writer, &clock);
        let before = tx.now();
        manual.advance(std::time::Duration::from_secs(1));
        let read = ready(tx.one("SELECT $1 AS now", &[Value::Clock], |row| row.int("now")))
            .unwrap()
            .unwrap();
        assert_eq!(read, Some(before), "one job, one time");
    }
}
