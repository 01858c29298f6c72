//! Opening stores by URL: backend choice, migrations, unreachable databases.

use std::time::Duration;

use switchboard_core::ids::NodeId;
use switchboard_core::model::{ConversationFilter, NewAccount};
use switchboard_store::{StoreError, StoreOptions};

use crate::fixtures::HASH;

#[tokio::test]
async fn sqlite_by_plain_path_keeps_data_across_opens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested.db");
    let url = path.to_str().expect("utf-8 path");

    switchboard_store::migrate(url)
        .await
        .expect("migrate creates the file");
    switchboard_store::migrate(url)
        .await
        .expect("migrating again is harmless");
    let store = switchboard_store::connect(url, &StoreOptions::default())
        .await
        .expect("open by path");
    assert_eq!(store.backend(), "sqlite");
    let (_, owner) = store
        .create_account(NewAccount {
            name: "Acme",
            owner_email: "ada@acme.example",
            owner_name: "Ada",
            owner_password_hash: HASH,
        })
        .await
        .expect("create account");
    drop(store);

    let reopened = switchboard_store::connect(&format!("sqlite://{url}"), &StoreOptions::default())
        .await
        .expect("open by url");
    assert_eq!(reopened.user(owner.id).await.expect("read"), Some(owner));
}

#[tokio::test]
async fn sqlite_in_memory_works_on_one_pool() {
    let store = switchboard_store::connect("sqlite::memory:", &StoreOptions::default())
        .await
        .expect("open in memory");
    let (_, owner) = store
        .create_account(NewAccount {
            name: "Acme",
            owner_email: "ada@acme.example",
            owner_name: "Ada",
            owner_password_hash: HASH,
        })
        .await
        .expect("create account");
    assert_eq!(
        store.user(owner.id).await.expect("read"),
        Some(owner),
        "reads see writes"
    );
}

/// In memory the writer and the readers share one database by name, in
/// SQLite's shared cache, where a table being written cannot be read: reads
/// running beside a stream of write batches wait for the commit (and so see
/// each acknowledged write) instead of failing, and so does the writer for a
/// read under way. Both sides wait through SQLite's unlock notification
/// (sqlx's `sqlite-unlock-notify`, rusqlite's `unlock_notify`); without it
/// this test fails with "database busy".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_in_memory_reads_beside_concurrent_writes() {
    let store = switchboard_store::connect("sqlite::memory:", &StoreOptions::default())
        .await
        .expect("open in memory");
    let other = switchboard_store::connect("sqlite::memory:", &StoreOptions::default())
        .await
        .expect("open another");
    let tenant = crate::fixtures::tenant(&store, "Acme").await;
    let ann = crate::fixtures::agent(&store, &tenant, "ann").await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (store, inbox) = (store.clone(), tenant.inbox.clone());
        let account_id = tenant.account.id;
        tasks.spawn(async move {
            for n in 0..100 {
                let handle = format!("c{i}-{}", n % 5);
                let inbound = crate::fixtures::inbound(&store, &inbox, &handle, "hi").await;
                let conv = inbound.conversation.id;
                let epoch = crate::fixtures::grant(
                    &store,
                    conv,
                    ann.id,
                    NodeId::new(),
                    true,
                    crate::fixtures::LEASE,
                )
                .await;
                let listed = store
                    .conversations(ConversationFilter {
                        account_id,
                        assignee: None,
                        limit: 100,
                    })
                    .await
                    .expect("list beside writes");
                assert!(listed.iter().any(|c| c.id == conv));
                let read = store
                    .messages_after(conv, inbound.message.seq - 1, 10)
                    .await
                    .expect("read beside writes");
                assert_eq!(read.first(), Some(&inbound.message));
                assert_eq!(store.lock_state(conv).await.expect("state").epoch, epoch);
            }
        });
    }
    tasks.join_all().await;
    assert_eq!(
        other.user(tenant.owner.id).await.expect("read"),
        None,
        "each in-memory store is a database of its own"
    );
}

#[tokio::test]
async fn unsupported_scheme_is_refused() {
    let result = switchboard_store::connect("mysql://localhost/db", &StoreOptions::default()).await;
    match result {
        Err(StoreError::Internal(message)) => assert!(message.contains("mysql"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A URL without a scheme that looks like a host is refused with the
/// accepted forms, before any file is made.
#[tokio::test]
async fn a_host_without_a_scheme_is_not_taken_for_a_file() {
    for url in ["postgres@localhost/test", "localhost:5432/test"] {
        match switchboard_store::connect(url, &StoreOptions::default()).await {
            Err(StoreError::Internal(message)) => {
                assert!(message.contains("sqlite:PATH"), "{message}");
            }
            other => panic!("expected a refusal of {url}, got {other:?}"),
        }
    }
}

/// A server on a SQLite file holds it alone; admin commands (not exclusive)
/// open it beside the server.
#[tokio::test]
async fn an_exclusive_sqlite_store_refuses_a_second_server_but_not_admin_commands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("served.db");
    let url = format!("sqlite:{}", path.display());
    let serving = StoreOptions {
        exclusive: true,
        ..StoreOptions::default()
    };
    let first = switchboard_store::connect(&url, &serving)
        .await
        .expect("first server");
    match switchboard_store::connect(&url, &serving).await {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains("another switchboard server"), "{message}");
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let admin = switchboard_store::connect(&url, &StoreOptions::default())
        .await
        .expect("an admin command opens it beside the server");
    let tenant = crate::fixtures::tenant(&admin, "Acme").await;
    assert!(
        first.user(tenant.owner.id).await.expect("read").is_some(),
        "the server reads what the admin command wrote"
    );
    drop(first);
    switchboard_store::connect(&url, &serving)
        .await
        .expect("the file is free once the first server is gone");
}

#[tokio::test]
async fn unreachable_postgres_is_unavailable() {
    let options = StoreOptions {
        max_connections: 1,
        acquire_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        ..StoreOptions::default()
    };
    // port 1 on loopback: nothing listens, the connection is refused, and
    // the error says so rather than that the pool timed out
    let result = switchboard_store::connect("postgres://postgres@127.0.0.1:1/none", &options).await;
    match result {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains("refused"), "{message}");
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
}

/// Writes land in the write-ahead log; a background checkpoint copies them
/// into the database file without any writer waiting for it (SQLite's own
/// automatic checkpoint, which runs inside a commit, is off).
#[tokio::test]
async fn sqlite_checkpoints_in_the_background() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("wal.db");
    let url = path.to_str().expect("utf-8 path");
    let store = switchboard_store::connect(url, &StoreOptions::default())
        .await
        .expect("open");
    let tenant = crate::fixtures::tenant(&store, "Acme").await;
    let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let before = size();
    for i in 0..300 {
        crate::fixtures::inbound(
            &store,
            &tenant.inbox,
            &format!("+1555{i:04}"),
            &"x".repeat(500),
        )
        .await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while size() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file never grew: no checkpoint ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
