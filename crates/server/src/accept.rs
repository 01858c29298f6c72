//! The listener: every TCP connection starts here.
//!
//! WebSocket upgrades to `/v1/ws` (nearly all connections) are answered
//! directly: the request head is read, authenticated, answered with 101, and
//! the socket goes to a session with nothing else attached to it, which
//! keeps an idle connection small. Every other request is replayed into
//! hyper, which serves the axum router (including `/v1/ws` upgrades that
//! arrive on a reused keep-alive connection).

mod backoff;
pub mod head;
mod peers;

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, Version};
use bytes::{Buf, Bytes, BytesMut};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use self::backoff::AcceptBackoff;
use self::head::Verdict;
use self::peers::{PeerLimits, Slot};
use crate::app::AppError;
use crate::refusals;
use crate::state::AppState;
use crate::ws;
use crate::ws::handshake::{self, Refusal};

/// What a listener serves.
#[derive(Debug, Clone)]
pub struct Service {
    pub router: Router,
    /// Whether WebSocket upgrades to `/v1/ws` are answered before the
    /// router (the main listener); the metrics listener has none.
    pub websockets: bool,
}

/// Accepts connections until shutdown begins. Each source address may hold
/// `max_connections_per_ip` connections at once; one more is answered 503
/// and closed. When accepting fails (out of file descriptors, mostly) the
/// loop waits, longer after each failure, and logs once per episode.
pub async fn serve(listener: TcpListener, state: AppState, service: Service) {
    let limits = PeerLimits::new(state.config.max_connections_per_ip);
    let mut backoff = AcceptBackoff::default();
    loop {
        let accepted = tokio::select! {
            () = state.cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                if let Some(failures) = backoff.succeeded() {
                    tracing::warn!(failures, "accepting connections again");
                }
                let task = state.tracker.clone();
                match limits.admit(peer.ip()) {
                    Some(slot) => task.spawn(connection(
                        stream,
                        slot,
                        peer,
                        state.clone(),
                        service.clone(),
                    )),
                    None => task.spawn(refuse_crowded(stream, state.clone())),
                };
            }
            Err(error) => {
                let wait = backoff.failed();
                if backoff.is_new_episode() {
                    tracing::warn!(%error, "accept failed; retrying with backoff, logged again when accepting resumes");
                }
                tokio::select! {
                    () = state.cancel.cancelled() => break,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

/// A connection over its address's cap: told so (`unavailable`, 503) and
/// closed without reading anything.
async fn refuse_crowded(mut stream: TcpStream, state: AppState) {
    tracing::debug!("refused a connection: too many from its address");
    let refusal = AppError::Unavailable("too many connections from this address");
    let _ = tokio::time::timeout(state.config.head_timeout(), respond(&mut stream, &refusal)).await;
}

enum Head {
    /// A WebSocket upgrade for `/v1/ws`.
    Upgrade {
        version: Version,
        headers: HeaderMap,
        /// The request target's query (a WebSocket ticket rides there).
        query: Option<String>,
        rest: Bytes,
    },
    /// Anything else: hyper gets the bytes read so far.
    Http(Bytes),
}

/// The task of one connection until it is known what it is: a WebSocket
/// gets a task of its own for its session (see `ws::start_session`), and
/// this one ends.
async fn connection(
    mut stream: TcpStream,
    slot: Slot,
    peer: SocketAddr,
    state: AppState,
    service: Service,
) {
    let _ = stream.set_nodelay(true);
    if !service.websockets {
        let socket = ClientSocket::new(stream, Bytes::new(), slot);
        return Box::pin(http(socket, peer, state, service.router)).await;
    }
    let read = tokio::time::timeout(state.config.head_timeout(), read_head(&mut stream));
    let head = match Box::pin(read).await {
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
        Head::Upgrade {
            version,
            headers,
            query,
            rest,
        } => {
            let socket = ClientSocket::new(stream, rest, slot);
            upgrade(socket, version, headers, query, state).await;
        }
        Head::Http(buffered) => {
            let socket = ClientSocket::new(stream, buffered, slot);
            Box::pin(http(socket, peer, state, service.router)).await;
        }
    }
}

/// Reads until the request head is complete. `None`: the client went away.
async fn read_head(stream: &mut TcpStream) -> io::Result<Option<Head>> {
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(None);
        }
        match head::parse(&buf) {
            Verdict::Partial => continue,
            Verdict::Http => return Ok(Some(Head::Http(buf.freeze()))),
            Verdict::Upgrade {
                version,
                headers,
                query,
                head_len,
            } => {
                return Ok(Some(Head::Upgrade {
                    version,
                    headers,
                    query,
                    // A copy: the head's buffer is not kept for the session's life.
                    rest: Bytes::copy_from_slice(&buf[head_len..]),
                }));
            }
            Verdict::Invalid(reason) => {
                return Err(io::Error::new(io::ErrorKind::InvalidData, reason));
            }
        }
    }
}

async fn upgrade(
    mut socket: ClientSocket,
    version: Version,
    headers: HeaderMap,
    query: Option<String>,
    state: AppState,
) {
    match handshake::decide(&state, version, &headers, query.as_deref()).await {
        Ok(accepted) => {
            if switch_protocols(&mut socket, &accepted.accept_key)
                .await
                .is_ok()
            {
                ws::start_session(socket, accepted.who, &state).await;
            }
        }
        Err(Refusal::InBand { accept_key, error }) => {
            if switch_protocols(&mut socket, &accept_key).await.is_ok() {
                ws::refusal::refuse(socket, &error).await;
            }
        }
        Err(Refusal::Http(refusal)) => {
            let _ = respond(&mut socket, &refusal).await;
        }
    }
}

/// Answers 101: the connection speaks WebSocket from here on.
async fn switch_protocols(socket: &mut ClientSocket, accept_key: &str) -> io::Result<()> {
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept_key}\r\n\r\n"
    );
    socket.write_all(response.as_bytes()).await
}

/// Answers a refused request with the error's status and body, and closes.
async fn respond(stream: &mut (impl AsyncWrite + Unpin), error: &AppError) -> io::Result<()> {
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

/// Serves the connection with hyper; handlers see the client's address as
/// `ConnectInfo<SocketAddr>`.
async fn http(socket: ClientSocket, peer: SocketAddr, state: AppState, router: Router) {
    let io = TokioIo::new(socket);
    let router = router.map_request(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.head_timeout())
        .serve_connection(io, TowerToHyperService::new(router))
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

/// A client's socket for the rest of its life: it first yields the bytes
/// already read from it (the request head, or what followed an upgrade
/// request), and holds the connection's slot under its address's cap until
/// it closes.
struct ClientSocket {
    prefix: Bytes,
    inner: TcpStream,
    _slot: Slot,
}

impl ClientSocket {
    fn new(inner: TcpStream, prefix: Bytes, slot: Slot) -> Self {
        Self {
            prefix,
            inner,
            _slot: slot,
        }
    }
}

impl AsyncRead for ClientSocket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            if self.prefix.is_empty() {
                // Let go of the buffer it was cut from.
                self.prefix = Bytes::new();
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClientSocket {
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
