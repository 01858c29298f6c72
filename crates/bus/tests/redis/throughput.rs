//! A measurement, not a check (ignored by default): events per second
//! delivered from one node to another through one local redis-server, and
//! the CPU Redis spent on them. Run it optimized:
//! `cargo test -p switchboard-bus --release --test redis throughput -- --ignored --nocapture`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use switchboard_core::ports::{Bus, BusDelivery, ClusterEvent, Topic};
use switchboard_core::{ConversationId, UserId};

use crate::support::{RedisServer, eventually, two_nodes};

const EVENTS: usize = 200_000;
const TOPICS: usize = 16;

/// CPU seconds (user + system) a process used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses).
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / rustix::param::clock_ticks_per_second() as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --release --ignored --nocapture"]
async fn throughput_between_two_nodes_through_one_server() {
    let server = RedisServer::start();
    let redis_pid = server.pid().unwrap();
    let (a, b) = two_nodes(&server.url()).await;
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    b.attach(Arc::new(move |delivery| {
        if let BusDelivery::Event(_) = delivery {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }));
    let conversations: Vec<ConversationId> = (0..TOPICS).map(|_| ConversationId::new()).collect();
    for conversation in &conversations {
        b.set_interest(Topic::Conversation(*conversation), true)
            .await
            .unwrap();
    }
    let user_id = UserId::new();
    let events: Vec<ClusterEvent> = (0..EVENTS)
        .map(|i| ClusterEvent::Typing {
            conversation_id: conversations[i % TOPICS],
            user_id,
        })
        .collect();

    let redis_before = cpu_seconds(redis_pid);
    let self_before = cpu_seconds(std::process::id());
    let started = Instant::now();
    let mut full = 0usize;
    for event in events {
        // The queue is bounded: when it is full, let the publisher drain it.
        while a.publish(event.clone()).await.is_err() {
            full += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let published = started.elapsed();
    eventually(Duration::from_secs(120), "every event arrives", || {
        let received = received.clone();
        async move { received.load(Ordering::Relaxed) >= EVENTS }
    })
    .await;
    let elapsed = started.elapsed();
    let redis_cpu = cpu_seconds(redis_pid) - redis_before;
    let self_cpu = cpu_seconds(std::process::id()) - self_before;
    let stats = a.stats();
    eprintln!(
        "redis bus: {EVENTS} events over {TOPICS} topics in {:.3} s = {:.0} events/s delivered \
         (publishing took {:.3} s; {} pipelines, {:.0} events per pipeline; queue full {full} times)",
        elapsed.as_secs_f64(),
        EVENTS as f64 / elapsed.as_secs_f64(),
        published.as_secs_f64(),
        stats.pipelines,
        stats.published as f64 / stats.pipelines as f64,
    );
    eprintln!(
        "cpu: redis-server {redis_cpu:.2} s ({:.0}% of one core), both nodes {self_cpu:.2} s ({:.0}%)",
        100.0 * redis_cpu / elapsed.as_secs_f64(),
        100.0 * self_cpu / elapsed.as_secs_f64(),
    );
    assert_eq!(b.stats().delivered, EVENTS as u64);
}
