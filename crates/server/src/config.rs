//! Configuration: flags, then `SWITCHBOARD_*` environment variables, then
//! defaults (clap resolves them in that order).

use std::time::Duration;

use clap::{Args, ValueEnum};
use switchboard_core::presence::Timing;
use switchboard_core::two_factor::ThrottlePolicy;

use crate::app::AppSettings;
use crate::listen::ListenAddr;

/// Where the data lives; shared by `serve`, `migrate` and the admin commands.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite:<file>`, `sqlite::memory:` or a plain path without ':' or '@'
    /// (embedded), or `postgres://...` (cluster mode); anything else is refused.
    #[arg(
        long,
        env = "SWITCHBOARD_DATABASE_URL",
        default_value = "sqlite:switchboard.db"
    )]
    pub database_url: String,
    /// The most database connections this process opens.
    #[arg(long, env = "SWITCHBOARD_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// How long a request waits for a database connection before `unavailable`.
    #[arg(
        long,
        env = "SWITCHBOARD_DB_ACQUIRE_TIMEOUT_MS",
        default_value_t = 5_000
    )]
    pub db_acquire_timeout_ms: u64,
    /// How long opening the database may take (Postgres: the first
    /// connection and the pool; SQLite: the file and its migrations).
    #[arg(
        long,
        env = "SWITCHBOARD_DB_CONNECT_TIMEOUT_MS",
        default_value_t = 5_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub db_connect_timeout_ms: u64,
    /// SQLite: sync the log on every commit, so that even a power loss keeps
    /// every acknowledged message (otherwise commits survive a crash of the
    /// process, and the machine's last ones may be lost with it).
    #[arg(
        long,
        env = "SWITCHBOARD_SQLITE_SYNC_EVERY_COMMIT",
        default_value_t = false
    )]
    pub sqlite_sync_every_commit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Everything `switchboard serve` needs.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// The address to listen on, `HOST:PORT` (a host name is resolved at
    /// start, `localhost` is 127.0.0.1; port 0 picks a free port).
    #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: ListenAddr,
    /// Where `/metrics` is served, `HOST:PORT`; unset: nowhere. Never on
    /// the main listener: its totals cover every account.
    #[arg(long, env = "SWITCHBOARD_METRICS_LISTEN")]
    pub metrics_listen: Option<ListenAddr>,
    /// How long a client may take to send a request head.
    #[arg(long, env = "SWITCHBOARD_HEAD_TIMEOUT_SECS", default_value_t = 10)]
    pub head_timeout_secs: u64,
    /// The longest silence while a client sends a request body (then 408).
    #[arg(long, env = "SWITCHBOARD_BODY_IDLE_TIMEOUT_SECS", default_value_t = 10)]
    pub body_idle_timeout_secs: u64,
    /// A request's body must be complete this long after its head (then
    /// 408): with the head timeout, the bound on receiving a whole request.
    #[arg(long, env = "SWITCHBOARD_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Connections one IP address may hold open at once; more are answered
    /// 503 `unavailable` and closed.
    #[arg(
        long,
        env = "SWITCHBOARD_MAX_CONNECTIONS_PER_IP",
        default_value_t = 256
    )]
    pub max_connections_per_ip: usize,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Mail and invitations (docs/PEOPLE.md, "Invitations").
    #[command(flatten)]
    pub mail: crate::mail::MailArgs,
    /// `redis://...`: cluster mode (several nodes). Unset: the in-memory bus, one node.
    #[arg(long, env = "SWITCHBOARD_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Cluster mode: a node silent on the bus this long is declared dead; its
    /// roles are released and its viewers disappear.
    #[arg(long, env = "SWITCHBOARD_NODE_TIMEOUT_MS", default_value_t = 3_000)]
    pub node_timeout_ms: u64,
    /// An agent offline this long (no console open after the disconnect
    /// grace) has their open conversations put back in the Unassigned queue.
    /// Unset: they stay assigned.
    #[arg(long, env = "SWITCHBOARD_REQUEUE_OFFLINE_AFTER_SECS")]
    pub requeue_offline_after_secs: Option<u64>,
    /// How often the stored access stamps are compared with this node's
    /// copy of each account's grants, roles and groups: the delay within
    /// which a change made with the command line (or announced on a bus
    /// that lost the message) is enforced on live connections.
    #[arg(
        long,
        env = "SWITCHBOARD_ACCESS_CHECK_MS",
        default_value_t = 1_000,
        value_parser = clap::value_parser!(u64).range(50..=60_000)
    )]
    pub access_check_ms: u64,
    /// Cluster mode: conversations without a room on this node whose newest
    /// "Answered by" it remembers, to correct a card that arrives late.
    #[arg(
        long,
        env = "SWITCHBOARD_ANSWERED_MEMORY",
        default_value_t = 100_000,
        value_parser = clap::value_parser!(u64).range(2..=100_000_000)
    )]
    pub answered_memory: u64,
    /// Cluster mode: the prefix of every Redis key and channel of this deployment.
    #[arg(long, env = "SWITCHBOARD_REDIS_PREFIX", default_value = "sb")]
    pub redis_prefix: String,
    /// Cluster mode: scheduler turns the publisher lets this node's tasks
    /// queue more events for the same Redis pipeline (0: send at once).
    #[arg(
        long,
        env = "SWITCHBOARD_REDIS_PUBLISH_GATHER_TURNS",
        default_value_t = 4,
        value_parser = clap::value_parser!(u32).range(0..=64)
    )]
    pub redis_publish_gather_turns: u32,
    /// Browser origins allowed to open WebSockets, comma-separated (`*`: any).
    /// A request whose Origin matches its own Host is always allowed.
    #[arg(long, env = "SWITCHBOARD_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// The active role lapses after this long without `send` or `typing`.
    #[arg(long, env = "SWITCHBOARD_ACTIVE_IDLE_SECS", default_value_t = 60)]
    pub active_idle_secs: u64,
    /// A user whose last connection dropped keeps their presence (and role) this long.
    #[arg(long, env = "SWITCHBOARD_DISCONNECT_GRACE_SECS", default_value_t = 5)]
    pub disconnect_grace_secs: u64,
    /// The lease on an active role in the store; renewed every third of it.
    #[arg(long, env = "SWITCHBOARD_LOCK_LEASE_SECS", default_value_t = 15)]
    pub lock_lease_secs: u64,
    /// How often clients should send something; a connection silent this
    /// long is sent a WebSocket ping, one silent for twice this is closed.
    #[arg(long, env = "SWITCHBOARD_HEARTBEAT_MS", default_value_t = 25_000)]
    pub heartbeat_ms: u64,
    /// The largest WebSocket frame (and message) a client may send, and the
    /// largest the server sends: at least six times the body limit plus
    /// 4 KiB, so that a maximal body fits however JSON escapes it.
    #[arg(long, env = "SWITCHBOARD_MAX_FRAME_BYTES", default_value_t = Config::frame_bytes_for(AppSettings::DEFAULT.max_message_bytes))]
    pub max_frame_bytes: usize,
    /// The largest message body (`send`, `/v1/inbound`).
    #[arg(long, env = "SWITCHBOARD_MAX_MESSAGE_BYTES", default_value_t = AppSettings::DEFAULT.max_message_bytes)]
    pub max_message_bytes: usize,
    /// Frames queued for one connection before it counts as not reading.
    #[arg(long, env = "SWITCHBOARD_OUTBOX_FRAMES", default_value_t = 1024)]
    pub outbox_frames: usize,
    /// Bytes queued for one connection before it counts as not reading.
    #[arg(long, env = "SWITCHBOARD_OUTBOX_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub outbox_bytes: usize,
    /// Sustained client frames per second per connection.
    #[arg(long, env = "SWITCHBOARD_RATE_LIMIT_PER_SEC", default_value_t = 100)]
    pub rate_limit_per_sec: u32,
    /// Client frames a connection may send at once above the sustained rate
    /// (also the refused frames it is forgiven, a tenth of them a second).
    #[arg(long, env = "SWITCHBOARD_RATE_LIMIT_BURST", default_value_t = 200)]
    pub rate_limit_burst: u32,
    /// WebSocket connections one user may have open on one node.
    #[arg(
        long,
        env = "SWITCHBOARD_MAX_CONNECTIONS_PER_USER",
        default_value_t = 100
    )]
    pub max_connections_per_user: usize,
    /// A user whose connection the flood guard closed is refused at the
    /// upgrade (429 `rate_limited`) this long, on this node (0: never).
    #[arg(long, env = "SWITCHBOARD_FLOOD_COOLOFF_SECS", default_value_t = 10)]
    pub flood_cooloff_secs: u64,
    /// Conversations one connection may view at once; a `join` past it is
    /// refused (`conflict`) until the client leaves one.
    #[arg(
        long,
        env = "SWITCHBOARD_MAX_JOINED_PER_CONNECTION",
        default_value_t = 200
    )]
    pub max_joined_per_connection: usize,
    /// Personal folders one user may have (`POST /v1/folders` past it: 409).
    #[arg(long, env = "SWITCHBOARD_MAX_FOLDERS_PER_USER", default_value_t = AppSettings::DEFAULT.max_folders_per_user, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_folders_per_user: u32,
    /// WebSocket read buffer per connection (allocated up front: keep it small).
    #[arg(long, env = "SWITCHBOARD_WS_READ_BUFFER_BYTES", default_value_t = 4096)]
    pub ws_read_buffer_bytes: usize,
    /// WebSocket write buffer per connection before a write to the socket.
    #[arg(
        long,
        env = "SWITCHBOARD_WS_WRITE_BUFFER_BYTES",
        default_value_t = 4096
    )]
    pub ws_write_buffer_bytes: usize,
    /// How long a write to a client may take before the client is dropped.
    #[arg(long, env = "SWITCHBOARD_WRITE_TIMEOUT_SECS", default_value_t = 10)]
    pub write_timeout_secs: u64,
    /// How long a login session lasts.
    #[arg(long, env = "SWITCHBOARD_SESSION_TTL_HOURS", default_value_t = AppSettings::DEFAULT.session_ttl.as_secs() / 3600)]
    pub session_ttl_hours: u64,
    /// How long a WebSocket ticket (`POST /v1/ws/ticket`) works, in seconds.
    #[arg(
        long,
        env = "SWITCHBOARD_WS_TICKET_TTL_SECS",
        default_value_t = AppSettings::DEFAULT.ws_ticket_ttl.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=300)
    )]
    pub ws_ticket_ttl_secs: u64,
    /// The key that seals two-factor secrets in the store: 32 bytes, in hex
    /// (64 characters) or base64. Required with Postgres (every node must
    /// share it); embedded, without it, a key file is made beside the
    /// database on first start (`<database file>.secret-key`, mode 0600).
    #[arg(long, env = "SWITCHBOARD_SECRET_KEY", hide_env_values = true,
          value_parser = crate::secret_key::SecretKey::parse)]
    pub secret_key: Option<crate::secret_key::SecretKey>,
    /// Failed logins one email, or one source address, may have within the
    /// window before further attempts are refused (429) unchecked.
    #[arg(
        long,
        env = "SWITCHBOARD_LOGIN_MAX_FAILURES",
        default_value_t = ThrottlePolicy::DEFAULT.max_failures,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub login_max_failures: u32,
    /// The window, in seconds, within which failed logins are counted.
    #[arg(
        long,
        env = "SWITCHBOARD_LOGIN_FAILURE_WINDOW_SECS",
        default_value_t = ThrottlePolicy::DEFAULT.window.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub login_failure_window_secs: u64,
    /// Mark the session cookie `Secure` (serve behind HTTPS).
    #[arg(long, env = "SWITCHBOARD_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,
    /// How long shutdown waits for sessions to close.
    #[arg(long, env = "SWITCHBOARD_SHUTDOWN_TIMEOUT_SECS", default_value_t = 10)]
    pub shutdown_timeout_secs: u64,
    #[arg(
        long,
        env = "SWITCHBOARD_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
    /// Outbound webhooks (docs/MODULES.md, "Webhooks").
    #[command(flatten)]
    pub webhooks: crate::webhooks::WebhookArgs,
    // statistics
    /// The longest range, in days, a statistics request may cover
    /// (1 to 3660).
    #[arg(
        long,
        env = "SWITCHBOARD_STATISTICS_MAX_DAYS",
        default_value_t = 400,
        value_parser = clap::value_parser!(u32).range(1..=3660)
    )]
    pub statistics_max_days: u32,
}

