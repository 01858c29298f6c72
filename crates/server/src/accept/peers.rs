//! The cap on concurrent connections from one IP address: one source cannot
//! take every file descriptor of the process, whatever it sends (or does
//! not send).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

/// Open connections per source address.
#[derive(Debug)]
pub struct PeerLimits {
    max_per_ip: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place under its address's cap, given back when dropped
/// (when the connection, or the WebSocket session it became, ends).
#[derive(Debug)]
pub struct Slot {
    limits: Arc<PeerLimits>,
    ip: IpAddr,
}

impl PeerLimits {
    pub fn new(max_per_ip: usize) -> Arc<Self> {
        Arc::new(Self {
            max_per_ip,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for a new connection from `ip`, or `None` when it has the
    /// most connections allowed already.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut open = self.open.lock();
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max_per_ip {
            return None;
        }
        *count += 1;
        Some(Slot {
            limits: self.clone(),
            ip,
        })
    }

    #[cfg(test)]
    fn open_from(&self, ip: IpAddr) -> usize {
        self.open.lock().get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock();
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_cap_and_slots_come_back() {
        let limits = PeerLimits::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = limits.admit(a).unwrap();
        let _second = limits.admit(a).unwrap();
        assert!(limits.admit(a).is_none(), "a third from the same address");
        let _other = limits.admit(b).expect("another address is not affected");
        drop(first);
        assert_eq!(limits.open_from(a), 1);
        let _again = limits.admit(a).expect("a closed connection frees its slot");
        assert_eq!(limits.open.lock().len(), 2);
    }
}
