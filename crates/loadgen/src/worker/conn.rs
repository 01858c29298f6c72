//! One client connection: TCP from the worker's source address, the
//! WebSocket upgrade, the `welcome`, and typed frames in both directions.

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
use crate::plan::Token;

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
    timeout: Duration,
) -> anyhow::Result<Conn> {
    tokio::time::timeout(timeout, open_inner(addr, source_ip, token))
        .await
        .map_err(|_| anyhow::anyhow!("connect timed out after {timeout:?}"))?
}

async fn open_inner(
    addr: SocketAddr,
    source_ip: Option<IpAddr>,
    token: &Token,
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
    let mut request = format!("ws://{addr}/v1/ws").into_client_request()?;
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
    }
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(client_config())).await?;
    let mut conn = Conn {
        ws,
        user_id: Uuid::nil(),
        heartbeat: Duration::from_secs(25),
        refs: 0,
    };
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
        self.ws.send(WsMessage::Text(text.into())).await
    }

    /// The next server frame and when it was read (before parsing); `None`
    /// when the connection ended. Frames that do not parse are skipped.
    pub async fn recv(&mut self) -> Option<(u64, ServerFrame)> {
        loop {
            match self.ws.next().await? {
                Ok(WsMessage::Text(text)) => {
                    let at = now_ns();
                    if let Ok(frame) = serde_json::from_str(&text) {
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
