//! The signature of a delivery: `Switchboard-Signature: t=<unix
//! seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the webhook's
//! secret>`. The time is inside what is signed, so a receiver that also
//! refuses old times refuses replays.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "switchboard-signature";
/// The header carrying the delivery's id (the same on every retry): what a
/// receiver deduplicates by.
pub const DELIVERY_HEADER: &str = "switchboard-delivery";
/// The header carrying the event's name.
pub const EVENT_HEADER: &str = "switchboard-event";

/// The value of [`SIGNATURE_HEADER`] for `body` sent at `unix_seconds`.
pub fn sign(secret: &[u8], unix_seconds: i64, body: &[u8]) -> String {
    format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac(secret, unix_seconds, body))
    )
}

fn mac(secret: &[u8], unix_seconds: i64, body: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("hmac accepts every key length"));
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Whether `header` signs `body` under `secret` (what a receiver does;
/// kept here for the tests and as the reference).
pub fn verify(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let mut time = None;
    let mut given = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => time = t.parse::<i64>().ok(),
            Some(("v1", v)) => given.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(time) = time else { return false };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("hmac accepts every key length"));
    mac.update(time.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    given
        .iter()
        .any(|sig| mac.clone().verify_slice(sig).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_its_body_secret_and_time() {
        let header = sign(b"whsec_test", 1_700_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
        assert!(verify(b"whsec_test", &header, b"{\"a\":1}"));
        assert!(!verify(b"whsec_test", &header, b"{\"a\":2}"));
        assert!(!verify(b"whsec_other", &header, b"{\"a\":1}"));
        let moved = header.replace("t=1700000000", "t=1700000001");
        assert!(!verify(b"whsec_test", &moved, b"{\"a\":1}"));
        assert!(!verify(b"whsec_test", "v1=00", b"{\"a\":1}"));
    }

    #[test]
    fn the_mac_is_hmac_sha256_of_time_dot_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(mac_hex(b"k", 5, b"x"), {
            let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(b"k").unwrap();
            m.update(b"5.x");
            hex::encode(m.finalize().into_bytes())
        });
    }

    fn mac_hex(secret: &[u8], t: i64, body: &[u8]) -> String {
        hex::encode(mac(secret, t, body))
    }
}
