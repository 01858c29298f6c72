//! Counting the frames a client sends as their bytes pass, under
//! tungstenite: it assembles a fragmented message inside `read()` and never
//! shows its continuation frames, yet each of them must cost what any other
//! frame costs, or a flood of tiny fragments would go unnoticed.
//!
//! The meter reads frame headers only (2 to 14 bytes each) and skips
//! payloads by their length; it judges nothing else, tungstenite validates
//! the frames. The session charges the counted continuations to the flood
//! guard with the next message it reads. A message that never ends would
//! never be charged, so the meter itself fails the read once more
//! continuations are waiting than the burst allows: with [`Flooded`], which
//! the session answers with close 1008.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;

/// The longest frame header: 2 bytes, 8 of extended length, 4 of mask.
const MAX_HEADER: usize = 14;
const OPCODE_CONTINUATION: u8 = 0;

/// A client's socket, its frames counted as they are read.
#[derive(Debug)]
pub struct FrameMeter<T> {
    inner: T,
    /// Payload bytes of the current frame still to pass.
    payload_left: u64,
    /// The next frame's header so far.
    header: [u8; MAX_HEADER],
    header_len: u8,
    /// Continuation frames read and not yet charged.
    continuations: u32,
    /// More uncharged continuations than this: a flood.
    most_waiting: u32,
}

/// The read error of a client that sent more fragments than it may.
#[derive(Debug, thiserror::Error)]
#[error("too many frames without a complete message")]
pub struct Flooded;

impl Flooded {
    /// Whether an IO error is the meter's verdict.
    pub fn is(error: &io::Error) -> bool {
        error.get_ref().is_some_and(|inner| inner.is::<Self>())
    }
}

/// A stream of WebSocket messages whose frames are counted.
pub trait Metered {
    /// The continuation frames read since the last call.
    fn take_continuations(&mut self) -> u32;
}

impl<T> FrameMeter<T> {
    /// Meters `inner`; `most_waiting` is the rate limit's burst.
    pub fn new(inner: T, most_waiting: u32) -> Self {
        Self {
            inner,
            payload_left: 0,
            header: [0; MAX_HEADER],
            header_len: 0,
            continuations: 0,
            most_waiting,
        }
    }

    /// Counts the frames that begin in `bytes`, the next bytes the client
    /// sent (public for the fuzz tests; reads call it).
    pub fn observe(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let skipped = bytes
                    .len()
                    .min(usize::try_from(self.payload_left).unwrap_or(usize::MAX));
                self.payload_left -= skipped as u64;
                bytes = &bytes[skipped..];
                continue;
            }
            self.header[usize::from(self.header_len)] = bytes[0];
            self.header_len += 1;
            bytes = &bytes[1..];
            let header = &self.header[..usize::from(self.header_len)];
            if let Some(payload_len) = payload_len(header) {
                if header[0] & 0x0f == OPCODE_CONTINUATION {
                    self.continuations = self.continuations.saturating_add(1);
                }
                self.payload_left = payload_len;
                self.header_len = 0;
            }
        }
    }

    /// The continuation frames counted since the last call.
    pub fn take_continuations(&mut self) -> u32 {
        std::mem::take(&mut self.continuations)
    }
}

/// The payload length once `header` is a complete frame header.
fn payload_len(header: &[u8]) -> Option<u64> {
    let [_, second, rest @ ..] = header else {
        return None;
    };
    let extended = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    if rest.len() < extended + mask {
        return None;
    }
    Some(match extended {
        0 => u64::from(second & 0x7f),
        _ => rest[..extended]
            .iter()
            .fold(0, |len, byte| (len << 8) | u64::from(*byte)),
    })
}

impl<T> Metered for WebSocketStream<FrameMeter<T>>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    fn take_continuations(&mut self) -> u32 {
        self.get_mut().take_continuations()
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for FrameMeter<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        this.observe(&buf.filled()[before..]);
        if this.continuations > this.most_waiting {
            return Poll::Ready(Err(io::Error::other(Flooded)));
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for FrameMeter<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame: `first` is FIN, RSV and opcode.
    fn frame(first: u8, payload_len: usize) -> Vec<u8> {
        let mut bytes = vec![first];
        match payload_len {
            0..=125 => bytes.push(0x80 | payload_len as u8),
            126..=0xffff => {
                bytes.push(0x80 | 126);
                bytes.extend_from_slice(&(payload_len as u16).to_be_bytes());
            }
            _ => {
                bytes.push(0x80 | 127);
                bytes.extend_from_slice(&(payload_len as u64).to_be_bytes());
            }
        }
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        bytes.resize(bytes.len() + payload_len, 0x80);
        bytes
    }

    fn meter() -> FrameMeter<()> {
        FrameMeter::new((), 100)
    }

    #[test]
    fn continuations_are_counted_whatever_their_payload() {
        let mut stream = frame(0x01, 3); // a text frame that does not end
        for len in [0, 125, 126, 70_000] {
            stream.extend(frame(0x00, len));
        }
        stream.extend(frame(0x80, 5)); // the last fragment
        stream.extend(frame(0x89, 4)); // a ping
        let mut m = meter();
        m.observe(&stream);
        assert_eq!(m.take_continuations(), 5);
        assert_eq!(m.take_continuations(), 0, "taken once");
    }

    #[test]
    fn headers_split_across_reads_are_put_together() {
        let mut stream = Vec::new();
        for _ in 0..3 {
            stream.extend(frame(0x00, 300));
        }
        let mut m = meter();
        for byte in &stream {
            m.observe(std::slice::from_ref(byte));
        }
        assert_eq!(m.take_continuations(), 3);
    }

    #[test]
    fn payload_bytes_that_look_like_headers_are_skipped() {
        let mut m = meter();
        let mut stream = frame(0x81, 6);
        let len = stream.len();
        stream[len - 6..].copy_from_slice(&[0x00, 0x80, 0x00, 0x80, 0x00, 0x80]);
        m.observe(&stream);
        assert_eq!(m.take_continuations(), 0);
    }
}
