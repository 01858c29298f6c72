//! A database of one's own on a Postgres server, made with `psql` and
//! dropped (with whatever is still connected to it) when it goes out of
//! scope, so tests and benchmark parts run side by side and leave nothing
//! behind.

use std::process::Stdio;

use anyhow::Context as _;
use tokio::process::Command;
use uuid::Uuid;

#[derive(Debug)]
pub struct ScratchDatabase {
    /// The new database's URL: the server's, with the new name.
    pub url: String,
    pub name: String,
    /// Where `psql` connects to drop it.
    server_url: String,
}

/// `url` with its last path segment (the database) replaced by `name`.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("{url} is not a database url"))?;
    let host = rest.split('/').next().unwrap_or(rest);
    let query = rest.split_once('?').map(|(_, q)| format!("?{q}"));
    Ok(format!(
        "{scheme}://{host}/{name}{}",
        query.unwrap_or_default()
    ))
}

async fn psql(server_url: &str, sql: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .arg(server_url)
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .stdout(Stdio::null())
        .output()
        .await
        .context("cannot run psql (is it installed?)")?;
    if !output.status.success() {
        anyhow::bail!(
            "psql {sql:?} on {server_url} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

impl ScratchDatabase {
    /// Creates `PREFIX_<uuid>` on the server `server_url` points at (a URL
    /// with an existing database to connect to, such as `…/postgres`).
    pub async fn create(server_url: &str, prefix: &str) -> anyhow::Result<Self> {
        let name = format!("{prefix}_{}", Uuid::now_v7().simple());
        psql(server_url, &format!("CREATE DATABASE {name}")).await?;
        Ok(Self {
            url: with_database(server_url, &name)?,
            name,
            server_url: server_url.to_owned(),
        })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .arg(&self.server_url)
            .args([
                "-q",
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_database_replaces_the_servers() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "sb_x").unwrap(),
            "postgres://postgres@127.0.0.1:5432/sb_x"
        );
        assert_eq!(
            with_database("postgres://u@h:1/postgres?sslmode=disable", "d").unwrap(),
            "postgres://u@h:1/d?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:1", "d").unwrap(),
            "postgres://u@h:1/d"
        );
        assert!(with_database("nonsense", "d").is_err());
    }

    /// Needs the local Postgres (`SWITCHBOARD_TEST_POSTGRES_URL`, by
    /// default the one the black-box tests use).
    #[tokio::test]
    async fn a_scratch_database_exists_until_dropped() {
        let server = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let database = ScratchDatabase::create(&server, "sb_testkit")
            .await
            .unwrap();
        psql(&database.url, "CREATE TABLE t (x int)").await.unwrap();
        let url = database.url.clone();
        drop(database);
        assert!(psql(&url, "SELECT 1").await.is_err(), "{url} was dropped");
    }
}
