//! Ports for servers that must be restarted on the same port (a Redis
//! killed and started again, a node the others reconnect to).

use std::sync::atomic::{AtomicU16, Ordering};

/// A free port on loopback below the ephemeral range (32768 and up here):
/// a client reconnecting to a dead server on an ephemeral port can be
/// handed that very port as its own, and connect to itself. Each process
/// starts at its own offset (from its pid) so parallel test binaries rarely
/// probe the same ports.
pub fn free_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        23_000 + (std::process::id() % 200) as u16 * 40,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let port = NEXT.fetch_add(1, Ordering::SeqCst);
        assert!(port < 32_000, "no free port left");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_bindable_and_below_the_ephemeral_range() {
        let a = free_port();
        let b = free_port();
        assert_ne!(a, b);
        assert!(a < 32_768 && b < 32_768);
        std::net::TcpListener::bind(("127.0.0.1", b)).unwrap();
    }
}
