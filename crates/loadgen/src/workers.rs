//! The coordinator's handles on its workers: child processes speaking JSON
//! lines on stdin/stdout, or tasks in this process speaking the same
//! messages over channels.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::plan::{FromWorker, ToWorker};
use crate::worker;

/// How long a worker may take to exit after `Stop`.
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug)]
pub struct WorkerHandle {
    pub index: usize,
    /// The worker process; `None` when it runs in this process.
    pub pid: Option<u32>,
    to: mpsc::Sender<ToWorker>,
    from: mpsc::Receiver<FromWorker>,
    child: Option<Child>,
}

impl WorkerHandle {
    /// A worker running as tasks of this process.
    pub fn in_process(index: usize) -> Self {
        let (to, commands) = mpsc::channel(4);
        let (events, from) = mpsc::channel(4);
        tokio::spawn(worker::run(commands, events));
        Self {
            index,
            pid: None,
            to,
            from,
            child: None,
        }
    }

    /// A worker process: `<exe> worker --threads <threads>`.
    pub fn subprocess(index: usize, exe: &Path, threads: usize) -> anyhow::Result<Self> {
        let mut child = Command::new(exe)
            .arg("worker")
            .args(["--threads", &threads.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id();
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (to, mut commands) = mpsc::channel::<ToWorker>(4);
        let (events, from) = mpsc::channel(4);
        tokio::spawn(async move {
            while let Some(command) = commands.recv().await {
                let mut line = serde_json::to_vec(&command).expect("commands serialize");
                line.push(b'\n');
                if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
        });
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let event = match serde_json::from_str(&line) {
                    Ok(event) => event,
                    Err(e) => FromWorker::Failed {
                        error: format!("unreadable worker output ({e}): {line}"),
                    },
                };
                if events.send(event).await.is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            index,
            pid,
            to,
            from,
            child: Some(child),
        })
    }

    pub async fn send(&self, command: ToWorker) -> anyhow::Result<()> {
        self.to
            .send(command)
            .await
            .map_err(|_| anyhow::anyhow!("worker {} is gone", self.index))
    }

    /// The worker's next event; `Failed` and a vanished worker are errors.
    pub async fn recv(&mut self) -> anyhow::Result<FromWorker> {
        match self.from.recv().await {
            Some(FromWorker::Failed { error }) => {
                anyhow::bail!("worker {} failed: {error}", self.index)
            }
            Some(event) => Ok(event),
            None => anyhow::bail!("worker {} ended unexpectedly", self.index),
        }
    }

    /// Tells the worker to stop and waits for its process to exit.
    pub async fn finish(mut self) {
        let _ = self.to.send(ToWorker::Stop).await;
        drop(self.to);
        if let Some(mut child) = self.child.take()
            && tokio::time::timeout(EXIT_TIMEOUT, child.wait())
                .await
                .is_err()
        {
            let _ = child.kill().await;
        }
    }
}

/// The worker process's side: commands from stdin, events to stdout.
pub async fn serve_stdio() {
    let (to, commands) = mpsc::channel::<ToWorker>(4);
    let (events, mut from) = mpsc::channel::<FromWorker>(4);
    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            match serde_json::from_str(&line) {
                Ok(command) => {
                    if to.send(command).await.is_err() {
                        break;
                    }
                }
                Err(e) => eprintln!("switchboard-loadgen worker: unreadable command ({e})"),
            }
        }
        // stdin closed: the coordinator is gone, which ends the worker.
    });
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(event) = from.recv().await {
            let mut line = serde_json::to_vec(&event).expect("events serialize");
            line.push(b'\n');
            if stdout.write_all(&line).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
    });
    worker::run(commands, events).await;
    let _ = writer.await;
}
