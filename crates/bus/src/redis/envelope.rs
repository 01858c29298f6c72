//! Events on the wire: an [`Envelope`] as JSON, `origin` first.

use switchboard_core::ids::NodeId;
use switchboard_core::ports::{BusError, ClusterEvent, Envelope};

/// The JSON of an event from `origin`.
pub(crate) fn encode(origin: NodeId, event: ClusterEvent) -> Result<Vec<u8>, BusError> {
    serde_json::to_vec(&Envelope { origin, event })
        .map_err(|e| BusError::Unavailable(format!("cannot encode an event: {e}")))
}

pub(crate) fn decode(payload: &[u8]) -> Result<Envelope, serde_json::Error> {
    serde_json::from_slice(payload)
}

/// How every payload published by `node` starts (serde writes `origin`
/// first), so a node skips its own messages without decoding them. A payload
/// that does not start so is decoded and its origin compared.
pub(crate) fn own_prefix(node: NodeId) -> Vec<u8> {
    format!("{{\"origin\":\"{node}\"").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::ids::{ConversationId, UserId};

    #[test]
    fn round_trips_and_starts_with_the_origin() {
        let node = NodeId::new();
        let event = ClusterEvent::Typing {
            conversation_id: ConversationId::new(),
            user_id: UserId::new(),
        };
        let payload = encode(node, event.clone()).unwrap();
        assert!(payload.starts_with(&own_prefix(node)));
        assert!(!payload.starts_with(&own_prefix(NodeId::new())));
        assert_eq!(
            decode(&payload).unwrap(),
            Envelope {
                origin: node,
                event
            }
        );
    }
}
