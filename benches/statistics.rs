//! Message statistics over a million messages: fills a store (SQLite, and
//! Postgres in a fresh database) with one account's month of traffic,
//! written straight into the tables with bulk SQL (the triggers of
//! migration 0014 keep the conversation spells as they would live), then
//! times the use case `App::statistics` over the last 30 UTC days for each
//! grouping, every row read as `GET /v1/statistics` reads them.
//!
//! `cargo bench -p switchboard-benches --bench statistics`; set
//! `STATISTICS_BENCH_BACKENDS` (`sqlite,postgres`), `STATISTICS_BENCH_MESSAGES`
//! (1000000), `STATISTICS_BENCH_SQLITE_FILE` (to keep the SQLite database
//! there), `STATISTICS_BENCH_KEEP_POSTGRES` (to keep the Postgres one) and `SWITCHBOARD_TEST_POSTGRES_URL`
//! (`postgres://postgres@127.0.0.1:5432/test`; a database is made beside it
//! and dropped after).

#![allow(clippy::print_stdout, reason = "its report is what it prints")]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as Days, Utc};
use sqlx::{AssertSqlSafe, Connection, PgConnection, SqliteConnection};
use switchboard_core::Role;
use switchboard_core::model::{NewAccount, NewInbox, NewUser, UserRef};
use switchboard_core::statistics::{BucketScope, GroupBy, StatisticsRange};
use switchboard_core::{AccountId, InboxId, Principal};
use switchboard_server::app::{App, AppSettings};
use switchboard_store::{Store, StoreOptions};

const INBOXES: u64 = 20;
const AGENTS: u64 = 50;
/// Messages per conversation: the customer and an agent in turn.
const PER_CONVERSATION: u64 = 25;
/// The traffic covers this many days, ending at the end of today (UTC).
const SPAN_DAYS: i64 = 32;
const RUNS: usize = 5;
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let backends =
        std::env::var("STATISTICS_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let messages: u64 = std::env::var("STATISTICS_BENCH_MESSAGES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(1_000_000);
    let conversations = messages / PER_CONVERSATION;
    println!(
        "statistics bench: {messages} messages, {conversations} conversations, \
         {INBOXES} inboxes, {AGENTS} agents, over {SPAN_DAYS} days; each query {RUNS} times"
    );
    for backend in backends.split(',') {
        match backend.trim() {
            "sqlite" => sqlite(conversations).await,
            "postgres" => postgres(conversations).await,
            other => panic!("unknown backend {other}"),
        }
    }
}

