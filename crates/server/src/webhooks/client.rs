//! The HTTP client of deliveries: one POST per connection, HTTP/1.1, TLS
//! for `https` (the web's public roots), never a redirect followed (a 3xx
//! is a failed try: following it could lead to an address the check
//! refuses). It resolves the host itself and connects only to addresses
//! that pass the check, then checks the address the socket is actually
//! connected to before sending a byte.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use hyper::Request;
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use switchboard_core::webhooks::is_internal;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::target::Target;

/// One request to send.
#[derive(Debug)]
pub struct Post<'a> {
    pub target: &'a Target,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// Sends `post` within `timeout`; the response's status, or why there is
/// none.
pub async fn send(post: Post<'_>, timeout: Duration, allow_private: bool) -> Result<u16, String> {
    match tokio::time::timeout(timeout, exchange(post, allow_private)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    }
}

async fn exchange(post: Post<'_>, allow_private: bool) -> Result<u16, String> {
    let target = post.target;
    let addrs = target
        .reachable(allow_private)
        .await
        .map_err(|error| format!("could not resolve {}: {error}", target.host))?;
    if addrs.is_empty() {
        return Err(format!(
            "{} resolves to no address webhooks may reach",
            target.host
        ));
    }
    let mut last = String::new();
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(error) => last = format!("could not connect to {addr}: {error}"),
        }
    }
    let stream = stream.ok_or(last)?;
    let peer = stream.peer_addr().map_err(|e| e.to_string())?;
    if !allow_private && is_internal(peer.ip()) {
        return Err(format!("refused to send to the internal address {peer}"));
    }
    let _ = stream.set_nodelay(true);
    if target.https {
        let name = ServerName::try_from(target.host.clone())
            .map_err(|_| format!("{} is not a valid tls server name", target.host))?;
        let tls = TlsConnector::from(TLS.clone())
            .connect(name, stream)
            .await
            .map_err(|error| format!("tls: {error}"))?;
        request(tls, post).await
    } else {
        request(stream, post).await
    }
}

async fn request<S>(stream: S, post: Post<'_>) -> Result<u16, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| format!("http: {error}"))?;
    // The connection is driven beside the request and dropped with it.
    let driver = tokio::spawn(connection);
    let mut builder = Request::post(post.target.path_and_query.as_str())
        .header(HOST, post.target.authority.as_str())
        .header(CONTENT_TYPE, "application/json")
        .header(
            USER_AGENT,
            concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in &post.headers {
        builder = builder.header(*name, value.as_str());
    }
    let request = builder.body(post.body).map_err(|error| error.to_string())?;
    let outcome = sender
        .send_request(request)
        .await
        .map(|response| response.status().as_u16())
        .map_err(|error| format!("http: {error}"));
    driver.abort();
    outcome
}

/// The TLS settings of every delivery: the public web roots, ring.
static TLS: LazyLock<Arc<ClientConfig>> = LazyLock::new(|| {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // ring supports the default protocol versions: this cannot fail.
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("ring supports tls 1.2 and 1.3"))
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
});
