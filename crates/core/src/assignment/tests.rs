use proptest::prelude::*;

use super::*;

fn agent(n: u128, capacity: u32, load: u32) -> Candidate {
    Candidate {
        user: UserId(uuid::Uuid::from_u128(n)),
        capacity,
        load,
        available: true,
        online: true,
        last_assigned_at: None,
    }
}

fn conv(n: u128) -> ConversationId {
    ConversationId(uuid::Uuid::from_u128(10_000 + n))
}

#[test]
fn the_least_loaded_agent_gets_it() {
    let agents = [agent(1, 5, 3), agent(2, 5, 1), agent(3, 5, 2)];
    assert_eq!(choose(&agents, &Eligible::Anyone), Some(agents[1].user));
}

#[test]
fn ties_go_to_whoever_waited_longest() {
    let mut a = agent(1, 5, 1);
    let mut b = agent(2, 5, 1);
    let never = agent(3, 5, 1);
    a.last_assigned_at = Some(100);
    b.last_assigned_at = Some(50);
    assert_eq!(
        choose(&[a.clone(), b.clone()], &Eligible::Anyone),
        Some(b.user)
    );
    assert_eq!(
        choose(&[a, b, never.clone()], &Eligible::Anyone),
        Some(never.user),
        "never assigned waited longest"
    );
}

#[test]
fn away_offline_full_and_zero_capacity_agents_get_nothing() {
    let mut away = agent(1, 5, 0);
    away.available = false;
    let mut offline = agent(2, 5, 0);
    offline.online = false;
    let full = agent(3, 2, 2);
    let never = agent(4, 0, 0);
    assert_eq!(
        choose(&[away, offline, full, never], &Eligible::Anyone),
        None
    );
}

#[test]
fn only_team_members_are_eligible() {
    let agents = [agent(1, 5, 0), agent(2, 5, 3)];
    let team = Eligible::Members(vec![agents[1].user]);
    assert_eq!(choose(&agents, &team), Some(agents[1].user));
    assert_eq!(choose(&agents, &Eligible::Members(vec![])), None);
}

#[test]
fn the_queue_is_served_oldest_first_while_there_is_room() {
    let mut agents = vec![agent(1, 2, 1), agent(2, 1, 0)];
    let queue: Vec<Queued> = (1..=4)
        .map(|n| Queued {
            conversation: conv(n),
            eligible: Eligible::Anyone,
        })
        .collect();
    let made = serve_queue(&mut agents, &queue, 7);
    assert_eq!(
        made,
        vec![(conv(1), agents[1].user), (conv(2), agents[0].user)]
    );
    assert_eq!((agents[0].load, agents[1].load), (2, 1));
    assert_eq!(agents[1].last_assigned_at, Some(7));
}

#[test]
fn a_conversation_nobody_may_take_waits_and_later_ones_still_go() {
    let mut agents = vec![agent(1, 5, 0)];
    let queue = vec![
        Queued {
            conversation: conv(1),
            eligible: Eligible::Members(vec![]),
        },
        Queued {
            conversation: conv(2),
            eligible: Eligible::Anyone,
        },
    ];
    assert_eq!(
        serve_queue(&mut agents, &queue, 1),
        vec![(conv(2), agents[0].user)]
    );
}

#[test]
fn manual_assignment_respects_capacity_unless_forced() {
    let full = agent(1, 2, 2);
    assert_eq!(
        check_manual(&full, false),
        Err(ManualRefused::AtCapacity {
            load: 2,
            capacity: 2
        })
    );
    assert_eq!(check_manual(&full, true), Ok(()));
    let mut away = agent(2, 2, 0);
    away.available = false;
    assert_eq!(
        check_manual(&away, false),
        Ok(()),
        "a person may choose an away agent"
    );
}

// The model: random histories of a team inbox (conversations arriving,
// resolved, assigned by hand, agents coming and going, capacities changing),
// run through the policy the way the stores run it, checked by rules stated
// independently of the policy.

