//! Building and running the application: bind, serve, shut down gracefully.

use std::future::Future;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use switchboard_bus::{MemoryBus, RedisBus, RedisBusConfig};
use switchboard_core::NodeId;
use switchboard_core::ports::{Bus, Store};
use switchboard_store::{Location, StoreOptions};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::App;
use crate::clock::SystemClock;
use crate::config::{Config, DatabaseArgs};
use crate::hub::{Hub, HubSettings, OutboxLimits};
use crate::listen::ListenAddr;
use crate::metrics::Metrics;
use crate::secret_key::SecretKey;
use crate::state::AppState;
use crate::{accept, http, mail};

/// A bound, ready-to-run server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    state: AppState,
    port: u16,
    /// Opens the webhooks' signing secrets (the key that seals them).
    webhook_key: SecretKey,
    /// The first-run setup link, when the database has no account.
    setup_link: Option<String>,
}

impl Application {
    /// Opens the store (running its migrations), builds the hub and binds
    /// the listener (port 0 picks a free one).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate().map_err(anyhow::Error::msg)?;
        let (secret_key, new_key_file) = secret_key(&config)?;
        let store = open_store(&config.database, Holding::Alone).await?;
        // webhooks: their signing secrets are sealed with the key too
        if let Some(file) = &new_key_file
            && store.webhook_secrets_exist().await?
        {
            let _ = std::fs::remove_file(file);
            anyhow::bail!(
                "the secret key file {} was missing, and this database holds webhook secrets \
                 sealed with the key that was in it: restore that file (or give the key in \
                 SWITCHBOARD_SECRET_KEY); with a new key no webhook could sign its deliveries",
                file.display()
            );
        }
        if let Some(file) = new_key_file
            && store.two_factor_secrets_exist().await?
        {
            let _ = std::fs::remove_file(&file);
            anyhow::bail!(
                "the secret key file {} was missing, and this database holds two-factor \
                 secrets sealed with the key that was in it: restore that file (or give the \
                 key in SWITCHBOARD_SECRET_KEY); a new key would lock every user with 2FA out",
                file.display()
            );
        }
        let node = NodeId::new();
        let bus: Arc<dyn Bus> = match &config.redis_url {
            Some(urls) => {
                let bus_config = RedisBusConfig::new(node, urls)
                    .with_prefix(config.redis_prefix.clone())
                    .with_publish_gather_turns(config.redis_publish_gather_turns)
                    .with_liveness_window(Duration::from_millis(config.node_timeout_ms.max(500)));
                Arc::new(
                    RedisBus::connect(bus_config)
                        .await
                        .context("connecting to redis")?,
                )
            }
            None => {
                // Without a bus, this process is the only node on its
                // database: roles an earlier run left behind are void.
                let cleared = store
                    .release_locks_except(node)
                    .await
                    .context("clearing roles left by an earlier run")?;
                if cleared > 0 {
                    tracing::info!(cleared, "cleared active roles left by an earlier run");
                }
                // And the consoles of an earlier run are gone too.
                store
                    .forget_agents_except(node)
                    .await
                    .context("clearing consoles left by an earlier run")?;
                Arc::new(MemoryBus::single(node))
            }
        };
        let settings = HubSettings {
            timing: config.timing(),
            lease: config.lock_lease(),
            heartbeat_ms: config.heartbeat_ms,
            write_timeout_ms: config.write_timeout_secs.max(1) * 1000,
            node_dead_ms: config.node_timeout_ms.max(500),
            requeue_offline_after: config.requeue_offline_after_secs.map(Duration::from_secs),
            outbox: OutboxLimits {
                frames: config.outbox_frames,
                bytes: config.outbox_bytes,
            },
            rate_per_sec: config.rate_limit_per_sec,
            rate_burst: config.rate_limit_burst,
            max_connections_per_user: config.max_connections_per_user,
            max_joined_per_connection: config.max_joined_per_connection,
            flood_cooloff_ms: config.flood_cooloff_secs.saturating_mul(1000),
            access_check: Duration::from_millis(config.access_check_ms),
            answered_memory: usize::try_from(config.answered_memory).unwrap_or(usize::MAX),
        };
        let metrics = Arc::new(Metrics::new());
        let clustered = config.redis_url.is_some();
        let hub = Hub::new(
            node,
            store.clone(),
            bus,
            settings,
            Arc::new(SystemClock::new()),
            metrics,
        );
        if clustered {
            hub.start_cluster();
            hub.follow_access().await;
        }
        let listener = bind(&config.listen).await?;
        let invitations = config.mail.invitations_at(listener.local_addr()?);
        let public_url = invitations.public_url.trim_end_matches('/').to_owned();
        let webhook_key = secret_key.clone();
        let app = App::live(store, hub.clone(), config.app_settings())
            .with_invitations(invitations)
            .with_secret_key(secret_key)
            .with_webhook_private_allowed(config.webhooks.webhook_allow_private);
        // A malformed SMTP URL or sender stops the start, not the first mail.
        config.mail.outgoing().context("mail settings")?;
        let metrics_listener = match &config.metrics_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let setup_link = app
            .open_first_run()
            .await
            .map_err(|error| anyhow::anyhow!("checking for a first run: {error}"))?
            .map(|token| format!("{public_url}/setup?token={token}"));
        let port = listener.local_addr()?.port();
        let ws_config = AppState::websocket_config(&config);
        let state = AppState {
            app: Arc::new(app),
            hub,
            config: Arc::new(config),
            ws_config,
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
        };
        Ok(Self {
            listener,
            metrics_listener,
            state,
            port,
            webhook_key,
            setup_link,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the handlers share: the use cases, the hub, the settings.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The first-run setup link, when the database has no account.
    pub fn setup_link(&self) -> Option<&str> {
        self.setup_link.as_deref()
    }

    /// Serves until `shutdown` resolves, then stops accepting, closes every
    /// session with 1001, waits for them, and releases this node's roles.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Self {
            listener,
            metrics_listener,
            state,
            webhook_key,
            setup_link,
            ..
        } = self;
        let hub = state.hub.clone();
        let metrics = metrics_listener.map(|listener| serve_metrics(listener, &state));
        let open_files = raise_open_file_limit()
            .map_err(|error| tracing::warn!(%error, "could not raise the open file limit"))
            .ok();
        let addr = listener.local_addr()?;
        tracing::info!(
            open_files,
            listen = %addr,
            url = %format_args!("http://{addr}/"),
            websocket = %format_args!("ws://{addr}/v1/ws"),
            node = %hub.node(),
            database = %Location::parse(&state.config.database.database_url)?,
            bus = %bus_told(state.config.redis_url.as_deref()),
            first_run_setup = setup_link.is_some(),
            "switchboard is serving"
        );
        if let Some(link) = setup_link {
            announce_first_run(&link);
        }
        let timers = tokio::spawn(hub.clone().run_timers(state.cancel.child_token()));
        let heartbeat = tokio::spawn(hub.clone().run_heartbeat(state.cancel.child_token()));
        let leases = tokio::spawn(hub.clone().run_leases(state.cancel.child_token()));
        let sender = mail::Sender::new(state.app.store().clone(), &state.config.mail)?;
        let mailer = tokio::spawn(sender.run(state.cancel.child_token()));
        // webhooks: the outbox's sender, beside the messenger (its own tasks and slots)
        let hooks = crate::webhooks::Sender::new(
            state.app.store().clone(),
            hub.access().clone(),
            webhook_key,
            state.config.webhooks.clone(),
        );
        let hooks = tokio::spawn(hooks.run(state.cancel.child_token()));
        let service = accept::Service {
            router: http::router(state.clone()),
            websockets: true,
        };
        let server = tokio::spawn(accept::serve(listener, state.clone(), service));

        shutdown.await;
        let stopping = std::time::Instant::now();
        tracing::info!(connections = hub.connection_count(), "shutting down");
        state.cancel.cancel();
        hub.close_all();
        let _ = server.await;
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        state.tracker.close();
        let wait = Duration::from_secs(state.config.shutdown_timeout_secs);
        match tokio::time::timeout(wait, state.tracker.wait()).await {
            Ok(()) => tracing::info!(
                after_ms = stopping.elapsed().as_millis() as u64,
                "every session closed"
            ),
            Err(_) => tracing::warn!(
                remaining = hub.connection_count(),
                "sessions did not close in time"
            ),
        }
        let _ = timers.await;
        let _ = heartbeat.await;
        let _ = leases.await;
        let _ = mailer.await;
        let _ = hooks.await;
        tracing::info!(
            after_ms = stopping.elapsed().as_millis() as u64,
            "background tasks stopped"
        );
        hub.release_all_locks().await;
        hub.depart().await;
        tracing::info!(after_ms = stopping.elapsed().as_millis() as u64, "stopped");
        Ok(())
    }
}

