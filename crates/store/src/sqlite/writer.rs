//! Every SQLite write, on one OS thread that owns the only write connection.
//!
//! Callers hand the writer a job (a closure over the connection) and await
//! its answer. The thread takes everything queued (up to [`BATCH`] jobs),
//! opens one `BEGIN IMMEDIATE` transaction, runs each job inside a savepoint
//! of its own and commits: a job that fails is rolled back to its savepoint
//! alone and answers its own error, the others go on. Only once `COMMIT`
//! returned are the callers answered (invariant 2: nothing acknowledged is
//! lost); if the commit fails, every job of the batch gets that error and
//! none is reported as stored.
//!
//! Why a thread: sqlx runs each statement on a worker thread of its own, so
//! every statement costs two thread wake-ups, and a commit per write costs
//! the log pages of a commit per write. Here a statement is a call on this
//! thread (prepared once, `prepare_cached`), and a busy store commits many
//! writes at once.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use switchboard_core::StoreError;
use tokio::sync::mpsc::error::SendTimeoutError;
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::from_rusqlite;

/// Jobs waiting for the writer, at most; callers wait (asynchronously) for
/// room beyond that.
const QUEUE: usize = 4096;
/// Jobs in one transaction, at most.
const BATCH: usize = 256;
/// Prepared statements the connection keeps (every write statement of the
/// store, with room to spare).
const STATEMENTS: usize = 128;

/// Where and how the writer opens its connection.
#[derive(Debug, Clone)]
pub(super) struct WriterConfig {
    /// The file as SQLite names it: a path, or the `file:` name of a shared
    /// in-memory database.
    pub(super) filename: String,
    pub(super) in_memory: bool,
    /// `synchronous=FULL` instead of `NORMAL`.
    pub(super) sync_every_commit: bool,
    /// How long a write waits for another process holding the file's lock,
    /// and for room in the queue.
    pub(super) busy_timeout: Duration,
}

/// The handle on the writer thread; the thread ends when every handle is
/// gone, or at [`Writer::close`].
#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Command>,
    /// How long a caller waits for room in a full queue.
    queue_timeout: Duration,
    /// Closed (its sender dropped) when the thread has ended.
    stopped: watch::Receiver<()>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("queued", &(QUEUE - self.queue.capacity()))
            .finish_non_exhaustive()
    }
}

enum Command {
    Run(Box<dyn Job>),
    /// Finish what was queued before, refuse what comes after, end.
    Stop,
}

impl Writer {
    /// Starts the thread and waits until it opened its connection.
    pub(super) async fn start(config: WriterConfig) -> Result<Self, StoreError> {
        let (queue, commands) = mpsc::channel(QUEUE);
        let (opened_tx, opened) = oneshot::channel();
        let (stopped_tx, stopped) = watch::channel(());
        let queue_timeout = config.busy_timeout;
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let _stopped = stopped_tx;
                let conn = match open(&config) {
                    Ok(conn) => conn,
                    Err(error) => {
                        let _ = opened_tx.send(Err(error));
                        return;
                    }
                };
                let _ = opened_tx.send(Ok(()));
                serve(&conn, commands);
                tracing::debug!("sqlite writer stopped");
            })
            .map_err(|err| StoreError::Internal(format!("starting the sqlite writer: {err}")))?;
        opened.await.map_err(|_| writer_stopped())??;
        Ok(Self {
            queue,
            queue_timeout,
            stopped,
        })
    }

    /// Runs `work` in the write transaction of the next batch and answers
    /// once that transaction committed. `work` runs on the writer thread: it
    /// must not block on anything but the database.
    pub(super) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Call {
            work: Some(work),
            done: None,
            reply,
        });
        // waiting for room may time out (nothing was queued, so nothing
        // will be written); waiting for the answer may not: once queued, the
        // write may commit, and an error would say it did not
        self.queue
            .send_timeout(Command::Run(job), self.queue_timeout)
            .await
            .map_err(|error| match error {
                SendTimeoutError::Timeout(_) => {
                    StoreError::Unavailable("timed out waiting for the sqlite writer".into())
                }
                SendTimeoutError::Closed(_) => writer_stopped(),
            })?;
        answer.await.map_err(|_| writer_stopped())?
    }

    /// Lets the writer finish what was queued before, refuses what comes
    /// after, and waits for the thread to end (its connection closed).
    pub(super) async fn close(&self) {
        let _ = self.queue.send(Command::Stop).await;
        let mut stopped = self.stopped.clone();
        while stopped.changed().await.is_ok() {}
    }
}

fn writer_stopped() -> StoreError {
    StoreError::Unavailable("the sqlite writer stopped".into())
}

