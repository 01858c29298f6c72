//! The hub's delivery step: a frame serialized once, queued on every viewer's
//! outbox, then drained by each session (what a write batch picks up).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchboard_core::model::UserRef;
use switchboard_core::{AccountId, Principal, UserId};
use switchboard_server::hub::{Conn, OutboxLimits};
use tokio_tungstenite::tungstenite::Utf8Bytes;

fn conns(n: usize) -> Vec<Conn> {
    let account_id = AccountId::new();
    (0..n)
        .map(|i| {
            let user = UserRef {
                id: UserId::new(),
                name: format!("observer {i}"),
            };
            Conn::new(
                Principal::new(user, account_id),
                [0; 32],
                OutboxLimits {
                    frames: 1024,
                    bytes: 4 << 20,
                },
                0,
            )
        })
        .collect()
}

fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout");
    let frame = Utf8Bytes::from(format!(
        r#"{{"type":"message","conversation_id":"x","message":{{"body":"{}"}}}}"#,
        "x".repeat(100)
    ));
    for observers in [10, 100] {
        let viewers = conns(observers);
        let mut batch = Vec::with_capacity(16);
        group.throughput(Throughput::Elements(observers as u64));
        group.bench_function(format!("queue_and_drain_{observers}"), |b| {
            b.iter(|| {
                for conn in &viewers {
                    conn.push(black_box(&frame)).unwrap();
                }
                for conn in &viewers {
                    conn.drain(&mut batch);
                    batch.clear();
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
