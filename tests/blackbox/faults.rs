//! Faults on real processes: PostgreSQL cut under load, one node cut from
//! Redis, a node killed with the default settings, a rolling restart, a
//! console that stops reading. Links are cut with a proxy between a node
//! and what it depends on (`switchboard_testkit::TcpProxy`), so both ends
//! keep running, as in a network partition.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use switchboard_proto::{ErrorCode, ServerFrame};
use switchboard_testkit::TcpProxy;
use tokio::time::Instant;
use uuid::Uuid;

use crate::support::client::{Ended, active_id, observer_ids};
use crate::support::cluster::{Cluster, Database};
use crate::support::fault::{
    Sent, Writer, acked, assert_run, catch_up, kill_and_see_role_freed, seqs_in, sleeper, sql,
};
use crate::support::server::Tenant;
use crate::support::{Fixture, TestServer, WsClient};

/// Each node's share of the Postgres server the other tests use too.
const FEW_CONNECTIONS: (&str, &str) = ("SWITCHBOARD_DB_MAX_CONNECTIONS", "3");
/// How long a test waits for something a healed link brings back.
const RECOVERY: Duration = Duration::from_secs(30);
/// The writers' pace: steady traffic, a readable log.
const PACE: Duration = Duration::from_millis(5);

/// A new conversation that agent 0 (Ann) answers through node 1 while
/// agent 1 (Bob) watches it through node 0, and the epoch of Ann's role.
async fn ann_answers_on_node_1_bob_watches_on_node_0(
    c: &Cluster,
    handle: &str,
) -> (Uuid, WsClient, WsClient, Option<u64>) {
    let conversation = c.conversation(handle).await;
    let mut a = c.connect(1, 0).await;
    let granted = a.join(conversation).await.presence.unwrap();
    assert_eq!(active_id(&granted), Some(c.agents[0].id));
    let mut b = c.connect(0, 1).await;
    b.join(conversation).await;
    (conversation, a, b, granted.epoch)
}

