//! A TCP proxy a test controls, put between a server and what it depends on
//! (PostgreSQL, Redis) to cut the link and heal it while both ends keep
//! running: a lost network, not a dead process.
//!
//! It keeps listening while cut and closes every connection it accepts
//! then, so the address never goes free (a client retrying a free
//! ephemeral port can be handed that very port as its own and connect to
//! itself) and a client retrying learns at once that the link is down.

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The link's state; `cuts` counts the cuts so that a connection opened
/// before one ends even when the link healed before it looked.
#[derive(Debug, Clone, Copy)]
struct Link {
    up: bool,
    cuts: u64,
}

/// A proxy on `127.0.0.1:0` forwarding to one target. Dropping it closes
/// every connection through it.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    url: String,
    link: watch::Sender<Link>,
    accepting: JoinHandle<()>,
}

/// `url`'s authority (`host:port`, after any `user@`) and the URL with it
/// replaced by `replacement`.
fn split_authority(url: &str, replacement: &str) -> anyhow::Result<(String, String)> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("{url} is not a url"))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (user, host) = match authority.rsplit_once('@') {
        Some((user, host)) => (format!("{user}@"), host),
        None => (String::new(), authority),
    };
    if !host.contains(':') {
        anyhow::bail!("{url} does not name its port");
    }
    Ok((
        host.to_owned(),
        format!("{scheme}://{user}{replacement}{tail}"),
    ))
}

impl TcpProxy {
    /// A proxy to the server `url` names (`postgres://u@host:port/db`,
    /// `redis://host:port`); [`TcpProxy::url`] is the same URL through it.
    pub async fn in_front_of(url: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind the proxy")?;
        let addr = listener.local_addr()?;
        let (target, through) = split_authority(url, &addr.to_string())?;
        let (link, _) = watch::channel(Link { up: true, cuts: 0 });
        let accepting = tokio::spawn(accept(listener, target, link.clone()));
        Ok(Self {
            addr,
            url: through,
            link,
            accepting,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The target's URL with the proxy's address in its place.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Drops every connection through the proxy and closes every new one
    /// as soon as it is accepted, until [`TcpProxy::heal`].
    pub fn cut(&self) {
        self.link.send_modify(|link| {
            link.up = false;
            link.cuts += 1;
        });
    }

    /// Forwards new connections again.
    pub fn heal(&self) {
        self.link.send_modify(|link| link.up = true);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

async fn accept(listener: TcpListener, target: String, link: watch::Sender<Link>) {
    while let Ok((inbound, _)) = listener.accept().await {
        let state = *link.borrow();
        if state.up {
            tokio::spawn(forward(
                inbound,
                target.clone(),
                state.cuts,
                link.subscribe(),
            ));
        }
    }
}

/// Copies both ways until either side closes or the link is cut after
/// `cuts` cuts.
async fn forward(
    mut inbound: TcpStream,
    target: String,
    cuts: u64,
    mut link: watch::Receiver<Link>,
) {
    let Ok(mut outbound) = TcpStream::connect(&target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
        _ = link.wait_for(|link| link.cuts != cuts) => {}
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn urls_get_the_proxys_address() {
        let split = |url| split_authority(url, "127.0.0.1:9").unwrap();
        assert_eq!(
            split("postgres://postgres@127.0.0.1:5432/sb_x?sslmode=disable"),
            (
                "127.0.0.1:5432".to_owned(),
                "postgres://postgres@127.0.0.1:9/sb_x?sslmode=disable".to_owned()
            )
        );
        assert_eq!(
            split("redis://127.0.0.1:6379"),
            (
                "127.0.0.1:6379".to_owned(),
                "redis://127.0.0.1:9".to_owned()
            )
        );
        assert!(split_authority("redis://localhost", "x").is_err());
        assert!(split_authority("nonsense", "x").is_err());
    }

    /// An echo server's URL.
    async fn echo() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("tcp://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = socket.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        url
    }

    /// Whether a round trip through `socket` comes back (an answer, or the
    /// end of the connection, within ten seconds).
    async fn echoes(socket: &mut TcpStream) -> bool {
        let round_trip = async {
            if socket.write_all(b"ping").await.is_err() {
                return false;
            }
            let mut back = [0u8; 4];
            socket.read_exact(&mut back).await.is_ok() && &back == b"ping"
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), round_trip)
            .await
            .expect("the proxy answers or closes")
    }

    #[tokio::test]
    async fn a_cut_ends_open_connections_and_refuses_new_ones_until_healed() {
        let proxy = TcpProxy::in_front_of(&echo().await).await.unwrap();
        let mut before = TcpStream::connect(proxy.addr()).await.unwrap();
        assert!(echoes(&mut before).await);

        proxy.cut();
        assert!(!echoes(&mut before).await, "the open connection ended");
        let mut during = TcpStream::connect(proxy.addr()).await.unwrap();
        assert!(!echoes(&mut during).await, "a new one is closed at once");

        proxy.heal();
        let mut after = TcpStream::connect(proxy.addr()).await.unwrap();
        assert!(echoes(&mut after).await);
        proxy.cut();
        proxy.heal();
        assert!(
            !echoes(&mut after).await,
            "a cut ends a connection even when healed before it looked"
        );
    }
}
