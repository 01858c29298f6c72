//! How many `record_inbound` calls per second one process gets from a
//! Postgres store: new conversations, each routed (auto-assigned to one of
//! 10 agents) under the account's lock, from 32 concurrent tasks; then, for
//! comparison, messages to those open conversations (no routing, no lock).
//!
//! ```text
//! cargo run --release -p switchboard-store --example inbound_rate -- \
//!     [postgres://postgres@127.0.0.1:5432/test] [seconds] [tasks]
//! ```
//!
//! It creates a scratch database next to the one named, and drops it after.

#![allow(clippy::print_stdout)] // the report is the point

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use switchboard_core::Role;
use switchboard_core::ids::NodeId;
use switchboard_core::model::{NewAccount, NewInbound, NewInbox, NewUser};
use switchboard_store::{Store, StoreOptions};

const AGENTS: usize = 10;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    let seconds: u64 = args.next().map_or(10, |s| s.parse().expect("seconds"));
    let tasks: usize = args.next().map_or(32, |s| s.parse().expect("tasks"));

    let name = format!("switchboard_rate_{}", uuid::Uuid::now_v7().simple());
    admin(&base, &format!("CREATE DATABASE \"{name}\"")).await;
    let (prefix, _) = base.rsplit_once('/').expect("postgres url with a database");
    let options = StoreOptions {
        max_connections: u32::try_from(tasks).expect("tasks"),
        ..StoreOptions::default()
    };
    let store = switchboard_store::connect(&format!("{prefix}/{name}"), &options)
        .await
        .expect("connect");

    let (account, _) = store
        .create_account(NewAccount {
            name: "rate",
            owner_email: "owner@rate.example",
            owner_name: "owner",
            owner_password_hash: "x",
        })
        .await
        .expect("account");
    let inbox = store
        .create_inbox(NewInbox {
            account_id: account.id,
            name: "sms",
            channel: "sms",
            key_hash: b"rate",
        })
        .await
        .expect("inbox");
    let node = NodeId::new();
    for n in 0..AGENTS {
        let agent = store
            .create_user(NewUser {
                account_id: account.id,
                email: &format!("agent{n}@rate.example"),
                name: &format!("agent {n}"),
                password_hash: "x",
                role: Role::Operator,
                capacity: 10_000_000,
            })
            .await
            .expect("agent");
        store
            .set_online(agent.id, node, true)
            .await
            .expect("online");
    }

    let window = Duration::from_secs(seconds);
    let (created, routed_for) = run(&store, inbox.id, tasks, window, true).await;
    let (sent, sent_for) = run(&store, inbox.id, tasks, window, false).await;
    drop(store);
    // before printing: a closed stdout must not leave the database behind
    admin(
        &base,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await;

    println!(
        "new conversations, auto-assigned: {created} in {:.1} s = {:.0}/s ({tasks} tasks, {AGENTS} agents)",
        routed_for.as_secs_f64(),
        created as f64 / routed_for.as_secs_f64()
    );
    println!(
        "messages to open conversations: {sent} in {:.1} s = {:.0}/s ({tasks} tasks)",
        sent_for.as_secs_f64(),
        sent as f64 / sent_for.as_secs_f64()
    );
}

/// `tasks` callers for `window`: each a new customer per call (`fresh`), or
/// the customers of the first round writing again.
async fn run(
    store: &Arc<dyn Store>,
    inbox: switchboard_core::ids::InboxId,
    tasks: usize,
    window: Duration,
    fresh: bool,
) -> (u64, Duration) {
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut running = Vec::new();
    for task in 0..tasks {
        let (store, done) = (store.clone(), done.clone());
        running.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < window {
                let handle = if fresh {
                    format!("customer-{task}-{n}")
                } else {
                    format!("customer-{task}-{}", n % 100)
                };
                store
                    .record_inbound(NewInbound {
                        inbox_id: inbox,
                        handle: &handle,
                        contact_name: None,
                        body: "hello",
                    })
                    .await
                    .expect("record inbound");
                n += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in running {
        task.await.expect("task");
    }
    (done.load(Ordering::Relaxed), start.elapsed())
}

async fn admin(url: &str, statement: &str) {
    let mut conn = PgConnection::connect(url).await.expect("postgres");
    sqlx::raw_sql(AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|err| panic!("{statement}: {err}"));
    conn.close().await.ok();
}
