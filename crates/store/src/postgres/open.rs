//! Opening and closing a Postgres store: the pool, the migrations.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Postgres, Transaction};
use switchboard_core::StoreError;

use super::PgStore;
use crate::error::{from_migrate, from_sqlx};
use crate::options::StoreOptions;

impl PgStore {
    /// Connects to the database a `postgres://` URL names. Does not
    /// migrate: see [`PgStore::migrate`].
    ///
    /// One connection is made first, alone: the pool retries a failed
    /// connection until its acquire timeout and then says only that it
    /// timed out, where this one says why (connection refused, no such
    /// database, authentication failed) at once.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(from_sqlx)?
            .application_name("switchboard");
        let opening = async {
            let first = connect.connect().await.map_err(from_sqlx)?;
            first.close().await.map_err(from_sqlx)?;
            PgPoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect.clone())
                .await
                .map_err(from_sqlx)
        };
        let pool = tokio::time::timeout(options.connect_timeout, opening)
            .await
            .map_err(|_| StoreError::Unavailable("timed out connecting to postgres".into()))??;
        tracing::debug!(
            max_connections = options.max_connections,
            "postgres store connected"
        );
        Ok(Self {
            pool,
            gatherer: std::sync::Arc::default(),
            clock: options.clock.clone(),
        })
    }

    /// Brings the schema up to date (embedded migrations; sqlx holds an
    /// advisory lock, so nodes starting together migrate once).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await
            .map_err(from_migrate)
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(super) async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(from_sqlx)
    }
}
