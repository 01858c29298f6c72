//! Migration 0018 (agents' load counters) on a database written before it:
//! each user's counter starts at their open conversations (resolved ones
//! and other users' do not count), and the triggers keep it from there.

use switchboard_store::ManualClock;
use uuid::Uuid;

use crate::harness::{Backend, old_database, options};

/// The last migration before the counters'.
const BEFORE_COUNTERS: i64 = 17;

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
        Backend::Sqlite | Backend::Sim => format!("X'{}'", u.simple()),
        Backend::Postgres => format!("'{u}'"),
    };
    let now = match backend {
        Backend::Sqlite | Backend::Sim => "1700000000000",
        Backend::Postgres => "now()",
    };
    let key = match backend {
        Backend::Sqlite | Backend::Sim => "X'01'",
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
        sql += &format!(
            "INSERT INTO grants (user_id, role, group_id) VALUES ({}, 'operator', {g});\n",
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

fn old() -> Old {
    Old {
        ann: Uuid::now_v7(),
        bob: Uuid::now_v7(),
        cid: Uuid::now_v7(),
        later_resolved: Uuid::now_v7(),
    }
}

/// Opens the old database through the store (which migrates it) and reads
/// the loads; resolves one of ann's conversations and reads hers again.
async fn check(url: String, old: Old) {
    let store = switchboard_store::connect(&url, &options(ManualClock::new().into()))
        .await
        .expect("open and migrate the old database");
    let mut loads = Vec::new();
    for user in [old.ann, old.bob, old.cid] {
        let agent = store
            .agent(user.into())
            .await
            .expect("agent")
            .expect("an agent");
        loads.push(agent.load);
    }
    assert_eq!(loads, [2, 1, 0]);
    store
        .resolve(old.later_resolved.into(), old.ann.into())
        .await
        .expect("resolve");
    let ann = store
        .agent(old.ann.into())
        .await
        .expect("agent")
        .expect("an agent");
    assert_eq!(ann.load, 1, "the trigger counts the resolution");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_sqlite_users_get_their_loads() {
    let old = old();
    let seed = seed(Backend::Sqlite, &old);
    old_database(Backend::Sqlite, BEFORE_COUNTERS, seed, move |url| {
        check(url, old)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_postgres_users_get_their_loads() {
    let old = old();
    let seed = seed(Backend::Postgres, &old);
    old_database(Backend::Postgres, BEFORE_COUNTERS, seed, move |url| {
        check(url, old)
    })
    .await;
}
