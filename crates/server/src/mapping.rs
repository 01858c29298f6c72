//! The one place where domain types become wire types and back (errors
//! excepted: application errors reach the wire through `crate::refusals`).

use switchboard_core::ConversationId;
use switchboard_core::model::{self, ConversationStatus, Direction};
use switchboard_core::model::{AgentState, Availability};
use switchboard_core::presence::{LockLostReason, Snapshot};
use switchboard_proto::client::Availability as WireAvailability;
use switchboard_proto::server::LockLostReason as WireReason;
use switchboard_proto::server::{
    AgentStatus, ConversationRemoved, ConversationRemovedReason, ServerFrame,
};
use switchboard_proto::{self as wire};

pub fn user_ref(user: &model::UserRef) -> wire::UserRef {
    wire::UserRef {
        user_id: user.id.as_uuid(),
        name: user.name.clone(),
    }
}

/// A message as one receiver may see it: without the body when they may not read bodies.
pub fn message(message: &model::Message, with_body: bool) -> wire::Message {
    wire::Message {
        id: message.id.as_uuid(),
        conversation_id: message.conversation_id.as_uuid(),
        seq: message.seq,
        direction: match message.direction {
            Direction::Inbound => wire::Direction::Inbound,
            Direction::Outbound => wire::Direction::Outbound,
        },
        author: message.author.as_ref().map(user_ref),
        body: with_body.then(|| message.body.clone()),
        created_at: message.created_at,
    }
}

pub fn summary(conversation: &model::Conversation) -> wire::Summary {
    wire::Summary {
        id: conversation.id.as_uuid(),
        inbox_id: conversation.inbox_id.as_uuid(),
        contact: wire::Contact {
            id: conversation.contact.id.as_uuid(),
            name: conversation.contact.name.clone(),
            handle: conversation.contact.handle.clone(),
        },
        status: match conversation.status {
            ConversationStatus::Open => wire::ConversationStatus::Open,
            ConversationStatus::Resolved => wire::ConversationStatus::Resolved,
        },
        assignee: conversation.assignee.as_ref().map(user_ref),
        answered_by: conversation.answered_by.as_ref().map(user_ref),
        queue_position: conversation.queue_position,
        last_message_at: conversation.last_message_at,
        last_seq: conversation.last_seq,
    }
}

/// The presence as clients see it.
pub fn presence(conversation: ConversationId, snapshot: &Snapshot) -> wire::Presence {
    wire::Presence {
        conversation_id: conversation.as_uuid(),
        active: snapshot.active.as_ref().map(|(user, _)| user_ref(user)),
        observers: snapshot.observers.iter().map(user_ref).collect(),
        version: snapshot.version,
        epoch: snapshot.active.as_ref().map(|(_, epoch)| *epoch),
    }
}

pub fn lock_lost_reason(reason: LockLostReason) -> WireReason {
    match reason {
        LockLostReason::Idle => WireReason::Idle,
        LockLostReason::TakenOver => WireReason::TakenOver,
        LockLostReason::Disconnected => WireReason::Disconnected,
        LockLostReason::NodeLost => WireReason::NodeLost,
        LockLostReason::Permission => WireReason::Permission,
    }
}

/// The frame telling a user that they may no longer see `conversation`
/// (to their inbox subscriptions and their connections joined to it).
pub fn conversation_removed(
    conversation: ConversationId,
    reason: ConversationRemovedReason,
) -> ServerFrame {
    ServerFrame::ConversationRemoved(ConversationRemoved {
        conversation_id: conversation.as_uuid(),
        reason,
    })
}

pub fn availability(availability: Availability) -> WireAvailability {
    match availability {
        Availability::Available => WireAvailability::Available,
        Availability::Away => WireAvailability::Away,
    }
}

pub fn availability_from(availability: WireAvailability) -> Availability {
    match availability {
        WireAvailability::Available => Availability::Available,
        WireAvailability::Away => Availability::Away,
    }
}

pub fn agent(state: &AgentState) -> AgentStatus {
    AgentStatus {
        user_id: state.user.id.as_uuid(),
        name: state.user.name.clone(),
        availability: availability(state.availability),
        online: state.online,
        load: state.load,
        capacity: state.capacity,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_lost_permission_is_told_as_permission() {
        let wire = serde_json::to_value(lock_lost_reason(LockLostReason::Permission)).unwrap();
        assert_eq!(wire, "permission");
    }

    #[test]
    fn a_removed_conversation_names_itself_and_why() {
        let id = ConversationId::new();
        for (reason, text) in [
            (ConversationRemovedReason::Permission, "permission"),
            (ConversationRemovedReason::Unassigned, "unassigned"),
            (ConversationRemovedReason::Filter, "filter"),
        ] {
            let frame = conversation_removed(id, reason);
            assert_eq!(frame.type_name(), "conversation_removed");
            assert_eq!(
                serde_json::to_value(&frame).unwrap(),
                json!({
                    "type": "conversation_removed",
                    "conversation_id": id.as_uuid().to_string(),
                    "reason": text,
                })
            );
        }
    }
}
