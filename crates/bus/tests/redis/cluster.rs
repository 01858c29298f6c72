//! Redis Cluster: channels spread over the shards' slots, one subscriber
//! connection per shard per node, and a slot that moves.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use switchboard_bus::contract::{recorder, typing, wait_for};
use switchboard_bus::redis::key_slot;
use switchboard_core::ConversationId;
use switchboard_core::ports::{Bus, Topic};

use crate::support::{RedisCluster, RedisServer, eventually, two_nodes};

/// The master owning each slot, as the cluster says.
fn slot_owners(cluster: &RedisCluster) -> HashMap<u16, u16> {
    let ranges: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query(&mut cluster.masters[0].client())
        .unwrap();
    let mut owners = HashMap::new();
    for range in ranges {
        let start: u16 = redis::from_redis_value(range[0].clone()).unwrap();
        let end: u16 = redis::from_redis_value(range[1].clone()).unwrap();
        let master: Vec<redis::Value> = redis::from_redis_value(range[2].clone()).unwrap();
        let port: u16 = redis::from_redis_value(master[1].clone()).unwrap();
        for slot in start..=end {
            owners.insert(slot, port);
        }
    }
    owners
}

fn shard_channels(master: &RedisServer, prefix: &str) -> HashSet<String> {
    redis::cmd("PUBSUB")
        .arg("SHARDCHANNELS")
        .arg(format!("{prefix}:*"))
        .query(&mut master.client())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_spread_over_every_shard_and_every_event_arrives() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .unwrap();
    let (a, b) = two_nodes(&cluster.urls()).await;
    let prefix = a.channel(Topic::Conversation(ConversationId::new()));
    let prefix = prefix.split(':').next().unwrap().to_owned();
    let owners = slot_owners(&cluster);
    let seen = recorder(&b);

    let conversations: Vec<ConversationId> = (0..60).map(|_| ConversationId::new()).collect();
    let mut expected: HashMap<u16, HashSet<String>> = HashMap::new();
    for conversation in &conversations {
        let topic = Topic::Conversation(*conversation);
        let channel = b.channel(topic);
        // Our slot is the server's slot.
        let server_slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(&channel)
            .query(&mut cluster.masters[0].client())
            .unwrap();
        assert_eq!(key_slot(&channel), server_slot, "slot of {channel}");
        expected
            .entry(owners[&server_slot])
            .or_default()
            .insert(channel);
        b.set_interest(topic, true).await.unwrap();
    }
    assert_eq!(expected.len(), 3, "60 channels land on all three shards");

    // Each master holds exactly the subscriptions of the slots it owns.
    for master in &cluster.masters {
        let held = shard_channels(master, &prefix);
        assert_eq!(held, expected[&master.port()], "on port {}", master.port());
        assert!(!held.is_empty());
    }

    // One subscriber connection per shard per node, whatever the number of
    // channels: node b subscribed, node a did not (but keeps one too).
    for master in &cluster.masters {
        let clients: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query(&mut master.client())
            .unwrap();
        let subscribers = clients
            .lines()
            .filter(|l| l.contains(" ssub=") && !l.contains(" ssub=0 "))
            .count();
        assert_eq!(subscribers, 1, "port {}: {clients}", master.port());
    }

    for conversation in &conversations {
        a.publish(typing(*conversation)).await.unwrap();
    }
    let got = wait_for(&seen, conversations.len(), Duration::from_secs(10)).await;
    let arrived: HashSet<Topic> = got.iter().map(|e| e.event.topic()).collect();
    assert_eq!(arrived.len(), conversations.len(), "one event per channel");
}

/// A slot moves to another master: its old owner ends our subscription,
/// the bus reads the new slot map, subscribes on the new owner and says
/// `Reconnected`; events of that channel flow again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_slot_is_followed() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .unwrap();
    let (a, b) = two_nodes(&cluster.urls()).await;
    let seen = recorder(&b);
    let conversation = ConversationId::new();
    let topic = Topic::Conversation(conversation);
    b.set_interest(topic, true).await.unwrap();
    a.publish(typing(conversation)).await.unwrap();
    wait_for(&seen, 1, Duration::from_secs(5)).await;

    let slot = key_slot(&b.channel(topic));
    let owners = slot_owners(&cluster);
    let from = cluster
        .masters
        .iter()
        .find(|m| m.port() == owners[&slot])
        .unwrap();
    let to = cluster
        .masters
        .iter()
        .find(|m| m.port() != owners[&slot])
        .unwrap();
    let id = |m: &RedisServer| -> String {
        redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut m.client())
            .unwrap()
    };
    let (from_id, to_id) = (id(from), id(to));
    let set_slot = |m: &RedisServer, args: &[&str]| {
        let _: () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg(args)
            .query(&mut m.client())
            .unwrap();
    };
    // The slot holds no keys: nothing to migrate but the ownership.
    set_slot(to, &["IMPORTING", &from_id]);
    set_slot(from, &["MIGRATING", &to_id]);
    set_slot(to, &["NODE", &to_id]);
    set_slot(from, &["NODE", &to_id]);

    eventually(
        Duration::from_secs(15),
        "b resubscribes on the new owner",
        || {
            let seen = seen.clone();
            async move { seen.lock().reconnections >= 1 }
        },
    )
    .await;
    let held: HashSet<String> = redis::cmd("PUBSUB")
        .arg("SHARDCHANNELS")
        .query(&mut to.client())
        .unwrap();
    assert!(held.contains(&b.channel(topic)), "{held:?}");

    // Node a's publisher follows the move too (at worst after one failed batch).
    eventually(Duration::from_secs(15), "an event arrives again", || {
        let (a, seen) = (a.clone(), seen.clone());
        async move {
            let before = seen.lock().events.len();
            let _ = a.publish(typing(conversation)).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            seen.lock().events.len() > before
        }
    })
    .await;
}
