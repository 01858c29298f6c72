//! Outbound webhooks (docs/MODULES.md, "Webhooks"): the settings, the
//! rule of which addresses a webhook may reach (`target`), the signature
//! receivers verify (`signature`), the JSON of a delivery (`payload`), the
//! HTTP client that never follows a redirect and checks the address it
//! connects to (`client`), and the sender task that drains the store's
//! outbox (`sender`). The outbox itself is written by the database, in the
//! transaction of each change (migration 0016).

mod client;
mod payload;
mod sender;
pub mod signature;
pub mod target;

use std::time::Duration;

use clap::Args;

pub use sender::Sender;

/// The `SWITCHBOARD_WEBHOOK_*` settings.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Let webhooks reach loopback, private, link-local, unique-local,
    /// shared (CGNAT), unspecified and multicast addresses (for a receiver
    /// on the same machine or network). Off: such a URL is refused, and a
    /// delivery never connects to such an address.
    #[arg(
        long,
        env = "SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE",
        default_value_t = false
    )]
    pub webhook_allow_private: bool,
    /// How long one delivery's request may take, from connecting to the
    /// receiver's status line; longer is a failed try.
    #[arg(
        long,
        env = "SWITCHBOARD_WEBHOOK_TIMEOUT_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(100..=60_000)
    )]
    pub webhook_timeout_ms: u64,
    /// Deliveries a node has under way at once, across all webhooks.
    #[arg(
        long,
        env = "SWITCHBOARD_WEBHOOK_CONCURRENCY",
        default_value_t = 16,
        value_parser = clap::value_parser!(u32).range(1..=256)
    )]
    pub webhook_concurrency: u32,
    /// How long after its event a delivery is still tried; a try that
    /// would come later marks it `failed`.
    #[arg(
        long,
        env = "SWITCHBOARD_WEBHOOK_RETRY_HORIZON_SECS",
        default_value_t = 86_400,
        value_parser = clap::value_parser!(u64).range(1..=604_800)
    )]
    pub webhook_retry_horizon_secs: u64,
    /// The wait after a first failed try; each further one doubles it (at
    /// most an hour), with jitter.
    #[arg(
        long,
        env = "SWITCHBOARD_WEBHOOK_RETRY_BASE_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(10..=3_600_000)
    )]
    pub webhook_retry_base_ms: u64,
    /// How often a node looks for deliveries that are due.
    #[arg(
        long,
        env = "SWITCHBOARD_WEBHOOK_POLL_MS",
        default_value_t = 500,
        value_parser = clap::value_parser!(u64).range(10..=60_000)
    )]
    pub webhook_poll_ms: u64,
}

impl WebhookArgs {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.webhook_timeout_ms)
    }

    pub fn retry_base(&self) -> Duration {
        Duration::from_millis(self.webhook_retry_base_ms)
    }

    pub fn horizon(&self) -> Duration {
        Duration::from_secs(self.webhook_retry_horizon_secs)
    }

    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.webhook_poll_ms)
    }
}
