//! A fresh database per test, on either backend, cleaned up even when the
//! test fails.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use switchboard_store::{Store, StoreOptions};

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn postgres_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into())
}

fn options() -> StoreOptions {
    StoreOptions {
        max_connections: 5,
        acquire_timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(30),
        ..StoreOptions::default()
    }
}

/// Runs `test` against a store of its own and removes the database after.
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_nodes(backend, 1, |mut stores| {
        test(stores.pop().expect("one store"))
    })
    .await;
}

/// Runs `test` against `nodes` stores on one fresh database, as that many
/// server nodes would hold them: on Postgres each its own pool; on SQLite,
/// whose file one process owns, the one store shared.
pub async fn run_nodes<F, Fut>(backend: Backend, nodes: usize, test: F)
where
    F: FnOnce(Vec<Arc<dyn Store>>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("switchboard.db");
            let url = format!("sqlite:{}", path.display());
            let store = switchboard_store::connect(&url, &options())
                .await
                .expect("open sqlite store");
            assert_eq!(store.backend(), "sqlite");
            finish(tokio::spawn(test(vec![store; nodes])).await);
        }
        Backend::Postgres => {
            let base = postgres_url();
            let name = format!("switchboard_test_{}", uuid::Uuid::now_v7().simple());
            admin(&base, &format!("CREATE DATABASE \"{name}\"")).await;
            let (prefix, _) = base.rsplit_once('/').expect("postgres url with a database");
            let mut stores = Vec::with_capacity(nodes);
            for _ in 0..nodes {
                let store = switchboard_store::connect(&format!("{prefix}/{name}"), &options())
                    .await
                    .expect("connect postgres store");
                assert_eq!(store.backend(), "postgres");
                stores.push(store);
            }
            let outcome = tokio::spawn(test(stores)).await;
            admin(
                &base,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            )
            .await;
            finish(outcome);
        }
    }
}

/// Re-raises the test's panic (after cleanup) so the failure reads as its own.
fn finish(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(err) = outcome {
        match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => panic!("test task failed: {err}"),
        }
    }
}

async fn admin(url: &str, statement: &str) {
    let mut conn = PgConnection::connect(url)
        .await
        .unwrap_or_else(|err| panic!("postgres for tests at {url}: {err}"));
    sqlx::raw_sql(AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|err| panic!("{statement}: {err}"));
    conn.close().await.ok();
}
