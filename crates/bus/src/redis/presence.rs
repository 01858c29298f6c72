//! Shared presence: per conversation a hash `<prefix>:p:<conversation>` with
//! a field `<node>:<user>` holding `{"name", "may_write"}`, and per node a
//! set `<prefix>:n:<node>:convs` of the conversations it has viewers in, so
//! a dead node's fields can be found and removed. Every command touches one
//! key, so it works the same on one server and on Redis Cluster (where the
//! keys of a node live on many shards).

use std::collections::{HashMap, HashSet};

use ::redis::Cmd;
use serde::{Deserialize, Serialize};
use switchboard_core::ids::{ConversationId, NodeId, UserId};
use switchboard_core::model::UserRef;
use switchboard_core::ports::BusError;

use super::keys::presence_field;
use super::liveness;
use super::shared::Shared;

/// Conversations handled per round when forgetting a node.
const FORGET_CHUNK: usize = 256;
/// How long a node's claim to forget a dead node's presence keeps the
/// others from doing it too.
const FORGET_CLAIM_MS: u64 = 60_000;

/// Removes the fields of one node (ARGV[1] is `<node>:`) from a presence hash.
const FORGET: &str = r"
local removed = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, #ARGV[1]) == ARGV[1] then
    redis.call('HDEL', KEYS[1], field)
    removed = removed + 1
  end
end
return removed
";

/// The value of a presence field.
#[derive(Debug, Serialize, Deserialize)]
struct Seat {
    name: String,
    may_write: bool,
}

/// Records (or removes) one viewer. The caller serializes calls for one
/// conversation, so the node's set of conversations matches its fields.
pub(crate) async fn set_present(
    shared: &Shared,
    conversation: ConversationId,
    user: &UserRef,
    may_write: bool,
    present: bool,
) -> Result<(), BusError> {
    let node = shared.config.node;
    let hash = shared.keys.presence(conversation);
    let index = shared.keys.node_conversations(node);
    let field = presence_field(node, user.id);
    if present {
        let seat = serde_json::to_string(&Seat {
            name: user.name.clone(),
            may_write,
        })
        .map_err(|e| BusError::Unavailable(format!("cannot encode presence: {e}")))?;
        // The index first: a field in the hash is always findable.
        let mut add = ::redis::cmd("SADD");
        add.arg(&index).arg(conversation.to_string());
        let mut set = ::redis::cmd("HSET");
        set.arg(&hash).arg(&field).arg(seat);
        return shared.in_order(&[(index, add), (hash, set)]).await;
    }
    let mut pipe = ::redis::pipe();
    pipe.cmd("HDEL")
        .arg(&hash)
        .arg(&field)
        .ignore()
        .cmd("HKEYS")
        .arg(&hash);
    let (generation, mut connection) = shared.commands_for(&hash)?;
    let (remaining,): (Vec<String>,) = pipe
        .query_async(&mut connection)
        .await
        .map_err(|e| shared.failed(generation, e))?;
    let mine = format!("{node}:");
    if !remaining.iter().any(|f| f.starts_with(&mine)) {
        shared
            .query::<i64>(
                &index,
                ::redis::cmd("SREM")
                    .arg(&index)
                    .arg(conversation.to_string()),
            )
            .await?;
    }
    Ok(())
}

/// Viewers of `conversation` on live nodes, by user then node.
pub(crate) async fn present(
    shared: &Shared,
    conversation: ConversationId,
) -> Result<Vec<(NodeId, UserRef, bool)>, BusError> {
    let hash = shared.keys.presence(conversation);
    let mut read = ::redis::cmd("HGETALL");
    read.arg(&hash);
    let (fields, live) = tokio::try_join!(
        shared.query::<HashMap<String, String>>(&hash, &read),
        liveness::live_nodes(shared),
    )?;
    let live: HashSet<NodeId> = live.into_iter().collect();
    let mut members: Vec<(NodeId, UserRef, bool)> = fields
        .into_iter()
        .filter_map(|(field, value)| {
            let parsed = parse_seat(&field, &value);
            if parsed.is_none() {
                tracing::debug!(%field, "ignored a malformed presence field");
            }
            parsed
        })
        .filter(|(node, _, _)| live.contains(node))
        .collect();
    members.sort_by_key(|(node, user, _)| (user.id, *node));
    Ok(members)
}

fn parse_seat(field: &str, value: &str) -> Option<(NodeId, UserRef, bool)> {
    let (node, user) = field.split_once(':')?;
    let node: NodeId = node.parse().ok()?;
    let id: UserId = user.parse().ok()?;
    let seat: Seat = serde_json::from_str(value).ok()?;
    Some((
        node,
        UserRef {
            id,
            name: seat.name,
        },
        seat.may_write,
    ))
}

/// Removes every presence field of `node`, conversation by conversation
/// (one key per command: the keys may live on different shards), then its
/// set of conversations. Every surviving node buries a dead one, but the
/// work is done once: the first to claim it does it, the others return at
/// once. (Reads already leave out the fields of nodes that are not live,
/// so what a claimant dying half-way leaves behind is only memory.)
pub(crate) async fn forget_node(shared: &Shared, node: NodeId) -> Result<(), BusError> {
    let index = shared.keys.node_conversations(node);
    let claim = format!("{index}:forgetting");
    let claimed: Option<String> = shared
        .query(
            &claim,
            ::redis::cmd("SET")
                .arg(&claim)
                .arg(shared.config.node.to_string())
                .arg("NX")
                .arg("PX")
                .arg(FORGET_CLAIM_MS),
        )
        .await?;
    if claimed.is_none() {
        return Ok(());
    }
    let mine = format!("{node}:");
    let mut cursor: u64 = 0;
    loop {
        let (next, conversations): (u64, Vec<String>) = shared
            .query(
                &index,
                ::redis::cmd("SSCAN")
                    .arg(&index)
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(FORGET_CHUNK),
            )
            .await?;
        let commands: Vec<(String, Cmd)> = conversations
            .iter()
            .filter_map(|c| c.parse::<ConversationId>().ok())
            .map(|conversation| {
                let hash = shared.keys.presence(conversation);
                let mut eval = ::redis::cmd("EVAL");
                eval.arg(FORGET).arg(1).arg(&hash).arg(&mine);
                (hash, eval)
            })
            .collect();
        shared.on_their_shards(commands).await?;
        if next == 0 {
            break;
        }
        cursor = next;
    }
    shared
        .query::<i64>(&index, ::redis::cmd("DEL").arg(&index))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_presence_fields() {
        let node = NodeId::new();
        let user = UserId::new();
        let parsed = parse_seat(
            &presence_field(node, user),
            r#"{"name":"Ann","may_write":true}"#,
        );
        assert_eq!(
            parsed,
            Some((
                node,
                UserRef {
                    id: user,
                    name: "Ann".into()
                },
                true
            ))
        );
        assert_eq!(parse_seat("garbage", "{}"), None);
    }
}