const AGENTS: usize = 4;

#[derive(Debug, Clone)]
enum Event {
    /// A new conversation; `Some(mask)`: its inbox's team (bit i: agent i).
    Arrive(Option<u8>),
    Resolve(usize),
    Unassign(usize),
    Manual(usize, usize, bool),
    Online(usize, bool),
    Available(usize, bool),
    Capacity(usize, u32),
}

fn event() -> impl Strategy<Value = Event> {
    let who = 0..AGENTS;
    prop_oneof![
        4 => prop::option::of(0u8..16).prop_map(Event::Arrive),
        2 => (0usize..64).prop_map(Event::Resolve),
        1 => (0usize..64).prop_map(Event::Unassign),
        1 => (0usize..64, who.clone(), any::<bool>()).prop_map(|(c, a, f)| Event::Manual(c, a, f)),
        1 => (who.clone(), any::<bool>()).prop_map(|(a, o)| Event::Online(a, o)),
        1 => (who.clone(), any::<bool>()).prop_map(|(a, o)| Event::Available(a, o)),
        1 => (who, 0u32..4).prop_map(|(a, k)| Event::Capacity(a, k)),
    ]
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Queued,
    Assigned(usize),
    Resolved,
}

struct Conv {
    team: Eligible,
    state: State,
}

struct World {
    agents: Vec<Candidate>,
    convs: Vec<Conv>,
    /// Arrival order of what waits in the queue.
    queue: Vec<usize>,
    now: i64,
}

impl World {
    fn new() -> Self {
        Self {
            agents: (0..AGENTS).map(|i| agent(i as u128 + 1, 2, 0)).collect(),
            convs: Vec::new(),
            queue: Vec::new(),
            now: 0,
        }
    }

    fn index(&self, user: UserId) -> usize {
        self.agents.iter().position(|a| a.user == user).unwrap()
    }

