use proptest::prelude::*;

use super::*;

const TIMING: Timing = Timing {
    idle_ms: 60_000,
    grace_ms: 5_000,
};

fn user(n: u128) -> UserRef {
    UserRef {
        id: UserId(uuid::Uuid::from_u128(n)),
        name: format!("agent {n}"),
    }
}

fn observer_ids(room: &Room) -> Vec<UserId> {
    room.observers().map(|u| u.id).collect()
}

fn acquire(user: &UserRef) -> Effect {
    Effect::Acquire {
        user: user.id,
        force: false,
    }
}

#[test]
fn nobody_there_the_first_to_open_becomes_active() {
    let ann = user(1);
    let mut room = Room::new();
    let effects = room.join(ann.clone(), true, 10);
    assert_eq!(effects, vec![Effect::Changed, acquire(&ann)]);
    assert_eq!(room.granted(ann.id, 1, 11), vec![Effect::Changed]);
    assert!(room.is_active(ann.id));
    assert!(observer_ids(&room).is_empty());
}

#[test]
fn active_and_observers_others_see_answered_by() {
    let (ann, bob, cat) = (user(1), user(2), user(3));
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    assert_eq!(room.join(bob.clone(), true, 1), vec![Effect::Changed]);
    assert_eq!(room.join(cat.clone(), true, 2), vec![Effect::Changed]);
    assert_eq!(room.active().map(|h| h.user.id), Some(ann.id));
    assert_eq!(observer_ids(&room), vec![bob.id, cat.id]);
    assert_eq!(room.take(bob.id, false), Err(TakeRefused::Locked(ann)));
}

#[test]
fn observers_only_whoever_takes_first_becomes_active() {
    let (ann, bob, cat) = (user(1), user(2), user(3));
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    room.join(bob.clone(), true, 1);
    room.join(cat.clone(), true, 1);
    room.release(ann.id, 2);
    assert!(room.active().is_none());
    assert_eq!(observer_ids(&room), vec![ann.id, bob.id, cat.id]);

    assert_eq!(room.take(bob.id, false), Ok(vec![acquire(&bob)]));
    room.granted(bob.id, 2, 3);
    assert_eq!(
        room.take(cat.id, false),
        Err(TakeRefused::Locked(bob.clone()))
    );
    assert_eq!(observer_ids(&room), vec![ann.id, cat.id]);
}

#[test]
fn joining_where_observers_are_does_not_grant() {
    let (ann, bob) = (user(1), user(2));
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    room.release(ann.id, 1);
    assert_eq!(room.join(bob, true, 2), vec![Effect::Changed]);
}

#[test]
fn a_viewer_observes_but_never_becomes_active() {
    let viewer = user(9);
    let mut room = Room::new();
    assert_eq!(room.join(viewer.clone(), false, 0), vec![Effect::Changed]);
    assert_eq!(room.take(viewer.id, false), Err(TakeRefused::MayNotWrite));
    assert_eq!(room.take(viewer.id, true), Err(TakeRefused::MayNotWrite));
    assert_eq!(
        room.granted(viewer.id, 1, 1),
        vec![Effect::Release {
            user: viewer.id,
            epoch: 1
        }]
    );
    assert!(room.active().is_none());
}

#[test]
fn the_snapshot_lists_observers_by_name_whatever_the_arrival_order() {
    let named = |n: u128, name: &str| UserRef {
        id: UserId(uuid::Uuid::from_u128(n)),
        name: name.into(),
    };
    let (zed, amy, bea) = (named(1, "zed"), named(2, "Amy"), named(3, "bea"));
    let mut room = Room::new();
    room.join(zed.clone(), true, 10);
    room.granted(zed.id, 4, 11);
    room.join(bea.clone(), true, 12);
    room.join(amy.clone(), true, 13);
    let snapshot = room.snapshot();
    assert_eq!(snapshot.active, Some((zed, 4)));
    assert_eq!(
        snapshot.observers,
        vec![amy, bea],
        "case-insensitive, the holder apart"
    );
    assert_eq!(snapshot.version, room.version());
}

#[test]
fn take_requires_joining_first() {
    let mut room = Room::new();
    assert_eq!(room.take(user(1).id, false), Err(TakeRefused::NotMember));
}

