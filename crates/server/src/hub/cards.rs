//! The cards of the conversations that have a room on this node: what the
//! inbox list shows (status, assignee, queue position, last message, and
//! "Answered by"), kept current for `conversation` events.
//!
//! One rule for "Answered by": where this node has a room, the room knows
//! who answers (it hears every grant, here and, through the bus, on every
//! other node), so a card from anywhere else (the store, another node) keeps
//! this node's "Answered by" and takes the rest ([`merge`]). Where there is
//! no room here, the card is taken as it came. A card never goes back to an
//! older last message.
//!
//! A card is news ([`Hub::card_news`]: a routing change, a customer's
//! message, another node's card; the room's card takes it) or a reading
//! ([`Hub::card_as_shown`]: a list or an answer read from the store, which
//! may be older than what the room knows; the room's card is left alone).
//!
//! One card crosses the cluster per change of who answers: the node that
//! granted or released the role sends it, the others show theirs to their
//! own subscribers only. Cards come over the bus from several nodes in no
//! promised order, so each carries the role's epoch its "Answered by" was
//! read at; where there is no room, [`Answered`] remembers the newest seen
//! and corrects an older card with it.

use std::collections::HashMap;

use parking_lot::Mutex;
use switchboard_core::model::{Conversation, Message, UserRef, answer_order};
use switchboard_core::ports::ClusterEvent;
use switchboard_core::{ConversationId, Resource};

use super::Hub;

impl Hub {
    /// News of a card: the room here (if any) takes it, by the rule; the
    /// card as this node now shows it.
    pub(super) fn card_news(&self, incoming: Conversation) -> Conversation {
        match self.rooms.get(incoming.id) {
            Some(entry) => entry.card.arrived(incoming),
            // cards come from other nodes only in cluster mode
            None if self.clustered() => self.answered.newest(incoming),
            None => incoming,
        }
    }

    /// A card read from the store, as this node shows it (by the rule),
    /// without changing what the room here knows.
    pub fn card_as_shown(&self, read: Conversation) -> Conversation {
        match self.rooms.get(read.id) {
            Some(entry) => entry.card.shown(read),
            None if self.clustered() => self.answered.newest(read),
            None => read,
        }
    }

    /// A card changed by this node's doing: subscribers here and elsewhere.
    pub(super) async fn card_changed(&self, card: Conversation) {
        self.delivery.card(&card, &self.connections);
        self.publish(|| ClusterEvent::Summary {
            conversation: Box::new(card),
        })
        .await;
    }
}

/// The card of a conversation with a room here (the room owns it).
#[derive(Debug)]
pub(super) struct Card(Mutex<Conversation>);

impl Card {
    /// The store's card, as the room is built.
    pub fn new(card: Conversation) -> Self {
        Self(Mutex::new(card))
    }

    pub fn get(&self) -> Conversation {
        self.0.lock().clone()
    }

    /// What permissions are checked against.
    pub fn resource(&self) -> Resource {
        self.0.lock().resource()
    }

    pub fn last_seq(&self) -> u64 {
        self.0.lock().last_seq
    }

    /// News of the card (from the store or another node): taken, by the rule.
    pub fn arrived(&self, incoming: Conversation) -> Conversation {
        let mut local = self.0.lock();
        *local = merge(&local, incoming);
        local.clone()
    }

    /// A reading of the card, as this node shows it; the card is unchanged.
    pub fn shown(&self, read: Conversation) -> Conversation {
        merge(&self.0.lock(), read)
    }

    /// This node's room changed who answers (the role at `epoch`): the new
    /// card, if who answers changed.
    pub fn answered_by(&self, holder: Option<UserRef>, epoch: u64) -> Option<Conversation> {
        let mut card = self.0.lock();
        card.answered_epoch = epoch;
        if card.answered_by == holder {
            return None;
        }
        card.answered_by = holder;
        Some(card.clone())
    }

    /// A message was stored: the card shows it as the last one (unless it
    /// already shows a newer one).
    pub fn note_message(&self, message: &Message) {
        let mut card = self.0.lock();
        if message.seq > card.last_seq {
            card.last_seq = message.seq;
            card.last_message_at = Some(message.created_at);
        }
    }
}

