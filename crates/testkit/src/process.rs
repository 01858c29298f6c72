//! A server process on loopback: started from a [`Launch`], its address read
//! from the JSON log line it writes once it listens, its log (and what it
//! prints on standard output) kept for error messages and for tests (and
//! the log copied to a file when asked), stopped with SIGTERM.
//!
//! Servers are started on port 0 so parallel tests and runs never collide;
//! the log line is the only place the chosen port appears, which is why
//! every caller reads it the same way.

use std::collections::VecDeque;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use rustix::process::{Pid, Signal, kill_process};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The message of the log line in which `switchboard serve` says where it
/// listens (its `listen` field).
pub const SWITCHBOARD_SERVING: &str = "switchboard is serving";

/// How long a server may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How to start a server process (again: a restart reuses it).
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// `Some`: the environment is cleared and these are set, in order (a
    /// later pair wins); `None`: the child inherits this process's.
    pub env: Option<Vec<(String, String)>>,
    /// The `fields.message` of the JSON log line whose `listen` field is the
    /// address the server listens on.
    pub serving_message: String,
}

/// The secret key of test servers on Postgres (every node of a test's
/// cluster shares it); a key for tests only.
pub const TEST_SECRET_KEY: &str =
    "7465737420736563726574206b6579206f6e6c792c206e6f7420666f72207573";

/// `BINARY serve` on `database_url`, listening on an ephemeral loopback
/// port, logging JSON at info level on stderr, with `PATH` kept (the admin
/// CLI and psql are found through it) and nothing else inherited; `env`
/// comes last and wins.
pub fn serve_launch<K, V>(
    binary: &Path,
    database_url: &str,
    env: impl IntoIterator<Item = (K, V)>,
) -> Launch
where
    K: Into<String>,
    V: Into<String>,
{
    let mut vars: Vec<(String, String)> = vec![
        ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        ("SWITCHBOARD_LISTEN".into(), "127.0.0.1:0".into()),
        ("SWITCHBOARD_DATABASE_URL".into(), database_url.into()),
        ("SWITCHBOARD_LOG_FORMAT".into(), "json".into()),
        ("SWITCHBOARD_LOG".into(), "info".into()),
        // Mail written as files goes to the system's temporary directory,
        // never into the working tree (a test may name its own).
        (
            "SWITCHBOARD_MAIL_DIR".into(),
            std::env::temp_dir()
                .join("switchboard-test-mail")
                .display()
                .to_string(),
        ),
    ];
    if database_url.starts_with("postgres") {
        // Nodes on one Postgres database must share the key that seals
        // two-factor secrets (the server refuses to start without one).
        vars.push(("SWITCHBOARD_SECRET_KEY".into(), TEST_SECRET_KEY.into()));
    }
    vars.extend(env.into_iter().map(|(k, v)| (k.into(), v.into())));
    Launch {
        program: binary.to_owned(),
        args: vec!["serve".into()],
        env: Some(vars),
        serving_message: SWITCHBOARD_SERVING.into(),
    }
}

/// What is kept of a server's log.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Keep only the last this many lines in memory (`None`: all of them;
    /// a long benchmark run wants a tail, a test wants everything).
    pub keep: Option<usize>,
    /// Also append every line to this file (created, or truncated).
    pub file: Option<PathBuf>,
}

#[derive(Debug)]
struct Log {
    lines: VecDeque<String>,
    keep: Option<usize>,
}

impl Log {
    fn push(&mut self, line: String) {
        if self.keep.is_some_and(|keep| self.lines.len() >= keep) {
            self.lines.pop_front();
        }
        if self.keep != Some(0) {
            self.lines.push_back(line);
        }
    }
}

/// A running server process. Dropping it kills the process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    name: String,
    log: Arc<Mutex<Log>>,
}

/// The address in a JSON log line whose `fields.message` is `message`.
pub fn listen_address(line: &str, message: &str) -> Option<SocketAddr> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = value.get("fields")?;
    if fields.get("message")?.as_str()? != message {
        return None;
    }
    fields.get("listen")?.as_str()?.parse().ok()
}

