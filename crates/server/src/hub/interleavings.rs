//! The hub's shared structures under the shuttle model checker, where a
//! race would lose or duplicate a frame: the outbox (frames pushed by many
//! tasks while the session drains them), the connection index (connections
//! added and removed at once, subscribers coming and going) and the room
//! map (viewers entering and leaving one conversation while its room is
//! built and dropped). Built with the `shuttle` feature, these structures
//! run on shuttle's primitives (`hub/sync.rs`), and each check runs its
//! tasks under [`ITERATIONS`] schedules shuttle picks (at random, and by
//! its PCT algorithm, which finds bugs of a few ordered steps with known
//! odds), asserting after every run. A failing run prints the schedule;
//! `shuttle::replay(check, "<schedule>")` runs exactly that one again.
//!
//! `cargo test -p switchboard-server --features shuttle --lib interleavings`;
//! `SWITCHBOARD_SHUTTLE_ITERATIONS` sets the schedules per check (default
//! 10,000).

use std::collections::HashSet;
use std::sync::Arc;

use shuttle::future::{block_on, spawn};
use shuttle::thread;
use switchboard_core::model::{Contact, Conversation, ConversationStatus, UserRef};
use switchboard_core::{AccountId, ContactId, ConversationId, InboxId, Principal, UserId};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::OutboxLimits;
use super::conn::{Conn, Overflow};
use super::connections::Connections;
use super::delivery::Viewer;
use super::rooms::{Entered, Rooms};

/// Schedules tried per check and per scheduler.
const ITERATIONS: usize = 10_000;

