//! A console: a real WebSocket client speaking the v1 protocol through the
//! proto types.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use switchboard_proto::client::{self, ClientFrame};
use switchboard_proto::server::{ErrorFrame, LockLost, Welcome};
use switchboard_proto::{AckBody, ErrorCode, Message, Presence, ServerFrame};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use super::server::TestServer;

/// How long a test waits for a frame before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

static REFS: AtomicU64 = AtomicU64::new(1);

fn next_ref() -> String {
    format!("r{}", REFS.fetch_add(1, Ordering::Relaxed))
}

pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub welcome: Welcome,
    /// Frames received while waiting for something else, in arrival order.
    backlog: VecDeque<ServerFrame>,
}

/// How a connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Closed(Option<u16>),
    Dropped,
}

impl WsClient {
    pub async fn connect(server: &TestServer, token: &str) -> Self {
        Self::open(upgrade_request(server, token))
            .await
            .expect("websocket upgrade")
    }

    /// Connects over a socket of the caller's (one with a small receive
    /// buffer, say).
    pub async fn connect_over(server: &TestServer, token: &str, socket: TcpStream) -> Self {
        let (ws, _) = tokio_tungstenite::client_async(
            upgrade_request(server, token),
            MaybeTlsStream::Plain(socket),
        )
        .await
        .expect("websocket upgrade");
        Self::welcomed(ws).await
    }

    /// Opens a connection with a prepared request; the HTTP error when refused.
    pub async fn open(
        request: tungstenite::handshake::client::Request,
    ) -> Result<Self, tungstenite::Error> {
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self::welcomed(ws).await)
    }

    /// The client of a connection just upgraded, once its welcome came.
    async fn welcomed(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        let mut client = Self {
            ws,
            welcome: Welcome {
                session_id: Uuid::nil(),
                user: switchboard_proto::server::WelcomeUser {
                    id: Uuid::nil(),
                    name: String::new(),
                    account_id: Uuid::nil(),
                    role: None,
                },
                heartbeat_ms: 0,
            },
            backlog: VecDeque::new(),
        };
        match client.next_frame().await {
            ServerFrame::Welcome(welcome) => client.welcome = welcome,
            other => panic!("expected welcome first, got {other:?}"),
        }
        client
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws
            .send(WsMessage::Text(text.into().into()))
            .await
            .expect("send frame");
    }

    pub async fn send_raw(&mut self, message: WsMessage) -> Result<(), tungstenite::Error> {
        self.ws.send(message).await
    }

    /// The next frame off the socket (not the backlog).
    async fn next_frame(&mut self) -> ServerFrame {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("connection ended")
                .expect("websocket error");
            match message {
                WsMessage::Text(text) => {
                    return serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("server frame {text} does not parse: {e}"));
                }
                WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
                other => panic!("unexpected websocket message {other:?}"),
            }
        }
    }

    /// Waits for the first frame (backlog first) that `matches`; frames
    /// before it stay in the backlog.
    pub async fn expect<F>(&mut self, what: &str, matches: F) -> ServerFrame
    where
        F: Fn(&ServerFrame) -> bool,
    {
        if let Some(index) = self.backlog.iter().position(&matches) {
            return self.backlog.remove(index).unwrap();
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.next_frame())
                .await
                .unwrap_or_else(|_| {
                    panic!("timed out waiting for {what}; backlog {:#?}", self.backlog)
                });
            if matches(&frame) {
                return frame;
            }
            self.backlog.push_back(frame);
        }
    }

    /// Sends a frame with a fresh `ref` and waits for its ack or error.
    pub async fn request(&mut self, frame: ClientFrame) -> Result<AckBody, ErrorFrame> {
        let reference = next_ref();
        let mut value = serde_json::to_value(&frame).unwrap();
        value["ref"] = serde_json::Value::String(reference.clone());
        self.send_text(value.to_string()).await;
        self.answer(&reference).await
    }

    /// Waits for the ack or error carrying `reference`.
    pub async fn answer(&mut self, reference: &str) -> Result<AckBody, ErrorFrame> {
        let frame = self
            .expect(&format!("the answer to {reference}"), |f| match f {
                ServerFrame::Ack(ack) => ack.reference == reference,
                ServerFrame::Error(error) => error.reference.as_deref() == Some(reference),
                _ => false,
            })
            .await;
        match frame {
            ServerFrame::Ack(ack) => Ok(ack.body),
            ServerFrame::Error(error) => Err(error),
            _ => unreachable!(),
        }
    }

    pub async fn join(&mut self, conversation: Uuid) -> AckBody {
        self.join_after(conversation, None).await
    }

    pub async fn join_after(&mut self, conversation: Uuid, after_seq: Option<u64>) -> AckBody {
        self.request(ClientFrame::Join(client::Join {
            reference: None,
            conversation_id: conversation,
            after_seq,
            watch: false,
        }))
        .await
        .expect("join")
    }

    pub async fn take(&mut self, conversation: Uuid) -> Result<AckBody, ErrorFrame> {
        self.request(take(conversation, false)).await
    }

    pub async fn release(&mut self, conversation: Uuid) -> AckBody {
        self.request(ClientFrame::Release(conversation_ref(conversation)))
            .await
            .expect("release")
    }

    pub async fn leave(&mut self, conversation: Uuid) -> AckBody {
        self.request(ClientFrame::Leave(conversation_ref(conversation)))
            .await
            .expect("leave")
    }

    pub async fn say(
        &mut self,
        conversation: Uuid,
        client_msg_id: &str,
        body: &str,
    ) -> Result<Message, ErrorFrame> {
        self.request(send(conversation, client_msg_id, body))
            .await
            .map(|ack| ack.message.expect("send ack carries the message"))
    }

    /// Waits for a presence of `conversation` that satisfies `matches`.
    /// The next `lock_lost` frame.
    pub async fn expect_lock_lost(&mut self) -> LockLost {
        match self
            .expect("lock_lost", |f| matches!(f, ServerFrame::LockLost(_)))
            .await
        {
            ServerFrame::LockLost(lost) => lost,
            _ => unreachable!(),
        }
    }

    pub async fn expect_presence<F>(&mut self, conversation: Uuid, matches: F) -> Presence
    where
        F: Fn(&Presence) -> bool,
    {
        match self
            .expect("a presence", |f| {
                matches!(f, ServerFrame::Presence(p) if p.conversation_id == conversation && matches(p))
            })
            .await
        {
            ServerFrame::Presence(presence) => presence,
            _ => unreachable!(),
        }
    }

    /// Waits for the `message` event with this seq.
    pub async fn expect_message(&mut self, conversation: Uuid, seq: u64) -> Message {
        match self
            .expect(&format!("message {seq}"), |f| {
                matches!(f, ServerFrame::Message(m) if m.conversation_id == conversation && m.message.seq == seq)
            })
            .await
        {
            ServerFrame::Message(event) => event.message,
            _ => unreachable!(),
        }
    }

    /// Every frame received so far that nobody waited for, plus whatever is
    /// already queued on the socket after a round trip (a `ping` acked).
    pub async fn settle(&mut self) -> Vec<ServerFrame> {
        let _ = self
            .request(ClientFrame::Ping(client::Ping { reference: None }))
            .await;
        self.take_backlog()
    }

    /// Waits for the connection to end; returns the close code if there was
    /// one. Frames that came before the end stay in the backlog.
    pub async fn closed(&mut self) -> Ended {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for close")
            {
                Some(Ok(WsMessage::Close(frame))) => {
                    return Ended::Closed(frame.map(|f: CloseFrame| u16::from(f.code)));
                }
                Some(Ok(WsMessage::Text(text))) => {
                    if let Ok(frame) = serde_json::from_str(&text) {
                        self.backlog.push_back(frame);
                    }
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ended::Dropped,
            }
        }
    }

    /// Takes every frame received so far that nobody waited for (a closed
    /// connection's last words, say).
    pub fn take_backlog(&mut self) -> Vec<ServerFrame> {
        self.backlog.drain(..).collect()
    }

    /// Drops the TCP connection without a close handshake (a crash, a lost network).
    pub fn drop_connection(self) {
        drop(self);
    }
}

