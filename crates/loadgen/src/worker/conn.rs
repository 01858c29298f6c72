//! One client connection: TCP from the worker's source address, the
//! WebSocket upgrade, the `welcome`, and typed frames in both directions.
//! Against the Socket.IO peer the same frames travel inside Engine.IO's
//! framing (see [`Wire`]).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use switchboard_proto::server::ErrorFrame;
use switchboard_proto::{AckBody, ClientFrame, ServerFrame};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Interval, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use uuid::Uuid;

use crate::clock::now_ns;
use crate::plan::{Token, Wire};

/// How long a worker waits for the answer to a setup request.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// The client side keeps small buffers too: a worker holds thousands of sockets.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

#[derive(Debug)]
pub struct Conn {
    ws: WebSocketStream<TcpStream>,
    wire: Wire,
    /// Who the server says this connection is (from `welcome`).
    pub user_id: Uuid,
    pub heartbeat: Duration,
    refs: u64,
}

/// Opens a connection and reads its `welcome`.
pub async fn open(
    addr: SocketAddr,
    source_ip: Option<IpAddr>,
    token: &Token,
    wire: Wire,
    timeout: Duration,
) -> anyhow::Result<Conn> {
    tokio::time::timeout(timeout, open_inner(addr, source_ip, token, wire))
        .await
        .map_err(|_| anyhow::anyhow!("connect timed out after {timeout:?}"))?
}

async fn open_inner(
    addr: SocketAddr,
    source_ip: Option<IpAddr>,
    token: &Token,
    wire: Wire,
) -> anyhow::Result<Conn> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(ip) = source_ip {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    let path = match wire {
        Wire::Switchboard => "/v1/ws",
        Wire::SocketIo => "/socket.io/?EIO=4&transport=websocket",
    };
    let mut request = format!("ws://{addr}{path}").into_client_request()?;
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
    }
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(client_config())).await?;
    let mut conn = Conn {
        ws,
        wire,
        user_id: Uuid::nil(),
        heartbeat: Duration::from_secs(25),
        refs: 0,
    };
    if wire == Wire::SocketIo {
        // Engine.IO's open packet came with the upgrade; join the main namespace.
        conn.ws
            .send(WsMessage::Text(engine_io::CONNECT.into()))
            .await?;
    }
    match conn.recv().await {
        Some((_, ServerFrame::Welcome(welcome))) => {
            conn.user_id = welcome.user.id;
            conn.heartbeat = Duration::from_millis(welcome.heartbeat_ms.max(1000));
            Ok(conn)
        }
        Some((_, other)) => anyhow::bail!("expected welcome, got {}", other.type_name()),
        None => anyhow::bail!("connection ended before welcome"),
    }
}

impl Conn {
    /// A fresh `ref` for this connection.
    pub fn next_ref(&mut self, prefix: &str) -> String {
        self.refs += 1;
        format!("{prefix}{}", self.refs)
    }

