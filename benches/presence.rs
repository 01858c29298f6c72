//! The presence state machine: decisions per second, with no IO at all.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchboard_core::UserId;
use switchboard_core::model::UserRef;
use switchboard_core::presence::{Effect, Room, Timing};

const TIMING: Timing = Timing {
    idle_ms: 60_000,
    grace_ms: 5_000,
};

fn users(n: u128) -> Vec<UserRef> {
    (1..=n)
        .map(|i| UserRef {
            id: UserId(uuid::Uuid::from_u128(i)),
            name: format!("agent {i}"),
        })
        .collect()
}

/// One lap: ten agents join, one takes, writes, releases, another takes it
/// over, everyone leaves; each store answer is fed back as the store would.
fn lap(room: &mut Room, users: &[UserRef], epoch: &mut u64, now: &mut u64) -> usize {
    let mut events = 0;
    let mut feed = |room: &mut Room, effects: Vec<Effect>, now: u64| {
        for effect in effects {
            if let Effect::Acquire { user, .. } = effect {
                *epoch += 1;
                black_box(room.granted(user, *epoch, now));
            }
        }
    };
    for user in users {
        *now += 1;
        let effects = room.join(user.clone(), true, *now);
        feed(room, effects, *now);
        events += 1;
    }
    let first = users[0].id;
    let second = users[1].id;
    for _ in 0..10 {
        *now += 1;
        let _ = room.activity(first, *now);
        events += 1;
    }
    black_box(room.release(first, *now));
    if let Ok(effects) = room.take(second, false) {
        feed(room, effects, *now);
    }
    black_box(room.tick(*now, TIMING));
    events += 3;
    for user in users {
        black_box(room.leave(user.id, *now));
        events += 1;
    }
    events
}

fn presence(c: &mut Criterion) {
    let users = users(10);
    let mut room = Room::new();
    let (mut epoch, mut now) = (0, 1);
    let per_lap = lap(&mut room, &users, &mut epoch, &mut now) as u64;
    let mut group = c.benchmark_group("presence");
    group.throughput(Throughput::Elements(per_lap));
    group.bench_function("ten_agents_lap", |b| {
        b.iter(|| lap(&mut room, &users, &mut epoch, &mut now))
    });
    let mut busy = Room::new();
    for user in &users {
        busy.join(user.clone(), true, 1);
    }
    busy.granted(users[0].id, 1, 1);
    group.throughput(Throughput::Elements(1));
    group.bench_function("activity", |b| {
        let mut t = 2;
        b.iter(|| {
            t += 1;
            black_box(busy.activity(users[0].id, t))
        })
    });
    group.bench_function("tick_nothing_due", |b| {
        b.iter(|| black_box(busy.tick(black_box(3), TIMING)))
    });
    group.finish();
}

criterion_group!(benches, presence);
criterion_main!(benches);