/// `(seq, client_msg_id)` of every message of `conversation`, by seq,
/// read from the database itself.
async fn stored(database_url: &str, conversation: Uuid) -> Vec<(u64, String)> {
    let rows = sql(
        database_url,
        &format!(
            "SELECT seq || ' ' || coalesce(client_msg_id, '-') FROM messages \
             WHERE conversation_id = '{conversation}' ORDER BY seq"
        ),
    )
    .await;
    rows.lines()
        .map(|row| {
            let (seq, id) = row.split_once(' ').unwrap();
            (seq.parse().unwrap(), id.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn postgres_cut_under_load_acks_only_what_was_committed_and_resumes_gap_free() {
    let database = Database::create().await;
    let proxy = TcpProxy::in_front_of(&database.url).await.unwrap();
    let server = TestServer::start_with(
        &proxy.url(),
        &[
            FEW_CONNECTIONS,
            ("SWITCHBOARD_DB_ACQUIRE_TIMEOUT_MS", "500"),
            ("SWITCHBOARD_RATE_LIMIT_PER_SEC", "1000"),
            ("SWITCHBOARD_RATE_LIMIT_BURST", "1000"),
        ],
    )
    .await;
    let tenant = Tenant::create(&server, &["operator", "operator"]).await;
    let conversation: Uuid = server
        .inbound(&tenant.inbox_key, tenant.inbox, "+15557100", "hello?")
        .await["conversation_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut console = WsClient::connect(&server, &tenant.agents[0].token).await;
    console.join(conversation).await;
    let mut observer = WsClient::connect(&server, &tenant.agents[1].token).await;
    let joined_at = observer.join(conversation).await.last_seq.unwrap();
    let body = "through the outage";
    let mut writer = Writer::start(console, conversation, "pg", body.into(), PACE);
    writer.acks(5, RECOVERY).await;

    proxy.cut();
    for _ in 0..3 {
        writer
            .until("a refusal while cut", RECOVERY, |s| s.outcome.is_err())
            .await;
    }
    let ready = reqwest::get(server.http("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503, "not ready without the store");
    assert_eq!(
        ready.json::<Value>().await.unwrap()["status"],
        "unavailable"
    );

    proxy.heal();
    writer.acks(5, RECOVERY).await;
    let (mut console, log) = writer.stop().await;
    let refused: Vec<&Sent> = log.iter().filter(|s| s.outcome.is_err()).collect();
    for sent in &refused {
        assert!(sent.refused_with(ErrorCode::Unavailable), "{sent:?}");
    }
    // Resent with their ids, as a console does: a refused send whose
    // commit did happen stores once and acks the stored message.
    let mut acks: Vec<(String, u64)> = log
        .iter()
        .filter_map(|s| Some((s.client_msg_id.clone(), s.outcome.as_ref().ok()?.seq)))
        .collect();
    for sent in &refused {
        let message = console
            .say(conversation, &sent.client_msg_id, body)
            .await
            .expect("a resend after the heal is acked");
        acks.push((sent.client_msg_id.clone(), message.seq));
    }

    let rows = stored(&database.url, conversation).await;
    let seqs: Vec<u64> = rows.iter().map(|(seq, _)| *seq).collect();
    assert_run(&seqs, 0, seqs.len() as u64, "the store");
    let by_id: HashMap<&str, Vec<u64>> = rows.iter().fold(HashMap::new(), |mut ids, (seq, id)| {
        ids.entry(id.as_str()).or_default().push(*seq);
        ids
    });
    for (id, seq) in &acks {
        assert_eq!(
            by_id.get(id.as_str()),
            Some(&vec![*seq]),
            "{id} is stored once, at the seq its ack gave"
        );
    }
    assert_eq!(
        rows.len(),
        1 + acks.len(),
        "nothing stored that nobody sent"
    );

    // Whoever watched saw every message once, in order, and catching up
    // from where they joined reads the same.
    let last = *seqs.last().unwrap();
    observer.expect_message(conversation, last).await;
    let mut watched = seqs_in(&observer.take_backlog(), conversation);
    watched.push(last);
    assert_run(&watched, joined_at, last, "the observer's messages");
    let (caught, last_seq) = catch_up(&mut observer, conversation, joined_at).await;
    assert_eq!(last_seq, last);
    assert_run(&caught, joined_at, last, "catching up with after_seq");
}

#[tokio::test]
async fn a_node_cut_from_redis_never_makes_a_second_writer_and_presence_reconverges_after_the_heal()
{
    let mut c = Cluster::start(
        1,
        2,
        &[
            FEW_CONNECTIONS,
            ("SWITCHBOARD_NODE_TIMEOUT_MS", "2000"),
            ("SWITCHBOARD_LOCK_LEASE_SECS", "3"),
        ],
    )
    .await;
    // Node 1 reaches Redis only through the proxy; node 0 keeps it.
    let proxy = TcpProxy::in_front_of(&c.redis.url()).await.unwrap();
    let cut_node = c
        .boot_with(&[("SWITCHBOARD_REDIS_URL", &proxy.url())])
        .await;
    c.nodes.push(Some(cut_node));
    let (conversation, a, mut b, granted_epoch) =
        ann_answers_on_node_1_bob_watches_on_node_0(&c, "+15557200").await;
    let (ann, bob) = (c.agents[0].id, c.agents[1].id);
    let mut writer = Writer::start(a, conversation, "cut", "still mine?".into(), PACE);
    writer.acks(3, RECOVERY).await;

    proxy.cut();
    // Node 0 takes node 1 for dead and frees the role; Bob takes it.
    b.expect_presence(conversation, |p| p.active.is_none())
        .await;
    let taken = b
        .take(conversation)
        .await
        .expect("bob takes the freed role")
        .presence
        .unwrap();
    assert!(
        taken.epoch > granted_epoch,
        "a new grant, a new epoch: {:?} after {:?}",
        taken.epoch,
        granted_epoch
    );
    let mut bobs = Vec::new();
    for i in 0..3 {
        bobs.push(
            b.say(conversation, &format!("bob-{i}"), "mine now")
                .await
                .expect("bob writes"),
        );
    }
    // Ann, still connected to the cut node, learns she lost it.
    writer
        .until("ann refused as no longer active", RECOVERY, |s| {
            s.refused_with(ErrorCode::NotActive)
        })
        .await;
    let (mut a, log) = writer.stop().await;
    a.expect_lock_lost().await;

    let last_of_ann = acked(&log).iter().map(|m| m.seq).max().unwrap();
    assert!(
        last_of_ann < bobs[0].seq,
        "ann's last ack ({last_of_ann}) comes before bob's first message ({})",
        bobs[0].seq
    );
    let stale = sql(
        &c.database.url,
        &format!(
            "SELECT count(*) FROM messages WHERE conversation_id = '{conversation}' \
             AND author_id = '{ann}' AND seq > {}",
            bobs[0].seq
        ),
    )
    .await;
    assert_eq!(stale, "0", "nothing of ann's stored after bob's grant");

    proxy.heal();
    for client in [&mut a, &mut b] {
        client
            .expect_presence(conversation, |p| {
                active_id(p) == Some(bob) && observer_ids(p) == vec![ann]
            })
            .await;
    }
}

/// A node whose store is slow is busy, not dead: while its lease renewal
/// waits on a row another transaction holds (longer than the others wait
/// for a heartbeat), it keeps heartbeating, so the others never bury it
/// and the role it granted stays where it is. (With the heartbeat in the
/// timers' loop, behind the renewal, node 0 took node 1 for dead and Bob
/// saw Ann's role freed.)
#[tokio::test]
async fn a_node_waiting_on_its_store_keeps_heartbeating_and_is_not_taken_for_dead() {
    let c = Cluster::start(
        2,
        2,
        &[
            ("SWITCHBOARD_NODE_TIMEOUT_MS", "2000"),
            // renewed every 5 s; a lease outlives the 8 s the row is held
            ("SWITCHBOARD_LOCK_LEASE_SECS", "15"),
        ],
    )
    .await;
    let (conversation, mut a, mut b, _) =
        ann_answers_on_node_1_bob_watches_on_node_0(&c, "+15557250").await;
    let (ann, bob) = (c.agents[0].id, c.agents[1].id);
    b.expect_presence(conversation, |p| {
        active_id(p) == Some(ann) && observer_ids(p) == vec![bob]
    })
    .await;

    // Another transaction holds the conversation's row for 8 s: node 1's
    // next renewal of Ann's lease waits for it.
    let hold = format!(
        "BEGIN; SELECT 1 FROM conversations WHERE id = '{conversation}' FOR UPDATE; \
         SELECT pg_sleep(8); COMMIT;"
    );
    let holder = tokio::process::Command::new("psql")
        .arg(&c.database.url)
        .args(["-q", "-c", &hold])
        .spawn()
        .expect("psql");
    let holding = Instant::now() + RECOVERY;
    while sql(
        &c.database.url,
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(8)%' \
         AND state = 'active' AND pid <> pg_backend_pid()",
    )
    .await
        == "0"
    {
        assert!(Instant::now() < holding, "the row was never held");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Until the row is free again and two liveness windows after: every
    // presence Bob is sent still shows Ann answering. (Read in steps
    // shorter than the client's own wait for a frame.)
    let watched_until = Instant::now() + Duration::from_secs(12);
    while Instant::now() < watched_until {
        let step = (Instant::now() + Duration::from_secs(4)).min(watched_until);
        let Ok(frame) = tokio::time::timeout_at(
            step,
            b.expect("a presence", |f| matches!(f, ServerFrame::Presence(_))),
        )
        .await
        else {
            continue;
        };
        let ServerFrame::Presence(presence) = frame else {
            unreachable!()
        };
        assert_eq!(
            active_id(&presence),
            Some(ann),
            "node 1 was taken for dead: {presence:?}"
        );
    }
    let status = holder.wait_with_output().await.expect("psql ended").status;
    assert!(status.success(), "the holding transaction failed");
    // Ann still writes, through the grant she had all along.
    a.say(conversation, "still-mine", "still here")
        .await
        .expect("ann still answers");
}

/// With the default node timeout and grace (nothing shortened), a node
/// killed outright is noticed within the five seconds the design promises.
#[tokio::test]
async fn a_killed_node_is_cleaned_up_within_five_seconds_with_the_default_settings() {
    let mut c = Cluster::start(2, 3, &[FEW_CONNECTIONS]).await;
    let conversation = c.conversation("+15557300").await;
    let (ann, bob) = (c.agents[0].id, c.agents[1].id);
    let mut a = c.connect(0, 0).await;
    assert_eq!(
        active_id(&a.join(conversation).await.presence.unwrap()),
        Some(ann)
    );
    let mut d = c.connect(0, 2).await;
    d.join(conversation).await;
    let mut b = c.connect(1, 1).await;
    b.join(conversation).await;
    b.expect_presence(conversation, |p| {
        active_id(p) == Some(ann) && observer_ids(p).len() == 2
    })
    .await;

    let (presence, killed) = kill_and_see_role_freed(&mut c, 0, &mut b, conversation).await;
    assert_eq!(
        observer_ids(&presence),
        vec![bob],
        "the dead node's viewers are gone"
    );
    let taken = b.take(conversation).await.expect("bob takes the role");
    assert_eq!(active_id(&taken.presence.unwrap()), Some(bob));
    assert!(
        killed.elapsed() < Duration::from_secs(5),
        "cleaned up and taken over {:?} after the kill",
        killed.elapsed()
    );
}

/// What one console saw of one conversation: the seqs it was sent, in any
/// order, from the `last_seq` of its first join.
struct Seen {
    since: u64,
    seqs: Vec<u64>,
}

impl Seen {
    fn have(&self) -> u64 {
        self.seqs.iter().copied().max().unwrap_or(self.since)
    }

    /// Exactly every seq after `since` up to `last`, each once.
    fn assert_complete(&mut self, last: u64, what: &str) {
        self.seqs.sort_unstable();
        assert_run(&self.seqs, self.since, last, what);
    }
}

/// A console on the node that goes: it joined `conversations` and saw
/// `seen` of each before the node stopped.
struct Leaving {
    client: WsClient,
    seen: HashMap<Uuid, Seen>,
}

impl Leaving {
    async fn join(mut client: WsClient, conversations: &[Uuid]) -> Self {
        let mut seen = HashMap::new();
        for &conversation in conversations {
            let since = client.join(conversation).await.last_seq.unwrap();
            seen.insert(
                conversation,
                Seen {
                    since,
                    seqs: Vec::new(),
                },
            );
        }
        Self { client, seen }
    }

    /// Everything received since the last look goes into `seen`.
    fn record(&mut self) {
        let frames = self.client.take_backlog();
        for (conversation, seen) in self.seen.iter_mut() {
            seen.seqs.extend(seqs_in(&frames, *conversation));
        }
    }

    /// Waits for every conversation's message `last[conversation]`;
    /// everything received until then goes into `seen`.
    async fn receive_up_to(&mut self, last: &HashMap<Uuid, u64>) {
        for (&conversation, &seq) in last {
            self.client.expect_message(conversation, seq).await;
            self.seen.get_mut(&conversation).unwrap().seqs.push(seq);
        }
        self.record();
    }

    /// Reconnects through `node` and joins every conversation again from
    /// the last seq it holds.
    async fn resume(&mut self, node: &TestServer, token: &str) {
        self.client = WsClient::connect(node, token).await;
        for (conversation, seen) in self.seen.iter_mut() {
            let (caught, _) = catch_up(&mut self.client, *conversation, seen.have()).await;
            seen.seqs.extend(caught);
        }
    }
}

#[tokio::test]
async fn a_rolling_restart_closes_with_1001_frees_roles_and_consoles_resume_gap_free_elsewhere() {
    let mut c = Cluster::start(3, 4, &[FEW_CONNECTIONS]).await;
    let talks = [
        c.conversation("+15557401").await,
        c.conversation("+15557402").await,
    ];
    let held = c.conversation("+15557403").await;
    // A writer on node 1 and one on node 2, each answering one conversation.
    let mut writers = Vec::new();
    for (i, &conversation) in talks.iter().enumerate() {
        let mut console = c.connect(i + 1, i).await;
        console.join(conversation).await;
        writers.push(Writer::start(
            console,
            conversation,
            &format!("w{i}"),
            "through the restart".into(),
            Duration::from_millis(20),
        ));
    }
    // Two consoles on node 0: one holds `held`, both watch everything.
    let mut leaving = [
        Leaving::join(c.connect(0, 2).await, &[held, talks[0], talks[1]]).await,
        Leaving::join(c.connect(0, 3).await, &[held, talks[0], talks[1]]).await,
    ];
    let mut watcher = WsClient::connect(c.node(2), &c.owner.token).await;
    let presence = watcher.join(held).await.presence.unwrap();
    assert_eq!(active_id(&presence), Some(c.agents[2].id));
    for writer in writers.iter_mut() {
        writer.acks(5, RECOVERY).await;
    }
    // The writers pause, and node 0's consoles receive all they wrote,
    // before node 0 closes them: a close while frames are queued for a
    // console loses its 1001 (see
    // `a_shutdown_closes_a_console_being_written_to_with_1001`).
    let mut paused = Vec::new();
    let mut last = HashMap::new();
    for (writer, conversation) in writers.into_iter().zip(talks) {
        let (console, log) = writer.stop().await;
        assert!(log.iter().all(|s| s.outcome.is_ok()), "{log:#?}");
        last.insert(conversation, acked(&log).last().unwrap().seq);
        paused.push(console);
    }
    for console in leaving.iter_mut() {
        console.receive_up_to(&last).await;
    }

    let mut node = c.nodes[0].take().unwrap();
    let restart = Instant::now();
    let stopping = tokio::spawn(async move { node.terminate().await });
    for console in leaving.iter_mut() {
        assert_eq!(console.client.closed().await, Ended::Closed(Some(1001)));
        console.record();
    }
    // Messages go on while they are away.
    let mut writers: Vec<Writer> = paused
        .into_iter()
        .zip(talks)
        .enumerate()
        .map(|(i, (console, conversation))| {
            Writer::start(
                console,
                conversation,
                &format!("w{i}-after"),
                "through the restart".into(),
                Duration::from_millis(20),
            )
        })
        .collect();
    watcher.expect_presence(held, |p| p.active.is_none()).await;
    for (i, console) in leaving.iter_mut().enumerate() {
        let agent = &c.agents[2 + i];
        console.resume(c.node(1 + i), &agent.token).await;
    }
    assert!(
        restart.elapsed() < Duration::from_secs(5),
        "roles freed and consoles resumed {:?} after SIGTERM",
        restart.elapsed()
    );
    stopping.await.unwrap();
    // Messages keep coming after the consoles are back: live, not caught up.
    for writer in writers.iter_mut() {
        writer.acks(3, RECOVERY).await;
    }

    for (writer, conversation) in writers.into_iter().zip(talks) {
        let (_, log) = writer.stop().await;
        assert!(log.iter().all(|s| s.outcome.is_ok()), "{log:#?}");
        last.insert(conversation, acked(&log).last().unwrap().seq);
    }
    for console in leaving.iter_mut() {
        console.receive_up_to(&last).await;
        for (conversation, seen) in console.seen.iter_mut() {
            let want = last.get(conversation).copied().unwrap_or(seen.since);
            seen.assert_complete(want, &format!("{conversation} across the restart"));
        }
    }
}

#[tokio::test]
async fn a_console_that_stops_reading_is_closed_at_its_bound_and_resumes_gap_free() {
    // The frame bound is the one reached; a catch-up page fits the bytes.
    let fx = Fixture::new(
        2,
        &[
            ("SWITCHBOARD_RATE_LIMIT_PER_SEC", "100000"),
            ("SWITCHBOARD_RATE_LIMIT_BURST", "100000"),
            ("SWITCHBOARD_OUTBOX_FRAMES", "64"),
            ("SWITCHBOARD_OUTBOX_BYTES", "1048576"),
        ],
    )
    .await;
    let conversation = fx.conversation("+15557500").await;
    let mut console = fx.connect(&fx.agents[0]).await;
    console.join(conversation).await;
    let mut sleeper = sleeper(&fx.server, &fx.agents[1].token, 4096).await;
    let since = sleeper.join(conversation).await.last_seq.unwrap();
    let body = "z".repeat(1024);
    let writer = Writer::start(
        console,
        conversation,
        "flood",
        body.clone(),
        Duration::from_millis(1),
    );

    // The server gives up on the sleeper once its queue is full.
    let deadline = Instant::now() + RECOVERY;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while fx.server.metric("switchboard_slow_consumers_total").await < 1.0 {
        assert!(Instant::now() < deadline, "the sleeper was never closed");
        tick.tick().await;
    }
    let (mut console, log) = writer.stop().await;
    assert!(
        log.iter().all(|s| s.outcome.is_ok()),
        "the writer was unaffected"
    );
    let ended = sleeper.closed().await;
    let frames = sleeper.take_backlog();
    assert!(
        matches!(ended, Ended::Closed(Some(1008)) | Ended::Dropped),
        "a slow consumer is closed with 1008 (or dropped when its socket is full): {ended:?}"
    );
    let mut seen = Seen {
        since,
        seqs: seqs_in(&frames, conversation),
    };
    let last_sent = acked(&log).last().unwrap().seq;
    assert!(
        seen.have() < last_sent,
        "the sleeper missed what came after its queue filled"
    );

    // Back, it catches up from what it holds and follows live again.
    let mut back = fx.connect(&fx.agents[1]).await;
    let (caught, _) = catch_up(&mut back, conversation, seen.have()).await;
    seen.seqs.extend(caught);
    let next = console
        .say(conversation, "after", &body)
        .await
        .expect("the writer goes on");
    back.expect_message(conversation, next.seq).await;
    seen.seqs
        .extend(seqs_in(&back.take_backlog(), conversation));
    seen.seqs.push(next.seq);
    seen.assert_complete(next.seq, "the sleeper's messages");
}

/// With the default limits, a conversation of long messages: one catch-up
/// page (up to 500 messages of up to 64 KiB) may hold more bytes than the
/// outbox takes at once (4 MiB).
#[tokio::test]
async fn catching_up_through_long_messages_with_the_default_limits_works() {
    let fx = Fixture::new(2, &[]).await;
    let conversation = fx.conversation("+15557600").await;
    let mut console = fx.connect(&fx.agents[0]).await;
    console.join(conversation).await;
    let body = "y".repeat(60_000);
    for i in 0..80 {
        console
            .say(conversation, &format!("long-{i}"), &body)
            .await
            .expect("stored");
    }
    let mut back = fx.connect(&fx.agents[1]).await;
    let (caught, last) = catch_up(&mut back, conversation, 1).await;
    assert_run(&caught, 1, last, "caught up");
}

/// A console receiving a stream of customer messages when its node shuts
/// down is told why its connection ends.
#[tokio::test]
async fn a_shutdown_closes_a_console_being_written_to_with_1001() {
    let mut fx = Fixture::new(1, &[]).await;
    let conversation = fx.conversation("+15557700").await;
    let mut console = fx.connect(&fx.agents[0]).await;
    console.join(conversation).await;
    // Four customers write at once, so frames are queued for the console
    // at any moment.
    let customers: Vec<_> = (0..4)
        .map(|_| {
            let server = fx.server.http("");
            let (key, inbox) = (fx.inbox_key.clone(), fx.inbox);
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let contact = switchboard_testkit::Contact::handle("+15557700");
                while switchboard_testkit::post_inbound(
                    &http, &server, &key, inbox, &contact, "more",
                )
                .await
                .is_ok()
                {}
            })
        })
        .collect();
    console.expect_message(conversation, 20).await;

    fx.server.terminate().await;
    assert_eq!(console.closed().await, Ended::Closed(Some(1001)));
    for customer in customers {
        customer.await.unwrap();
    }
}
