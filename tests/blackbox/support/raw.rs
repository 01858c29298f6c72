//! A WebSocket client written byte by byte over a `TcpStream`, for tests of
//! what a library client never sends: unmasked frames, reserved bits and
//! opcodes, fragments, floods, invalid UTF-8. It does the upgrade by hand,
//! writes exactly the frames it is given, reads the server's frames as they
//! come (it answers nothing by itself, not even pings), and reports the
//! close code the server sent.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::client::WAIT;

pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// One frame as the client writes it; every part may be set to anything.
#[derive(Debug, Clone)]
pub struct RawFrame {
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as the three low bits.
    pub rsv: u8,
    pub opcode: u8,
    /// `None`: sent unmasked (clients must mask).
    pub mask: Option<[u8; 4]>,
    pub payload: Vec<u8>,
}

/// The mask of every masked frame: any value is valid, a fixed one keeps
/// failures reproducible.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

impl RawFrame {
    /// A final, masked frame.
    pub fn new(opcode: u8, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            fin: true,
            rsv: 0,
            opcode,
            mask: Some(MASK),
            payload: payload.into(),
        }
    }

    pub fn text(text: &str) -> Self {
        Self::new(OP_TEXT, text.as_bytes())
    }

    pub fn ping(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(OP_PING, payload)
    }

    /// The same frame with FIN set to `fin`.
    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// The same frame with the RSV bits `rsv` (three low bits).
    pub fn rsv(mut self, rsv: u8) -> Self {
        self.rsv = rsv;
        self
    }

    /// The same frame, unmasked.
    pub fn unmasked(mut self) -> Self {
        self.mask = None;
        self
    }

    /// The bytes on the wire (RFC 6455 section 5.2).
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.payload.len() + 14);
        bytes.push(u8::from(self.fin) << 7 | (self.rsv & 0x7) << 4 | (self.opcode & 0x0f));
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = self.payload.len();
        if len <= 125 {
            bytes.push(mask_bit | len as u8);
        } else if let Ok(len) = u16::try_from(len) {
            bytes.push(mask_bit | 126);
            bytes.extend_from_slice(&len.to_be_bytes());
        } else {
            bytes.push(mask_bit | 127);
            bytes.extend_from_slice(&(len as u64).to_be_bytes());
        }
        match self.mask {
            Some(mask) => {
                bytes.extend_from_slice(&mask);
                bytes.extend(
                    self.payload
                        .iter()
                        .zip(mask.iter().cycle())
                        .map(|(b, m)| b ^ m),
                );
            }
            None => bytes.extend_from_slice(&self.payload),
        }
        bytes
    }
}

/// A frame the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Received {
    pub fn text(&self) -> Option<&str> {
        (self.opcode == OP_TEXT).then(|| std::str::from_utf8(&self.payload).expect("utf-8 text"))
    }
}

/// The close frame the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    pub code: Option<u16>,
    pub reason: String,
}

impl Close {
    fn of(payload: &[u8]) -> Self {
        Self {
            code: (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]])),
            reason: String::from_utf8_lossy(payload.get(2..).unwrap_or_default()).into_owned(),
        }
    }
}

/// The reading side: server frames parsed from the bytes as they arrive.
#[derive(Debug)]
pub struct FrameReader<R> {
    read: R,
    buffer: Vec<u8>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// The next frame; `None` when the connection ended (EOF or reset).
    /// Panics after [`WAIT`] without one.
    pub async fn next(&mut self) -> Option<Received> {
        tokio::time::timeout(WAIT, self.next_unbounded())
            .await
            .expect("timed out waiting for a server frame")
    }

