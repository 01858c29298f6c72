//! What the fault tests share: a console that keeps writing while the test
//! breaks things around it, the seqs a console saw, catching up with
//! `after_seq`, a console that stops reading, and reading the store behind
//! the server's back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use switchboard_proto::server::ErrorFrame;
use switchboard_proto::{ErrorCode, Message, Presence, ServerFrame};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

use super::cluster::Cluster;
use super::{TestServer, WsClient};

/// One `send` and how it was answered.
#[derive(Debug, Clone)]
pub struct Sent {
    pub client_msg_id: String,
    pub outcome: Result<Message, ErrorFrame>,
}

impl Sent {
    pub fn refused_with(&self, code: ErrorCode) -> bool {
        self.outcome.as_ref().is_err_and(|e| e.code == code)
    }
}

/// A console sending to one conversation, one `send` at a time every
/// `pace`, each with a fresh `client_msg_id`, until stopped; every answer
/// is reported as it comes.
pub struct Writer {
    answers: mpsc::UnboundedReceiver<Sent>,
    /// Every answer received so far, in order.
    pub log: Vec<Sent>,
    stop: Arc<AtomicBool>,
    task: JoinHandle<WsClient>,
}

impl Writer {
    pub fn start(
        mut client: WsClient,
        conversation: Uuid,
        prefix: &str,
        body: String,
        pace: Duration,
    ) -> Self {
        let (report, answers) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let prefix = prefix.to_owned();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(pace);
            for i in 0.. {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                tick.tick().await;
                let client_msg_id = format!("{prefix}-{i}");
                let outcome = client.say(conversation, &client_msg_id, &body).await;
                let _ = report.send(Sent {
                    client_msg_id,
                    outcome,
                });
            }
            client
        });
        Self {
            answers,
            log: Vec::new(),
            stop,
            task,
        }
    }

    /// Waits up to `within` for an answer that `matches` (answers before it
    /// are logged too).
    pub async fn until<F>(&mut self, what: &str, within: Duration, matches: F) -> Sent
    where
        F: Fn(&Sent) -> bool,
    {
        let deadline = Instant::now() + within;
        loop {
            let sent = tokio::time::timeout_at(deadline, self.answers.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {within:?}; answers {:#?}", self.log))
                .expect("the writer ended");
            self.log.push(sent.clone());
            if matches(&sent) {
                return sent;
            }
        }
    }

    /// Waits for `count` more acknowledged sends.
    pub async fn acks(&mut self, count: usize, within: Duration) {
        for _ in 0..count {
            self.until("an ack", within, |s| s.outcome.is_ok()).await;
        }
    }

    /// Stops after the `send` under way; returns the console and every answer.
    pub async fn stop(mut self) -> (WsClient, Vec<Sent>) {
        self.stop.store(true, Ordering::SeqCst);
        let client = self.task.await.expect("the writer did not panic");
        while let Ok(sent) = self.answers.try_recv() {
            self.log.push(sent);
        }
        (client, self.log)
    }
}

/// The acknowledged messages among `log`, in order.
pub fn acked(log: &[Sent]) -> Vec<&Message> {
    log.iter().filter_map(|s| s.outcome.as_ref().ok()).collect()
}

/// The seqs of `conversation`'s messages among `frames` (events and join
/// acks), in arrival order.
pub fn seqs_in(frames: &[ServerFrame], conversation: Uuid) -> Vec<u64> {
    let mut seqs = Vec::new();
    for frame in frames {
        match frame {
            ServerFrame::Message(event) if event.conversation_id == conversation => {
                seqs.push(event.message.seq);
            }
            ServerFrame::Ack(ack) => seqs.extend(
                ack.body
                    .messages
                    .iter()
                    .flatten()
                    .filter(|m| m.conversation_id == conversation)
                    .map(|m| m.seq),
            ),
            _ => {}
        }
    }
    seqs
}

/// `seqs` is exactly `after + 1 ..= last`: no gap, no repeat, in order.
pub fn assert_run(seqs: &[u64], after: u64, last: u64, what: &str) {
    let want: Vec<u64> = (after + 1..=last).collect();
    assert_eq!(seqs, want, "{what}: seqs after {after} up to {last}");
}

/// Joins `conversation` with `after_seq` and pages until `complete`, as a
/// console catching up does; the seqs it got, and the conversation's last.
pub async fn catch_up(client: &mut WsClient, conversation: Uuid, after: u64) -> (Vec<u64>, u64) {
    let mut seqs = Vec::new();
    let mut have = after;
    loop {
        let ack = client.join_after(conversation, Some(have)).await;
        seqs.extend(ack.messages.iter().flatten().map(|m| m.seq));
        have = seqs.last().copied().unwrap_or(have);
        if ack.complete == Some(true) {
            return (seqs, ack.last_seq.expect("a join ack carries last_seq"));
        }
    }
}

/// The single-row, single-column answer of `query` on `database_url`,
/// read with psql (behind the server's back).
pub async fn sql(database_url: &str, query: &str) -> String {
    let output = tokio::process::Command::new("psql")
        .arg(database_url)
        .args(["-tA", "-c", query])
        .output()
        .await
        .expect("psql");
    assert!(
        output.status.success(),
        "{query}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A console that will stop reading: a WebSocket over a socket with a
/// `receive_buffer` of a few KiB, so what the server writes backs up fast.
pub async fn sleeper(server: &TestServer, token: &str, receive_buffer: u32) -> WsClient {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(receive_buffer).unwrap();
    let stream = socket.connect(server.addr.parse().unwrap()).await.unwrap();
    WsClient::connect_over(server, token, stream).await
}

/// Kills node `node` outright (`kill -9`) and waits until `watcher`, on
/// another node, sees `conversation`'s role free: that presence, and when
/// the kill was.
pub async fn kill_and_see_role_freed(
    cluster: &mut Cluster,
    node: usize,
    watcher: &mut WsClient,
    conversation: Uuid,
) -> (Presence, Instant) {
    let killed = Instant::now();
    cluster.node(node).signal("KILL").await;
    cluster.nodes[node] = None;
    let presence = watcher
        .expect_presence(conversation, |p| p.active.is_none())
        .await;
    (presence, killed)
}
