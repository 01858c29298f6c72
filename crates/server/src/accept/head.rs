//! Reading a request head: what the accept loop decides before anyone else
//! sees the connection. Pure, so that it can be fuzzed: [`parse`] judges the
//! bytes read so far, and the accept loop reads more while it says
//! [`Verdict::Partial`].

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Version};

use crate::ws::handshake;

/// The longest request head accepted.
pub const MAX_HEAD: usize = 16 * 1024;
/// The most headers a head may have before it goes to hyper, which answers
/// it with the right error.
pub const MAX_HEADERS: usize = 48;

/// What the bytes read so far are.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not a whole head yet, and still within [`MAX_HEAD`]: read more.
    Partial,
    /// A WebSocket upgrade for `/v1/ws`, whose head is the first `head_len`
    /// bytes (what follows are the client's first frames).
    Upgrade {
        version: Version,
        headers: HeaderMap,
        /// The request target's query (a WebSocket ticket rides there).
        query: Option<String>,
        head_len: usize,
    },
    /// Anything else: hyper gets the bytes and answers (or refuses) them.
    Http,
    /// Not a request this server reads: answered 400 and closed.
    Invalid(&'static str),
}

/// Judges `buf`, everything the client has sent so far.
pub fn parse(buf: &[u8]) -> Verdict {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buf) {
        // However the reads were cut: a head that ends past the limit is
        // refused even when it arrived whole in one read.
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => len,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Verdict::Partial,
        Ok(_) => return Verdict::Invalid("request head too large"),
        // Too many headers: hyper answers with the right error.
        Err(httparse::Error::TooManyHeaders) => return Verdict::Http,
        Err(_) => return Verdict::Invalid("malformed request head"),
    };
    let target = request.path.unwrap_or("");
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    if request.method != Some(Method::GET.as_str()) || path != "/v1/ws" {
        return Verdict::Http;
    }
    let mut map = HeaderMap::with_capacity(request.headers.len());
    for header in request.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(header.name.as_bytes()),
            HeaderValue::from_bytes(header.value),
        ) else {
            return Verdict::Invalid("bad header");
        };
        map.append(name, value);
    }
    if !handshake::wants_upgrade(&map) {
        return Verdict::Http;
    }
    let version = match request.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    Verdict::Upgrade {
        version,
        headers: map,
        query: query.map(str::to_owned),
        head_len,
    }
}