/// The rule: everything from `incoming` but "Answered by", which is the
/// room's, and the last message, which only moves forward.
fn merge(local: &Conversation, incoming: Conversation) -> Conversation {
    let newest = if incoming.last_seq >= local.last_seq {
        (incoming.last_seq, incoming.last_message_at)
    } else {
        (local.last_seq, local.last_message_at)
    };
    Conversation {
        answered_by: local.answered_by.clone(),
        answered_epoch: local.answered_epoch,
        last_seq: newest.0,
        last_message_at: newest.1,
        ..incoming
    }
}

/// "Answered by" of conversations without a room here, as the newest card
/// seen told it. Bounded: two generations of at most half the cap each,
/// the older dropped whole when the newer fills; a conversation forgotten
/// takes its next card as it comes.
#[derive(Debug)]
pub(super) struct Answered {
    generations: Mutex<[HashMap<ConversationId, Remembered>; 2]>,
    half: usize,
}

#[derive(Debug, Clone)]
struct Remembered {
    epoch: u64,
    by: Option<UserRef>,
}

impl Answered {
    /// Remembers at most `cap` conversations (at least two).
    pub fn new(cap: usize) -> Self {
        Self {
            generations: Mutex::new([HashMap::new(), HashMap::new()]),
            half: (cap / 2).max(1),
        }
    }

