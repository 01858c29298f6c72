//! The server's secret key, which seals what the store must keep but never
//! hold in the clear (TOTP secrets): XChaCha20-Poly1305, a random 192-bit
//! nonce per sealing, and the owner's id as associated data, so a sealed
//! value moved to another row does not open.
//!
//! The key is 32 bytes, given as `SWITCHBOARD_SECRET_KEY` in hex (64
//! characters) or base64; in embedded mode without one, a key file is made
//! beside the database on first start (owner-only, 0600) and read from then
//! on. A cluster's nodes must share the key, so Postgres mode without one
//! refuses to start (see `startup`).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

/// Sealed values start with this: the format's version.
const SEALED_PREFIX: &str = "v1:";
const NONCE_BYTES: usize = 24;

/// A 32-byte key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct SecretKey {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error(
        "the secret key must be 32 bytes, written as 64 hex characters or in base64 \
         (e.g. the output of `openssl rand -hex 32`)"
    )]
    Malformed,
    #[error("the key file {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

/// A sealed value that does not open: another key, another owner, or
/// altered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a sealed value does not open with this key")]
pub struct Unsealable;

impl SecretKey {
    fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&Key::from(bytes)),
        }
    }

    /// A new random key, and its text (hex) to keep.
    pub fn generate() -> (Self, String) {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        (Self::from_bytes(bytes), hex::encode(bytes))
    }

    /// Parses a key written in hex (64 characters) or base64 (standard or
    /// URL-safe, padded or not); surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).ok()
        } else {
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
        };
        let bytes: [u8; 32] = decoded
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(KeyError::Malformed)?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key in the file at `path`, made (random, readable by the owner
    /// only) when there is none. Returns whether it was made.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        let failed = |reason: String| KeyError::File {
            path: path.to_owned(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::parse(&text).map(|key| (key, false)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(failed(error.to_string())),
        }
        // Written whole beside it, then linked into place only if no key is
        // there yet: a crash leaves no empty key file, and of two processes
        // starting at once, one key wins and both use it.
        let (key, text) = Self::generate();
        let mut draft = path.as_os_str().to_owned();
        draft.push(format!(".{}.draft", std::process::id()));
        let draft = std::path::PathBuf::from(draft);
        let _ = std::fs::remove_file(&draft);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&draft).and_then(|mut file| {
            file.write_all(format!("{text}\n").as_bytes())?;
            file.sync_all()
        });
        let placed = written.and_then(|()| std::fs::hard_link(&draft, path));
        let _ = std::fs::remove_file(&draft);
        match placed {
            Ok(()) => Ok((key, true)),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
                Self::parse(&text).map(|key| (key, false))
            }
            Err(error) => Err(failed(error.to_string())),
        }
    }

    /// Seals `plain` for `owner` (bound to it as associated data): text
    /// to store.
    pub fn seal(&self, plain: &[u8], owner: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::fill(&mut nonce);
        let payload = Payload {
            msg: plain,
            aad: owner,
        };
        // Encryption fails only for inputs of gigabytes.
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), payload)
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{SEALED_PREFIX}{}", STANDARD_NO_PAD.encode(out))
    }

    /// Opens what `seal` made for the same owner with the same key.
    pub fn open(&self, sealed: &str, owner: &[u8]) -> Result<Vec<u8>, Unsealable> {
        let bytes = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|text| STANDARD_NO_PAD.decode(text).ok())
            .filter(|bytes| bytes.len() > NONCE_BYTES)
            .ok_or(Unsealable)?;
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| Unsealable)?;
        let payload = Payload {
            msg: sealed,
            aad: owner,
        };
        self.cipher
            .decrypt(&XNonce::from(nonce), payload)
            .map_err(|_| Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_from_hex_and_base64_and_nothing_else() {
        let bytes = [7u8; 32];
        let hex = hex::encode(bytes);
        let b64 = STANDARD.encode(bytes);
        let sealed = SecretKey::parse(&hex).unwrap().seal(b"x", b"o");
        for text in [
            hex.clone(),
            format!(" {hex}\n"),
            b64,
            URL_SAFE_NO_PAD.encode(bytes),
        ] {
            let key = SecretKey::parse(&text).unwrap();
            assert_eq!(key.open(&sealed, b"o").unwrap(), b"x", "{text}");
        }
        for bad in ["", "abc", &hex[..62], &STANDARD.encode([1u8; 16])] {
            assert_eq!(SecretKey::parse(bad).unwrap_err(), KeyError::Malformed);
        }
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_owner() {
        let (key, _) = SecretKey::generate();
        let (other, _) = SecretKey::generate();
        let sealed = key.seal(b"totp secret", b"ann");
        assert!(!sealed.contains("totp"));
        assert_ne!(sealed, key.seal(b"totp secret", b"ann"), "a fresh nonce");
        assert_eq!(key.open(&sealed, b"ann").unwrap(), b"totp secret");
        assert_eq!(key.open(&sealed, b"bob"), Err(Unsealable));
        assert_eq!(other.open(&sealed, b"ann"), Err(Unsealable));
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(key.open(&altered, b"ann"), Err(Unsealable));
        assert_eq!(key.open("garbage", b"ann"), Err(Unsealable));
    }

    #[test]
    fn the_key_file_is_made_once_for_the_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.db.secret-key");
        let (made, created) = SecretKey::load_or_create(&path).unwrap();
        assert!(created);
        let (read, created) = SecretKey::load_or_create(&path).unwrap();
        assert!(!created);
        let sealed = made.seal(b"s", b"o");
        assert_eq!(read.open(&sealed, b"o").unwrap(), b"s");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
