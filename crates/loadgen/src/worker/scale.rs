//! The scale part's connection: joins its conversation, keeps the newest
//! presence it was sent, checks it when the window starts, and times how
//! long after the kill of a node that node's user leaves it.

use std::collections::BTreeSet;

use switchboard_proto::client::{self, ClientFrame};
use switchboard_proto::{Presence, ServerFrame};
use uuid::Uuid;

use super::conn::Conn;
use super::observe::{Watch, observe};
use super::shared::Shared;
use super::{Ctx, End, SetupSignal};
use crate::clock::Window;
use crate::histo::names;
use crate::plan::{ScaleMember, ScaleStats};

pub(super) async fn run(
    member: ScaleMember,
    kill_after_ms: u64,
    conn: &mut Conn,
    ctx: &mut Ctx,
    setup: &mut SetupSignal,
) -> End {
    let mut sight = Sight::new(&member, kill_after_ms);
    let conversation_id = member.conversation_id;
    let join = |reference| {
        ClientFrame::Join(client::Join {
            reference: Some(reference),
            conversation_id,
            after_seq: None,
            watch: false,
        })
    };
    if let Err(end) = ask(conn, ctx, &mut sight, "join", "j", join).await {
        return end;
    }
    // Joining gives the role only where nobody was there yet: a viewer
    // who came first leaves it to "Start chatting".
    if member.answer && sight.answering() != Some(conn.user_id) {
        let take = |reference| {
            ClientFrame::Take(client::Take {
                reference: Some(reference),
                conversation_id,
                force: false,
            })
        };
        if let Err(end) = ask(conn, ctx, &mut sight, "take", "t", take).await {
            return end;
        }
    }
    setup.done();
    observe(conn, ctx, &mut sight).await
}

/// Sends the frame `frame` makes with a fresh `ref` and waits for its
/// answer; the presences read meanwhile and the answer's go to `sight`.
async fn ask(
    conn: &mut Conn,
    ctx: &mut Ctx,
    sight: &mut Sight,
    what: &str,
    prefix: &str,
    frame: impl FnOnce(String) -> ClientFrame,
) -> Result<(), End> {
    let reference = conn.next_ref(prefix);
    let frame = frame(reference.clone());
    match conn
        .request(&frame, &reference, |_, frame| sight.frame(&frame))
        .await
    {
        Ok(Ok(ack)) => {
            if let Some(presence) = ack.presence {
                sight.seen(presence);
            }
            Ok(())
        }
        Ok(Err(e)) => Err(ctx.setup_failed(what, e.message)),
        Err(e) => Err(ctx.setup_failed(what, e)),
    }
}

/// One connection's view of its conversation's presence, and what it is
/// waiting to see.
#[derive(Debug)]
pub(super) struct Sight {
    conversation: Uuid,
    leaver: Option<Uuid>,
    expected: BTreeSet<Uuid>,
    expected_active: Option<Uuid>,
    kill_after_ns: u64,
    /// Set when the window starts.
    kill_ns: u64,
    view: Option<Presence>,
    /// The leaver is still in the view; their role too.
    leave_pending: bool,
    role_pending: bool,
}

/// What a presence told a [`Sight`] once the window has started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// The leaver left the view this long after the kill.
    Left { after_ns: u64 },
    /// The leaver no longer answers, this long after the kill.
    RoleFreed { after_ns: u64 },
    /// The leaver left (or stopped answering) before the node was killed.
    Early,
}

impl Sight {
    pub(super) fn new(member: &ScaleMember, kill_after_ms: u64) -> Self {
        Self {
            conversation: member.conversation_id,
            leaver: member.leaver,
            expected: member.expected.iter().copied().collect(),
            expected_active: member.expected_active,
            kill_after_ns: kill_after_ms * 1_000_000,
            kill_ns: u64::MAX,
            view: None,
            leave_pending: false,
            role_pending: false,
        }
    }

