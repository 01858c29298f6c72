//! The floor: a deliberately naive WebSocket broadcast server that
//! Switchboard's scenario benchmarks measure against.
//!
//! It exists to answer one question: what does fan-out cost on this machine
//! with the same WebSocket library and the same settings, when a server does
//! nothing else? It speaks just enough of the v1 contract for the load
//! generator's `idle` and `fanout` scenarios (`welcome`, `ping`, `join`,
//! `send`, `message`), accepts any connection to `/v1/ws` without
//! authentication, and keeps nothing: no store, no presence, no permissions,
//! no rate limits, no heartbeat timeout.
//!
//! It is naive on purpose, the way a typical tutorial chat server is: one
//! task per connection, rooms in one mutex-guarded map, a bounded mpsc queue
//! per member, and every delivery woken separately and written with its own
//! `send` (write and flush). It must stay that way: it is the baseline, not a
//! second server to optimize. Frames a full queue cannot take are dropped and
//! counted (no disconnect), so the floor never blocks a sender on a slow
//! reader. Never deploy it.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use switchboard_proto::client::FrameHead;
use switchboard_proto::server::{Ack, ErrorFrame, MessageEvent, Welcome, WelcomeUser};
use switchboard_proto::{
    AckBody, ClientFrame, Direction, ErrorCode, Message, Presence, ServerFrame, UserRef,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use uuid::Uuid;

/// The log line the load generator waits for (with a `listen` field).
pub const SERVING_MESSAGE: &str = "floor is serving";

/// The floor's settings; the defaults equal Switchboard's.
#[derive(Debug, Clone)]
pub struct FloorConfig {
    /// WebSocket read buffer per connection.
    pub read_buffer_bytes: usize,
    /// Bytes gathered before a write to the socket.
    pub write_buffer_bytes: usize,
    /// The most bytes tungstenite buffers for a connection whose writes fail.
    pub max_write_buffer_bytes: usize,
    /// The largest frame (and message) a client may send.
    pub max_frame_bytes: usize,
    /// Frames queued for one member before further deliveries to it are dropped.
    pub outbox_frames: usize,
    /// Announced in `welcome`; the floor itself never closes a silent connection.
    pub heartbeat_ms: u64,
}

impl Default for FloorConfig {
    fn default() -> Self {
        Self {
            read_buffer_bytes: 4096,
            write_buffer_bytes: 4096,
            max_write_buffer_bytes: 4 * 1024 * 1024,
            max_frame_bytes: 64 * 1024,
            outbox_frames: 1024,
            heartbeat_ms: 25_000,
        }
    }
}

impl FloorConfig {
    /// The same tungstenite settings Switchboard derives from its config.
    pub fn websocket(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer_bytes)
            .write_buffer_size(self.write_buffer_bytes)
            .max_write_buffer_size(self.max_write_buffer_bytes.max(self.write_buffer_bytes * 2))
            .max_message_size(Some(self.max_frame_bytes))
            .max_frame_size(Some(self.max_frame_bytes))
    }
}

/// Counters a test or a log line may read.
#[derive(Debug, Default)]
pub struct FloorStats {
    /// Connections upgraded so far.
    pub connections: AtomicU64,
    /// `message` frames queued to members.
    pub deliveries: AtomicU64,
    /// Deliveries dropped because a member's queue was full.
    pub dropped: AtomicU64,
}

/// One room: its members' queues and the message counter.
#[derive(Debug, Default)]
struct Room {
    members: HashMap<u64, mpsc::Sender<Utf8Bytes>>,
    seq: u64,
}

#[derive(Debug, Default)]
struct Rooms {
    rooms: Mutex<HashMap<Uuid, Room>>,
}

impl Rooms {
    fn join(&self, conversation: Uuid, member: u64, queue: mpsc::Sender<Utf8Bytes>) -> u64 {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let room = rooms.entry(conversation).or_default();
        room.members.insert(member, queue);
        room.seq
    }

    fn leave(&self, conversation: Uuid, member: u64) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(room) = rooms.get_mut(&conversation) {
            room.members.remove(&member);
            if room.members.is_empty() {
                rooms.remove(&conversation);
            }
        }
    }

    /// Numbers the message, queues it to every other member; returns it.
    fn broadcast(
        &self,
        conversation: Uuid,
        sender: u64,
        author: &UserRef,
        body: String,
        stats: &FloorStats,
    ) -> Message {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let room = rooms.entry(conversation).or_default();
        room.seq += 1;
        let message = Message {
            id: Uuid::now_v7(),
            conversation_id: conversation,
            seq: room.seq,
            direction: Direction::Outbound,
            author: Some(author.clone()),
            body: Some(body),
            created_at: Utc::now(),
        };
        let frame = encode(&ServerFrame::Message(MessageEvent {
            conversation_id: conversation,
            message: message.clone(),
        }));
        for (member, queue) in &room.members {
            if *member == sender {
                continue;
            }
            match queue.try_send(frame.clone()) {
                Ok(()) => stats.deliveries.fetch_add(1, Ordering::Relaxed),
                Err(_) => stats.dropped.fetch_add(1, Ordering::Relaxed),
            };
        }
        message
    }
}

/// A bound floor server, ready to run.
#[derive(Debug)]
pub struct Floor {
    listener: TcpListener,
    config: Arc<FloorConfig>,
    rooms: Arc<Rooms>,
    stats: Arc<FloorStats>,
}

