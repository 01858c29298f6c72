//! A private Redis Cluster: three masters, no replicas.

use std::process::Command;
use std::time::{Duration, Instant};

use super::server::{RedisServer, free_port};

#[derive(Debug)]
pub struct RedisCluster {
    pub masters: Vec<RedisServer>,
}

impl RedisCluster {
    /// Three cluster-enabled servers joined by `redis-cli --cluster create`,
    /// returned once every node reports `cluster_state:ok`.
    pub fn start() -> Self {
        let masters: Vec<RedisServer> = (0..3)
            .map(|_| {
                let dir = tempfile::tempdir().unwrap().keep();
                let port = free_port();
                let extra = [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    &dir.join("nodes.conf").to_string_lossy(),
                    "--cluster-node-timeout",
                    "5000",
                ]
                .map(String::from);
                RedisServer::start_in(&dir, port, &extra)
            })
            .collect();
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(masters.iter().map(|m| format!("127.0.0.1:{}", m.port())))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli must be installed");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let cluster = Self { masters };
        cluster.wait_ok();
        cluster
    }

    fn wait_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for master in &self.masters {
            loop {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut master.client())
                    .unwrap();
                if info.lines().any(|l| l.trim() == "cluster_state:ok") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "cluster not ok on port {}: {info}",
                    master.port()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Every master's URL, comma-separated (the seeds of a bus).
    pub fn urls(&self) -> String {
        self.masters
            .iter()
            .map(RedisServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }
}
