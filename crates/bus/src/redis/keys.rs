//! Names of everything the bus keeps in Redis, and the cluster slot of a name.
//!
//! Every name starts with the configured prefix and carries no hash tag, so
//! in Redis Cluster the channels and keys of different conversations spread
//! over all slots (and so over all shards).

use switchboard_core::ids::{ConversationId, NodeId};
use switchboard_core::ports::Topic;

/// The number of hash slots of Redis Cluster.
pub const SLOTS: u16 = 16_384;

/// The channel a topic's events travel on: `<prefix>:c:<conversation>` or
/// `<prefix>:a:<account>`.
pub fn channel_for(prefix: &str, topic: Topic) -> String {
    match topic {
        Topic::Conversation(id) => format!("{prefix}:c:{id}"),
        Topic::Account(id) => format!("{prefix}:a:{id}"),
        Topic::Access => format!("{prefix}:access"),
    }
}

/// The Redis Cluster hash slot of a key or shard channel: CRC16 (XMODEM) of
/// the name, or of its hash tag (the part between the first `{` and the next
/// `}`, when not empty), modulo 16384 — the same rule the servers apply.
pub fn key_slot(name: &str) -> u16 {
    crc16(hash_tag(name.as_bytes())) % SLOTS
}

fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|b| *b == b'{')
        && let Some(len) = key[open + 1..].iter().position(|b| *b == b'}')
        && len > 0
    {
        return &key[open + 1..open + 1 + len];
    }
    key
}

/// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for byte in bytes {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The names under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    pub(crate) fn channel(&self, topic: Topic) -> String {
        channel_for(&self.prefix, topic)
    }

    /// Hash of who views a conversation: field `<node>:<user>`.
    pub(crate) fn presence(&self, conversation: ConversationId) -> String {
        format!("{}:p:{conversation}", self.prefix)
    }

    /// Set of the conversations a node has (or had) viewers in.
    pub(crate) fn node_conversations(&self, node: NodeId) -> String {
        format!("{}:n:{node}:convs", self.prefix)
    }

    /// Sorted set of nodes scored by their last heartbeat (Redis' clock, ms).
    pub(crate) fn nodes(&self) -> String {
        format!("{}:nodes", self.prefix)
    }
}

/// The presence field of a user viewing from a node.
pub(crate) fn presence_field(node: NodeId, user: switchboard_core::ids::UserId) -> String {
    format!("{node}:{user}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::ids::AccountId;

    #[test]
    fn slots_match_the_redis_specification() {
        // Examples from the Redis Cluster specification and redis-rs.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot("foo"), 12182);
        assert_eq!(key_slot("bar"), 5061);
        assert_eq!(key_slot("{user1000}.following"), key_slot("user1000"));
        assert_eq!(key_slot("foo{}{bar}"), key_slot("foo{}{bar}"));
        assert_ne!(key_slot("foo{}{bar}"), key_slot("bar"));
        assert_eq!(key_slot("foo{{bar}}zap"), key_slot("{bar"));
    }

    #[test]
    fn topics_map_to_one_channel_each() {
        let conversation = ConversationId::new();
        let account = AccountId::new();
        assert_eq!(
            channel_for("sb", Topic::Conversation(conversation)),
            format!("sb:c:{conversation}")
        );
        assert_eq!(
            channel_for("sb", Topic::Account(account)),
            format!("sb:a:{account}")
        );
    }
}
