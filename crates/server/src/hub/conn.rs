//! One WebSocket connection as the hub sees it: who it is, what it joined,
//! and its bounded outbox.
//!
//! Frames are serialized once and shared (`Utf8Bytes` is reference counted),
//! so delivering to a connection is a push onto its outbox and a wake-up of
//! its session task, which writes everything queued with one flush.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::Ordering;

use switchboard_core::folders::FolderMatch;
use switchboard_core::model::{Conversation, UserRef};
use switchboard_core::presence::Millis;
use switchboard_core::{Actor, ConnId, ConversationId, Principal, UserId};

use super::sync::{AtomicBool, AtomicU64, Mutex, Notify};
use crate::access::Sight;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Close codes the server uses.
pub mod close {
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The client broke the WebSocket protocol (RFC 6455 section 7.4.1).
    pub const PROTOCOL: u16 = 1002;
    /// A text message that is not valid UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// Policy: the client did not read, flooded, went silent, logged out,
    /// or has too many connections open.
    pub const POLICY: u16 = 1008;
    /// A frame over the size limit.
    pub const TOO_BIG: u16 = 1009;
}

/// How much one outbox may hold before its connection counts as not reading.
#[derive(Debug, Clone, Copy)]
pub struct OutboxLimits {
    pub frames: usize,
    pub bytes: usize,
}

#[derive(Debug, Default)]
struct Outbox {
    frames: VecDeque<Utf8Bytes>,
    bytes: usize,
    close: Option<(u16, &'static str)>,
}

#[derive(Debug)]
pub struct Conn {
    pub id: ConnId,
    /// The signed-in user of this connection.
    pub principal: Principal,
    /// The hash of the login token this connection authenticated with (for logout).
    pub token_hash: [u8; 32],
    /// Conversations this connection joined.
    pub joined: Mutex<Vec<ConversationId>>,
    /// Whether it receives `conversation` events (`subscribe_inbox`).
    pub subscribed: AtomicBool,
    /// Whether it opened a console (its user answers conversations).
    pub console: AtomicBool,
    /// Conversations in this connection's list only because they are
    /// assigned to its user (`conversations.view_assigned`): when one goes
    /// to someone else, it is told `conversation_removed` (`unassigned`).
    pub assigned_shown: Mutex<HashSet<ConversationId>>,
    /// The folder its inbox subscription follows (none: every conversation
    /// the user may see), with what the list shows of it.
    folder: Mutex<Option<FolderList>>,
    /// The agents its `subscribe_agents` subscription shows (none: it did
    /// not subscribe), so one that leaves its reach is removed once.
    agents: Mutex<Option<HashSet<UserId>>>,
    /// When the client last sent anything (hub clock).
    pub last_seen: AtomicU64,
    /// When the write in progress started (0: none); a write that takes too
    /// long means the client stopped reading.
    pub writing_since: AtomicU64,
    /// The `last_seen` of the silence a WebSocket ping was asked for: one
    /// ping per silence (`u64::MAX`: none yet).
    pinged_for: AtomicU64,
    /// The session should send a WebSocket ping.
    ping_wanted: AtomicBool,
    /// When its login session expires, on the hub clock (`u64::MAX`: not
    /// known yet; the hub's session check learns it).
    pub session_deadline: AtomicU64,
    outbox: Mutex<Outbox>,
    /// Wakes the session: something was queued, or it must close.
    wake: Notify,
    /// Interrupts a write in progress: the connection must close.
    abort: Notify,
    limits: OutboxLimits,
}

/// A subscription's folder: its rule, and the conversations the
/// subscriber's list shows (so one that stops matching is removed once).
#[derive(Debug)]
struct FolderList {
    rule: FolderMatch,
    shown: HashSet<ConversationId>,
}

/// What a card means for a subscriber's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// It belongs in the list: send it.
    Show,
    /// It was in the folder and no longer matches: `conversation_removed`
    /// (`filter`).
    Leave,
    /// Not in the folder, and never shown: nothing.
    Skip,
}

/// What an agent's new state means for a `subscribe_agents` subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentNews {
    /// Within the subscriber's reach: send `agent_status`.
    Show,
    /// It was shown and left the subscriber's reach: `agent_removed`.
    Remove,
    /// Not subscribed, or out of reach and never shown: nothing.
    Skip,
}

/// What [`Conn::push`] reports when the outbox is full.
#[derive(Debug, PartialEq, Eq)]
pub struct Overflow;

