//! Migration 0014 (statistics) on a database written before it: a
//! conversation answered, resolved, reopened by its customer, answered by
//! someone else and resolved again becomes two spells with the first
//! responses, resolutions and agents worked out from its messages and its
//! assignment history.

use std::collections::BTreeSet;

use chrono::DateTime;
use switchboard_core::ids::{AccountId, InboxId, UserId};
use switchboard_core::statistics::{BucketScope, Window};
use switchboard_store::ManualClock;
use uuid::Uuid;

use crate::harness::{Backend, old_database, options};

/// The last migration before the statistics'.
const BEFORE_STATISTICS: i64 = 13;
/// Unix milliseconds of the conversation's first message.
const T: i64 = 1_700_000_000_000;

struct Old {
    account: Uuid,
    inbox: Uuid,
    ann: Uuid,
    bob: Uuid,
}

impl Old {
    fn new() -> Self {
        Self {
            account: Uuid::now_v7(),
            inbox: Uuid::now_v7(),
            ann: Uuid::now_v7(),
            bob: Uuid::now_v7(),
        }
    }
}

/// The rows, in the backend's literals; times are `T` plus seconds.
fn seed(backend: Backend, old: &Old) -> String {
    let id = |u: &Uuid| match backend {
        Backend::Sqlite | Backend::Sim => format!("X'{}'", u.simple()),
        Backend::Postgres => format!("'{u}'"),
    };
    let at = |secs: i64| match backend {
        Backend::Sqlite | Backend::Sim => (T + secs * 1000).to_string(),
        Backend::Postgres => format!("to_timestamp({})", (T + secs * 1000) as f64 / 1000.0),
    };
    let (group, contact, conversation) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (a, i, c, g) = (
        id(&old.account),
        id(&old.inbox),
        id(&conversation),
        id(&group),
    );
    let (ann, bob) = (id(&old.ann), id(&old.bob));
    let key = match backend {
        Backend::Sqlite | Backend::Sim => format!("X'{}'", old.inbox.simple()),
        Backend::Postgres => format!("'\\x{}'::bytea", old.inbox.simple()),
    };
    let mut sql = format!(
        "INSERT INTO accounts (id, name, created_at) VALUES ({a}, 'old', {t0});\n\
         INSERT INTO groups (id, account_id, name, parent_id, created_at) VALUES ({g}, {a}, 'old', NULL, {t0});\n\
         INSERT INTO inboxes (id, account_id, name, channel, key_hash, group_id, created_at) \
           VALUES ({i}, {a}, 'in', 'sms', {key}, {g}, {t0});\n\
         INSERT INTO users (id, account_id, email, name, role, password_hash, created_at) \
           VALUES ({ann}, {a}, 'ann@old.example', 'ann', 'operator', 'h', {t0}), \
                  ({bob}, {a}, 'bob@old.example', 'bob', 'operator', 'h', {t0});\n\
         INSERT INTO contacts (id, account_id, handle, created_at) VALUES ({k}, {a}, '+1', {t0});\n\
         INSERT INTO conversations (id, account_id, inbox_id, contact_id, status, assignee_id, \
           last_seq, last_message_at, created_at) \
           VALUES ({c}, {a}, {i}, {k}, 'resolved', {bob}, 4, {last}, {t0});\n",
        t0 = at(0),
        last = at(1050),
        k = id(&contact),
    );
    let messages = [
        (1, "inbound", "NULL", 0),
        (2, "outbound", ann.as_str(), 30),
        (3, "inbound", "NULL", 1000),
        (4, "outbound", bob.as_str(), 1050),
    ];
    for (seq, direction, author, secs) in messages {
        sql += &format!(
            "INSERT INTO messages (conversation_id, seq, id, direction, author_id, body, created_at) \
             VALUES ({c}, {seq}, {m}, '{direction}', {author}, 'x', {t});\n",
            m = id(&Uuid::now_v7()),
            t = at(secs),
        );
    }
    let log = [
        ("auto", ann.as_str(), 1),
        ("resolved", "NULL", 100),
        ("reopened", "NULL", 1000),
        ("auto", bob.as_str(), 1001),
        ("resolved", "NULL", 1300),
    ];
    for (kind, assignee, secs) in log {
        sql += &format!(
            "INSERT INTO assignment_log (conversation_id, kind, assignee_id, actor_id, at) \
             VALUES ({c}, '{kind}', {assignee}, NULL, {t});\n",
            t = at(secs),
        );
    }
    sql
}

/// Opens the migrated database through the store and reads the spells.
async fn check(url: String, old: &Old) {
    let store = switchboard_store::connect(&url, &options(ManualClock::new().into()))
        .await
        .expect("open and migrate the old database");
    let account = AccountId::from(old.account);
    let from = DateTime::from_timestamp_millis(T).expect("time");
    let scope = BucketScope {
        inboxes: BTreeSet::from([InboxId::from(old.inbox)]),
        window: Window {
            from,
            to: from + chrono::Duration::seconds(2000),
        },
    };
    let all = store
        .statistics_spells(account, &scope)
        .await
        .expect("spells");
    assert_eq!((all.opened, all.resolved), (2, 2), "{all:?}");
    let mut first = all.first_responses.clone();
    first.sort();
    assert_eq!(first, [30_000, 50_000]);
    let mut resolutions = all.resolutions.clone();
    resolutions.sort();
    assert_eq!(resolutions, [100_000, 300_000]);
    let agents = store
        .statistics_spells_by_agent(account, &scope.inboxes, scope.window)
        .await
        .expect("agents");
    let of = |agent: Uuid| {
        let tally = agents
            .iter()
            .find(|(a, _)| *a == UserId::from(agent))
            .map(|(_, tally)| tally.clone())
            .unwrap_or_default();
        (tally.first_responses, tally.resolutions)
    };
    assert_eq!(of(old.ann), (vec![30_000], vec![100_000]));
    assert_eq!(of(old.bob), (vec![50_000], vec![300_000]));
    let messages = store
        .statistics_messages(account, &scope.inboxes, scope.window)
        .await
        .expect("messages");
    assert_eq!((messages.inbound, messages.outbound), (2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_sqlite_conversations_get_their_spells() {
    let old = Old::new();
    let seed = seed(Backend::Sqlite, &old);
    old_database(
        Backend::Sqlite,
        BEFORE_STATISTICS,
        seed,
        move |url| async move { check(url, &old).await },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_postgres_conversations_get_their_spells() {
    let old = Old::new();
    let seed = seed(Backend::Postgres, &old);
    old_database(
        Backend::Postgres,
        BEFORE_STATISTICS,
        seed,
        move |url| async move { check(url, &old).await },
    )
    .await;
}