/// Tells whoever started the server how to set it up: on standard output,
/// where a person running it sees it (the link is a secret: it is not
/// written to the log).
fn announce_first_run(link: &str) {
    tracing::info!("no account yet: the first-run setup link is on standard output");
    // Not `println!`: a closed standard output must not stop the server.
    let _ = writeln!(
        std::io::stdout().lock(),
        "\nSwitchboard has no account yet. Open this link to create yours and its owner \
         (it works once):\n\n    {link}\n"
    );
}

/// Binds a listen address, resolving a host name.
async fn bind(addr: &ListenAddr) -> anyhow::Result<TcpListener> {
    addr.bind().await.with_context(|| format!("binding {addr}"))
}

/// Serves `/metrics` on its own listener until shutdown.
fn serve_metrics(listener: TcpListener, state: &AppState) -> tokio::task::JoinHandle<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(listen = %addr, "serving metrics");
    }
    let service = accept::Service {
        router: http::metrics_router(state.clone()),
        websockets: false,
    };
    tokio::spawn(accept::serve(listener, state.clone(), service))
}

/// How a process holds its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// `serve`: a SQLite file is locked for this process alone, and a
    /// second server on it refuses to start.
    Alone,
    /// Admin commands: beside a running server.
    Shared,
}

/// Opens the store the configuration names, running its migrations.
pub async fn open_store(
    database: &DatabaseArgs,
    holding: Holding,
) -> anyhow::Result<Arc<dyn Store>> {
    let options = StoreOptions {
        max_connections: database.db_max_connections,
        acquire_timeout: Duration::from_millis(database.db_acquire_timeout_ms),
        connect_timeout: Duration::from_millis(database.db_connect_timeout_ms),
        sqlite_sync_every_commit: database.sqlite_sync_every_commit,
        exclusive: holding == Holding::Alone,
        ..StoreOptions::default()
    };
    let location = Location::parse(&database.database_url)
        .context("the database url (--database-url, SWITCHBOARD_DATABASE_URL)")?;
    switchboard_store::connect(&database.database_url, &options)
        .await
        .with_context(|| format!("opening the {location}"))
}

