//! Encoding and decoding the frames on the hot paths.

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchboard_proto::server::MessageEvent;
use switchboard_proto::{ClientFrame, Direction, Message, Presence, ServerFrame, UserRef};
use uuid::Uuid;

fn message_event() -> ServerFrame {
    ServerFrame::Message(MessageEvent {
        conversation_id: Uuid::now_v7(),
        message: Message {
            id: Uuid::now_v7(),
            conversation_id: Uuid::now_v7(),
            seq: 1234,
            direction: Direction::Outbound,
            author: Some(UserRef {
                user_id: Uuid::now_v7(),
                name: "Ann Agent".into(),
            }),
            body: Some("x".repeat(100)),
            created_at: Utc.timestamp_millis_opt(1_795_000_000_000).unwrap(),
        },
    })
}

fn presence_event() -> ServerFrame {
    ServerFrame::Presence(Presence {
        conversation_id: Uuid::now_v7(),
        active: Some(UserRef {
            user_id: Uuid::now_v7(),
            name: "Ann Agent".into(),
        }),
        observers: (0..10)
            .map(|i| UserRef {
                user_id: Uuid::now_v7(),
                name: format!("Observer {i}"),
            })
            .collect(),
        version: 1_795_000_000_123,
        epoch: Some(41),
    })
}

fn proto(c: &mut Criterion) {
    let mut group = c.benchmark_group("proto");
    group.throughput(Throughput::Elements(1));
    let message = message_event();
    group.bench_function("encode_message_100b", |b| {
        b.iter(|| serde_json::to_string(black_box(&message)).unwrap())
    });
    let presence = presence_event();
    group.bench_function("encode_presence_10_observers", |b| {
        b.iter(|| serde_json::to_string(black_box(&presence)).unwrap())
    });
    let send = format!(
        r#"{{"type":"send","ref":"r42","conversation_id":"{}","client_msg_id":"c-42","body":"{}"}}"#,
        Uuid::now_v7(),
        "x".repeat(100)
    );
    group.bench_function("decode_send_100b", |b| {
        b.iter(|| serde_json::from_str::<ClientFrame>(black_box(&send)).unwrap())
    });
    let encoded = serde_json::to_string(&message).unwrap();
    group.bench_function("decode_message_event", |b| {
        b.iter(|| serde_json::from_str::<ServerFrame>(black_box(&encoded)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, proto);
criterion_main!(benches);