impl Floor {
    /// Binds the listener (port 0: any free port).
    pub async fn bind(listen: SocketAddr, config: FloorConfig) -> io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        Ok(Self {
            listener,
            config: Arc::new(config),
            rooms: Arc::default(),
            stats: Arc::default(),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn stats(&self) -> Arc<FloorStats> {
        self.stats.clone()
    }

    /// Accepts connections until `shutdown` resolves; open connections are
    /// dropped with the runtime.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) {
        let listen = self
            .listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        tracing::info!(%listen, "{}", SERVING_MESSAGE);
        tokio::pin!(shutdown);
        let mut next_id = 0u64;
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, _)) => {
                    next_id += 1;
                    tokio::spawn(connection(
                        stream,
                        next_id,
                        self.config.clone(),
                        self.rooms.clone(),
                        self.stats.clone(),
                    ));
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
        tracing::info!(
            connections = self.stats.connections.load(Ordering::Relaxed),
            deliveries = self.stats.deliveries.load(Ordering::Relaxed),
            dropped = self.stats.dropped.load(Ordering::Relaxed),
            "stopped"
        );
    }
}

fn encode(frame: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(frame).unwrap_or_default())
}

/// Only `/v1/ws` upgrades; no authentication.
#[allow(clippy::result_large_err)]
fn only_ws_path(request: &Request, response: Response) -> Result<Response, ErrorResponse> {
    if request.uri().path() == "/v1/ws" {
        Ok(response)
    } else {
        let mut refused = ErrorResponse::new(Some("not found".into()));
        *refused.status_mut() = StatusCode::NOT_FOUND;
        Err(refused)
    }
}

async fn connection(
    stream: TcpStream,
    id: u64,
    config: Arc<FloorConfig>,
    rooms: Arc<Rooms>,
    stats: Arc<FloorStats>,
) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        only_ws_path,
        Some(config.websocket()),
    )
    .await
    else {
        return;
    };
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let user = UserRef {
        user_id: Uuid::now_v7(),
        name: format!("floor user {id}"),
    };
    let welcome = ServerFrame::Welcome(Welcome {
        session_id: Uuid::now_v7(),
        user: WelcomeUser {
            id: user.user_id,
            name: user.name.clone(),
            account_id: Uuid::nil(),
            role: None,
        },
        heartbeat_ms: config.heartbeat_ms,
    });
    let (queue, mut outbox) = mpsc::channel::<Utf8Bytes>(config.outbox_frames.max(1));
    let mut joined: Vec<Uuid> = Vec::new();
    if ws.send(WsMessage::Text(encode(&welcome))).await.is_ok() {
        loop {
            tokio::select! {
                incoming = ws.next() => {
                    let text = match incoming {
                        Some(Ok(WsMessage::Text(text))) => text,
                        Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                        Some(Ok(_)) => continue,
                    };
                    let reply = handle(&text, id, &user, &queue, &mut joined, &rooms, &stats);
                    if let Some(reply) = reply
                        && ws.send(WsMessage::Text(encode(&reply))).await.is_err()
                    {
                        break;
                    }
                }
                Some(frame) = outbox.recv() => {
                    if ws.send(WsMessage::Text(frame)).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    for conversation in joined {
        rooms.leave(conversation, id);
    }
}

/// One client frame; the answer to send back, if any.
fn handle(
    text: &str,
    id: u64,
    user: &UserRef,
    queue: &mpsc::Sender<Utf8Bytes>,
    joined: &mut Vec<Uuid>,
    rooms: &Rooms,
    stats: &FloorStats,
) -> Option<ServerFrame> {
    let frame: ClientFrame = match serde_json::from_str(text) {
        Ok(frame) => frame,
        Err(error) => {
            let head: FrameHead = serde_json::from_str(text).unwrap_or_default();
            return Some(ServerFrame::Error(
                ErrorFrame::new(ErrorCode::BadRequest, error.to_string())
                    .with_ref(head.reference()),
            ));
        }
    };
    let reference = frame.reference().map(str::to_owned);
    let mut body = AckBody::default();
    match frame {
        ClientFrame::Join(join) => {
            let last_seq = rooms.join(join.conversation_id, id, queue.clone());
            if !joined.contains(&join.conversation_id) {
                joined.push(join.conversation_id);
            }
            body.presence = Some(empty_presence(join.conversation_id));
            body.messages = Some(Vec::new());
            body.last_seq = Some(last_seq);
        }
        ClientFrame::Leave(leave) => {
            rooms.leave(leave.conversation_id, id);
            joined.retain(|c| *c != leave.conversation_id);
            body.presence = Some(empty_presence(leave.conversation_id));
        }
        ClientFrame::Send(send) => {
            let message = rooms.broadcast(
                send.conversation_id,
                id,
                user,
                send.body.unwrap_or_default(),
                stats,
            );
            body.message = Some(message);
        }
        ClientFrame::SubscribeInbox(_) => body.conversations = Some(Vec::new()),
        // Everything else is accepted and does nothing.
        _ => {}
    }
    reference.map(|reference| ServerFrame::Ack(Ack { reference, body }))
}

fn empty_presence(conversation: Uuid) -> Presence {
    Presence {
        conversation_id: conversation,
        active: None,
        observers: Vec::new(),
        version: 0,
        epoch: None,
    }
}
