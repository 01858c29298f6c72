//! Building and running the application: bind, serve, shut down gracefully.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use switchboard_bus::{MemoryBus, RedisBus, RedisBusConfig};
use switchboard_core::NodeId;
use switchboard_core::ports::{Bus, Store};
use switchboard_store::StoreOptions;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::App;
use crate::clock::SystemClock;
use crate::config::{Config, DatabaseArgs};
use crate::hub::{Hub, HubSettings, OutboxLimits};
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::{accept, http};

/// A bound, ready-to-run server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
    port: u16,
}

impl Application {
    /// Opens the store (running its migrations), builds the hub and binds
    /// the listener (port 0 picks a free one).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate().map_err(anyhow::Error::msg)?;
        let store = open_store(&config.database).await?;
        let node = NodeId::new();
        let bus: Arc<dyn Bus> = match &config.redis_url {
            Some(urls) => {
                let bus_config = RedisBusConfig::new(node, urls)
                    .with_prefix(config.redis_prefix.clone())
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
            max_joined_per_connection: config.max_joined_per_connection,
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
        }
        let app = App::live(store, hub.clone(), config.app_settings());
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
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
            state,
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` resolves, then stops accepting, closes every
    /// session with 1001, waits for them, and releases this node's roles.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Self {
            listener, state, ..
        } = self;
        let hub = state.hub.clone();
        let open_files = raise_open_file_limit()
            .map_err(|error| tracing::warn!(%error, "could not raise the open file limit"))
            .ok();
        tracing::info!(
            open_files,
            listen = %listener.local_addr()?,
            node = %hub.node(),
            store = state.app.store().backend(),
            bus = hub.bus().backend(),
            "switchboard is serving"
        );
        let timers = tokio::spawn(hub.clone().run_timers(state.cancel.child_token()));
        let router = http::router(state.clone());
        let server = tokio::spawn(accept::serve(listener, state.clone(), router));

        shutdown.await;
        tracing::info!("shutting down");
        state.cancel.cancel();
        hub.close_all();
        let _ = server.await;
        state.tracker.close();
        let wait = Duration::from_secs(state.config.shutdown_timeout_secs);
        if tokio::time::timeout(wait, state.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                remaining = hub.connection_count(),
                "sessions did not close in time"
            );
        }
        let _ = timers.await;
        hub.release_all_locks().await;
        hub.depart().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Opens the store the configuration names, running its migrations.
pub async fn open_store(database: &DatabaseArgs) -> anyhow::Result<Arc<dyn Store>> {
    let options = StoreOptions {
        max_connections: database.db_max_connections,
        acquire_timeout: Duration::from_millis(database.db_acquire_timeout_ms),
        sqlite_sync_every_commit: database.sqlite_sync_every_commit,
        ..StoreOptions::default()
    };
    switchboard_store::connect(&database.database_url, &options)
        .await
        .with_context(|| format!("opening the store at {}", redact(&database.database_url)))
}

/// A database URL without its password, for messages.
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

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

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
