//! The coordinator's handles on its workers: child processes speaking JSON
//! lines on stdin/stdout, or tasks in this process speaking the same
//! messages over channels; each one's source address, and the answers
//! gathered from all of them.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::histo;
use crate::plan::{FromWorker, ToWorker, WorkerStats};
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

/// Worker `index`'s source address: its own loopback address, so each
/// worker has a full ephemeral port range toward the server. `network` picks
/// the middle two bytes (127.N.N.2+index) and should differ from one run to
/// the next ([`run_network`]): a client socket is bound before it connects,
/// and binding skips ports still in TIME_WAIT from an earlier run on the same
/// address, which slows a 19,000-connection ramp from 1,000/s to ~600/s.
pub fn source_ip(target: SocketAddr, index: usize, network: u16) -> anyhow::Result<Option<IpAddr>> {
    match target.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => {
            let last = u8::try_from(index + 2)
                .ok()
                .filter(|l| *l <= 254)
                .ok_or_else(|| anyhow::anyhow!("at most 253 workers on loopback"))?;
            let [high, low] = network.to_be_bytes();
            Ok(Some(IpAddr::V4(Ipv4Addr::new(127, high, low, last))))
        }
        _ => Ok(None),
    }
}

/// This run's loopback network for [`source_ip`]: from the generator's
/// process id, so runs one after the other use different addresses.
pub fn run_network() -> u16 {
    (std::process::id() & 0xffff) as u16
}

/// Every worker's `Ready`, their counts added; an error when one fails,
/// says something else, or is not ready within `limit`.
pub async fn await_ready(
    handles: &mut [WorkerHandle],
    limit: Duration,
) -> anyhow::Result<WorkerStats> {
    let mut ready = WorkerStats::default();
    for handle in handles {
        match tokio::time::timeout(limit, handle.recv()).await {
            Ok(Ok(FromWorker::Ready { stats })) => ready.add_counts(&stats),
            Ok(Ok(other)) => anyhow::bail!("expected ready, got {other:?}"),
            Ok(Err(e)) => return Err(e),
            Err(_) => anyhow::bail!("worker {} not ready after {limit:?}", handle.index),
        }
    }
    Ok(ready)
}

/// Every worker's `Report` once the window ended: counts added,
/// histograms merged by name.
pub async fn await_reports(
    handles: &mut [WorkerHandle],
    limit: Duration,
) -> anyhow::Result<(WorkerStats, BTreeMap<String, hdrhistogram::Histogram<u64>>)> {
    let mut end = WorkerStats::default();
    let mut histograms: BTreeMap<String, hdrhistogram::Histogram<u64>> = BTreeMap::new();
    for handle in handles {
        match tokio::time::timeout(limit, handle.recv()).await {
            Ok(Ok(FromWorker::Report { stats })) => {
                end.add_counts(&stats);
                for (name, encoded) in &stats.histograms {
                    histo::merge(
                        histograms
                            .entry(name.clone())
                            .or_insert_with(histo::new_histogram),
                        &histo::decode(encoded)?,
                    );
                }
            }
            Ok(Ok(other)) => anyhow::bail!("expected a report, got {other:?}"),
            Ok(Err(e)) => return Err(e),
            Err(_) => anyhow::bail!("worker {} did not report", handle.index),
        }
    }
    Ok((end, histograms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_get_their_own_loopback_address() {
        let target: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            source_ip(target, 0, 0).unwrap(),
            Some("127.0.0.2".parse().unwrap())
        );
        assert_eq!(
            source_ip(target, 252, 0x1234).unwrap(),
            Some("127.18.52.254".parse().unwrap())
        );
        assert!(source_ip(target, 253, 0).is_err());
        assert_eq!(
            source_ip("10.0.0.1:80".parse().unwrap(), 0, 7).unwrap(),
            None
        );
    }
}
