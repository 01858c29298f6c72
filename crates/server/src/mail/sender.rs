//! The sender: a task of the server that empties the store's durable
//! outbox. Each round it claims the due mails for a lease (in a cluster,
//! each mail is claimed by one node), sends them, and reports: sent, or
//! failed and tried again after a backoff that doubles, or failed for good
//! after the last try.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::invitations::{ClaimedMail, mail_backoff};
use switchboard_core::ports::Store;
use tokio_util::sync::CancellationToken;

use super::{MailArgs, MailError, Outgoing};

/// How long a claim holds a mail: twice the longest an SMTP conversation
/// may take (`SWITCHBOARD_SMTP_TIMEOUT_MS`, at most a minute), so that no
/// other node sends it meanwhile.
const LEASE: Duration = Duration::from_secs(120);
/// Mails sent in one round, at most. Each is claimed just before it is
/// sent, so a round of slow sends never outlives a claim.
const ROUND: u32 = 16;
/// The longest wait between two tries of one mail.
const BACKOFF_CAP: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct Sender {
    store: Arc<dyn Store>,
    outgoing: Outgoing,
    retry_base: Duration,
    max_attempts: u32,
    poll: Duration,
}

impl Sender {
    pub fn new(store: Arc<dyn Store>, args: &MailArgs) -> Result<Self, MailError> {
        Ok(Self {
            store,
            outgoing: args.outgoing()?,
            retry_base: args.retry_base(),
            max_attempts: args.mail_max_attempts,
            poll: args.poll(),
        })
    }

    /// Sends until `cancel`; a mail under way is finished first.
    pub async fn run(self, cancel: CancellationToken) {
        tracing::info!(outgoing = ?self.outgoing, "mail sender started");
        let mut tick = tokio::time::interval(self.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = tick.tick() => self.round().await,
            }
        }
    }

    /// Claims what is due, one mail at a time, and sends it.
    pub async fn round(&self) {
        for _ in 0..ROUND {
            let claimed = match self.store.claim_mails(LEASE, 1).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "could not read the mail outbox");
                    return;
                }
            };
            let Some(mail) = claimed.into_iter().next() else {
                return;
            };
            self.deliver(mail).await;
        }
    }

    async fn deliver(&self, mail: ClaimedMail) {
        let name = mail.id.to_string();
        let outcome = self
            .outgoing
            .send(&name, &mail.recipient, &mail.message)
            .await;
        let reported = match &outcome {
            Ok(()) => {
                tracing::info!(mail = %mail.id, attempts = mail.attempts, "mail sent");
                self.store.mail_sent(&mail).await
            }
            Err(error) => {
                let retry_in = (mail.attempts < self.max_attempts)
                    .then(|| mail_backoff(self.retry_base, BACKOFF_CAP, mail.attempts));
                tracing::warn!(
                    mail = %mail.id,
                    attempts = mail.attempts,
                    retry_in_ms = retry_in.map(|d| d.as_millis() as u64),
                    %error,
                    "mail not sent"
                );
                let error: String = error.chars().take(500).collect();
                self.store.mail_failed(&mail, &error, retry_in).await
            }
        };
        if let Err(error) = reported {
            // The claim lapses and the mail is tried again: at least once.
            tracing::error!(mail = %mail.id, %error, "could not record a mail's fate");
        }
    }
}
