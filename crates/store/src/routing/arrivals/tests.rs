use switchboard_core::assignment::{Candidate, Eligible, Queued, serve_queue};
use switchboard_core::ids::{ConversationId, UserId};

use super::{Plan, Slot, plan};

fn agent(n: u128, capacity: u32, load: u32) -> Candidate {
    Candidate {
        user: UserId::from(uuid::Uuid::from_u128(n)),
        capacity,
        load,
        available: true,
        online: true,
        last_assigned_at: None,
    }
}

fn conv(n: u128) -> ConversationId {
    ConversationId::from(uuid::Uuid::from_u128(10_000 + n))
}

fn anyone(n: u128) -> Queued {
    Queued {
        conversation: conv(n),
        eligible: Eligible::Anyone,
    }
}

/// What routing one arrival after the other did: who got each arrival,
/// who got each conversation that was waiting, and the queue left, oldest
/// first.
struct Sequential {
    got: Vec<Option<UserId>>,
    served: Vec<(ConversationId, UserId)>,
    left: Vec<ConversationId>,
}

/// The reference: each arrival routed on its own, one after the other, as
/// a transaction per arrival does it (into the back of the queue, then the
/// queue served).
fn one_by_one(
    candidates: &mut [Candidate],
    waiting: &[Queued],
    arrivals: &[Queued],
    now: i64,
) -> Sequential {
    let mut queue = waiting.to_vec();
    let mut got = vec![None; arrivals.len()];
    let mut served = Vec::new();
    for arrival in arrivals {
        queue.push(arrival.clone());
        for (conversation, agent) in serve_queue(candidates, &queue, now) {
            queue.retain(|q| q.conversation != conversation);
            match arrivals.iter().position(|a| a.conversation == conversation) {
                Some(i) => got[i] = Some(agent),
                None => served.push((conversation, agent)),
            }
        }
    }
    Sequential {
        got,
        served,
        left: queue.into_iter().map(|q| q.conversation).collect(),
    }
}

/// A small deterministic generator (no dependency for a few thousand cases).
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % sides
    }
}

#[test]
fn a_batch_decides_as_one_arrival_after_the_other() {
    let mut dice = Dice(0x5eed_cafe_f00d);
    for _ in 0..5_000 {
        let agents = 1 + dice.roll(5) as u128;
        let mut candidates: Vec<Candidate> = (1..=agents)
            .map(|n| {
                let mut c = agent(n, dice.roll(4) as u32, dice.roll(3) as u32);
                c.available = dice.roll(5) > 0;
                c.online = dice.roll(5) > 0;
                c.last_assigned_at = match dice.roll(3) {
                    0 => None,
                    _ => Some(dice.roll(50) as i64),
                };
                c
            })
            .collect();
        let team: Vec<UserId> = candidates
            .iter()
            .filter(|_| dice.roll(2) == 0)
            .map(|c| c.user)
            .collect();
        let queued = |n: u128, dice: &mut Dice| Queued {
            conversation: conv(n),
            eligible: match dice.roll(3) {
                0 => Eligible::Members(team.clone()),
                _ => Eligible::Anyone,
            },
        };
        let waiting: Vec<Queued> = (0..dice.roll(4) as u128)
            .map(|n| queued(n, &mut dice))
            .collect();
        let arrivals: Vec<Queued> = (100..101 + dice.roll(8) as u128)
            .map(|n| queued(n, &mut dice))
            .collect();

        let mut expected = candidates.clone();
        let Sequential { got, served, left } =
            one_by_one(&mut expected, &waiting, &arrivals, 1_000);
        let Plan {
            arrivals: slots,
            served: batch_served,
        } = plan(&mut candidates, &waiting, &arrivals, 7, 1_000);

        assert_eq!(candidates, expected, "the same loads after");
        assert_eq!(batch_served, served);
        let assigned: Vec<Option<UserId>> = slots
            .iter()
            .map(|slot| match slot {
                Slot::Agent(agent) => Some(*agent),
                Slot::Queue(_) => None,
            })
            .collect();
        assert_eq!(assigned, got);
        // those queued take consecutive keys from 7, in arrival order, and
        // wait behind what was left of the queue
        let keys: Vec<i64> = slots
            .iter()
            .filter_map(|slot| match slot {
                Slot::Queue(key) => Some(*key),
                Slot::Agent(_) => None,
            })
            .collect();
        assert_eq!(keys, (7..7 + keys.len() as i64).collect::<Vec<_>>());
        let mut batch_left: Vec<ConversationId> = waiting
            .iter()
            .map(|q| q.conversation)
            .filter(|c| !served.iter().any(|(s, _)| s == c))
            .collect();
        batch_left.extend(
            arrivals
                .iter()
                .zip(&slots)
                .filter(|(_, slot)| matches!(slot, Slot::Queue(_)))
                .map(|(a, _)| a.conversation),
        );
        assert_eq!(batch_left, left, "the queue in arrival order");
    }
}

#[test]
fn arrivals_fill_rooms_then_wait_in_order() {
    let mut candidates = [agent(1, 2, 1), agent(2, 1, 0)];
    let arrivals: Vec<Queued> = (1..=5).map(anyone).collect();
    let plan = plan(&mut candidates, &[], &arrivals, 10, 0);
    assert_eq!(
        plan.arrivals,
        vec![
            Slot::Agent(candidates[1].user),
            Slot::Agent(candidates[0].user),
            Slot::Queue(10),
            Slot::Queue(11),
            Slot::Queue(12),
        ]
    );
    assert!(plan.served.is_empty());
    assert_eq!((candidates[0].load, candidates[1].load), (2, 1));
}

#[test]
fn the_queue_as_found_comes_first() {
    let mut candidates = [agent(1, 1, 0)];
    let waiting = [anyone(1)];
    let plan = plan(&mut candidates, &waiting, &[anyone(2)], 5, 0);
    assert_eq!(plan.served, vec![(conv(1), candidates[0].user)]);
    assert_eq!(plan.arrivals, vec![Slot::Queue(5)]);
}