    /// A frame read before the window: presences update the view.
    fn frame(&mut self, frame: &ServerFrame) {
        if let ServerFrame::Presence(presence) = frame {
            self.seen(presence.clone());
        }
    }

    fn seen(&mut self, presence: Presence) {
        if presence.conversation_id != self.conversation {
            return;
        }
        let newer = self
            .view
            .as_ref()
            .is_none_or(|view| presence.version > view.version);
        if newer {
            self.view = Some(presence);
        }
    }

    /// Every user in the view: the active responder and the observers.
    fn users(&self) -> BTreeSet<Uuid> {
        let Some(view) = &self.view else {
            return BTreeSet::new();
        };
        view.active
            .iter()
            .chain(&view.observers)
            .map(|u| u.user_id)
            .collect()
    }

    /// Whether `user` is in the view, answering or observing.
    fn shows(&self, user: Uuid) -> bool {
        self.view.as_ref().is_some_and(|view| {
            view.active
                .iter()
                .chain(&view.observers)
                .any(|u| u.user_id == user)
        })
    }

    fn answering(&self) -> Option<Uuid> {
        self.view.as_ref()?.active.as_ref().map(|a| a.user_id)
    }

    /// The window started: the view is checked and the leaver awaited.
    pub(super) fn start(&mut self, window: Window, stats: &mut ScaleStats) -> Option<String> {
        self.kill_ns = window.start_ns + self.kill_after_ns;
        let mut wrong = None;
        if !self.expected.is_empty() {
            stats.presence_checked += 1;
            let users = self.users();
            let answering = self.answering();
            if users != self.expected || answering != self.expected_active {
                stats.presence_wrong += 1;
                wrong = Some(format!(
                    "conversation {}: the view shows {} of its {} members ({} others), {} answering",
                    self.conversation,
                    users.intersection(&self.expected).count(),
                    self.expected.len(),
                    users.difference(&self.expected).count(),
                    match answering {
                        None => "nobody",
                        Some(user) if Some(user) == self.expected_active => "the right one",
                        Some(_) => "someone else",
                    }
                ));
            }
        }
        if let Some(leaver) = self.leaver {
            stats.leaves_expected += 1;
            if self.shows(leaver) {
                self.leave_pending = true;
                if self.answering() == Some(leaver) {
                    stats.roles_expected += 1;
                    self.role_pending = true;
                }
            } else {
                stats.leaves_early += 1;
            }
        }
        wrong
    }

    /// A presence read at `at_ns` during the window: what changed for the
    /// leaver.
    pub(super) fn update(&mut self, presence: Presence, at_ns: u64) -> Vec<Change> {
        self.seen(presence);
        let Some(leaver) = self.leaver else {
            return Vec::new();
        };
        let mut changes = Vec::new();
        let since_kill = at_ns.checked_sub(self.kill_ns);
        if self.role_pending && self.answering() != Some(leaver) {
            self.role_pending = false;
            changes
                .push(since_kill.map_or(Change::Early, |after_ns| Change::RoleFreed { after_ns }));
        }
        if self.leave_pending && !self.shows(leaver) {
            self.leave_pending = false;
            changes.push(since_kill.map_or(Change::Early, |after_ns| Change::Left { after_ns }));
        }
        changes
    }
}

impl Watch for Sight {
    fn before_run(&mut self, frame: &ServerFrame) {
        self.frame(frame);
    }

    fn run_started(&mut self, shared: &Shared, window: Window) {
        let mut stats = shared.scale.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(wrong) = self.start(window, &mut stats) {
            drop(stats);
            shared.note(&wrong);
        }
    }