#[test]
fn force_takes_over_and_the_prior_holder_is_told() {
    let (ann, boss) = (user(1), user(2));
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    room.join(boss.clone(), true, 1);
    assert_eq!(
        room.take(boss.id, true),
        Ok(vec![Effect::Acquire {
            user: boss.id,
            force: true
        }])
    );
    assert_eq!(
        room.granted(boss.id, 2, 2),
        vec![
            Effect::LockLost {
                user: ann.id,
                reason: LockLostReason::TakenOver
            },
            Effect::Changed
        ]
    );
    assert_eq!(observer_ids(&room), vec![ann.id]);
}

#[test]
fn release_by_someone_who_does_not_hold_changes_nothing() {
    let (ann, bob) = (user(1), user(2));
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    room.join(bob.clone(), true, 0);
    let before = room.clone();
    assert!(room.release(bob.id, 5).is_empty());
    assert_eq!(room, before);
}

#[test]
fn release_keeps_the_user_as_observer() {
    let ann = user(1);
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    assert_eq!(
        room.release(ann.id, 3),
        vec![
            Effect::Release {
                user: ann.id,
                epoch: 1
            },
            Effect::Changed
        ]
    );
    assert_eq!(observer_ids(&room), vec![ann.id]);
}

#[test]
fn leave_releases_the_role_and_removes_the_user() {
    let (ann, bob) = (user(1), user(2));
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    room.join(bob.clone(), true, 0);
    assert_eq!(
        room.leave(ann.id, 4),
        vec![
            Effect::Release {
                user: ann.id,
                epoch: 1
            },
            Effect::Changed
        ]
    );
    assert!(room.active().is_none());
    assert_eq!(observer_ids(&room), vec![bob.id]);
}

#[test]
fn several_connections_of_one_user_count_once() {
    let ann = user(1);
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    assert!(
        room.join(ann.clone(), true, 1).is_empty(),
        "a second tab changes nothing"
    );
    assert_eq!(room.members().len(), 1);
    // Closing one tab keeps the role: it belongs to the user.
    assert!(room.leave(ann.id, 2).is_empty());
    assert!(room.is_active(ann.id));
    // Closing the last one releases it.
    assert_eq!(
        room.leave(ann.id, 3),
        vec![
            Effect::Release {
                user: ann.id,
                epoch: 1
            },
            Effect::Changed
        ]
    );
}

#[test]
fn idle_lapse_ends_the_role_after_the_idle_time() {
    let (ann, bob) = (user(1), user(2));
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    room.join(bob.clone(), true, 0);
    room.activity(ann.id, 30_000).unwrap();
    assert_eq!(room.next_deadline(TIMING), Some(90_000));
    assert!(room.tick(89_999, TIMING).is_empty());
    assert_eq!(
        room.tick(90_000, TIMING),
        vec![
            Effect::Release {
                user: ann.id,
                epoch: 1
            },
            Effect::LockLost {
                user: ann.id,
                reason: LockLostReason::Idle
            },
            Effect::Changed
        ]
    );
    assert_eq!(
        observer_ids(&room),
        vec![ann.id, bob.id],
        "the lapsed holder still observes"
    );
}

#[test]
fn activity_from_a_non_holder_is_refused() {
    let (ann, bob) = (user(1), user(2));
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    room.join(bob.clone(), true, 0);
    assert_eq!(room.activity(bob.id, 1), Err(NotActive));
}

#[test]
fn disconnect_keeps_the_role_through_the_grace_and_a_reload_keeps_it() {
    let ann = user(1);
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    assert!(room.disconnect(ann.id, 1_000).is_empty());
    assert_eq!(room.next_deadline(TIMING), Some(6_000));
    assert!(room.tick(5_999, TIMING).is_empty());
    // The reload: the same user joins again inside the grace.
    assert!(room.join(ann.clone(), true, 5_500).is_empty());
    assert!(room.tick(7_000, TIMING).is_empty());
    assert!(room.is_active(ann.id));
}

#[test]
fn disconnect_past_the_grace_releases_with_disconnected() {
    let (ann, bob) = (user(1), user(2));
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    room.join(bob.clone(), true, 0);
    room.disconnect(ann.id, 1_000);
    assert_eq!(
        room.tick(6_000, TIMING),
        vec![
            Effect::Release {
                user: ann.id,
                epoch: 1
            },
            Effect::LockLost {
                user: ann.id,
                reason: LockLostReason::Disconnected
            },
            Effect::Changed
        ]
    );
    assert_eq!(observer_ids(&room), vec![bob.id]);
}

