//! How a mail leaves: through an SMTP server (lettre, with TLS or
//! STARTTLS as the URL says), or, without one, as an `.eml` file in a
//! directory (the embedded default works with no mail server).

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::address::{Address, Envelope};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the SMTP URL is not usable: {0}")]
    Url(String),
    #[error("the {what} is not a mail address: {detail}")]
    Address { what: &'static str, detail: String },
    #[error("the mail could not be composed: {0}")]
    Compose(String),
}

impl MailError {
    pub(super) fn address<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Self {
        move |error| Self::Address {
            what,
            detail: error.to_string(),
        }
    }
}

/// Where mail goes.
#[derive(Clone)]
pub enum Outgoing {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        /// How long one conversation may take (`SWITCHBOARD_SMTP_TIMEOUT_MS`).
        timeout: Duration,
        /// The envelope's sender.
        from: Address,
        /// The URL without its password, for logs.
        shown: String,
    },
    Directory(PathBuf),
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp { shown, .. } => write!(f, "Smtp({shown})"),
            Self::Directory(dir) => write!(f, "Directory({})", dir.display()),
        }
    }
}

impl Outgoing {
    pub fn new(
        smtp_url: Option<&str>,
        dir: &Path,
        from: &str,
        timeout: Duration,
    ) -> Result<Self, MailError> {
        let sender: Mailbox = from.parse().map_err(MailError::address("sender"))?;
        let Some(url) = smtp_url else {
            return Ok(Self::Directory(dir.to_owned()));
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url(url))
            .map_err(|error| MailError::Url(error.to_string()))?
            .timeout(Some(timeout))
            .build();
        Ok(Self::Smtp {
            transport: Box::new(transport),
            timeout,
            from: sender.email,
            shown: without_password(url),
        })
    }

    /// Sends `message` (RFC 5322, as composed) to `recipient`; `name` names
    /// the file in a mail directory. The error is for the outbox's
    /// `last_error` and the logs (never a password).
    pub async fn send(&self, name: &str, recipient: &str, message: &str) -> Result<(), String> {
        match self {
            Self::Smtp {
                transport,
                from,
                timeout,
                ..
            } => {
                let to: Address = recipient.parse().map_err(|e| format!("recipient: {e}"))?;
                let envelope =
                    Envelope::new(Some(from.clone()), vec![to]).map_err(|e| e.to_string())?;
                // lettre bounds only the connection; the whole conversation
                // is bounded here.
                let sent = transport.send_raw(&envelope, message.as_bytes());
                match tokio::time::timeout(*timeout, sent).await {
                    Ok(sent) => sent.map(drop).map_err(|error| error.to_string()),
                    Err(_) => Err(format!(
                        "the SMTP server did not finish within {} ms",
                        timeout.as_millis()
                    )),
                }
            }
            Self::Directory(dir) => write_eml(dir, name, message).await,
        }
    }

    pub fn is_smtp(&self) -> bool {
        matches!(self, Self::Smtp { .. })
    }
}

/// The spelling of STARTTLS (`tls=starttls`) as lettre reads it
/// (`tls=required`: the upgrade must succeed).
fn lettre_url(url: &str) -> String {
    url.replace("tls=starttls", "tls=required")
}

/// The URL as logs may show it.
fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Writes the mail whole or not at all: a temporary file renamed.
async fn write_eml(dir: &Path, name: &str, message: &str) -> Result<(), String> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let path = dir.join(format!("{name}.eml"));
    let partial = dir.join(format!(".{name}.eml.partial"));
    tokio::fs::write(&partial, message)
        .await
        .map_err(|e| format!("writing {}: {e}", partial.display()))?;
    tokio::fs::rename(&partial, &path)
        .await
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn smtp_urls_of_every_kind_are_understood() {
        let dir = Path::new("unused");
        for url in [
            "smtp://127.0.0.1:2525",
            "smtps://mail.example.com",
            "smtp://user:secret@mail.example.com:587?tls=starttls",
        ] {
            let outgoing = Outgoing::new(Some(url), dir, "no-reply@example.com", SECOND).unwrap();
            assert!(outgoing.is_smtp(), "{url}");
            assert!(!format!("{outgoing:?}").contains("secret"), "{outgoing:?}");
        }
        assert!(Outgoing::new(Some("http://x"), dir, "a@b.c", SECOND).is_err());
        assert!(Outgoing::new(None, dir, "not an address", SECOND).is_err());
        assert!(!Outgoing::new(None, dir, "a@b.c", SECOND).unwrap().is_smtp());
    }

    #[tokio::test]
    async fn without_smtp_each_mail_is_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let outgoing = Outgoing::new(None, dir.path(), "a@b.c", SECOND).unwrap();
        outgoing
            .send("m1", "x@y.z", "Subject: hi\r\n\r\nbody")
            .await
            .unwrap();
        let written = std::fs::read_to_string(dir.path().join("m1.eml")).unwrap();
        assert!(written.contains("body"));
    }
}
