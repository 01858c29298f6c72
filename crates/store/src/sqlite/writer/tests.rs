//! The writer's batches: failures stay in their savepoint, a failed commit
//! fails the batch, close drains the queue, a busy file is `Unavailable`.

use std::sync::mpsc as std_mpsc;

use rusqlite::OptionalExtension;

use super::*;
use crate::error::conflict_as;

/// A writer on a fresh file with a table of unique names and a table
/// whose foreign key is checked only at commit.
async fn writer() -> (tempfile::TempDir, Writer) {
    let dir = tempfile::tempdir().unwrap();
    let config = WriterConfig {
        filename: dir.path().join("w.db").to_str().unwrap().to_owned(),
        in_memory: false,
        sync_every_commit: false,
        busy_timeout: Duration::from_secs(5),
    };
    let writer = Writer::start(config).await.unwrap();
    writer
        .run(|conn| {
            conn.execute_batch(
                "CREATE TABLE names (name TEXT PRIMARY KEY); \
                 CREATE TABLE refs (name TEXT REFERENCES names (name) \
                                    DEFERRABLE INITIALLY DEFERRED);",
            )
            .map_err(from_rusqlite)
        })
        .await
        .unwrap();
    (dir, writer)
}

fn insert(writer: &Writer, name: &'static str) -> tokio::task::JoinHandle<Result<(), StoreError>> {
    let writer = writer.clone();
    tokio::spawn(async move {
        writer
            .run(move |conn| {
                conn.execute("INSERT INTO names (name) VALUES (?1)", [name])
                    .map(drop)
                    .map_err(|err| conflict_as("name taken")(from_rusqlite(err)))
            })
            .await
    })
}

async fn names(writer: &Writer) -> Vec<String> {
    writer
        .run(|conn| {
            let mut statement = conn
                .prepare("SELECT name FROM names ORDER BY name")
                .map_err(from_rusqlite)?;
            statement
                .query_map([], |row| row.get(0))
                .map_err(from_rusqlite)?
                .collect::<Result<Vec<String>, _>>()
                .map_err(from_rusqlite)
        })
        .await
        .unwrap()
}

/// Holds the writer thread inside a job until the returned sender is
/// dropped, so that everything queued meanwhile forms one batch.
async fn hold(writer: &Writer) -> (std_mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
    let (release, held) = std_mpsc::channel::<()>();
    let (started_tx, started) = oneshot::channel();
    let writer = writer.clone();
    let holder = tokio::spawn(async move {
        writer
            .run(move |_| {
                let _ = started_tx.send(());
                let _ = held.recv();
                Ok(())
            })
            .await
            .unwrap();
    });
    started.await.unwrap();
    (release, holder)
}

/// Lets the spawned tasks of this (single-threaded) runtime queue
/// their jobs.
async fn let_queue() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_failing_job_does_not_undo_the_others() {
    let (_dir, writer) = writer().await;
    let (release, holder) = hold(&writer).await;
    let ann = insert(&writer, "ann");
    let twin = insert(&writer, "ann");
    let bob = insert(&writer, "bob");
    let_queue().await;
    drop(release);
    holder.await.unwrap();

    assert!(ann.await.unwrap().is_ok());
    let twin = twin.await.unwrap();
    assert!(
        matches!(&twin, Err(StoreError::Conflict(m)) if m == "name taken"),
        "{twin:?}"
    );
    assert!(bob.await.unwrap().is_ok());
    assert_eq!(names(&writer).await, ["ann", "bob"]);
}

#[tokio::test]
async fn a_failed_commit_answers_every_job_with_its_error() {
    let (_dir, writer) = writer().await;
    let (release, holder) = hold(&writer).await;
    let ann = insert(&writer, "ann");
    let dangling = {
        let writer = writer.clone();
        tokio::spawn(async move {
            writer
                .run(|conn| {
                    // accepted now, refused at COMMIT
                    conn.execute("INSERT INTO refs (name) VALUES ('nobody')", [])
                        .map(drop)
                        .map_err(from_rusqlite)
                })
                .await
        })
    };
    let_queue().await;
    drop(release);
    holder.await.unwrap();

    let ann = ann.await.unwrap();
    assert!(matches!(ann, Err(StoreError::Internal(_))), "{ann:?}");
    let dangling = dangling.await.unwrap();
    assert!(
        matches!(dangling, Err(StoreError::Internal(_))),
        "{dangling:?}"
    );
    assert!(
        names(&writer).await.is_empty(),
        "nothing of the batch stayed"
    );

    insert(&writer, "ann").await.unwrap().unwrap();
    assert_eq!(names(&writer).await, ["ann"], "the writer goes on");
}

#[tokio::test]
async fn a_panicking_job_fails_alone() {
    let (_dir, writer) = writer().await;
    let (release, holder) = hold(&writer).await;
    let ann = insert(&writer, "ann");
    let panics = {
        let writer = writer.clone();
        tokio::spawn(async move {
            writer
                .run(|conn| -> Result<(), StoreError> {
                    conn.execute("INSERT INTO names (name) VALUES ('ghost')", [])
                        .map_err(from_rusqlite)?;
                    panic!("job panics");
                })
                .await
        })
    };
    let bob = insert(&writer, "bob");
    let_queue().await;
    drop(release);
    holder.await.unwrap();

    assert!(ann.await.unwrap().is_ok());
    assert!(matches!(
        panics.await.unwrap(),
        Err(StoreError::Internal(_))
    ));
    assert!(bob.await.unwrap().is_ok());
    assert_eq!(names(&writer).await, ["ann", "bob"]);
}

#[tokio::test]
async fn close_finishes_the_queue_then_refuses() {
    let (_dir, writer) = writer().await;
    let (release, holder) = hold(&writer).await;
    let ann = insert(&writer, "ann");
    let_queue().await;
    let closing = {
        let writer = writer.clone();
        tokio::spawn(async move { writer.close().await })
    };
    let_queue().await;
    let late = insert(&writer, "late");
    let_queue().await;
    drop(release);
    holder.await.unwrap();
    closing.await.unwrap();

    assert!(ann.await.unwrap().is_ok(), "queued before close: written");
    let late = late.await.unwrap();
    assert!(matches!(late, Err(StoreError::Unavailable(_))), "{late:?}");
    let after = insert(&writer, "after").await.unwrap();
    assert!(
        matches!(after, Err(StoreError::Unavailable(_))),
        "{after:?}"
    );
}

#[tokio::test]
async fn another_process_holding_the_lock_makes_writes_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let config = WriterConfig {
        filename: path.to_str().unwrap().to_owned(),
        in_memory: false,
        sync_every_commit: false,
        busy_timeout: Duration::from_millis(100),
    };
    let writer = Writer::start(config).await.unwrap();
    writer
        .run(|conn| {
            conn.execute_batch("CREATE TABLE names (name TEXT PRIMARY KEY)")
                .map_err(from_rusqlite)
        })
        .await
        .unwrap();
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let busy = insert(&writer, "ann").await.unwrap();
    assert!(matches!(busy, Err(StoreError::Unavailable(_))), "{busy:?}");

    other.execute_batch("COMMIT").unwrap();
    insert(&writer, "ann").await.unwrap().unwrap();
    let stored: Option<String> = other
        .query_row("SELECT name FROM names", [], |row| row.get(0))
        .optional()
        .unwrap();
    assert_eq!(stored.as_deref(), Some("ann"));
}