fn iterations() -> usize {
    std::env::var("SWITCHBOARD_SHUTTLE_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(ITERATIONS)
}

/// Runs `check` under random schedules, then under PCT schedules.
fn explore(check: impl Fn() + Send + Sync + 'static) {
    let check = Arc::new(check);
    let random = check.clone();
    shuttle::check_random(move || random(), iterations());
    shuttle::check_pct(move || check(), iterations(), 3);
}

const BIG: OutboxLimits = OutboxLimits {
    frames: 64,
    bytes: 1 << 16,
};

fn conn_of(user: UserId, account: AccountId, limits: OutboxLimits) -> Arc<Conn> {
    let principal = Principal::new(
        UserRef {
            id: user,
            name: "Ann".into(),
        },
        account,
    );
    let mut token = [0; 32];
    token[..16].copy_from_slice(user.as_uuid().as_bytes());
    Arc::new(Conn::new(principal, token, limits, 0))
}

fn frame(text: String) -> Utf8Bytes {
    Utf8Bytes::from(text)
}

/// The session's side: waits for the wake-up, drains, until `until` says
/// it has what it waits for or a close comes; what it drained, in order.
async fn session(conn: Arc<Conn>, until: usize) -> (Vec<String>, bool) {
    let mut got = Vec::new();
    loop {
        let mut batch = Vec::new();
        let close = conn.drain(&mut batch);
        got.extend(batch.iter().map(|f| f.as_str().to_owned()));
        if close.is_some() {
            return (got, true);
        }
        if got.len() >= until {
            return (got, false);
        }
        conn.queued().await;
    }
}

/// Frames pushed by two tasks at once reach the session each exactly once,
/// each task's in the order it pushed them, and the session is never left
/// asleep with a frame queued (shuttle fails a run that ends blocked).
#[test]
fn frames_pushed_at_once_reach_the_session_once_each_in_order() {
    explore(|| {
        let conn = conn_of(UserId::new(), AccountId::new(), BIG);
        let pushers: Vec<_> = (0..2)
            .map(|p| {
                let conn = conn.clone();
                thread::spawn(move || {
                    for i in 0..3 {
                        conn.push(&frame(format!("{p}.{i}"))).unwrap();
                    }
                })
            })
            .collect();
        let drained = spawn(session(conn.clone(), 6));
        for pusher in pushers {
            pusher.join().unwrap();
        }
        let (got, closed) = block_on(drained).unwrap();
        assert!(!closed);
        for p in 0..2 {
            let mine: Vec<&String> = got
                .iter()
                .filter(|f| f.starts_with(&format!("{p}.")))
                .collect();
            let expected: Vec<String> = (0..3).map(|i| format!("{p}.{i}")).collect();
            assert_eq!(
                mine,
                expected.iter().collect::<Vec<_>>(),
                "all of {p}'s, in order, once: {got:?}"
            );
        }
        assert_eq!(got.len(), 6);
    });
}

/// A close asked for while frames are pushed: every frame whose push was
/// accepted reaches the session before the close, none accepted after it,
/// and the session sees the close.
#[test]
fn a_close_while_frames_are_pushed_loses_no_accepted_frame() {
    explore(|| {
        let conn = conn_of(UserId::new(), AccountId::new(), BIG);
        let pusher = {
            let conn = conn.clone();
            thread::spawn(move || {
                (0..4)
                    .filter(|i| conn.push(&frame(format!("f{i}"))).is_ok())
                    .map(|i| format!("f{i}"))
                    .collect::<Vec<_>>()
            })
        };
        let closer = {
            let conn = conn.clone();
            thread::spawn(move || conn.close(1001, "going away"))
        };
        let drained = spawn(session(conn.clone(), usize::MAX));
        let accepted = pusher.join().unwrap();
        closer.join().unwrap();
        let (got, closed) = block_on(drained).unwrap();
        assert!(closed, "the session sees the close");
        assert_eq!(got, accepted, "what was accepted, all of it, in order");
        assert!(
            conn.push(&frame("late".into())).is_err(),
            "nothing after the close"
        );
    });
}

/// Pushes that fill a small outbox while the session drains it: a push is
/// refused only once the connection is being closed for not reading, and
/// every accepted frame drained before that is delivered once.
#[test]
fn an_outbox_overflowing_under_pushes_refuses_only_once_it_closes() {
    explore(|| {
        let limits = OutboxLimits {
            frames: 2,
            bytes: 1 << 16,
        };
        let conn = conn_of(UserId::new(), AccountId::new(), limits);
        let pushers: Vec<_> = (0..2)
            .map(|p| {
                let conn = conn.clone();
                thread::spawn(move || {
                    let mut accepted = Vec::new();
                    for i in 0..3 {
                        match conn.push(&frame(format!("{p}.{i}"))) {
                            Ok(()) => accepted.push(format!("{p}.{i}")),
                            Err(Overflow) => assert!(conn.is_closing(), "refused while open"),
                        }
                    }
                    accepted
                })
            })
            .collect();
        let drained = spawn(session(conn.clone(), 6));
        let accepted: HashSet<String> = pushers
            .into_iter()
            .flat_map(|p| p.join().unwrap())
            .collect();
        let (got, closed) = block_on(drained).unwrap();
        let unique: HashSet<&String> = got.iter().collect();
        assert_eq!(unique.len(), got.len(), "nothing twice: {got:?}");
        assert!(
            got.iter().all(|f| accepted.contains(f)),
            "only what was accepted"
        );
        if !closed {
            assert_eq!(got.len(), accepted.len(), "everything when it stayed open");
        }
    });
}

/// Connections of one user added at once never pass the cap, and
/// connections added and removed at once leave the index consistent: each
/// live one found by id, by user and by its login session, nothing else.
#[test]
fn connections_added_and_removed_at_once_keep_the_index_whole() {
    explore(|| {
        let connections = Arc::new(Connections::default());
        let account = AccountId::new();
        let ann = UserId::new();
        let first = conn_of(ann, account, BIG);
        assert!(connections.add(first.clone(), 2));
        let adders: Vec<_> = (0..3)
            .map(|_| {
                let connections = connections.clone();
                thread::spawn(move || {
                    let conn = conn_of(ann, account, BIG);
                    connections.add(conn.clone(), 2).then_some(conn)
                })
            })
            .collect();
        let remover = {
            let (connections, first) = (connections.clone(), first.clone());
            thread::spawn(move || assert!(connections.remove(&first)))
        };
        let added: Vec<Arc<Conn>> = adders
            .into_iter()
            .filter_map(|a| a.join().unwrap())
            .collect();
        remover.join().unwrap();
        assert!(!added.is_empty(), "one seat was always free");
        assert!(
            added.len() <= 2,
            "never past the cap: {} added",
            added.len()
        );
        assert_eq!(connections.count_of(ann), added.len());
        assert_eq!(connections.len(), added.len());
        let mut found = Vec::new();
        connections.of_user(ann, |c| found.push(c.id));
        let mut expected: Vec<_> = added.iter().map(|c| c.id).collect();
        found.sort_unstable();
        expected.sort_unstable();
        assert_eq!(found, expected);
        assert_eq!(
            connections.owner_of(&first.token_hash),
            Some(ann),
            "the session still has connections"
        );
        for conn in &added {
            assert!(connections.remove(conn));
        }
        assert_eq!(
            connections.owner_of(&first.token_hash),
            None,
            "and then none"
        );
        assert_eq!(connections.count_of(ann), 0);
    });
}

/// Inbox subscribers of one account coming and going at once: the
/// account's list holds exactly the live subscribers, and the account is
/// followed exactly while it has one (what the bus interest follows).
#[test]
fn subscribers_coming_and_going_at_once_are_listed_exactly() {
    explore(|| {
        let connections = Arc::new(Connections::default());
        let account = AccountId::new();
        let leaving = conn_of(UserId::new(), account, BIG);
        connections.add(leaving.clone(), 10);
        connections.subscribe(&leaving);
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let connections = connections.clone();
                thread::spawn(move || {
                    let conn = conn_of(UserId::new(), account, BIG);
                    connections.add(conn.clone(), 10);
                    connections.subscribe(&conn);
                    conn
                })
            })
            .collect();
        let remover = {
            let (connections, leaving) = (connections.clone(), leaving.clone());
            thread::spawn(move || connections.remove(&leaving))
        };
        let staying: Vec<Arc<Conn>> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
        remover.join().unwrap();
        let mut listed = Vec::new();
        connections.subscribers(account, |c| listed.push(c.id));
        listed.sort_unstable();
        let mut expected: Vec<_> = staying.iter().map(|c| c.id).collect();
        expected.sort_unstable();
        assert_eq!(listed, expected);
        assert!(connections.follows(account));
        for conn in &staying {
            connections.remove(conn);
        }
        assert!(!connections.follows(account), "no list left behind");
        assert!(connections.followed_accounts().is_empty());
    });
}

