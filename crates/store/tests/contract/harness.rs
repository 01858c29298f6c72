//! A fresh database per test, on either backend, cleaned up even when the
//! test fails; and a manual clock per test, which the test may move.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool, SqliteConnection};
use switchboard_core::ids::NodeId;
use switchboard_sim::store::{SimClock, SimStore, StoreShape};
use switchboard_store::{ManualClock, Store, StoreClock, StoreOptions};

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// The simulation's store (`switchboard-sim`): the SQLite store in
    /// memory behind one simulated link per node, without faults. Where a
    /// test writes SQL of its own, its dialect is SQLite's.
    Sim,
}

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn postgres_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into())
}

pub fn options(clock: StoreClock) -> StoreOptions {
    StoreOptions {
        max_connections: 5,
        acquire_timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(30),
        clock,
        ..StoreOptions::default()
    }
}

/// What a contract test takes: its store (`Arc<dyn Store>`), its stores
/// (`Vec<Arc<dyn Store>>`, see [`run_nodes`]), the store with the clock
/// it runs on ([`Clocked`]), or a store on the backend's own clock
/// ([`OnBackendClock`]).
pub trait Given: Send + 'static {
    /// Whether the stores run on a manual clock (the default: time moves
    /// only when the test says) or on the backend's own.
    const MANUAL_CLOCK: bool = true;
    fn given(stores: Vec<Arc<dyn Store>>, clock: ManualClock) -> Self;
}

impl Given for Arc<dyn Store> {
    fn given(mut stores: Vec<Arc<dyn Store>>, _: ManualClock) -> Self {
        stores.pop().expect("one store")
    }
}

impl Given for Vec<Arc<dyn Store>> {
    fn given(stores: Vec<Arc<dyn Store>>, _: ManualClock) -> Self {
        stores
    }
}

/// A store and the manual clock it reads, which the test moves.
pub struct Clocked {
    pub store: Arc<dyn Store>,
    pub clock: ManualClock,
}

impl Given for Clocked {
    fn given(stores: Vec<Arc<dyn Store>>, clock: ManualClock) -> Self {
        Self {
            store: Arc::given(stores, clock.clone()),
            clock,
        }
    }
}

/// A store on the backend's own clock (the process clock on SQLite, the
/// database's on Postgres), for tests where real time is the point.
pub struct OnBackendClock(pub Arc<dyn Store>);

impl Given for OnBackendClock {
    const MANUAL_CLOCK: bool = false;

    fn given(stores: Vec<Arc<dyn Store>>, clock: ManualClock) -> Self {
        Self(Arc::given(stores, clock))
    }
}

/// Runs `test` against a store of its own and removes the database after.
pub async fn run<G, F, Fut>(backend: Backend, test: F)
where
    G: Given,
    F: FnOnce(G) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_nodes(backend, 1, test).await;
}

/// Runs `test` against `nodes` stores on one fresh database, as that many
/// server nodes would hold them: on Postgres each its own pool; on SQLite,
/// whose file one process owns, the one store shared. Every store reads one
/// manual clock, standing at the current time until the test moves it
/// (unless the test asks for the backend's clock).
pub async fn run_nodes<G, F, Fut>(backend: Backend, nodes: usize, test: F)
where
    G: Given,
    F: FnOnce(G) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let clock = ManualClock::new();
    let options = options(if G::MANUAL_CLOCK {
        clock.clone().into()
    } else {
        StoreClock::Backend
    });
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("switchboard.db");
            let url = format!("sqlite:{}", path.display());
            let store = switchboard_store::connect(&url, &options)
                .await
                .expect("open sqlite store");
            assert_eq!(store.backend(), "sqlite");
            finish(tokio::spawn(test(G::given(vec![store; nodes], clock))).await);
        }
        Backend::Sim => {
            let sim = SimStore::open(
                0,
                StoreShape::INSTANT,
                if G::MANUAL_CLOCK {
                    SimClock::Manual(clock.clone())
                } else {
                    SimClock::FollowsTokio
                },
            );
            let stores = (0..nodes)
                .map(|_| Arc::new(sim.link(NodeId::new())) as Arc<dyn Store>)
                .collect();
            finish(tokio::spawn(test(G::given(stores, clock))).await);
        }
        Backend::Postgres => {
            let base = postgres_url();
            let name = format!("switchboard_test_{}", uuid::Uuid::now_v7().simple());
            admin(&base, &format!("CREATE DATABASE \"{name}\"")).await;
            let (prefix, _) = base.rsplit_once('/').expect("postgres url with a database");
            let mut stores = Vec::with_capacity(nodes);
            for _ in 0..nodes {
                let store = switchboard_store::connect(&format!("{prefix}/{name}"), &options)
                    .await
                    .expect("connect postgres store");
                assert_eq!(store.backend(), "postgres");
                stores.push(store);
            }
            let outcome = tokio::spawn(test(G::given(stores, clock))).await;
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
pub fn finish(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(err) = outcome {
        match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => panic!("test task failed: {err}"),
        }
    }
}

pub async fn admin(url: &str, statement: &str) {
    let mut conn = PgConnection::connect(url)
        .await
        .unwrap_or_else(|err| panic!("postgres for tests at {url}: {err}"));
    sqlx::raw_sql(AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|err| panic!("{statement}: {err}"));
    conn.close().await.ok();
}

pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// A database of `backend` as an older release left it: migrated up to
/// `version` and holding the rows `seed` writes. `then` gets its URL once
/// the seeding connection is closed (the newer migrations are not run:
/// opening a store, or the test, runs them). A Postgres database is created
/// for it and dropped afterwards, whether the test passed or not.
pub async fn old_database<F, Fut>(backend: Backend, version: i64, seed: String, then: F)
where
    F: FnOnce(String) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    match backend {
        Backend::Sqlite | Backend::Sim => {
            let dir = tempfile::tempdir().expect("temp dir");
            let file = format!("sqlite:{}", dir.path().join("old.db").display());
            let mut conn = SqliteConnection::connect(&format!("{file}?mode=rwc"))
                .await
                .expect("sqlite");
            SQLITE_MIGRATIONS
                .run_to(version, &mut conn)
                .await
                .expect("old schema");
            sqlx::raw_sql(AssertSqlSafe(seed))
                .execute(&mut conn)
                .await
                .expect("old rows");
            conn.close().await.expect("close");
            then(file).await;
        }
        Backend::Postgres => {
            let base = postgres_url();
            let name = format!("switchboard_test_{}", uuid::Uuid::now_v7().simple());
            admin(&base, &format!("CREATE DATABASE \"{name}\"")).await;
            let (prefix, _) = base.rsplit_once('/').expect("postgres url with a database");
            let url = format!("{prefix}/{name}");
            // block_on: the migrator's future is not Send, so it cannot be spawned
            let runtime = tokio::runtime::Handle::current();
            let outcome = tokio::task::spawn_blocking(move || {
                runtime.block_on(async move {
                    let pool = PgPool::connect(&url).await.expect("postgres");
                    POSTGRES_MIGRATIONS
                        .run_to(version, &pool)
                        .await
                        .expect("old schema");
                    sqlx::raw_sql(AssertSqlSafe(seed))
                        .execute(&pool)
                        .await
                        .expect("old rows");
                    pool.close().await;
                    then(url).await;
                })
            })
            .await;
            admin(
                &base,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            )
            .await;
            finish(outcome);
        }
    }
}
