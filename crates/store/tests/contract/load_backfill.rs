//! Migration 0018 (agents' load counters) on a database written before it:
//! each user's counter starts at their open conversations (resolved ones
//! and other users' do not count), and the triggers keep it from there.

use sqlx::migrate::Migrator;
use sqlx::{AssertSqlSafe, Connection, PgPool, Row, SqliteConnection};
use uuid::Uuid;

use crate::harness::{Backend, admin, finish, postgres_url};

/// The last migration before the counters'.
const BEFORE_COUNTERS: i64 = 17;

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

struct Old {
    ann: Uuid,
    bob: Uuid,
    cid: Uuid,
    /// An open conversation of ann's, resolved after the migration.
    later_resolved: Uuid,
}

/// An account with ann (two open conversations and a resolved one), bob
/// (one open) and cid (none), and one waiting unassigned.
fn seed(backend: Backend, old: &Old) -> String {
    let id = |u: &Uuid| match backend {
        Backend::Sqlite => format!("X'{}'", u.simple()),
        Backend::Postgres => format!("'{u}'"),
    };
    let now = match backend {
        Backend::Sqlite => "1700000000000",
        Backend::Postgres => "now()",
    };
    let key = match backend {
        Backend::Sqlite => "X'01'",
        Backend::Postgres => "'\\x01'::bytea",
    };
    let (account, group, inbox) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (a, g, i) = (id(&account), id(&group), id(&inbox));
    let mut sql = format!(
        "INSERT INTO accounts (id, name, created_at) VALUES ({a}, 'old', {now});\n\
         INSERT INTO groups (id, account_id, name, parent_id, created_at) VALUES ({g}, {a}, 'old', NULL, {now});\n\
         INSERT INTO inboxes (id, account_id, name, channel, key_hash, group_id, created_at) \
           VALUES ({i}, {a}, 'in', 'sms', {key}, {g}, {now});\n"
    );
    for (user, name) in [(&old.ann, "ann"), (&old.bob, "bob"), (&old.cid, "cid")] {
        sql += &format!(
            "INSERT INTO users (id, account_id, email, name, role, password_hash, created_at) \
             VALUES ({}, {a}, '{name}@old.example', '{name}', 'operator', 'h', {now});\n",
            id(user)
        );
    }
    let conversations = [
        (old.later_resolved, "open", Some(&old.ann)),
        (Uuid::now_v7(), "open", Some(&old.ann)),
        (Uuid::now_v7(), "resolved", Some(&old.ann)),
        (Uuid::now_v7(), "open", Some(&old.bob)),
        (Uuid::now_v7(), "open", None),
    ];
    for (n, (conversation, status, assignee)) in conversations.iter().enumerate() {
        let contact = Uuid::now_v7();
        sql += &format!(
            "INSERT INTO contacts (id, account_id, handle, created_at) VALUES ({k}, {a}, '+{n}', {now});\n\
             INSERT INTO conversations (id, account_id, inbox_id, contact_id, status, assignee_id, \
               last_seq, created_at) VALUES ({c}, {a}, {i}, {k}, '{status}', {assignee}, 0, {now});\n",
            k = id(&contact),
            c = id(conversation),
            assignee = assignee.map_or("NULL".into(), id),
        );
    }
    sql
}

fn user_load(backend: Backend, user: &Uuid) -> String {
    match backend {
        Backend::Sqlite => format!(
            "SELECT open_load FROM users WHERE id = X'{}'",
            user.simple()
        ),
        Backend::Postgres => format!("SELECT open_load FROM users WHERE id = '{user}'"),
    }
}

fn resolve(backend: Backend, conversation: &Uuid) -> String {
    match backend {
        Backend::Sqlite => format!(
            "UPDATE conversations SET status = 'resolved' WHERE id = X'{}'",
            conversation.simple()
        ),
        Backend::Postgres => {
            format!("UPDATE conversations SET status = 'resolved' WHERE id = '{conversation}'")
        }
    }
}

fn old() -> Old {
    Old {
        ann: Uuid::now_v7(),
        bob: Uuid::now_v7(),
        cid: Uuid::now_v7(),
        later_resolved: Uuid::now_v7(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_sqlite_users_get_their_loads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}?mode=rwc", dir.path().join("old.db").display());
    let old = old();
    let mut conn = SqliteConnection::connect(&url).await.expect("sqlite");
    SQLITE
        .run_to(BEFORE_COUNTERS, &mut conn)
        .await
        .expect("old schema");
    sqlx::raw_sql(AssertSqlSafe(seed(Backend::Sqlite, &old)))
        .execute(&mut conn)
        .await
        .expect("old rows");
    SQLITE.run(&mut conn).await.expect("migrate");
    let mut loads = Vec::new();
    for user in [&old.ann, &old.bob, &old.cid] {
        let row = sqlx::query(AssertSqlSafe(user_load(Backend::Sqlite, user)))
            .fetch_one(&mut conn)
            .await
            .expect("load");
        loads.push(row.get::<i64, _>(0));
    }
    assert_eq!(loads, [2, 1, 0]);
    sqlx::raw_sql(AssertSqlSafe(resolve(Backend::Sqlite, &old.later_resolved)))
        .execute(&mut conn)
        .await
        .expect("resolve");
    let row = sqlx::query(AssertSqlSafe(user_load(Backend::Sqlite, &old.ann)))
        .fetch_one(&mut conn)
        .await
        .expect("load");
    assert_eq!(row.get::<i64, _>(0), 1, "the trigger counts the resolution");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_postgres_users_get_their_loads() {
    let base = postgres_url();
    let name = format!("switchboard_test_{}", Uuid::now_v7().simple());
    admin(&base, &format!("CREATE DATABASE \"{name}\"")).await;
    let (prefix, _) = base.rsplit_once('/').expect("postgres url with a database");
    let url = format!("{prefix}/{name}");
    // block_on: the migrator's future is not Send, so it cannot be spawned
    let runtime = tokio::runtime::Handle::current();
    let outcome = tokio::task::spawn_blocking(move || {
        runtime.block_on(async move {
            let old = old();
            let pool = PgPool::connect(&url).await.expect("postgres");
            POSTGRES
                .run_to(BEFORE_COUNTERS, &pool)
                .await
                .expect("old schema");
            sqlx::raw_sql(AssertSqlSafe(seed(Backend::Postgres, &old)))
                .execute(&pool)
                .await
                .expect("old rows");
            POSTGRES.run(&pool).await.expect("migrate");
            let mut loads = Vec::new();
            for user in [&old.ann, &old.bob, &old.cid] {
                let row = sqlx::query(AssertSqlSafe(user_load(Backend::Postgres, user)))
                    .fetch_one(&pool)
                    .await
                    .expect("load");
                loads.push(row.get::<i64, _>(0));
            }
            assert_eq!(loads, [2, 1, 0]);
            sqlx::raw_sql(AssertSqlSafe(resolve(
                Backend::Postgres,
                &old.later_resolved,
            )))
            .execute(&pool)
            .await
            .expect("resolve");
            let row = sqlx::query(AssertSqlSafe(user_load(Backend::Postgres, &old.ann)))
                .fetch_one(&pool)
                .await
                .expect("load");
            assert_eq!(row.get::<i64, _>(0), 1, "the trigger counts the resolution");
            pool.close().await;
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