fn open(config: &WriterConfig) -> Result<Connection, StoreError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    flags |= if config.in_memory {
        OpenFlags::SQLITE_OPEN_MEMORY | OpenFlags::SQLITE_OPEN_SHARED_CACHE
    } else {
        OpenFlags::SQLITE_OPEN_PRIVATE_CACHE
    };
    let conn = Connection::open_with_flags(&config.filename, flags).map_err(from_rusqlite)?;
    conn.busy_timeout(config.busy_timeout)
        .map_err(from_rusqlite)?;
    if !config.in_memory {
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(from_rusqlite)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Internal(format!(
                "sqlite refused the write-ahead log (journal_mode {mode})"
            )));
        }
    }
    let synchronous = if config.sync_every_commit {
        "FULL"
    } else {
        "NORMAL"
    };
    // Checkpoints run beside the writer (see `checkpoints` in the parent
    // module), never inside a commit.
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {synchronous}; \
         PRAGMA foreign_keys = ON; \
         PRAGMA wal_autocheckpoint = 0;"
    ))
    .map_err(from_rusqlite)?;
    conn.set_prepared_statement_cache_capacity(STATEMENTS);
    Ok(conn)
}

/// The thread's loop: a batch per turn until every handle is gone or a
/// [`Command::Stop`] arrives.
fn serve(conn: &Connection, mut commands: mpsc::Receiver<Command>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(BATCH);
    let mut stopping = false;
    while !stopping {
        let Some(mut command) = commands.blocking_recv() else {
            break;
        };
        loop {
            match command {
                Command::Run(job) => batch.push(job),
                Command::Stop => {
                    stopping = true;
                    break;
                }
            }
            if batch.len() >= BATCH {
                break;
            }
            match commands.try_recv() {
                Ok(next) => command = next,
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let committed = transaction(conn, &mut batch);
        if let Err(error) = &committed {
            tracing::warn!(%error, jobs = batch.len(), "sqlite write batch did not commit");
        }
        for job in batch.drain(..) {
            job.answer(&committed);
        }
    }
    commands.close();
    while let Ok(command) = commands.try_recv() {
        if let Command::Run(job) = command {
            job.answer(&Err(StoreError::Unavailable("the store is closed".into())));
        }
    }
}

/// Runs the batch in one transaction, each job in a savepoint; `Ok` once it
/// committed.
fn transaction(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    execute(conn, "BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        if let Err(error) = savepoint(conn, job.as_mut()) {
            rollback(conn);
            return Err(error);
        }
    }
    let commit = conn
        .prepare_cached("COMMIT")
        .and_then(|mut statement| statement.execute([]));
    if let Err(error) = commit {
        rollback(conn);
        // not one job's fault, whatever the code says (a deferred
        // constraint, say): busy stays retryable, the rest is internal
        let text = error.to_string();
        return Err(match from_rusqlite(error) {
            StoreError::Unavailable(message) => StoreError::Unavailable(message),
            _ => StoreError::Internal(format!("the write batch did not commit: {text}")),
        });
    }
    Ok(())
}

/// Runs one job; its failure undoes its own writes only. An error here is
/// the transaction's, not the job's.
fn savepoint(conn: &Connection, job: &mut dyn Job) -> Result<(), StoreError> {
    execute(conn, "SAVEPOINT job")?;
    let succeeded = job.run(conn);
    if conn.is_autocommit() {
        // some errors (a full disk, an I/O error) roll the whole
        // transaction back: the jobs before this one are gone too
        return Err(StoreError::Unavailable(
            "the database rolled the write transaction back".into(),
        ));
    }
    if !succeeded {
        execute(conn, "ROLLBACK TO job")?;
    }
    execute(conn, "RELEASE job")
}

fn rollback(conn: &Connection) {
    if !conn.is_autocommit()
        && let Err(error) = conn.execute_batch("ROLLBACK")
    {
        tracing::warn!(%error, "sqlite rollback failed");
    }
}

fn execute(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(drop)
        .map_err(from_rusqlite)
}

/// A queued job with its caller, type-erased for the queue.
trait Job: Send {
    /// Runs the work once; whether it succeeded.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch's transaction is settled: its own
    /// error if it failed, else its result if the batch committed.
    fn answer(self: Box<Self>, committed: &Result<(), StoreError>);
}

struct Call<F, T> {
    work: Option<F>,
    done: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> Job for Call<F, T>
where
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
    T: Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        // a panicking job fails alone instead of taking the thread down
        let done = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(StoreError::Internal("a sqlite write panicked".into())));
        let succeeded = done.is_ok();
        self.done = Some(done);
        succeeded
    }

    fn answer(self: Box<Self>, committed: &Result<(), StoreError>) {
        let answer = match (self.done, committed) {
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(batch)) => Err(duplicate(batch)),
            (None, Ok(())) => Err(StoreError::Internal("a sqlite write never ran".into())),
        };
        // the caller may have given up waiting; the write stands
        let _ = self.reply.send(answer);
    }
}

/// The batch's error, for each of its jobs.
fn duplicate(error: &StoreError) -> StoreError {
    match error {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Conflict(message) => StoreError::Conflict(message.clone()),
        StoreError::Fenced => StoreError::Fenced,
        StoreError::AtCapacity { load, capacity } => StoreError::AtCapacity {
            load: *load,
            capacity: *capacity,
        },
        StoreError::Unavailable(message) => StoreError::Unavailable(message.clone()),
        StoreError::Internal(message) => StoreError::Internal(message.clone()),
        StoreError::SeatLimit {
            limit,
            used,
            wanted,
        } => StoreError::SeatLimit {
            limit: *limit,
            used: *used,
            wanted: *wanted,
        },
        StoreError::Expired => StoreError::Expired,
    }
}

#[cfg(test)]
mod tests;