async fn sqlite(conversations: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    // STATISTICS_BENCH_SQLITE_FILE keeps the database there, to look at after
    let path = std::env::var("STATISTICS_BENCH_SQLITE_FILE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("statistics.db"));
    let url = format!("sqlite:{}", path.display());
    let filled = path.exists();
    let store = switchboard_store::connect(&url, &StoreOptions::default())
        .await
        .expect("sqlite store");
    if filled {
        // a database kept by an earlier run: measured again as it is
        let account = store.accounts().await.expect("accounts")[0].id;
        let users = store.users_of(account).await.expect("users");
        let owner = users.iter().find(|u| u.role == Role::Owner).expect("owner");
        let user = UserRef {
            id: owner.id,
            name: owner.name.clone(),
        };
        println!("sqlite: the database kept at {}", path.display());
        return measure("sqlite", store, Principal::new(user, account)).await;
    }
    let (account, owner) = fixture(&store).await;
    let mut conn = SqliteConnection::connect(&format!("{url}?mode=rw"))
        .await
        .expect("sqlite");
    let started = Instant::now();
    let sql = fill_sql(Dialect::Sqlite, account, conversations);
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("fill sqlite");
    println!("sqlite: filled in {:.1} s", started.elapsed().as_secs_f64());
    conn.close().await.ok();
    measure("sqlite", store, owner).await;
}

async fn postgres(conversations: u64) {
    let base = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("switchboard_bench_{}", uuid::Uuid::now_v7().simple());
    admin(&base, &format!("CREATE DATABASE \"{name}\"")).await;
    let (prefix, _) = base.rsplit_once('/').expect("a database in the url");
    let url = format!("{prefix}/{name}");
    let store = switchboard_store::connect(&url, &StoreOptions::default())
        .await
        .expect("postgres store");
    let (account, owner) = fixture(&store).await;
    let mut conn = PgConnection::connect(&url).await.expect("postgres");
    let started = Instant::now();
    let sql = fill_sql(Dialect::Postgres, account, conversations);
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("fill postgres");
    println!(
        "postgres: filled in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    conn.close().await.ok();
    measure("postgres", store, owner).await;
    if std::env::var_os("STATISTICS_BENCH_KEEP_POSTGRES").is_some() {
        println!("postgres: the database kept: {url}");
        return;
    }
    admin(
        &base,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await;
}

async fn admin(url: &str, statement: &str) {
    let mut conn = PgConnection::connect(url).await.expect("postgres");
    sqlx::raw_sql(AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await
        .expect("admin statement");
    conn.close().await.ok();
}

/// The account, its owner, its agents and inboxes, made through the store.
async fn fixture(store: &Arc<dyn Store>) -> (AccountId, Principal) {
    let (account, owner) = store
        .create_account(NewAccount {
            name: "Bench",
            owner_email: "owner@bench.example",
            owner_name: "Owner",
            owner_password_hash: HASH,
        })
        .await
        .expect("account");
    for i in 0..AGENTS {
        store
            .create_user(NewUser {
                account_id: account.id,
                email: &format!("agent{i}@bench.example"),
                name: &format!("Agent {i:02}"),
                password_hash: HASH,
                role: Role::Operator,
                capacity: 10,
            })
            .await
            .expect("agent");
    }
    for i in 0..INBOXES {
        let name = format!("Inbox {i:02}");
        store
            .create_inbox(NewInbox {
                account_id: account.id,
                name: &name,
                channel: "sms",
                key_hash: name.as_bytes(),
            })
            .await
            .expect("inbox");
    }
    let principal = Principal::new(
        UserRef {
            id: owner.id,
            name: owner.name.clone(),
        },
        account.id,
    );
    (account.id, principal)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

/// The bulk fill: `conversations` conversations spread evenly over the
/// span, each in one of the inboxes, assigned to one of the agents, with
/// [`PER_CONVERSATION`] messages two minutes apart (give or take a
/// minute and a half); four in five resolved twenty minutes after their
/// last message.
fn fill_sql(dialect: Dialect, account: AccountId, conversations: u64) -> String {
    let end = (Utc::now() + Days::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let start_ms = (end - Days::days(SPAN_DAYS)).timestamp_millis();
    let span_ms = SPAN_DAYS * 86_400_000;
    let per = PER_CONVERSATION;
    let (n_conv, n_inbox, n_agent) = (conversations, INBOXES, AGENTS);
    match dialect {
        Dialect::Sqlite => {
            let acct = format!("X'{}'", account.as_uuid().simple());
            format!(
                "CREATE TEMP TABLE bench_inboxes AS \
                   SELECT row_number() OVER (ORDER BY id) - 1 AS i, id FROM inboxes WHERE account_id = {acct}; \
                 CREATE TEMP TABLE bench_agents AS \
                   SELECT row_number() OVER (ORDER BY id) - 1 AS i, id FROM users \
                    WHERE account_id = {acct} AND role = 'operator'; \
                 CREATE TEMP TABLE bench_conv (n INTEGER PRIMARY KEY, id BLOB, contact BLOB, \
                   inbox BLOB, agent BLOB, created_at INTEGER); \
                 WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < {n_conv}) \
                 INSERT INTO bench_conv \
                   SELECT n, randomblob(16), randomblob(16), \
                          (SELECT id FROM bench_inboxes WHERE i = n % {n_inbox}), \
                          (SELECT id FROM bench_agents WHERE i = n % {n_agent}), \
                          {start} + n * {span_ms} / {n_conv} FROM seq; \
                 INSERT INTO contacts (id, account_id, handle, created_at) \
                   SELECT contact, {acct}, 'bench-' || n, created_at FROM bench_conv; \
                 INSERT INTO conversations (id, account_id, inbox_id, contact_id, assignee_id, created_at) \
                   SELECT id, {acct}, inbox, contact, agent, created_at FROM bench_conv ORDER BY n; \
                 WITH RECURSIVE k(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM k WHERE k < {per}) \
                 INSERT INTO messages (conversation_id, seq, id, direction, author_id, body, created_at) \
                   SELECT c.id, k.k, randomblob(16), \
                          CASE WHEN k.k % 2 = 1 THEN 'inbound' ELSE 'outbound' END, \
                          CASE WHEN k.k % 2 = 1 THEN NULL ELSE c.agent END, 'a bench message', \
                          {msg_time} \
                     FROM bench_conv c, k ORDER BY c.n, k.k; \
                 INSERT INTO assignment_log (conversation_id, kind, assignee_id, actor_id, at) \
                   SELECT id, 'resolved', NULL, agent, created_at + {resolve_after} \
                     FROM bench_conv WHERE n % 5 <> 0 ORDER BY n; \
                 UPDATE conversations SET status = 'resolved' \
                  WHERE id IN (SELECT id FROM bench_conv WHERE n % 5 <> 0); \
                 PRAGMA wal_checkpoint(TRUNCATE);",
                start = start_ms,
                msg_time = "c.created_at + k.k * 120000 + ((c.n * 37 + k.k * 101) % 90) * 1000",
                resolve_after = (per + 10) * 120_000,
            )
        }
        Dialect::Postgres => {
            let acct = format!("'{}'::uuid", account.as_uuid());
            format!(
                "CREATE TEMP TABLE bench_conv AS \
                   SELECT n, gen_random_uuid() AS id, gen_random_uuid() AS contact, \
                          (ARRAY(SELECT id FROM inboxes WHERE account_id = {acct} ORDER BY id))[1 + n % {n_inbox}] AS inbox, \
                          (ARRAY(SELECT id FROM users WHERE account_id = {acct} AND role = 'operator' ORDER BY id))[1 + n % {n_agent}] AS agent, \
                          to_timestamp({start} / 1000.0) + (n * {span_ms} / {n_conv}) * interval '1 millisecond' AS created_at \
                     FROM generate_series(0, {last}) AS n; \
                 INSERT INTO contacts (id, account_id, handle, created_at) \
                   SELECT contact, {acct}, 'bench-' || n, created_at FROM bench_conv; \
                 INSERT INTO conversations (id, account_id, inbox_id, contact_id, assignee_id, created_at) \
                   SELECT id, {acct}, inbox, contact, agent, created_at FROM bench_conv ORDER BY n; \
                 INSERT INTO messages (conversation_id, seq, id, direction, author_id, body, created_at) \
                   SELECT c.id, k, gen_random_uuid(), \
                          CASE WHEN k % 2 = 1 THEN 'inbound' ELSE 'outbound' END, \
                          CASE WHEN k % 2 = 1 THEN NULL ELSE c.agent END, 'a bench message', \
                          c.created_at + (k * 120 + ((c.n * 37 + k * 101) % 90)) * interval '1 second' \
                     FROM bench_conv c, generate_series(1, {per}) AS k ORDER BY c.n, k; \
                 INSERT INTO assignment_log (conversation_id, kind, assignee_id, actor_id, at) \
                   SELECT id, 'resolved', NULL, agent, created_at + {resolve_secs} * interval '1 second' \
                     FROM bench_conv WHERE n % 5 <> 0 ORDER BY n; \
                 UPDATE conversations SET status = 'resolved' \
                  WHERE id IN (SELECT id FROM bench_conv WHERE n % 5 <> 0); \
                 UPDATE conversations c SET last_seq = {per}, \
                        last_message_at = (SELECT max(m.created_at) FROM messages m WHERE m.conversation_id = c.id) \
                  WHERE c.account_id = {acct}; \
                 ANALYZE;",
                start = start_ms,
                last = n_conv - 1,
                resolve_secs = (per + 10) * 120,
            )
        }
    }
}

/// Times the last 30 days for each grouping: the first run and the median
/// of [`RUNS`]; then the store's reads one by one.
async fn measure(backend: &str, store: Arc<dyn Store>, owner: Principal) {
    let app = App::offline(store.clone(), AppSettings::DEFAULT);
    for group_by in [GroupBy::Day, GroupBy::Inbox, GroupBy::Agent] {
        let mut times = Vec::new();
        let mut rows = 0;
        let mut counted = 0;
        for _ in 0..RUNS {
            let range = StatisticsRange::parse(None, None, Utc::now(), 400).expect("range");
            let started = Instant::now();
            let mut read = app
                .statistics(&owner, range, group_by, false)
                .await
                .expect("statistics");
            rows = 0;
            counted = 0;
            while let Some(row) = read.next().await.expect("row") {
                rows += 1;
                counted += row.figures.messages_out + row.figures.messages_in.unwrap_or(0);
            }
            times.push(started.elapsed());
        }
        let first = times[0];
        times.sort();
        let median: Duration = times[RUNS / 2];
        println!(
            "{backend}: group_by={:<5} rows={rows:>3} messages counted={counted:>7} \
             first={:>7.1} ms median={:>7.1} ms",
            group_by.as_str(),
            first.as_secs_f64() * 1000.0,
            median.as_secs_f64() * 1000.0,
        );
    }
    let account = owner.account_id();
    let inboxes: BTreeSet<InboxId> = store
        .inboxes_of(account)
        .await
        .expect("inboxes")
        .iter()
        .map(|i| i.id)
        .collect();
    let range = StatisticsRange::parse(None, None, Utc::now(), 400).expect("range");
    let window = range.window();
    let one_day = range.days()[15].1;
    let one_inbox = BTreeSet::from([*inboxes.iter().next().expect("an inbox")]);
    let scope = |inboxes: &BTreeSet<InboxId>, window| BucketScope {
        inboxes: inboxes.clone(),
        window,
    };
    let timed = |what: &'static str, started: Instant| {
        println!(
            "{backend}:   {what:<44} {:>7.1} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
    };
    let started = Instant::now();
    store
        .statistics_messages(account, &inboxes, one_day)
        .await
        .expect("day");
    timed("messages of one day, every inbox", started);
    let started = Instant::now();
    store
        .statistics_messages(account, &inboxes, window)
        .await
        .expect("all");
    timed("messages of 30 days, every inbox", started);
    let started = Instant::now();
    let by = store
        .statistics_messages_by_inbox(account, &inboxes, window)
        .await;
    by.expect("by inbox");
    timed("messages of 30 days by inbox (grouped)", started);
    let started = Instant::now();
    let by = store
        .statistics_messages_by_agent(account, &inboxes, window)
        .await;
    by.expect("by agent");
    timed("messages of 30 days by agent (grouped)", started);
    let started = Instant::now();
    store
        .statistics_spells(account, &scope(&inboxes, one_day))
        .await
        .expect("spells");
    timed("spells of one day, every inbox", started);
    let started = Instant::now();
    store
        .statistics_spells(account, &scope(&one_inbox, window))
        .await
        .expect("spells");
    timed("spells of 30 days, one inbox", started);
}
