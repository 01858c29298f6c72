//! Web origins, as browsers send them in `Origin` and as operators list
//! them in `SWITCHBOARD_ALLOWED_ORIGINS`: parsed and compared by scheme,
//! host and port. A leaf: the configuration checks its allow-list with it
//! at start, and the WebSocket handshake judges each request with it.

use axum::http::Uri;
use axum::http::uri::Authority;

/// A web origin: scheme (`http` or `https`), host, and port (the scheme's
/// default when not written), all compared exactly.
#[derive(Debug, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// `scheme://host[:port]` (a trailing `/` tolerated). Any other scheme
    /// (`javascript:`, `file:`, ...), `null`, a path or credentials: `None`.
    pub fn parse(value: &str) -> Option<Self> {
        let uri: Uri = value.trim().parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default_port = default_port(&scheme)?;
        let authority = uri.authority()?;
        let plain = matches!(uri.path(), "" | "/") && uri.query().is_none();
        if !plain || authority.as_str().contains('@') {
            return None;
        }
        Some(Self {
            host: authority.host().to_ascii_lowercase(),
            port: authority.port_u16().unwrap_or(default_port),
            scheme,
        })
    }

    /// Whether this is the origin of the server the request was sent to:
    /// same host and port as its Host header (a Host without a port means
    /// the origin scheme's default). Both schemes count, since the same
    /// Host is `https` behind a TLS-terminating proxy and `http` without.
    pub fn is_host(&self, host: &str) -> bool {
        let Ok(host) = host.trim().parse::<Authority>() else {
            return false;
        };
        let port = host.port_u16().or_else(|| default_port(&self.scheme));
        host.host().eq_ignore_ascii_case(&self.host) && port == Some(self.port)
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// Checks the configured allow-list: `*`, or origins `http(s)://host[:port]`
/// (empty entries, as an empty variable gives, allow nothing).
pub fn check_allowed_origins(allowed: &[String]) -> Result<(), String> {
    match allowed
        .iter()
        .find(|a| !matches!(a.trim(), "" | "*") && Origin::parse(a).is_none())
    {
        Some(bad) => Err(format!(
            "allowed origin {bad:?} is not * or scheme://host[:port] with scheme http or https"
        )),
        None => Ok(()),
    }
}
