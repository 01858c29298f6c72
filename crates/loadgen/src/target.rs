//! The server under load: a fresh Switchboard or floor process started by
//! the generator (the usual way, through `switchboard-testkit`), or one
//! that is already running.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use switchboard_testkit::{Launch, LogOptions, ServerProcess, serve_launch};

pub use switchboard_testkit::Admin as AdminAccess;

/// How long a server may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// Log lines kept for error messages.
const LOG_TAIL: usize = 50;
/// The message of the floor's log line that says where it listens.
const FLOOR_SERVING: &str = "floor is serving";
/// The same line of the Socket.IO peer (`benches/socketio/server.mjs`).
const SOCKETIO_SERVING: &str = "socket.io peer is serving";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Switchboard,
    Floor,
    /// Socket.IO 4 on Node (`benches/socketio`).
    #[serde(rename = "socketio")]
    SocketIo,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Switchboard => "switchboard",
            TargetKind::Floor => "floor",
            TargetKind::SocketIo => "socketio",
        }
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
    process: Option<ServerProcess>,
    launch: Option<Launch>,
    _dir: Option<tempfile::TempDir>,
}

fn log_options() -> LogOptions {
    LogOptions {
        keep: Some(LOG_TAIL),
        file: None,
    }
}

impl Target {
    /// Starts `switchboard serve` on a fresh SQLite database in a temporary
    /// directory, with benchmark-friendly settings (the generator must not
    /// be throttled, and both targets get the same WebSocket buffers);
    /// `env` comes last and wins.
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
        let settings = [
            ("SWITCHBOARD_RATE_LIMIT_PER_SEC", "1000000"),
            ("SWITCHBOARD_RATE_LIMIT_BURST", "1000000"),
            ("SWITCHBOARD_MAX_CONNECTIONS_PER_IP", "1000000"),
            ("SWITCHBOARD_MAX_CONNECTIONS_PER_USER", "1000000"),
            ("SWITCHBOARD_WS_READ_BUFFER_BYTES", &buffer),
            ("SWITCHBOARD_WS_WRITE_BUFFER_BYTES", &buffer),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let launch = serve_launch(
            binary,
            &database_url,
            settings.into_iter().chain(env.iter().cloned()),
        );
        let mut target = Self::spawn(launch, TargetKind::Switchboard).await?;
        target.admin = Some(AdminAccess::new(binary, database_url));
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
            serving_message: FLOOR_SERVING.into(),
        };
        Self::spawn(launch, TargetKind::Floor).await
    }

    /// Starts the Socket.IO peer: `node SCRIPT` (Node.js 20 or later, with
    /// the script's dependencies installed beside it).
    pub async fn spawn_socketio(script: &Path) -> anyhow::Result<Self> {
        let launch = Launch {
            program: "node".into(),
            args: vec![
                script.display().to_string(),
                "--listen".into(),
                "127.0.0.1:0".into(),
            ],
            env: None,
            serving_message: SOCKETIO_SERVING.into(),
        };
        Self::spawn(launch, TargetKind::SocketIo).await
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
            process: None,
            launch: None,
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
        let process = ServerProcess::start(&launch, &log_options()).await?;
        Ok(Self {
            kind,
            addr: process.addr(),
            pid: Some(process.pid()),
            peers: Vec::new(),
            peer_pids: Vec::new(),
            admin: None,
            process: Some(process),
            launch: Some(launch),
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
        let process = ServerProcess::start(&launch, &log_options()).await?;
        self.addr = process.addr();
        self.pid = Some(process.pid());
        self.process = Some(process);
        Ok(())
    }

    /// The last lines the server logged.
    pub fn log_tail(&self) -> Vec<String> {
        self.process
            .as_ref()
            .map(ServerProcess::log_lines)
            .unwrap_or_default()
    }

    pub fn http_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Whether a spawned server is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_none_or(ServerProcess::is_running)
    }

    /// Stops a server this generator started: SIGTERM, then SIGKILL if it
    /// does not exit in time. External servers are left alone; the log of
    /// a stopped server is kept for error messages.
    pub async fn stop(&mut self) {
        if let Some(process) = &mut self.process {
            let _ = process.terminate(STOP_TIMEOUT).await;
        }
    }
}
