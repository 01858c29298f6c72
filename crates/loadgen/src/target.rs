//! The server under load: a fresh Switchboard or floor process started by
//! the generator (the usual way), or one that is already running.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a spawned server may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// Log lines kept for error messages.
const LOG_TAIL: usize = 50;

/// The log messages (with a `listen` field) that tell where a server listens.
pub const SERVING_MESSAGES: [&str; 2] = ["switchboard is serving", "floor is serving"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Switchboard,
    Floor,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Switchboard => "switchboard",
            TargetKind::Floor => "floor",
        }
    }
}

/// How Switchboard's data is reached for setup with the admin CLI.
#[derive(Debug, Clone)]
pub struct AdminAccess {
    pub binary: PathBuf,
    pub database_url: String,
}

/// How to start a server process again.
#[derive(Debug, Clone)]
struct Launch {
    program: PathBuf,
    args: Vec<String>,
    /// `Some`: the environment is cleared and these are set.
    env: Option<Vec<(String, String)>>,
}

impl Launch {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        if let Some(env) = &self.env {
            command.env_clear();
            for (key, value) in env {
                command.env(key, value);
            }
        }
        command
    }
}

#[derive(Debug)]
pub struct Target {
    pub kind: TargetKind,
    pub addr: SocketAddr,
    /// The server's pid, for CPU and RSS readings (unknown for some external targets).
    pub pid: Option<u32>,
    /// The other nodes of a cluster (external targets only), and their pids.
    pub peers: Vec<SocketAddr>,
    pub peer_pids: Vec<u32>,
    pub admin: Option<AdminAccess>,
    child: Option<Child>,
    launch: Option<Launch>,
    log: Arc<Mutex<VecDeque<String>>>,
    _dir: Option<tempfile::TempDir>,
}

/// The address in a JSON log line that announces the server, if it is one.
pub fn listen_address(line: &str) -> Option<SocketAddr> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = value.get("fields")?;
    let message = fields.get("message")?.as_str()?;
    if !SERVING_MESSAGES.contains(&message) {
        return None;
    }
    fields.get("listen")?.as_str()?.parse().ok()
}