#[test]
fn an_observer_gone_past_the_grace_disappears() {
    let (ann, bob) = (user(1), user(2));
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.join(bob.clone(), true, 0);
    room.disconnect(bob.id, 0);
    assert_eq!(room.tick(5_000, TIMING), vec![Effect::Changed]);
    assert_eq!(observer_ids(&room), vec![ann.id]);
}

#[test]
fn a_stale_grant_is_ignored() {
    let (ann, bob) = (user(1), user(2));
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.join(bob.clone(), true, 0);
    room.granted(bob.id, 5, 1);
    assert!(room.granted(ann.id, 4, 2).is_empty());
    assert!(room.is_active(bob.id));
    assert_eq!(room.epoch(), 5);
}

#[test]
fn holder_seen_from_the_store_replaces_a_local_belief() {
    let (ann, bob) = (user(1), user(2));
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    let effects = room.holder_seen(Some(bob.clone()), 2, 5);
    assert_eq!(
        effects,
        vec![
            Effect::LockLost {
                user: ann.id,
                reason: LockLostReason::TakenOver
            },
            Effect::Changed
        ]
    );
    assert_eq!(room.active().map(|h| h.user.id), Some(bob.id));
    assert!(
        room.holder_seen(Some(ann), 1, 6).is_empty(),
        "older news is ignored"
    );
}

#[test]
fn versions_grow_with_every_change_and_follow_the_clock() {
    let ann = user(1);
    let mut room = Room::new();
    room.join(ann.clone(), true, 1_000);
    let v1 = room.version();
    room.granted(ann.id, 1, 1_000);
    assert!(room.version() > v1);
    let mut rebuilt = Room::new();
    rebuilt.join(ann, true, 2_000);
    assert!(rebuilt.version() > room.version());
}

// The model: a room driven by random histories against a store that grants
// the role by compare-and-set and counts epochs, the way the real stores do.

#[derive(Debug, Clone)]
enum Op {
    Join(u8),
    Leave(u8),
    Disconnect(u8),
    Take(u8, bool),
    Release(u8),
    Activity(u8),
    Advance(u32),
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0u8..4;
    prop_oneof![
        who.clone().prop_map(Op::Join),
        who.clone().prop_map(Op::Leave),
        who.clone().prop_map(Op::Disconnect),
        (who.clone(), any::<bool>()).prop_map(|(u, f)| Op::Take(u, f)),
        who.clone().prop_map(Op::Release),
        who.prop_map(Op::Activity),
        (0u32..40_000).prop_map(Op::Advance),
    ]
}

#[derive(Debug, Default)]
struct ModelStore {
    holder: Option<UserId>,
    epoch: u64,
}

struct Harness {
    room: Room,
    store: ModelStore,
    now: Millis,
    users: Vec<UserRef>,
    lock_lost: Vec<(UserId, LockLostReason)>,
}

impl Harness {
    fn new() -> Self {
        Self {
            room: Room::new(),
            store: ModelStore::default(),
            now: 1,
            users: (1..=4).map(user).collect(),
            lock_lost: Vec::new(),
        }
    }

    /// User 3 is a viewer.
    fn may_write(&self, index: u8) -> bool {
        index != 3
    }