impl Conn {
    pub fn new(
        principal: Principal,
        token_hash: [u8; 32],
        limits: OutboxLimits,
        now: Millis,
    ) -> Self {
        Self {
            id: ConnId::new(),
            principal,
            token_hash,
            joined: Mutex::new(Vec::new()),
            subscribed: AtomicBool::new(false),
            console: AtomicBool::new(false),
            assigned_shown: Mutex::new(HashSet::new()),
            folder: Mutex::new(None),
            agents: Mutex::new(None),
            last_seen: AtomicU64::new(now),
            writing_since: AtomicU64::new(0),
            pinged_for: AtomicU64::new(u64::MAX),
            ping_wanted: AtomicBool::new(false),
            session_deadline: AtomicU64::new(u64::MAX),
            outbox: Mutex::new(Outbox::default()),
            wake: Notify::new(),
            abort: Notify::new(),
            limits,
        }
    }

    /// Starts (or restarts) following agents, with none shown yet; true
    /// when the connection did not follow them before.
    pub fn follow_agents(&self) -> bool {
        self.agents.lock().replace(HashSet::new()).is_none()
    }

    /// Stops following agents; true when it did.
    pub fn unfollow_agents(&self) -> bool {
        self.agents.lock().take().is_some()
    }

    /// Records what the subscriber is shown of `agent`, now `reachable` or
    /// not, and says what to send.
    pub fn agent_news(&self, agent: UserId, reachable: bool) -> AgentNews {
        let mut agents = self.agents.lock();
        let Some(shown) = agents.as_mut() else {
            return AgentNews::Skip;
        };
        if reachable {
            shown.insert(agent);
            AgentNews::Show
        } else if shown.remove(&agent) {
            AgentNews::Remove
        } else {
            AgentNews::Skip
        }
    }

    /// The agents shown now (empty when not following).
    pub fn agents_shown(&self) -> Vec<UserId> {
        self.agents
            .lock()
            .as_ref()
            .map_or_else(Vec::new, |shown| shown.iter().copied().collect())
    }

