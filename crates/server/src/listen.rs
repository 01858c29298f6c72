//! Where a listener binds: `host:port`, with a host name resolved when the
//! server starts (so `localhost:8089` works as well as `127.0.0.1:8089`).

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use tokio::net::TcpListener;

/// A listen address as given: an IP address or a host name, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddr {
    host: String,
    port: u16,
}

impl FromStr for ListenAddr {
    type Err = String;

    /// `HOST:PORT`, where HOST is an IPv4 address, a bracketed IPv6 address
    /// (`[::1]:8080`) or a host name.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let malformed = || {
            format!("{value:?} is not HOST:PORT (e.g. 127.0.0.1:8080, localhost:8080, [::1]:8080)")
        };
        let (host, port) = value.rsplit_once(':').ok_or_else(malformed)?;
        let port = port.parse::<u16>().map_err(|_| malformed())?;
        let host = match host.strip_prefix('[') {
            Some(bracketed) => bracketed.strip_suffix(']').ok_or_else(malformed)?,
            None if host.contains(':') => return Err(malformed()),
            None => host,
        };
        if host.is_empty() {
            return Err(malformed());
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl ListenAddr {
    /// The addresses to try, in order: the address itself, the IPv4
    /// loopback for `localhost` (whatever the resolver says), or what the
    /// system resolver answers for any other name.
    pub async fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, self.port)]);
        }
        if self.host.eq_ignore_ascii_case("localhost") {
            return Ok(vec![SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                self.port,
            )]);
        }
        let found: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await?
            .collect();
        if found.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} resolves to no address", self.host),
            ));
        }
        Ok(found)
    }

    /// Binds the first resolved address that can be bound.
    pub async fn bind(&self) -> io::Result<TcpListener> {
        let mut last = None;
        for addr in self.resolve().await? {
            match TcpListener::bind(addr).await {
                Ok(listener) => return Ok(listener),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address to bind")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_names_parse_and_garbage_is_refused() {
        for good in [
            "127.0.0.1:8080",
            "localhost:8089",
            "[::1]:0",
            "sb.internal:443",
        ] {
            let parsed: ListenAddr = good.parse().unwrap();
            assert_eq!(parsed.to_string(), good);
        }
        for bad in [
            "localhost",
            ":8080",
            "host:99999",
            "::1:8080",
            "[::1:8080",
            "host:port",
        ] {
            let error = bad.parse::<ListenAddr>().unwrap_err();
            assert!(error.contains("HOST:PORT"), "{bad}: {error}");
        }
    }

    #[tokio::test]
    async fn localhost_is_the_loopback_and_binds() {
        let addr: ListenAddr = "localhost:0".parse().unwrap();
        assert_eq!(
            addr.resolve().await.unwrap(),
            ["127.0.0.1:0".parse::<SocketAddr>().unwrap()]
        );
        let listener = addr.bind().await.unwrap();
        assert!(listener.local_addr().unwrap().ip().is_loopback());
    }
}