    fn carry_out(&mut self, effects: Effects) {
        let mut queue: std::collections::VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            match effect {
                Effect::Acquire { user, force } => match self.store.holder {
                    Some(holder) if !force && holder != user => {
                        let holder = self.users.iter().find(|u| u.id == holder).unwrap().clone();
                        queue.extend(self.room.holder_seen(
                            Some(holder),
                            self.store.epoch,
                            self.now,
                        ));
                    }
                    _ => {
                        self.store.epoch += 1;
                        self.store.holder = Some(user);
                        queue.extend(self.room.granted(user, self.store.epoch, self.now));
                    }
                },
                Effect::Release { user, epoch } => {
                    if self.store.holder == Some(user) && self.store.epoch == epoch {
                        self.store.holder = None;
                    }
                }
                Effect::LockLost { user, reason } => self.lock_lost.push((user, reason)),
                Effect::Changed => {}
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        let effects = match *op {
            Op::Join(u) => {
                self.room
                    .join(self.users[u as usize].clone(), self.may_write(u), self.now)
            }
            Op::Leave(u) => self.room.leave(self.users[u as usize].id, self.now),
            Op::Disconnect(u) => self.room.disconnect(self.users[u as usize].id, self.now),
            Op::Take(u, force) => self
                .room
                .take(self.users[u as usize].id, force)
                .unwrap_or_default(),
            Op::Release(u) => self.room.release(self.users[u as usize].id, self.now),
            Op::Activity(u) => {
                let _ = self.room.activity(self.users[u as usize].id, self.now);
                Vec::new()
            }
            Op::Advance(ms) => {
                self.now += u64::from(ms);
                self.room.tick(self.now, TIMING)
            }
        };
        self.carry_out(effects);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_room_and_the_store_agree_on_one_writer(ops in prop::collection::vec(op(), 1..80)) {
        let mut h = Harness::new();
        let mut last_epoch = 0;
        let mut last_version = 0;
        for op in &ops {
            h.apply(op);
            // One writer, and the room believes what the store decided.
            prop_assert_eq!(h.room.active().map(|a| a.user.id), h.store.holder);
            // The epoch only grows, and the room knows the newest one.
            prop_assert!(h.store.epoch >= last_epoch);
            prop_assert_eq!(h.room.epoch(), h.store.epoch);
            last_epoch = h.store.epoch;
            // Versions never go back.
            prop_assert!(h.room.version() >= last_version);
            last_version = h.room.version();
            if let Some(active) = h.room.active() {
                // The holder is present, may write, and is fresh.
                let member = h.room.member(active.user.id);
                prop_assert!(member.is_some_and(|m| m.may_write));
                prop_assert!(h.now - active.last_active < TIMING.idle_ms || !matches!(op, Op::Advance(_)));
                prop_assert!(h.room.observers().all(|o| o.id != active.user.id));
            }
            // Each user at most once.
            let mut ids: Vec<_> = h.room.members().iter().map(|m| m.user.id).collect();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), h.room.members().len());
            // The viewer is never active.
            prop_assert!(!h.room.is_active(h.users[3].id));
        }
    }

    #[test]
    fn lock_lost_only_goes_to_former_holders(ops in prop::collection::vec(op(), 1..80)) {
        let mut h = Harness::new();
        let mut holders = std::collections::HashSet::new();
        for op in &ops {
            let before = h.lock_lost.len();
            h.apply(op);
            for (user, _) in &h.lock_lost[before..] {
                prop_assert!(holders.contains(user));
            }
            if let Some(active) = h.room.active() {
                holders.insert(active.user.id);
            }
        }
    }
}

#[test]
fn a_lease_that_ran_out_unrenewed_is_lost_as_node_lost() {
    let ann = user(1);
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    assert_eq!(
        room.holder_seen(None, 1, 20_000),
        vec![
            Effect::LockLost {
                user: ann.id,
                reason: LockLostReason::NodeLost
            },
            Effect::Changed
        ]
    );
    assert!(room.active().is_none());
}

// Cluster mode: members seen on other nodes, holders granted elsewhere.

fn node(n: u128) -> NodeId {
    NodeId(uuid::Uuid::from_u128(1000 + n))
}

#[test]
fn someone_viewing_from_another_node_means_somebody_is_there() {
    let (ann, bob) = (user(1), user(2));
    let mut room = Room::new();
    assert_eq!(
        room.remote_join(node(2), bob.clone(), true, 0),
        vec![Effect::Changed]
    );
    // Bob is there (elsewhere): Ann opening it does not take the role.
    assert_eq!(room.join(ann.clone(), true, 1), vec![Effect::Changed]);
    assert_eq!(observer_ids(&room), vec![bob.id, ann.id]);
}

#[test]
fn a_user_on_two_nodes_is_listed_once_and_leaves_when_gone_from_both() {
    let ann = user(1);
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    assert!(room.remote_join(node(2), ann.clone(), true, 1).is_empty());
    assert_eq!(room.members().len(), 1);
    // Leaving here keeps her: she still views from node 2, and keeps the role.
    room.granted(ann.id, 1, 1);
    assert!(room.leave(ann.id, 2).is_empty());
    assert!(room.is_active(ann.id));
    assert_eq!(
        room.remote_leave(node(2), ann.id, 3),
        vec![
            Effect::Release {
                user: ann.id,
                epoch: 1
            },
            Effect::Changed
        ]
    );
    assert!(room.is_empty());
}