/// The key that seals two-factor secrets: `SWITCHBOARD_SECRET_KEY`; else,
/// embedded, the key file beside the database (made on first start,
/// owner-only), or a key of this process alone for a database in memory.
/// A cluster's nodes must share one key, so Postgres without one is
/// refused.
/// The server's secret key, and the key file when it was made just now.
fn secret_key(config: &Config) -> anyhow::Result<(SecretKey, Option<std::path::PathBuf>)> {
    if let Some(key) = &config.secret_key {
        return Ok((key.clone(), None));
    }
    let location = Location::parse(&config.database.database_url)
        .context("the database url (--database-url, SWITCHBOARD_DATABASE_URL)")?;
    match location {
        Location::Postgres { .. } => anyhow::bail!(
            "SWITCHBOARD_SECRET_KEY is required with a postgres database: every node of a \
             cluster seals and opens two-factor secrets with the same key. Give 32 bytes in hex \
             or base64 (e.g. the output of `openssl rand -hex 32`), the same on every node"
        ),
        Location::SqliteFile(path) => {
            let mut name = path.file_name().unwrap_or_default().to_owned();
            name.push(".secret-key");
            let file = path.with_file_name(name);
            let (key, created) = SecretKey::load_or_create(&file)?;
            if created {
                tracing::info!(file = %file.display(), "created the secret key file (keep it with the database)");
            }
            Ok((key, created.then_some(file)))
        }
        Location::SqliteMemory => {
            tracing::info!(
                "a database in memory: two-factor secrets are sealed with a key of this process alone"
            );
            Ok((SecretKey::generate().0, None))
        }
    }
}

/// The bus as the start-up line tells it: `memory`, or the Redis URLs
/// without their passwords.
fn bus_told(redis_urls: Option<&str>) -> String {
    redis_urls.map_or_else(
        || "memory".to_owned(),
        |urls| {
            urls.split(',')
                .map(str::trim)
                .map(redact)
                .collect::<Vec<_>>()
                .join(",")
        },
    )
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Raises the soft limit on open files to the hard limit: every connection
/// is a file, and the soft default (often 1,024) would refuse connections
/// long before memory runs out. Returns the limit now in force.
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        )?;
    }
    Ok(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed here, when
/// called, not when first polled: a signal that comes right after the
/// start-up line (before the server waits for one) would otherwise end the
/// process at once, without a graceful shutdown.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let mut signals = {
        use tokio::signal::unix::{SignalKind, signal};
        [SignalKind::interrupt(), SignalKind::terminate()].map(|kind| signal(kind).ok())
    };
    async move {
        #[cfg(unix)]
        {
            let [interrupt, terminate] = &mut signals;
            tokio::select! {
                () = received(interrupt) => {}
                () = received(terminate) => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The next delivery of a signal whose handler is installed; never, when
/// it could not be.
#[cfg(unix)]
async fn received(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

#[cfg(test)]
mod tests {
    use super::{bus_told, redact};

    #[test]
    fn the_bus_is_told_without_passwords() {
        assert_eq!(bus_told(None), "memory");
        assert_eq!(
            bus_told(Some(
                "redis://:pw@10.0.0.1:6379, redis://u:pw@10.0.0.2:6379"
            )),
            "redis://:***@10.0.0.1:6379,redis://u:***@10.0.0.2:6379"
        );
    }

    #[test]
    fn passwords_do_not_reach_messages() {
        assert_eq!(
            redact("postgres://sb:secret@127.0.0.1/db"),
            "postgres://sb:***@127.0.0.1/db"
        );
        assert_eq!(redact("sqlite:switchboard.db"), "sqlite:switchboard.db");
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
    }
}