/// The upgrade request to `server` with `token` as the bearer.
fn upgrade_request(server: &TestServer, token: &str) -> tungstenite::handshake::client::Request {
    let mut request = server.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

pub fn take(conversation: Uuid, force: bool) -> ClientFrame {
    ClientFrame::Take(client::Take {
        reference: None,
        conversation_id: conversation,
        force,
    })
}

pub fn conversation_ref(conversation: Uuid) -> client::ConversationRef {
    client::ConversationRef {
        reference: None,
        conversation_id: conversation,
    }
}

pub fn send(conversation: Uuid, client_msg_id: &str, body: &str) -> ClientFrame {
    ClientFrame::Send(client::Send {
        reference: None,
        conversation_id: conversation,
        client_msg_id: client_msg_id.into(),
        body: Some(body.into()),
        template_id: None,
    })
}

pub fn typing(conversation: Uuid) -> ClientFrame {
    ClientFrame::Typing(conversation_ref(conversation))
}

/// Every client sends `take` for `conversation` at once (`users[i]` is
/// client i's user): exactly one is granted, and every other is refused
/// with `locked` naming the winner. Returns the winner's index.
pub async fn take_all_at_once(
    clients: &mut [WsClient],
    users: &[Uuid],
    conversation: Uuid,
    round: usize,
) -> usize {
    let answers = futures_util::future::join_all(
        clients
            .iter_mut()
            .map(|client| client.request(take(conversation, false))),
    )
    .await;
    let winners: Vec<usize> = answers
        .iter()
        .enumerate()
        .filter(|(_, a)| a.is_ok())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
    let winner = users[winners[0]];
    for (i, answer) in answers.iter().enumerate() {
        if let Err(error) = answer {
            assert_eq!(error.code, ErrorCode::Locked, "round {round}, agent {i}");
            assert_eq!(
                error.answered_by.as_ref().map(|a| a.user_id),
                Some(winner),
                "round {round}, agent {i}: the loser is told who won"
            );
        }
    }
    winners[0]
}

/// `subscribe_inbox` for the whole inbox list.
pub fn subscribe_inbox() -> ClientFrame {
    ClientFrame::SubscribeInbox(client::SubscribeInbox {
        reference: None,
        folder_id: None,
    })
}

/// The user ids of a presence's observers, in order.
pub fn observer_ids(presence: &Presence) -> Vec<Uuid> {
    presence.observers.iter().map(|o| o.user_id).collect()
}

/// The active responder's id.
pub fn active_id(presence: &Presence) -> Option<Uuid> {
    presence.active.as_ref().map(|a| a.user_id)
}