fn conversation(id: ConversationId, account: AccountId) -> Conversation {
    Conversation {
        id,
        account_id: account,
        inbox_id: InboxId::new(),
        contact: Contact {
            id: ContactId::new(),
            handle: "+15550100".into(),
            name: None,
        },
        status: ConversationStatus::Open,
        assignee: None,
        answered_by: None,
        answered_epoch: 0,
        queue_position: None,
        last_seq: 0,
        last_message_at: None,
    }
}

/// The conversation's room, found or built, locked, as the messenger's use
/// cases get it; never one that was dropped.
async fn entered(rooms: &Rooms, id: ConversationId, account: AccountId) -> Entered {
    let load = || async move { Ok::<_, ()>(conversation(id, account)) };
    let entered = rooms.enter(id, load).await.unwrap();
    assert!(!entered.guard.is_closed(), "a dropped room is never used");
    entered
}

/// A viewer enters the conversation's room, and the room is dropped on the
/// way out if it was left empty, as a room handle does.
async fn enter(rooms: &Rooms, id: ConversationId, account: AccountId, viewer: &Arc<Conn>) {
    let mut entered = entered(rooms, id, account).await;
    entered.guard.viewers.push(Viewer {
        conn: viewer.clone(),
        watermark: 0,
        watching: false,
    });
    rooms.close_if_idle(&entered.entry, &mut entered.guard);
}

async fn leave(rooms: &Rooms, id: ConversationId, account: AccountId, viewer: &Arc<Conn>) {
    let mut entered = entered(rooms, id, account).await;
    entered
        .guard
        .viewers
        .retain(|v| !Arc::ptr_eq(&v.conn, viewer));
    rooms.close_if_idle(&entered.entry, &mut entered.guard);
}

/// Viewers entering and leaving one conversation at once, its room built
/// and dropped under them: no viewer ever lands in a dropped room (where
/// nothing would reach it), and in the end the map holds the one room of
/// the viewer who stayed, with that viewer alone; when all leave, none.
#[test]
fn viewers_entering_and_leaving_at_once_never_land_in_a_dropped_room() {
    explore(|| {
        let rooms = Arc::new(Rooms::default());
        let account = AccountId::new();
        let id = ConversationId::new();
        let stays = conn_of(UserId::new(), account, BIG);
        let passing: Vec<Arc<Conn>> = (0..2)
            .map(|_| conn_of(UserId::new(), account, BIG))
            .collect();
        let mut tasks = Vec::new();
        for viewer in &passing {
            let (rooms, viewer) = (rooms.clone(), viewer.clone());
            tasks.push(spawn(async move {
                enter(&rooms, id, account, &viewer).await;
                leave(&rooms, id, account, &viewer).await;
            }));
        }
        {
            let (rooms, stays) = (rooms.clone(), stays.clone());
            tasks.push(spawn(
                async move { enter(&rooms, id, account, &stays).await },
            ));
        }
        for task in tasks {
            block_on(task).unwrap();
        }
        assert_eq!(rooms.len(), 1, "one room");
        let entry = rooms.get(id).expect("the room of the viewer who stayed");
        let guard = block_on(entry.lock()).expect("open");
        let viewers: Vec<_> = guard.viewers.iter().map(|v| v.conn.id).collect();
        assert_eq!(viewers, vec![stays.id]);
        drop(guard);
        let rooms_done = rooms.clone();
        block_on(async move { leave(&rooms_done, id, account, &stays).await });
        assert_eq!(rooms.len(), 0, "the last to leave drops it");
        assert!(rooms.get(id).is_none());
    });
}
