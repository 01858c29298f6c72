//! The listener: every TCP connection starts here.
//!
//! WebSocket upgrades to `/v1/ws` (nearly all connections) are answered
//! directly: the request head is read, authenticated, answered with 101, and
//! the socket goes to a session with nothing else attached to it, which
//! keeps an idle connection small. Every other request is replayed into
//! hyper, which serves the axum router (including `/v1/ws` upgrades that
//! arrive on a reused keep-alive connection).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use bytes::{Buf, Bytes, BytesMut};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::app::AppError;
use crate::refusals;
use crate::state::AppState;
use crate::ws::{self, handshake};

/// The longest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_HEADERS: usize = 48;

/// Accepts connections until shutdown begins.
pub async fn serve(listener: TcpListener, state: AppState, router: Router) {
    loop {
        let accepted = tokio::select! {
            () = state.cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                let state = state.clone();
                let router = router.clone();
                state
                    .tracker
                    .clone()
                    .spawn(connection(stream, state, router));
            }
            Err(error) => {
                // Out of file descriptors, mostly: wait a little instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

enum Head {
    /// A WebSocket upgrade for `/v1/ws`.
    Upgrade { headers: HeaderMap, rest: Vec<u8> },
    /// Anything else: hyper gets the bytes read so far.
    Http(Bytes),
}

/// The task of one connection until it is known what it is: a WebSocket
/// gets a task of its own for its session (see `ws::start_session`), and
/// this one ends.
async fn connection(mut stream: TcpStream, state: AppState, router: Router) {
    let _ = stream.set_nodelay(true);
    let head = match Box::pin(tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream))).await {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) => return,
        Ok(Err(error)) => {
            tracing::debug!(%error, "unreadable request head");
            let refusal = AppError::BadRequest("malformed request".into());
            let _ = respond(&mut stream, &refusal).await;
            return;
        }
        Err(_) => return,
    };
    match head {
        Head::Upgrade { headers, rest } => upgrade(stream, headers, rest, state).await,
        Head::Http(buffered) => Box::pin(http(stream, buffered, state, router)).await,
    }
}

/// Reads until the request head is complete. `None`: the client went away.
async fn read_head(stream: &mut TcpStream) -> io::Result<Option<Head>> {
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(None);
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let is_ws_path = request
                    .path
                    .is_some_and(|p| p.split('?').next() == Some("/v1/ws"));
                if request.method != Some(Method::GET.as_str()) || !is_ws_path {
                    return Ok(Some(Head::Http(buf.freeze())));
                }
                let mut map = HeaderMap::with_capacity(request.headers.len());
                for header in request.headers.iter() {
                    let (Ok(name), Ok(value)) = (
                        HeaderName::from_bytes(header.name.as_bytes()),
                        HeaderValue::from_bytes(header.value),
                    ) else {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad header"));
                    };
                    map.append(name, value);
                }
                if !handshake::wants_upgrade(&map) {
                    return Ok(Some(Head::Http(buf.freeze())));
                }
                return Ok(Some(Head::Upgrade {
                    headers: map,
                    rest: buf[len..].to_vec(),
                }));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => continue,
            Ok(httparse::Status::Partial) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "request head too large",
                ));
            }
            // Too many headers, or not HTTP: hyper answers with the right error.
            Err(httparse::Error::TooManyHeaders) => return Ok(Some(Head::Http(buf.freeze()))),
            Err(error) => return Err(io::Error::new(io::ErrorKind::InvalidData, error)),
        }
    }
}

async fn upgrade(mut stream: TcpStream, headers: HeaderMap, rest: Vec<u8>, state: AppState) {
    let accepted = match handshake::decide(&state, &headers).await {
        Ok(accepted) => accepted,
        Err(refusal) => {
            let _ = respond(&mut stream, &refusal).await;
            return;
        }
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accepted.accept_key
    );
    if stream.write_all(response.as_bytes()).await.is_err() {
        return;
    }
    ws::start_session(stream, rest, accepted.who, &state).await;
}

/// Answers a refused request with the error's status and body, and closes.
async fn respond(stream: &mut TcpStream, error: &AppError) -> io::Result<()> {
    let status = refusals::status(error);
    let body = refusals::http_body(error);
    let extra = if status.as_u16() == 401 {
        "WWW-Authenticate: Bearer\r\n"
    } else {
        ""
    };
    let response = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

async fn http(stream: TcpStream, buffered: Bytes, state: AppState, router: Router) {
    let io = TokioIo::new(Rewind {
        prefix: buffered,
        inner: stream,
    });
    let service = TowerToHyperService::new(router);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "http connection ended with an error");
            }
        }
        () = state.cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// A stream that first yields bytes already read from it.
struct Rewind {
    prefix: Bytes,
    inner: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