impl ServerProcess {
    /// Starts the process and waits until its log says where it listens.
    /// Its stderr is read for its whole life (a full pipe would stall it).
    pub async fn start(launch: &Launch, options: &LogOptions) -> anyhow::Result<Self> {
        let name = launch.program.file_name().map_or_else(
            || launch.program.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let mut command = Command::new(&launch.program);
        command.args(&launch.args);
        if let Some(env) = &launch.env {
            command.env_clear();
            command.envs(env.iter().map(|(k, v)| (k, v)));
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut file = match &options.file {
            Some(path) => Some(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            ),
            None => None,
        };
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", launch.program.display()))?;
        let pid = child.id().context("the new process has no pid")?;
        let stderr = child.stderr.take().context("stderr is not piped")?;
        let stdout = child.stdout.take().context("stdout is not piped")?;
        let log = Arc::new(Mutex::new(Log {
            lines: VecDeque::new(),
            keep: options.keep,
        }));
        let (found, listening) = tokio::sync::oneshot::channel();
        let message = launch.serving_message.clone();
        // What the server prints for a person (the first-run setup link)
        // joins its log, as plain lines.
        let printed = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                printed.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let sink = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut found = Some(found);
            while let Ok(Some(line)) = lines.next_line().await {
                if found.is_some()
                    && let Some(addr) = listen_address(&line, &message)
                    && let Some(found) = found.take()
                {
                    let _ = found.send(addr);
                }
                if let Some(file) = &mut file {
                    let _ = writeln!(file, "{line}");
                }
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let addr = match tokio::time::timeout(START_TIMEOUT, listening).await {
            Ok(Ok(addr)) => addr,
            outcome => {
                let why = match (outcome, child.try_wait()) {
                    (_, Ok(Some(status))) => format!("it exited ({status})"),
                    (Err(_), _) => format!("it said nothing within {START_TIMEOUT:?}"),
                    _ => "its log ended".to_owned(),
                };
                let tail = log.lock().unwrap_or_else(|e| e.into_inner()).lines.clone();
                anyhow::bail!(
                    "{name} did not start: {why}; its log:\n{}",
                    Vec::from(tail).join("\n")
                )
            }
        };
        Ok(Self {
            child,
            pid,
            addr,
            name,
            log,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `http://ADDR`.
    pub fn http_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The log lines kept so far (see [`LogOptions::keep`]).
    pub fn log_lines(&self) -> Vec<String> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.lines.iter().cloned().collect()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` (`KILL`, `STOP`, `CONT`, ...) to the process.
    pub fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let pid = i32::try_from(self.pid)
            .ok()
            .and_then(Pid::from_raw)
            .context("not a pid")?;
        kill_process(pid, signal).with_context(|| format!("cannot signal {}", self.name))
    }

    /// Sends SIGTERM and waits up to `timeout` for the process to exit; a
    /// process that does not is killed, and that is an error.
    pub async fn terminate(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        self.signal(Signal::TERM)?;
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                let _ = self.child.kill().await;
                anyhow::bail!(
                    "{} did not exit within {timeout:?} of SIGTERM; killed",
                    self.name
                )
            }
        }
    }

    /// Kills the process outright and waits for it.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serving_line_gives_the_address() {
        let line = r#"{"timestamp":"2026-11-22T09:00:00Z","level":"INFO","fields":{"message":"switchboard is serving","listen":"127.0.0.1:40123","node":"n"},"target":"switchboard_server::startup"}"#;
        assert_eq!(
            listen_address(line, SWITCHBOARD_SERVING),
            Some("127.0.0.1:40123".parse().unwrap())
        );
        let floor = r#"{"fields":{"message":"floor is serving","listen":"127.0.0.1:9"}}"#;
        assert_eq!(
            listen_address(floor, "floor is serving"),
            Some("127.0.0.1:9".parse().unwrap())
        );
        assert_eq!(listen_address(floor, SWITCHBOARD_SERVING), None);
        assert_eq!(
            listen_address(
                r#"{"fields":{"message":"signed in","listen":"127.0.0.1:9"}}"#,
                "signed in x"
            ),
            None
        );
        assert_eq!(listen_address("not json", SWITCHBOARD_SERVING), None);
    }

    #[test]
    fn a_bounded_log_keeps_its_tail() {
        let mut log = Log {
            lines: VecDeque::new(),
            keep: Some(2),
        };
        for line in ["a", "b", "c"] {
            log.push(line.into());
        }
        assert_eq!(log.lines, ["b", "c"]);
        let mut all = Log {
            lines: VecDeque::new(),
            keep: None,
        };
        for line in ["a", "b", "c"] {
            all.push(line.into());
        }
        assert_eq!(all.lines, ["a", "b", "c"]);
    }

    #[test]
    fn serve_launch_clears_the_environment_and_lets_the_caller_win() {
        let launch = serve_launch(
            Path::new("/bin/switchboard"),
            "sqlite:x.db",
            [("SWITCHBOARD_LOG", "debug")],
        );
        let env = launch.env.unwrap();
        let last = |key: &str| {
            env.iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(last("SWITCHBOARD_LOG").as_deref(), Some("debug"));
        assert_eq!(last("SWITCHBOARD_LISTEN").as_deref(), Some("127.0.0.1:0"));
        assert_eq!(
            last("SWITCHBOARD_DATABASE_URL").as_deref(),
            Some("sqlite:x.db")
        );
        assert!(last("PATH").is_some());
        assert_eq!(launch.args, ["serve"]);
    }

    /// A stand-in server: a shell that writes its serving line, then waits.
    fn shell(script: &str) -> Launch {
        Launch {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            env: None,
            serving_message: "stand-in is serving".into(),
        }
    }

    #[tokio::test]
    async fn a_started_process_is_found_logged_and_terminated() {
        let dir = std::env::temp_dir().join(format!("testkit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("server.log");
        let mut server = ServerProcess::start(
            &shell(
                r#"trap 'exit 3' TERM
echo 'starting' >&2
echo '{"fields":{"message":"stand-in is serving","listen":"127.0.0.1:4242"}}' >&2
while true; do sleep 0.05; done"#,
            ),
            &LogOptions {
                keep: None,
                file: Some(file.clone()),
            },
        )
        .await
        .unwrap();
        assert_eq!(server.addr(), "127.0.0.1:4242".parse().unwrap());
        assert!(server.is_running());
        assert_eq!(server.log_lines()[0], "starting");
        let status = server.terminate(Duration::from_secs(10)).await.unwrap();
        assert_eq!(status.code(), Some(3));
        assert!(!server.is_running());
        let copied = std::fs::read_to_string(&file).unwrap();
        assert!(copied.starts_with("starting\n"), "{copied}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_process_that_exits_before_serving_is_an_error_with_its_log() {
        let error = ServerProcess::start(
            &shell("echo 'no database' >&2; exit 1"),
            &LogOptions::default(),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(error.contains("did not start"), "{error}");
        assert!(error.contains("no database"), "{error}");
    }
}