#[test]
fn a_holder_granted_elsewhere_is_not_lapsed_or_released_here() {
    let (ann, bob) = (user(1), user(2));
    let mut room = Room::new();
    room.join(bob.clone(), true, 0);
    room.remote_join(node(2), ann.clone(), true, 0);
    room.holder_seen(Some(ann.clone()), 3, 0);
    assert!(!room.active().unwrap().local);
    // Idle time passes: the granting node decides, not this one.
    assert!(room.tick(1_000_000, TIMING).is_empty());
    assert_eq!(room.next_deadline(TIMING), None);
    // Ann leaves node 2: she is gone from the list, the role is node 2's to end.
    assert_eq!(room.remote_leave(node(2), ann.id, 5), vec![Effect::Changed]);
    assert!(room.is_active(ann.id));
    // Node 2 tells everyone the role ended.
    assert_eq!(
        room.holder_seen(None, 3, 6),
        vec![
            Effect::LockLost {
                user: ann.id,
                reason: LockLostReason::NodeLost
            },
            Effect::Changed
        ]
    );
    assert!(room.active().is_none());
}

#[test]
fn remote_activity_keeps_a_local_grant_alive() {
    let ann = user(1);
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    room.remote_join(node(2), ann.clone(), true, 0);
    room.remote_activity(ann.id, 50_000);
    assert!(
        room.tick(60_000, TIMING).is_empty(),
        "she wrote from node 2 ten seconds ago"
    );
    assert_eq!(room.next_deadline(TIMING), Some(110_000));
}

#[test]
fn a_dead_node_takes_its_viewers_along() {
    let (ann, bob, cat) = (user(1), user(2), user(3));
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.remote_join(node(2), bob.clone(), true, 0);
    room.remote_join(node(2), cat.clone(), true, 0);
    room.remote_join(node(3), cat.clone(), true, 0);
    assert_eq!(room.node_lost(node(2), 10), vec![Effect::Changed]);
    assert_eq!(
        observer_ids(&room),
        vec![ann.id, cat.id],
        "cat is still on node 3"
    );
    assert!(room.node_lost(node(9), 11).is_empty());
}

#[test]
fn a_disconnected_user_still_viewing_elsewhere_stays_after_the_grace() {
    let ann = user(1);
    let mut room = Room::new();
    room.join(ann.clone(), true, 0);
    room.granted(ann.id, 1, 0);
    room.remote_join(node(2), ann.clone(), true, 0);
    room.disconnect(ann.id, 100);
    assert!(room.tick(10_000, TIMING).is_empty());
    assert!(room.is_active(ann.id));
    assert!(!room.member(ann.id).unwrap().here());
}

#[test]
fn a_revoked_holder_loses_the_role_for_permission_and_stays_an_observer() {
    let ann = user(1);
    let mut room = Room::new();
    room.join(ann.clone(), true, 10);
    room.granted(ann.id, 7, 11);
    let effects = room.revoke(ann.id, 12);
    assert_eq!(
        effects,
        vec![
            Effect::Release {
                user: ann.id,
                epoch: 7
            },
            Effect::LockLost {
                user: ann.id,
                reason: LockLostReason::Permission
            },
            Effect::Changed
        ]
    );
    assert_eq!(observer_ids(&room), [ann.id]);
    assert_eq!(room.take(ann.id, false), Err(TakeRefused::MayNotWrite));
}

#[test]
fn an_expelled_viewer_leaves_at_once_and_a_holder_loses_the_role() {
    let ann = user(1);
    let bob = user(2);
    let mut room = Room::new();
    room.join(ann.clone(), true, 10);
    room.granted(ann.id, 3, 11);
    room.join(bob.clone(), true, 12);
    room.join(bob.clone(), true, 13);
    assert_eq!(room.expel(bob.id, 14), vec![Effect::Changed]);
    assert_eq!(
        observer_ids(&room),
        Vec::<UserId>::new(),
        "both connections gone, no grace"
    );
    let effects = room.expel(ann.id, 15);
    assert!(effects.contains(&Effect::LockLost {
        user: ann.id,
        reason: LockLostReason::Permission
    }));
    assert!(room.is_empty() && room.active().is_none());
}