impl Target {
    /// Starts `switchboard serve` on a fresh SQLite database in a temporary
    /// directory, with benchmark-friendly settings; `env` comes last and wins.
    pub async fn spawn_switchboard(
        binary: &Path,
        ws_buffer_bytes: usize,
        env: &[(String, String)],
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("switchboard-loadgen")
            .tempdir()?;
        let sqlite = format!("sqlite:{}", dir.path().join("switchboard.db").display());
        let database_url = env
            .iter()
            .rev()
            .find(|(k, _)| k == "SWITCHBOARD_DATABASE_URL")
            .map(|(_, v)| v.clone())
            .unwrap_or(sqlite);
        let buffer = ws_buffer_bytes.to_string();
        let mut vars: Vec<(String, String)> = [
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("SWITCHBOARD_LISTEN", "127.0.0.1:0".into()),
            ("SWITCHBOARD_DATABASE_URL", database_url.clone()),
            ("SWITCHBOARD_LOG_FORMAT", "json".into()),
            ("SWITCHBOARD_LOG", "info".into()),
            ("SWITCHBOARD_RATE_LIMIT_PER_SEC", "1000000".into()),
            ("SWITCHBOARD_RATE_LIMIT_BURST", "1000000".into()),
            ("SWITCHBOARD_WS_READ_BUFFER_BYTES", buffer.clone()),
            ("SWITCHBOARD_WS_WRITE_BUFFER_BYTES", buffer),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        vars.extend(env.iter().cloned());
        let launch = Launch {
            program: binary.to_owned(),
            args: vec!["serve".into()],
            env: Some(vars),
        };
        let mut target = Self::spawn(launch, TargetKind::Switchboard).await?;
        target.admin = Some(AdminAccess {
            binary: binary.to_owned(),
            database_url,
        });
        target._dir = Some(dir);
        Ok(target)
    }

    /// Starts the floor with the same WebSocket buffers.
    pub async fn spawn_floor(binary: &Path, ws_buffer_bytes: usize) -> anyhow::Result<Self> {
        let buffer = ws_buffer_bytes.to_string();
        let launch = Launch {
            program: binary.to_owned(),
            args: [
                "--listen",
                "127.0.0.1:0",
                "--read-buffer-bytes",
                &buffer,
                "--write-buffer-bytes",
                &buffer,
            ]
            .map(str::to_owned)
            .to_vec(),
            env: None,
        };
        Self::spawn(launch, TargetKind::Floor).await
    }

    /// Servers someone else started: one, or the nodes of a cluster (the
    /// first is `addr`), with the pids known, in the same order.
    pub fn external(
        kind: TargetKind,
        nodes: Vec<SocketAddr>,
        pids: Vec<u32>,
        admin: Option<AdminAccess>,
    ) -> anyhow::Result<Self> {
        let mut nodes = nodes.into_iter();
        let addr = nodes
            .next()
            .ok_or_else(|| anyhow::anyhow!("no server address"))?;
        let mut pids = pids.into_iter();
        Ok(Self {
            kind,
            addr,
            pid: pids.next(),
            peers: nodes.collect(),
            peer_pids: pids.collect(),
            admin,
            child: None,
            launch: None,
            log: Arc::default(),
            _dir: None,
        })
    }

    /// Every node's address, the first node first.
    pub fn nodes(&self) -> Vec<SocketAddr> {
        std::iter::once(self.addr)
            .chain(self.peers.iter().copied())
            .collect()
    }

    /// Every known server pid, the first node's first.
    pub fn pids(&self) -> Vec<u32> {
        self.pid
            .into_iter()
            .chain(self.peer_pids.iter().copied())
            .collect()
    }

    async fn spawn(launch: Launch, kind: TargetKind) -> anyhow::Result<Self> {
        let (child, addr, log) = Self::start(&launch, kind).await?;
        Ok(Self {
            kind,
            addr,
            pid: child.id(),
            peers: Vec::new(),
            peer_pids: Vec::new(),
            admin: None,
            child: Some(child),
            launch: Some(launch),
            log,
            _dir: None,
        })
    }

    /// Stops a server this generator started and starts it again on the same
    /// data (a new address and pid). A no-op for external servers.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let Some(launch) = self.launch.clone() else {
            return Ok(());
        };
        self.stop().await;
        let (child, addr, log) = Self::start(&launch, self.kind).await?;
        self.addr = addr;
        self.pid = child.id();
        self.child = Some(child);
        self.log = log;
        Ok(())
    }

    async fn start(
        launch: &Launch,
        kind: TargetKind,
    ) -> anyhow::Result<(Child, SocketAddr, Arc<Mutex<VecDeque<String>>>)> {
        let mut command = launch.command();
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let log: Arc<Mutex<VecDeque<String>>> = Arc::default();
        let (found, listening) = tokio::sync::oneshot::channel();
        let sink = log.clone();
        // Keep reading for the server's whole life: a full pipe would stall it.
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut found = Some(found);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = listen_address(&line)
                    && let Some(found) = found.take()
                {
                    let _ = found.send(addr);
                }
                let mut log = sink.lock().unwrap_or_else(|e| e.into_inner());
                if log.len() == LOG_TAIL {
                    log.pop_front();
                }
                log.push_back(line);
            }
        });
        let addr = match tokio::time::timeout(START_TIMEOUT, listening).await {
            Ok(Ok(addr)) => addr,
            _ => {
                let tail: Vec<String> = log
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .cloned()
                    .collect();
                anyhow::bail!(
                    "{} did not start; its log:\n{}",
                    kind.as_str(),
                    tail.join("\n")
                )
            }
        };
        Ok((child, addr, log))
    }

    /// The last lines the server logged.
    pub fn log_tail(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    pub fn http_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Whether a spawned server is still running.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// Stops a server this generator started: SIGTERM, then SIGKILL if it
    /// does not exit in time. External servers are left alone.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child
            .id()
            .and_then(|p| rustix::process::Pid::from_raw(p as i32))
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        if tokio::time::timeout(STOP_TIMEOUT, child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serving_line_gives_the_address() {
        let line = r#"{"timestamp":"2026-11-22T09:00:00Z","level":"INFO","fields":{"message":"switchboard is serving","listen":"127.0.0.1:40123","node":"n"},"target":"switchboard_server::startup"}"#;
        assert_eq!(
            listen_address(line),
            Some("127.0.0.1:40123".parse().unwrap())
        );
        let floor = r#"{"fields":{"message":"floor is serving","listen":"127.0.0.1:9"}}"#;
        assert_eq!(listen_address(floor), Some("127.0.0.1:9".parse().unwrap()));
        assert_eq!(
            listen_address(r#"{"fields":{"message":"signed in","listen":"127.0.0.1:9"}}"#),
            None
        );
        assert_eq!(listen_address("not json"), None);
    }
}