    fn during_run(&mut self, shared: &Shared, at: u64, frame: ServerFrame) {
        let ServerFrame::Presence(presence) = frame else {
            return;
        };
        for change in self.update(presence, at) {
            let mut stats = shared.scale.lock().unwrap_or_else(|e| e.into_inner());
            match change {
                Change::Left { after_ns } => {
                    stats.leaves_seen += 1;
                    drop(stats);
                    shared.record_at(names::KILL_TO_LEAVE, at, after_ns);
                }
                Change::RoleFreed { after_ns } => {
                    stats.roles_freed += 1;
                    drop(stats);
                    shared.record_at(names::KILL_TO_ROLE_FREE, at, after_ns);
                }
                Change::Early => stats.leaves_early += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_proto::UserRef;

    fn user(id: Uuid) -> UserRef {
        UserRef {
            user_id: id,
            name: String::new(),
        }
    }

    fn presence(
        conversation: Uuid,
        version: u64,
        active: Option<Uuid>,
        observers: &[Uuid],
    ) -> Presence {
        Presence {
            conversation_id: conversation,
            active: active.map(user),
            observers: observers.iter().copied().map(user).collect(),
            version,
            epoch: active.map(|_| 1),
        }
    }

    #[test]
    fn the_view_is_checked_at_the_start_and_the_leavers_exit_timed_from_the_kill() {
        let conversation = Uuid::now_v7();
        let (me, other, leaver) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let member = ScaleMember {
            token: None,
            conversation_id: conversation,
            node: 0,
            answer: false,
            leaver: Some(leaver),
            expected: vec![me, other, leaver],
            expected_active: Some(leaver),
        };
        let mut sight = Sight::new(&member, 5);
        sight.seen(presence(conversation, 2, Some(leaver), &[me, other]));
        // an older presence, or another conversation's, changes nothing
        sight.seen(presence(conversation, 1, None, &[me]));
        sight.seen(presence(Uuid::now_v7(), 9, None, &[]));
        let mut stats = ScaleStats::default();
        let window = Window {
            start_ns: 1_000_000_000,
            end_ns: 2_000_000_000,
        };
        assert_eq!(sight.start(window, &mut stats), None);
        assert_eq!(
            (
                stats.presence_checked,
                stats.presence_wrong,
                stats.leaves_expected,
                stats.roles_expected
            ),
            (1, 0, 1, 1)
        );
        let kill = 1_005_000_000;
        // the leaver stops answering but is still there as an observer
        let changes = sight.update(
            presence(conversation, 3, None, &[me, other, leaver]),
            kill + 7,
        );
        assert_eq!(changes, vec![Change::RoleFreed { after_ns: 7 }]);
        let changes = sight.update(presence(conversation, 4, None, &[me, other]), kill + 9);
        assert_eq!(changes, vec![Change::Left { after_ns: 9 }]);
        assert!(
            sight
                .update(presence(conversation, 5, None, &[me]), kill + 11)
                .is_empty()
        );
    }

    #[test]
    fn a_wrong_view_and_a_leaver_gone_before_the_kill_are_counted() {
        let conversation = Uuid::now_v7();
        let (me, leaver) = (Uuid::now_v7(), Uuid::now_v7());
        let member = ScaleMember {
            token: None,
            conversation_id: conversation,
            node: 0,
            answer: false,
            leaver: Some(leaver),
            expected: vec![me, leaver, Uuid::now_v7()],
            expected_active: None,
        };
        let mut sight = Sight::new(&member, 5);
        sight.seen(presence(conversation, 1, None, &[me, leaver]));
        let mut stats = ScaleStats::default();
        let window = Window {
            start_ns: 1_000,
            end_ns: 2_000_000_000,
        };
        let wrong = sight.start(window, &mut stats).unwrap();
        assert!(wrong.contains("2 of its 3 members"), "{wrong}");
        assert!(wrong.contains("nobody answering"), "{wrong}");
        assert_eq!((stats.presence_wrong, stats.roles_expected), (1, 0));
        let changes = sight.update(presence(conversation, 2, None, &[me]), 2_000);
        assert_eq!(changes, vec![Change::Early]);
    }
}
