//! Mail (docs/PEOPLE.md, "Invitations"): what an invitation's letter says
//! (`letter`), how a mail leaves (`transport`: SMTP through lettre, or an
//! `.eml` file in a directory when no SMTP server is configured), and the
//! sender task that empties the store's durable outbox (`sender`).
//!
//! Use cases only compose letters and queue them in the store; the sender,
//! started with the server, is the one that talks to a mail server. This
//! module must not depend on the application layer.

mod letter;
mod sender;
mod transport;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

pub use letter::{InvitationLetter, escape_html};
pub use sender::Sender;
pub use transport::{MailError, Outgoing};

/// Where mail goes and how invitations read; shared by `serve` and
/// `invite`.
#[derive(Debug, Clone, Args)]
pub struct MailArgs {
    /// The SMTP server: `smtp://host:port` (plain), `smtps://host:port`
    /// (TLS), `smtp://user:pass@host:port?tls=starttls` (STARTTLS
    /// required). Unset: each mail is written as an `.eml` file to the mail
    /// directory, and invitation links are logged.
    #[arg(long, env = "SWITCHBOARD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Where mails are written when no SMTP server is configured.
    #[arg(long, env = "SWITCHBOARD_MAIL_DIR", default_value = "./mail-outbox")]
    pub mail_dir: PathBuf,
    /// The sender of every mail, `Name <address>` or `address`.
    #[arg(
        long,
        env = "SWITCHBOARD_MAIL_FROM",
        default_value = "Switchboard <no-reply@localhost>"
    )]
    pub mail_from: String,
    /// The address people reach the console at, for links in mails
    /// (`https://inbox.example.com`). Unset: `http://` and the listen
    /// address.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How long an invitation's link works.
    #[arg(
        long,
        env = "SWITCHBOARD_INVITATION_TTL_HOURS",
        default_value_t = 168,
        value_parser = clap::value_parser!(u64).range(1..=8760)
    )]
    pub invitation_ttl_hours: u64,
    /// How long a mail waits after its first failed try; each further try
    /// waits twice as long as the one before (at most an hour).
    #[arg(
        long,
        env = "SWITCHBOARD_MAIL_RETRY_BASE_MS",
        default_value_t = 30_000,
        value_parser = clap::value_parser!(u64).range(10..)
    )]
    pub mail_retry_base_ms: u64,
    /// Tries of one mail before it is marked `failed`.
    #[arg(
        long,
        env = "SWITCHBOARD_MAIL_MAX_ATTEMPTS",
        default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..=100)
    )]
    pub mail_max_attempts: u32,
    /// How often the server looks for mail to send.
    #[arg(
        long,
        env = "SWITCHBOARD_MAIL_POLL_MS",
        default_value_t = 1_000,
        value_parser = clap::value_parser!(u64).range(10..=60_000)
    )]
    pub mail_poll_ms: u64,
    /// How long one SMTP conversation may take, from connecting to the
    /// server's answer to the data; longer is a failed try. At most a
    /// minute, well within the two minutes a node's claim on a mail lasts.
    #[arg(
        long,
        env = "SWITCHBOARD_SMTP_TIMEOUT_MS",
        default_value_t = 20_000,
        value_parser = clap::value_parser!(u64).range(100..=60_000)
    )]
    pub smtp_timeout_ms: u64,
}

/// What composing an invitation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationSettings {
    /// Links are this, `/accept?token=`, and the token.
    pub public_url: String,
    /// The `From` of every mail.
    pub from: String,
    /// How long a link works.
    pub ttl: Duration,
    /// No SMTP server is configured: links are logged (and printed by the
    /// command line).
    pub links_logged: bool,
}

impl Default for InvitationSettings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            from: "Switchboard <no-reply@localhost>".into(),
            ttl: Duration::from_secs(168 * 3600),
            links_logged: true,
        }
    }
}

impl InvitationSettings {
    /// The link that accepts the invitation of `token`.
    pub fn link(&self, token: &str) -> String {
        format!(
            "{}/accept?token={token}",
            self.public_url.trim_end_matches('/')
        )
    }
}

impl MailArgs {
    /// The settings of invitations made on a server listening at `listen`.
    pub fn invitations(&self, listen: &str) -> InvitationSettings {
        InvitationSettings {
            public_url: self
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{listen}")),
            from: self.mail_from.clone(),
            ttl: Duration::from_secs(self.invitation_ttl_hours.saturating_mul(3600)),
            links_logged: self.smtp_url.is_none(),
        }
    }

    /// The same, for a server bound to `addr`.
    pub fn invitations_at(&self, addr: SocketAddr) -> InvitationSettings {
        self.invitations(&addr.to_string())
    }

    /// How mail leaves this process; a malformed SMTP URL or sender is
    /// refused here, at start.
    pub fn outgoing(&self) -> Result<Outgoing, MailError> {
        let timeout = Duration::from_millis(self.smtp_timeout_ms);
        Outgoing::new(
            self.smtp_url.as_deref(),
            &self.mail_dir,
            &self.mail_from,
            timeout,
        )
    }

    pub fn retry_base(&self) -> Duration {
        Duration::from_millis(self.mail_retry_base_ms)
    }

    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.mail_poll_ms)
    }
}