    /// Writes one frame and flushes it.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), tungstenite::Error> {
        let text = serde_json::to_string(frame).expect("client frames serialize");
        self.send_text(&text).await
    }

    /// Writes one text frame as it is (the flooders' malformed ones) and flushes it.
    pub async fn send_text(&mut self, text: &str) -> Result<(), tungstenite::Error> {
        let text = match self.wire {
            Wire::Switchboard => text.to_owned(),
            Wire::SocketIo => engine_io::event(text),
        };
        self.ws.send(WsMessage::Text(text.into())).await
    }

    /// The next server frame and when it was read (before parsing); `None`
    /// when the connection ended. Frames that do not parse are skipped.
    pub async fn recv(&mut self) -> Option<(u64, ServerFrame)> {
        loop {
            match self.ws.next().await? {
                Ok(WsMessage::Text(text)) => {
                    let at = now_ns();
                    let frame = match self.wire {
                        Wire::Switchboard => serde_json::from_str(&text).ok(),
                        Wire::SocketIo => match engine_io::packet(&text) {
                            engine_io::Packet::Frame(frame) => Some(frame),
                            engine_io::Packet::Ping => {
                                let pong = WsMessage::Text(engine_io::PONG.into());
                                self.ws.send(pong).await.ok()?;
                                None
                            }
                            engine_io::Packet::Closed => return None,
                            engine_io::Packet::Other => None,
                        },
                    };
                    if let Some(frame) = frame {
                        return Some((at, frame));
                    }
                }
                Ok(WsMessage::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Sends `frame` (which carries `reference`) and waits for its answer;
    /// other frames go to `other`.
    pub async fn request(
        &mut self,
        frame: &ClientFrame,
        reference: &str,
        mut other: impl FnMut(u64, ServerFrame),
    ) -> anyhow::Result<Result<AckBody, ErrorFrame>> {
        self.send(frame).await?;
        let wait = async {
            loop {
                match self.recv().await {
                    Some((_, ServerFrame::Ack(ack))) if ack.reference == reference => {
                        return Ok(Ok(ack.body));
                    }
                    Some((_, ServerFrame::Error(error)))
                        if error.reference.as_deref() == Some(reference) =>
                    {
                        return Ok(Err(error));
                    }
                    Some((at, frame)) => other(at, frame),
                    None => anyhow::bail!("connection ended while waiting for {reference}"),
                }
            }
        };
        tokio::time::timeout(ANSWER_TIMEOUT, wait)
            .await
            .map_err(|_| anyhow::anyhow!("no answer to {reference} within {ANSWER_TIMEOUT:?}"))?
    }
}

/// A heartbeat ticker with its first tick spread over one period by `index`,
/// so thousands of connections do not ping at once.
pub fn heartbeat_ticker(period: Duration, index: usize) -> Interval {
    // A fixed permutation of [0, 1): golden-ratio steps.
    let fraction = (index as f64 * 0.618_033_988_75).fract();
    let first = tokio::time::Instant::now() + period.mul_f64(fraction.max(0.01));
    let mut ticker = tokio::time::interval_at(first, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker
}

/// Engine.IO 4 and Socket.IO 5 packets, as far as the Socket.IO peer needs
/// them: a text packet starts with its Engine.IO type (`0` open, `2` ping,
/// `3` pong, `4` message), a message with its Socket.IO type (`0`
/// connect, `1` disconnect, `2` event). Each v1 frame is the argument of one
/// `frame` event: `42["frame",{...}]`.
mod engine_io {
    use switchboard_proto::ServerFrame;

    /// Connects to the main namespace.
    pub const CONNECT: &str = "40";
    /// Answers the server's ping.
    pub const PONG: &str = "3";

    /// What a received text packet is. (Read and handled at once, so the
    /// frame's size costs nothing worth boxing it for.)
    #[allow(clippy::large_enum_variant)]
    #[derive(Debug)]
    pub enum Packet {
        Frame(ServerFrame),
        Ping,
        /// The server disconnected the socket.
        Closed,
        /// Open, connect, or anything else without a frame.
        Other,
    }

    /// A `frame` event carrying `json`.
    pub fn event(json: &str) -> String {
        format!("42[\"frame\",{json}]")
    }

    pub fn packet(text: &str) -> Packet {
        if text == "2" {
            return Packet::Ping;
        }
        if text.starts_with("41") || text.starts_with('1') {
            return Packet::Closed;
        }
        let Some(args) = text.strip_prefix("42") else {
            return Packet::Other;
        };
        match serde_json::from_str::<(String, ServerFrame)>(args) {
            Ok((name, frame)) if name == "frame" => Packet::Frame(frame),
            _ => Packet::Other,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn frames_travel_as_frame_events() {
            let sent = event(r#"{"type":"ping","ref":"p1"}"#);
            assert_eq!(sent, r#"42["frame",{"type":"ping","ref":"p1"}]"#);
            let ack = r#"42["frame",{"type":"ack","ref":"p1"}]"#;
            assert!(
                matches!(packet(ack), Packet::Frame(ServerFrame::Ack(a)) if a.reference == "p1")
            );
            assert!(matches!(packet("2"), Packet::Ping));
            assert!(matches!(packet("41"), Packet::Closed));
            assert!(matches!(packet(r#"0{"sid":"x"}"#), Packet::Other));
            assert!(matches!(packet(r#"40{"sid":"x"}"#), Packet::Other));
            let other_event = r#"42["chat",{"type":"ack","ref":"p1"}]"#;
            assert!(matches!(packet(other_event), Packet::Other));
        }
    }
}