    /// The card with the newest "Answered by" seen here, its own or the
    /// one remembered; remembers it.
    pub fn newest(&self, mut card: Conversation) -> Conversation {
        let mut generations = self.generations.lock();
        let [young, old] = &mut *generations;
        let known = young.get(&card.id).or_else(|| old.get(&card.id));
        if let Some(known) = known
            && answer_order(known.epoch, known.by.as_ref()) > card.answer_order()
        {
            card.answered_epoch = known.epoch;
            card.answered_by = known.by.clone();
            return card;
        }
        if young.len() >= self.half && !young.contains_key(&card.id) {
            *old = std::mem::take(young);
        }
        young.insert(
            card.id,
            Remembered {
                epoch: card.answered_epoch,
                by: card.answered_by.clone(),
            },
        );
        card
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use switchboard_core::model::{Contact, ConversationStatus, Direction};
    use switchboard_core::{AccountId, ContactId, ConversationId, InboxId, MessageId, UserId};

    use super::*;

    fn user(name: &str) -> UserRef {
        UserRef {
            id: UserId::new(),
            name: name.into(),
        }
    }

    fn conversation(last_seq: u64) -> Conversation {
        Conversation {
            id: ConversationId::new(),
            account_id: AccountId::new(),
            inbox_id: InboxId::new(),
            contact: Contact {
                id: ContactId::new(),
                handle: "+15550100".into(),
                name: None,
            },
            status: ConversationStatus::Open,
            assignee: None,
            answered_by: None,
            answered_epoch: 0,
            queue_position: Some(1),
            last_seq,
            last_message_at: Some(Utc.timestamp_millis_opt(last_seq as i64).unwrap()),
        }
    }

    #[test]
    fn a_card_from_elsewhere_keeps_the_rooms_answered_by_and_takes_the_rest() {
        let local = conversation(3);
        let card = Card::new(local.clone());
        let ann = user("Ann");
        assert!(card.answered_by(Some(ann.clone()), 1).is_some());
        let bob = user("Bob");
        let incoming = Conversation {
            assignee: Some(bob.clone()),
            answered_by: Some(bob.clone()),
            queue_position: None,
            ..local
        };
        let shown = card.arrived(incoming);
        assert_eq!(
            shown.answered_by,
            Some(ann),
            "the room here knows who answers"
        );
        assert_eq!(shown.assignee, Some(bob), "the rest is news");
        assert_eq!(shown.queue_position, None);
        assert_eq!(card.get(), shown);
    }

    #[test]
    fn a_reading_is_shown_by_the_rule_but_leaves_the_card_alone() {
        let local = conversation(3);
        let card = Card::new(local.clone());
        let ann = user("Ann");
        card.answered_by(Some(ann.clone()), 1);
        let older = Conversation {
            queue_position: Some(9),
            answered_by: None,
            ..conversation(2)
        };
        let shown = card.shown(Conversation {
            id: local.id,
            ..older
        });
        assert_eq!(shown.answered_by, Some(ann));
        assert_eq!(shown.queue_position, Some(9));
        assert_eq!(shown.last_seq, 3);
        assert_eq!(
            card.get().queue_position,
            Some(1),
            "the room's card is unchanged"
        );
    }

    #[test]
    fn the_last_message_only_moves_forward() {
        let local = conversation(5);
        let card = Card::new(local.clone());
        let shown = card.arrived(Conversation {
            id: local.id,
            ..conversation(4)
        });
        assert_eq!(shown.last_seq, 5);
        assert_eq!(shown.last_message_at, local.last_message_at);
        let message = Message {
            id: MessageId::new(),
            conversation_id: local.id,
            seq: 6,
            direction: Direction::Inbound,
            author: None,
            body: "hi".into(),
            created_at: Utc.timestamp_millis_opt(6).unwrap(),
        };
        card.note_message(&message);
        assert_eq!(card.last_seq(), 6);
        assert_eq!(card.get().last_message_at, Some(message.created_at));
        let older = Message { seq: 2, ..message };
        card.note_message(&older);
        assert_eq!(card.last_seq(), 6);
    }

    #[test]
    fn answered_by_reports_only_changes() {
        let card = Card::new(conversation(1));
        assert_eq!(card.answered_by(None, 0), None, "nothing changed");
        let ann = user("Ann");
        let changed = card.answered_by(Some(ann.clone()), 1).unwrap();
        assert_eq!(changed.answered_by, Some(ann.clone()));
        assert_eq!(changed.answered_epoch, 1);
        assert_eq!(card.answered_by(Some(ann), 2), None);
        assert_eq!(
            card.get().answered_epoch,
            2,
            "the epoch is kept all the same"
        );
    }

    fn answered(card: &Conversation, by: Option<&UserRef>, epoch: u64) -> Conversation {
        Conversation {
            answered_by: by.cloned(),
            answered_epoch: epoch,
            ..card.clone()
        }
    }

    #[test]
    fn without_a_room_a_card_telling_an_older_role_is_corrected() {
        let memory = Answered::new(100);
        let card = conversation(3);
        let (ann, bob) = (user("Ann"), user("Bob"));
        // bob's grant (epoch 2) arrives before the card of ann's (epoch 1)
        let shown = memory.newest(answered(&card, Some(&bob), 2));
        assert_eq!(shown.answered_by, Some(bob.clone()));
        let late = Conversation {
            last_seq: 4,
            ..answered(&card, Some(&ann), 1)
        };
        let shown = memory.newest(late);
        assert_eq!(shown.answered_by, Some(bob.clone()), "bob's is newer");
        assert_eq!(shown.answered_epoch, 2);
        assert_eq!(shown.last_seq, 4, "the rest of the late card is taken");
        // bob's release (epoch 2, nobody) is newer than bob's grant ...
        let shown = memory.newest(answered(&card, None, 2));
        assert_eq!(shown.answered_by, None);
        // ... so a late card of the grant does not bring him back
        let shown = memory.newest(answered(&card, Some(&bob), 2));
        assert_eq!(shown.answered_by, None);
        // a later grant does
        let shown = memory.newest(answered(&card, Some(&ann), 3));
        assert_eq!(shown.answered_by, Some(ann));
    }

    #[test]
    fn the_memory_is_bounded_and_a_forgotten_card_is_taken_as_it_comes() {
        let memory = Answered::new(4);
        let ann = user("Ann");
        let first = conversation(1);
        memory.newest(answered(&first, Some(&ann), 5));
        for _ in 0..4 {
            memory.newest(conversation(1));
        }
        let kept: usize = memory.generations.lock().iter().map(HashMap::len).sum();
        assert!(kept <= 4, "{kept} remembered");
        // the first was dropped with its generation: an older card shows as it is
        let shown = memory.newest(answered(&first, None, 1));
        assert_eq!(shown.answered_epoch, 1);
    }
}