    async fn next_unbounded(&mut self) -> Option<Received> {
        loop {
            if let Some((frame, used)) = parse_server_frame(&self.buffer) {
                self.buffer.drain(..used);
                return Some(frame);
            }
            let mut chunk = [0u8; 8192];
            match self.read.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads until the server's close frame; `None` when the connection
    /// ended without one. Everything before it is returned too.
    pub async fn close(&mut self) -> (Option<Close>, Vec<Received>) {
        let mut before = Vec::new();
        while let Some(frame) = self.next().await {
            if frame.opcode == OP_CLOSE {
                return (Some(Close::of(&frame.payload)), before);
            }
            before.push(frame);
        }
        (None, before)
    }
}

/// One complete server frame at the start of `bytes`, and its length.
fn parse_server_frame(bytes: &[u8]) -> Option<(Received, usize)> {
    let [first, second, rest @ ..] = bytes else {
        return None;
    };
    assert_eq!(second & 0x80, 0, "server frames are never masked");
    let (len, header) = match second & 0x7f {
        126 => (
            u64::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?)),
            4,
        ),
        127 => (u64::from_be_bytes(rest.get(..8)?.try_into().ok()?), 10),
        len => (u64::from(len), 2),
    };
    let end = header + usize::try_from(len).ok()?;
    let payload = bytes.get(header..end)?.to_vec();
    let frame = Received {
        fin: first & 0x80 != 0,
        opcode: first & 0x0f,
        payload,
    };
    Some((frame, end))
}

/// A refused upgrade: the HTTP status and body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: String,
}

/// An open WebSocket connection.
#[derive(Debug)]
pub struct RawClient {
    pub reader: FrameReader<OwnedReadHalf>,
    pub writer: OwnedWriteHalf,
}

impl RawClient {
    /// Upgrades `GET /v1/ws` on `addr` with a Bearer token and reads the
    /// `welcome`; panics unless the server switches protocols.
    pub async fn connect(addr: &str, token: &str) -> Self {
        let mut client = Self::upgrade(addr, token)
            .await
            .unwrap_or_else(|refused| panic!("upgrade refused: {refused:?}"));
        let welcome = client.reader.next().await.expect("a welcome");
        assert!(
            welcome
                .text()
                .is_some_and(|t| t.contains(r#""type":"welcome""#)),
            "expected welcome first, got {welcome:?}"
        );
        client
    }

    /// The upgrade alone; the status and body when it is refused.
    pub async fn upgrade(addr: &str, token: &str) -> Result<Self, Refused> {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let _ = stream.set_nodelay(true);
        let request = format!(
            "GET /v1/ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Authorization: Bearer {token}\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send the upgrade request");
        let (head, rest) = read_head(&mut stream).await;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head:?}"));
        if status != 101 {
            let mut body = rest;
            let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut body)).await;
            return Err(Refused {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        let (read, writer) = stream.into_split();
        Ok(Self {
            reader: FrameReader { read, buffer: rest },
            writer,
        })
    }

    pub async fn send(&mut self, frame: &RawFrame) -> io::Result<()> {
        self.send_bytes(&frame.encode()).await
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes).await
    }

    /// Reads until the server's close frame (see [`FrameReader::close`]).
    pub async fn close(&mut self) -> (Option<Close>, Vec<Received>) {
        self.reader.close().await
    }

    /// Writes `frame` `per_sec` times a second, in batches every 10 ms, while
    /// reading whatever the server sends, until the server closes or
    /// `longest` passes; returns the server's close, if it sent one, and the
    /// frames before it.
    pub async fn flood(
        self,
        frame: &RawFrame,
        per_sec: u32,
        longest: Duration,
    ) -> (Option<Close>, Vec<Received>) {
        let Self {
            mut reader,
            mut writer,
        } = self;
        let reading = tokio::spawn(async move {
            let mut before = Vec::new();
            loop {
                match reader.next_unbounded().await {
                    Some(f) if f.opcode == OP_CLOSE => {
                        return (Some(Close::of(&f.payload)), before);
                    }
                    Some(f) => before.push(f),
                    None => return (None, before),
                }
            }
        });
        let batch = frame.encode().repeat((per_sec / 100).max(1) as usize);
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let deadline = tokio::time::Instant::now() + longest;
        while !reading.is_finished() && tokio::time::Instant::now() < deadline {
            tick.tick().await;
            if writer.write_all(&batch).await.is_err() {
                break;
            }
        }
        drop(writer);
        tokio::time::timeout(WAIT, reading)
            .await
            .expect("the server ends the connection")
            .expect("reader task")
    }
}

/// The response head and whatever came after it.
async fn read_head(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut bytes = Vec::new();
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
            return (head, bytes[end + 4..].to_vec());
        }
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(WAIT, stream.read(&mut chunk))
            .await
            .expect("timed out waiting for the response head")
            .expect("read the response head");
        assert!(n > 0, "connection closed before a response");
        bytes.extend_from_slice(&chunk[..n]);
    }
}
