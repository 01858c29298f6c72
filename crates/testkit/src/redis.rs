//! A redis-server of one's own on loopback, so that it may be killed and
//! started again, and its CPU read apart from anyone else's.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::{Child, Command};

use crate::ports::free_port;

/// How long redis-server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct RedisServer {
    pub port: u16,
    log: Option<PathBuf>,
    child: Option<Child>,
}

impl RedisServer {
    /// On a free port (see [`free_port`]), its output discarded; panics
    /// when redis-server cannot start (for tests, where that is the failure).
    pub async fn start() -> Self {
        Self::start_on(free_port(), None)
            .await
            .expect("redis-server starts")
    }

    /// On `port`, its output written to `log` when given; no persistence.
    pub async fn start_on(port: u16, log: Option<&Path>) -> anyhow::Result<Self> {
        let mut redis = Self {
            port,
            log: log.map(Path::to_owned),
            child: None,
        };
        redis.try_restart().await?;
        Ok(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Starts it (again) on the same port; panics when it cannot.
    pub async fn restart(&mut self) {
        self.try_restart().await.expect("redis-server starts");
    }

    async fn try_restart(&mut self) -> anyhow::Result<()> {
        let output = match &self.log {
            Some(path) => Stdio::from(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            ),
            None => Stdio::null(),
        };
        let mut child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(output)
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start redis-server (is it installed?)")?;
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("redis-server on :{} exited ({status})", self.port);
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("redis-server did not start on :{}", self.port);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.child = Some(child);
        Ok(())
    }

    /// Kills it outright.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn it_accepts_connections_until_killed_and_again_after_a_restart() {
        let mut redis = RedisServer::start().await;
        assert!(redis.pid().is_some());
        tokio::net::TcpStream::connect(("127.0.0.1", redis.port))
            .await
            .unwrap();
        redis.kill().await;
        assert!(redis.pid().is_none());
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", redis.port))
                .await
                .is_err()
        );
        redis.restart().await;
        tokio::net::TcpStream::connect(("127.0.0.1", redis.port))
            .await
            .unwrap();
    }
}