    /// Queues a frame. A full outbox means the client is not reading: the
    /// connection is told to close (1008) and the frame is dropped; the
    /// client resumes with `after_seq` when it reconnects.
    pub fn push(&self, frame: &Utf8Bytes) -> Result<(), Overflow> {
        let mut outbox = self.outbox.lock();
        if outbox.close.is_some() {
            return Err(Overflow);
        }
        if outbox.frames.len() >= self.limits.frames
            || outbox.bytes + frame.len() > self.limits.bytes
        {
            drop(outbox);
            self.abort(close::POLICY, "too slow: outbox full");
            return Err(Overflow);
        }
        let was_empty = outbox.frames.is_empty();
        outbox.bytes += frame.len();
        outbox.frames.push_back(frame.clone());
        drop(outbox);
        if was_empty {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Asks the session to send what is queued, then a close frame with
    /// `code`, and end. A write under way is left to finish: interrupting
    /// it would cost the client its close frame (shutdown, logout and
    /// heartbeat closes happen under traffic too). A write that never
    /// finishes is [`Conn::abort`]ed by the reaper.
    pub fn close(&self, code: u16, reason: &'static str) {
        let mut outbox = self.outbox.lock();
        outbox.close.get_or_insert((code, reason));
        drop(outbox);
        self.wake.notify_one();
    }

    /// Ends a connection whose client stopped reading: the write under way
    /// (or the next one) is abandoned and the socket dropped; what was
    /// queued is discarded, since it could not be delivered anyway.
    pub fn abort(&self, code: u16, reason: &'static str) {
        let mut outbox = self.outbox.lock();
        outbox.close.get_or_insert((code, reason));
        outbox.frames.clear();
        outbox.bytes = 0;
        drop(outbox);
        self.wake.notify_one();
        self.abort.notify_one();
    }

    pub fn is_closing(&self) -> bool {
        self.outbox.lock().close.is_some()
    }

    /// Moves everything queued into `into`; returns the close request, if any.
    pub fn drain(&self, into: &mut Vec<Utf8Bytes>) -> Option<(u16, &'static str)> {
        let mut outbox = self.outbox.lock();
        into.extend(outbox.frames.drain(..));
        outbox.bytes = 0;
        if outbox.frames.capacity() > 64 {
            // Give back what a burst grew; idle connections should stay small.
            outbox.frames.shrink_to(16);
        }
        outbox.close
    }

    /// Resolves when something was queued since the last drain.
    pub async fn queued(&self) {
        self.wake.notified().await;
    }

    /// Resolves when the connection must close, to abandon a stuck write.
    pub async fn aborted(&self) {
        self.abort.notified().await;
    }

    pub fn touch(&self, now: Millis) {
        self.last_seen.store(now, Ordering::Relaxed);
    }

    /// The reaper's look at a connection's silence (any frame from the
    /// client ends one, the pong to our ping too): silent for `heartbeat_ms`,
    /// it is sent a WebSocket ping, which every client library answers by
    /// itself; silent for twice that, it is closed.
    pub fn watch_silence(&self, now: Millis, heartbeat_ms: u64) {
        let last_seen = self.last_seen.load(Ordering::Relaxed);
        let silent = now.saturating_sub(last_seen);
        if silent > heartbeat_ms.saturating_mul(2) {
            self.close(close::POLICY, "heartbeat timeout");
            return;
        }
        if silent > heartbeat_ms && self.pinged_for.swap(last_seen, Ordering::Relaxed) != last_seen
        {
            self.ping_wanted.store(true, Ordering::Relaxed);
            self.wake.notify_one();
        }
    }

    /// Whether the session should send a WebSocket ping (once per ask).
    pub fn take_ping(&self) -> bool {
        self.ping_wanted.swap(false, Ordering::Relaxed)
    }

    /// A conversation is in this connection's list, seen as `sight`:
    /// remembered if only because it is assigned to the user (so that its
    /// reassignment removes it), forgotten otherwise.
    /// The inbox subscription follows `rule` from now on (none: every
    /// conversation the user may see), its list showing nothing yet.
    pub fn follow_folder(&self, rule: Option<FolderMatch>) {
        *self.folder.lock() = rule.map(|rule| FolderList {
            rule,
            shown: HashSet::new(),
        });
    }

    /// Whether the card belongs in this subscriber's list, noting it as
    /// shown or gone. The caller checked the user may see it.
    pub fn listing(&self, card: &Conversation) -> Listing {
        let mut folder = self.folder.lock();
        let Some(folder) = folder.as_mut() else {
            return Listing::Show;
        };
        if folder.rule.admits(card) {
            folder.shown.insert(card.id);
            Listing::Show
        } else if folder.shown.remove(&card.id) {
            Listing::Leave
        } else {
            Listing::Skip
        }
    }

    /// The user may no longer see the conversation: whether the list
    /// showed it (always, without a folder), forgetting it.
    pub fn unlist(&self, conversation: ConversationId) -> bool {
        match self.folder.lock().as_mut() {
            Some(folder) => folder.shown.remove(&conversation),
            None => true,
        }
    }

    pub fn note_sight(&self, conversation: ConversationId, sight: Sight) {
        let mut shown = self.assigned_shown.lock();
        if sight == Sight::AssignedOnly {
            shown.insert(conversation);
        } else {
            shown.remove(&conversation);
        }
    }

    pub fn user(&self) -> &UserRef {
        self.principal.user()
    }

    pub fn actor(&self) -> &Actor {
        self.principal.actor()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::{AccountId, UserId};

    fn conn(frames: usize, bytes: usize) -> Conn {
        let user = UserRef {
            id: UserId::new(),
            name: "Ann".into(),
        };
        let principal = Principal::new(user, AccountId::new());
        Conn::new(principal, [0; 32], OutboxLimits { frames, bytes }, 0)
    }

    #[test]
    fn a_full_outbox_asks_for_a_policy_close_and_drops_the_backlog() {
        let c = conn(2, 1024);
        let frame = Utf8Bytes::from_static("{}");
        assert_eq!(c.push(&frame), Ok(()));
        assert_eq!(c.push(&frame), Ok(()));
        assert_eq!(c.push(&frame), Err(Overflow));
        let mut out = Vec::new();
        assert_eq!(
            c.drain(&mut out),
            Some((close::POLICY, "too slow: outbox full"))
        );
        assert!(
            out.is_empty(),
            "nothing more is written to a client that does not read"
        );
        assert_eq!(
            c.push(&frame),
            Err(Overflow),
            "a closing connection takes nothing"
        );
    }

    #[test]
    fn the_byte_bound_applies_too() {
        let c = conn(100, 10);
        assert_eq!(c.push(&Utf8Bytes::from_static("123456")), Ok(()));
        assert_eq!(c.push(&Utf8Bytes::from_static("123456")), Err(Overflow));
    }

    #[test]
    fn a_silent_connection_is_pinged_once_then_closed() {
        let c = conn(10, 1024);
        c.watch_silence(1_000, 1_000);
        assert!(!c.take_ping(), "not silent long enough yet");
        c.watch_silence(1_001, 1_000);
        assert!(c.take_ping());
        c.watch_silence(1_500, 1_000);
        assert!(!c.take_ping(), "one ping per silence");
        c.touch(1_600); // the pong
        c.watch_silence(2_700, 1_000);
        assert!(c.take_ping(), "a new silence, a new ping");
        assert!(!c.is_closing());
        c.watch_silence(3_601, 1_000);
        assert_eq!(
            c.drain(&mut Vec::new()),
            Some((close::POLICY, "heartbeat timeout"))
        );
    }

    #[test]
    fn drain_returns_frames_in_order() {
        let c = conn(10, 1024);
        for text in ["a", "b", "c"] {
            c.push(&Utf8Bytes::from_static(text)).unwrap();
        }
        let mut out = Vec::new();
        assert_eq!(c.drain(&mut out), None);
        assert_eq!(
            out.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            vec!["a", "b", "c"]
        );
        // Draining frees room again.
        assert_eq!(c.push(&Utf8Bytes::from_static("d")), Ok(()));
    }
}