impl Config {
    /// How many bytes JSON may spend on one byte of a string: a control
    /// character becomes `\u0001`.
    pub const JSON_ESCAPE_FACTOR: usize = 6;
    /// Room in a frame for everything around a message body: ids, names,
    /// timestamps, a `ref`.
    pub const FRAME_ENVELOPE_BYTES: usize = 4096;

    /// The smallest frame limit that carries a `send` (or a `message` event)
    /// of a body of `max_message_bytes`, however its characters are escaped.
    pub const fn frame_bytes_for(max_message_bytes: usize) -> usize {
        max_message_bytes
            .saturating_mul(Self::JSON_ESCAPE_FACTOR)
            .saturating_add(Self::FRAME_ENVELOPE_BYTES)
    }

    pub fn timing(&self) -> Timing {
        Timing {
            idle_ms: self.active_idle_secs.saturating_mul(1000),
            grace_ms: self.disconnect_grace_secs.saturating_mul(1000),
        }
    }

    pub fn lock_lease(&self) -> Duration {
        Duration::from_secs(self.lock_lease_secs.max(1))
    }

    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.session_ttl_hours.saturating_mul(3600))
    }

    pub fn head_timeout(&self) -> Duration {
        Duration::from_secs(self.head_timeout_secs)
    }

    pub fn body_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.body_idle_timeout_secs)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// What the use cases need of the configuration.
    pub fn app_settings(&self) -> AppSettings {
        AppSettings {
            max_message_bytes: self.max_message_bytes,
            max_folders_per_user: self.max_folders_per_user,
            session_ttl: self.session_ttl(),
            login_throttle: ThrottlePolicy {
                max_failures: self.login_max_failures,
                window: Duration::from_secs(self.login_failure_window_secs),
            },
            ws_ticket_ttl: Duration::from_secs(self.ws_ticket_ttl_secs),
        }
    }

    /// Checks what clap cannot: values that would make the server unsafe.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_frame_bytes < 1024 {
            return Err("max frame bytes must be at least 1024".into());
        }
        let needed = Self::frame_bytes_for(self.max_message_bytes);
        if self.max_frame_bytes < needed {
            return Err(format!(
                "max frame bytes ({}) must be at least 6 x max message bytes ({}) + {} = {needed}, \
                 so that a maximal message body fits in a frame however JSON escapes it",
                self.max_frame_bytes,
                self.max_message_bytes,
                Self::FRAME_ENVELOPE_BYTES
            ));
        }
        if self.outbox_frames == 0 || self.outbox_bytes < self.max_frame_bytes {
            return Err("the outbox must hold at least one frame of the largest size".into());
        }
        if self.heartbeat_ms < 1000 {
            return Err("heartbeat must be at least 1000 ms".into());
        }
        if self.rate_limit_burst == 0 {
            return Err("rate limit burst must be at least 1".into());
        }
        if self.max_connections_per_user == 0 {
            return Err("max connections per user must be at least 1".into());
        }
        if self.max_joined_per_connection == 0 {
            return Err("a connection must be allowed to join at least one conversation".into());
        }
        if self.ws_read_buffer_bytes < 256 {
            return Err("the websocket read buffer must be at least 256 bytes".into());
        }
        let timeouts = [
            self.head_timeout_secs,
            self.body_idle_timeout_secs,
            self.request_timeout_secs,
        ];
        if timeouts.contains(&0) {
            return Err("head, body idle and request timeouts must be at least 1 second".into());
        }
        if self.max_connections_per_ip == 0 {
            return Err("max connections per ip must be at least 1".into());
        }
        crate::origin::check_allowed_origins(&self.allowed_origins)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Serve {
        #[command(flatten)]
        config: Config,
    }

    fn config(args: &[&str]) -> Config {
        let args = std::iter::once("serve").chain(args.iter().copied());
        Serve::try_parse_from(args).unwrap().config
    }

    #[test]
    fn the_defaults_are_consistent() {
        let defaults = config(&[]);
        assert_eq!(defaults.validate(), Ok(()));
        assert_eq!(defaults.max_message_bytes, 65_536);
        assert_eq!(defaults.max_frame_bytes, 6 * 65_536 + 4096);
        assert_eq!(defaults.max_connections_per_user, 100);
    }

    #[test]
    fn the_statistics_range_is_bounded() {
        assert_eq!(config(&[]).statistics_max_days, 400);
        assert_eq!(
            config(&["--statistics-max-days", "31"]).statistics_max_days,
            31
        );
        let args = ["serve", "--statistics-max-days", "0"];
        assert!(Serve::try_parse_from(args).is_err());
        let args = ["serve", "--statistics-max-days", "3661"];
        assert!(Serve::try_parse_from(args).is_err());
    }

    #[test]
    fn the_ws_ticket_ttl_is_30_seconds_and_bounded() {
        assert_eq!(
            config(&[]).app_settings().ws_ticket_ttl,
            Duration::from_secs(30)
        );
        let short = config(&["--ws-ticket-ttl-secs", "5"]).app_settings();
        assert_eq!(short.ws_ticket_ttl, Duration::from_secs(5));
        for out in ["0", "301"] {
            let args = ["serve", "--ws-ticket-ttl-secs", out];
            assert!(Serve::try_parse_from(args).is_err(), "{out}");
        }
    }

    #[test]
    fn a_frame_limit_too_small_for_a_maximal_body_is_refused() {
        let error = config(&["--max-frame-bytes", "65536"])
            .validate()
            .unwrap_err();
        assert!(error.contains("at least 6 x max message bytes"), "{error}");
        let small_bodies = config(&["--max-frame-bytes", "65536", "--max-message-bytes", "10240"]);
        assert_eq!(small_bodies.validate(), Ok(()));
        let one_short = config(&["--max-frame-bytes", "65535", "--max-message-bytes", "10240"]);
        assert!(one_short.validate().is_err());
    }

    #[test]
    fn no_connection_at_all_per_user_is_refused() {
        let error = config(&["--max-connections-per-user", "0"])
            .validate()
            .unwrap_err();
        assert!(error.contains("connections per user"), "{error}");
    }
}
