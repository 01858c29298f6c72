//! Web origins, as browsers send them in `Origin` and as operators list
//! them in `SWITCHBOARD_ALLOWED_ORIGINS`: parsed and compared by scheme,
//! host and port. A leaf: the configuration checks its allow-list with it
//! at start, and the WebSocket handshake, CORS and the CSRF guard
//! (`http::browser`) judge each request with it.

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

    /// The origin of a URL (a `Referer`): its scheme, host and port,
    /// whatever its path and query. `None` for URLs without an http(s)
    /// origin, or with credentials.
    pub fn of_url(value: &str) -> Option<Self> {
        let uri: Uri = value.trim().parse().ok()?;
        let authority = uri.authority()?;
        if authority.as_str().contains('@') {
            return None;
        }
        Self::parse(&format!("{}://{authority}", uri.scheme_str()?))
    }

    /// Whether the operator listed this origin (`*` lists none: see
    /// [`Origin::is_trusted`]).
    pub fn is_listed(&self, allowed: &[String]) -> bool {
        allowed
            .iter()
            .any(|a| Origin::parse(a).is_some_and(|a| &a == self))
    }

    /// Whether a browser page of this origin may act with a user's cookie
    /// on the server reached as `host`: the server's own origin, or one
    /// listed. `*` does not count here: it would let any site read and
    /// write with the user's credentials (docs/BROWSERS.md).
    pub fn is_trusted(&self, host: Option<&str>, allowed: &[String]) -> bool {
        self.is_listed(allowed) || host.is_some_and(|host| self.is_host(host))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_referers_origin_drops_path_and_query() {
        let page = Origin::of_url("https://app.example/conversations/1?x=2#y");
        assert_eq!(page, Origin::parse("https://app.example"));
        assert_eq!(
            Origin::of_url("http://127.0.0.1:8080/"),
            Origin::parse("http://127.0.0.1:8080")
        );
        for bad in [
            "/relative",
            "https://u:p@app.example/",
            "file:///etc",
            "null",
        ] {
            assert_eq!(Origin::of_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn trusted_means_own_or_listed_and_the_star_lists_nothing() {
        let app = Origin::parse("https://app.example").unwrap();
        let listed = ["https://app.example".to_owned()];
        assert!(app.is_trusted(None, &listed));
        assert!(app.is_trusted(Some("app.example"), &[]));
        assert!(!app.is_trusted(Some("api.example"), &[]));
        assert!(!app.is_trusted(Some("api.example"), &["*".to_owned()]));
        assert!(!app.is_trusted(None, &[]));
    }
}
