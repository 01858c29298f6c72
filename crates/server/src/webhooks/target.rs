//! Where a webhook posts: its URL parsed (only `http` and `https`, no
//! credentials in it), and the addresses it may reach. Unless private
//! addresses are allowed, a URL whose host is or resolves to an internal
//! address (`switchboard_core::webhooks::is_internal`) is refused at
//! creation, and each delivery connects only to addresses that pass the
//! same check (resolved again then: DNS can change).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hyper::Uri;
use switchboard_core::webhooks::is_internal;

/// The longest URL accepted.
pub const MAX_URL_BYTES: usize = 2048;
/// How long resolving a host may take at creation.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A webhook's URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// The host as written (an IPv6 literal without its brackets).
    pub host: String,
    pub port: u16,
    /// The `Host` header: the authority as written.
    pub authority: String,
    pub path_and_query: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the webhook url is not a valid absolute http or https url")]
    Malformed,
    #[error("the webhook url must use http or https")]
    Scheme,
    #[error("the webhook url may not carry credentials")]
    Credentials,
    #[error("the webhook url is longer than 2048 bytes")]
    TooLong,
    #[error(
        "the webhook url's host is or resolves to a private, loopback, link-local or other \
         internal address, which webhooks may not reach (SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE)"
    )]
    Internal,
}

impl Target {
    pub fn parse(url: &str) -> Result<Self, TargetError> {
        if url.len() > MAX_URL_BYTES {
            return Err(TargetError::TooLong);
        }
        let uri: Uri = url.parse().map_err(|_| TargetError::Malformed)?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            Some(_) => return Err(TargetError::Scheme),
            None => return Err(TargetError::Malformed),
        };
        let authority = uri.authority().ok_or(TargetError::Malformed)?;
        if authority.as_str().contains('@') {
            return Err(TargetError::Credentials);
        }
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(TargetError::Malformed);
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path_and_query = uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        Ok(Self {
            https,
            host: host.to_ascii_lowercase(),
            port,
            authority: authority.as_str().to_owned(),
            path_and_query,
        })
    }

    /// The host as an address, when it is one.
    pub fn literal(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// The addresses a delivery may connect to now: the host resolved,
    /// internal ones left out unless `allow_private`. Empty: none.
    pub async fn reachable(&self, allow_private: bool) -> std::io::Result<Vec<SocketAddr>> {
        let resolved: Vec<SocketAddr> = match self.literal() {
            Some(ip) => vec![SocketAddr::new(ip, self.port)],
            None => tokio::net::lookup_host((self.host.as_str(), self.port))
                .await?
                .collect(),
        };
        Ok(resolved
            .into_iter()
            .filter(|addr| allow_private || !is_internal(addr.ip()))
            .collect())
    }

    /// The check at creation: refused when the host is an internal
    /// address or resolves to one (any of its addresses). A name that does
    /// not resolve now is accepted; each delivery checks again.
    pub async fn check(&self, allow_private: bool) -> Result<(), TargetError> {
        if allow_private {
            return Ok(());
        }
        if let Some(ip) = self.literal() {
            return if is_internal(ip) {
                Err(TargetError::Internal)
            } else {
                Ok(())
            };
        }
        if is_local_name(&self.host) {
            return Err(TargetError::Internal);
        }
        let lookup = tokio::net::lookup_host((self.host.as_str(), self.port));
        match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
            Ok(Ok(addrs)) => {
                let addrs: Vec<_> = addrs.collect();
                if addrs.iter().any(|a| is_internal(a.ip())) {
                    Err(TargetError::Internal)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }
}

/// Names that mean this machine whatever DNS says.
fn is_local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host == "localhost" || host.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_to_their_parts() {
        let t = Target::parse("https://Hooks.Example.com/in?x=1").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path_and_query.as_str()),
            (true, "hooks.example.com", 443, "/in?x=1")
        );
        let t = Target::parse("http://[::1]:8080").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path_and_query.as_str()),
            ("::1", 8080, "/")
        );
        assert_eq!(t.authority, "[::1]:8080");
        assert_eq!(Target::parse("ftp://a.example/"), Err(TargetError::Scheme));
        assert_eq!(Target::parse("/relative"), Err(TargetError::Malformed));
        assert_eq!(Target::parse("not a url"), Err(TargetError::Malformed));
        assert_eq!(
            Target::parse("https://user:pw@a.example/"),
            Err(TargetError::Credentials)
        );
    }

    #[tokio::test]
    async fn internal_hosts_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1/",
            "http://10.1.2.3/",
            "http://[::1]/",
            "http://localhost:9/",
            "http://169.254.169.254/latest",
        ] {
            let target = Target::parse(url).unwrap();
            assert_eq!(
                target.check(false).await,
                Err(TargetError::Internal),
                "{url}"
            );
            assert_eq!(target.check(true).await, Ok(()), "{url}");
        }
        let public = Target::parse("https://8.8.8.8/").unwrap();
        assert_eq!(public.check(false).await, Ok(()));
        assert!(public.reachable(false).await.unwrap().len() == 1);
        let local = Target::parse("http://127.0.0.1:9/").unwrap();
        assert!(local.reachable(false).await.unwrap().is_empty());
        assert_eq!(local.reachable(true).await.unwrap().len(), 1);
    }
}