    fn team(&self, mask: Option<u8>) -> Eligible {
        match mask {
            None => Eligible::Anyone,
            Some(mask) => Eligible::Members(
                (0..AGENTS)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| self.agents[i].user)
                    .collect(),
            ),
        }
    }

    fn free(&mut self, agent: usize) {
        self.agents[agent].load -= 1;
    }

    /// What a store does after anything that may have freed capacity.
    fn serve(&mut self) -> Vec<(usize, usize)> {
        let queue: Vec<Queued> = self
            .queue
            .iter()
            .map(|&c| Queued {
                conversation: conv(c as u128),
                eligible: self.convs[c].team.clone(),
            })
            .collect();
        let made = serve_queue(&mut self.agents, &queue, self.now);
        let made: Vec<(usize, usize)> = made
            .into_iter()
            .map(|(c, u)| ((c.0.as_u128() - 10_000) as usize, self.index(u)))
            .collect();
        for (c, a) in &made {
            self.queue.retain(|q| q != c);
            self.convs[*c].state = State::Assigned(*a);
        }
        made
    }

    fn apply(&mut self, event: &Event) -> Result<Vec<(usize, usize)>, TestCaseError> {
        self.now += 1;
        let mut auto = Vec::new();
        match *event {
            Event::Arrive(mask) => {
                let team = self.team(mask);
                let c = self.convs.len();
                match choose(&self.agents, &team) {
                    Some(user) => {
                        let a = self.index(user);
                        // An older conversation this agent could take must not wait.
                        prop_assert!(self.queue.iter().all(|&q| !self.convs[q].team.admits(user)));
                        assigned(&mut self.agents, user, self.now);
                        self.convs.push(Conv {
                            team,
                            state: State::Assigned(a),
                        });
                        auto.push((c, a));
                    }
                    None => {
                        self.convs.push(Conv {
                            team,
                            state: State::Queued,
                        });
                        self.queue.push(c);
                    }
                }
            }
            Event::Resolve(c) | Event::Unassign(c) if c < self.convs.len() => {
                let resolve = matches!(event, Event::Resolve(_));
                match self.convs[c].state {
                    State::Assigned(a) => {
                        self.free(a);
                        if resolve {
                            self.convs[c].state = State::Resolved;
                        } else {
                            // Back in the queue, as its newest arrival.
                            self.convs[c].state = State::Queued;
                            self.queue.push(c);
                        }
                    }
                    State::Queued if resolve => {
                        self.queue.retain(|q| *q != c);
                        self.convs[c].state = State::Resolved;
                    }
                    // Unassigning a queued one, or anything resolved: no change.
                    _ => {}
                }
                auto.extend(self.serve());
            }
            Event::Manual(c, a, force)
                if c < self.convs.len()
                    && self.convs[c].state != State::Resolved
                    && check_manual(&self.agents[a], force).is_ok() =>
            {
                if let State::Assigned(prior) = self.convs[c].state {
                    self.free(prior);
                }
                self.queue.retain(|q| *q != c);
                let user = self.agents[a].user;
                assigned(&mut self.agents, user, self.now);
                self.convs[c].state = State::Assigned(a);
                auto.extend(self.serve());
            }
            Event::Online(a, online) => {
                self.agents[a].online = online;
                auto.extend(self.serve());
            }
            Event::Available(a, available) => {
                self.agents[a].available = available;
                auto.extend(self.serve());
            }
            Event::Capacity(a, capacity) => {
                self.agents[a].capacity = capacity;
                auto.extend(self.serve());
            }
            _ => {}
        }
        Ok(auto)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn capacity_holds_nothing_is_assigned_twice_and_the_queue_keeps_its_order(
        events in prop::collection::vec(event(), 1..60)
    ) {
        let mut world = World::new();
        for event in &events {
            let queue_before = world.queue.clone();
            let auto = world.apply(event)?;

            // Auto-assignment never takes an agent past capacity.
            let mut given = [0u32; AGENTS];
            for (_, a) in &auto {
                given[*a] += 1;
            }
            for (a, given) in given.iter().enumerate() {
                if *given > 0 {
                    prop_assert!(
                        world.agents[a].load <= world.agents[a].capacity,
                        "agent {} auto-assigned up to {} with capacity {}",
                        a, world.agents[a].load, world.agents[a].capacity
                    );
                }
            }

            // Each load counts exactly the open conversations assigned to that agent.
            for a in 0..AGENTS {
                let open = world.convs.iter().filter(|c| c.state == State::Assigned(a)).count() as u32;
                prop_assert_eq!(world.agents[a].load, open);
            }
            // Nothing is both queued and assigned, nothing queued twice.
            let mut queued = world.queue.clone();
            queued.sort();
            queued.dedup();
            prop_assert_eq!(queued.len(), world.queue.len());
            for &c in &world.queue {
                prop_assert_eq!(&world.convs[c].state, &State::Queued);
            }

            // Arrival order: what stayed queued kept its order, and nothing
            // was taken from the queue while an older one the same agent
            // could take stayed behind.
            let kept: Vec<usize> = queue_before.iter().copied().filter(|c| world.queue.contains(c)).collect();
            prop_assert_eq!(&kept, &world.queue[..kept.len()]);
            for (c, a) in &auto {
                if let Some(pos) = queue_before.iter().position(|q| q == c) {
                    let user = world.agents[*a].user;
                    for older in &queue_before[..pos] {
                        prop_assert!(
                            !(world.queue.contains(older) && world.convs[*older].team.admits(user)),
                            "conversation {c} went to agent {a} before older {older}"
                        );
                    }
                }
            }

            // Work-conserving: nobody with room waits while they could take one.
            for &c in &world.queue {
                prop_assert!(choose(&world.agents, &world.convs[c].team).is_none(),
                    "conversation {c} waits while someone has room");
            }
        }
    }
}
