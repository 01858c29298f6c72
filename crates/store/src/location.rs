//! Which database a URL names, by one rule, and how it is told in logs.
//!
//! A URL that is neither a database URL nor clearly a file path used to
//! become a SQLite file named like it (`postgres@localhost/test` made a
//! file of that name and an empty database in it). The rule:
//!
//! - `postgres://...` and `postgresql://...` are Postgres;
//! - `sqlite:PATH`, `sqlite://PATH` and `sqlite::memory:` (or any `sqlite:`
//!   URL with `mode=memory`) are SQLite;
//! - anything else with `://` is refused (an unknown scheme);
//! - anything else is a plain file path, and a plain path has neither `:`
//!   nor `@`: with either it looks like a host (`localhost:5432/db`,
//!   `user@host/db`) and is refused. A file whose name has one is opened
//!   as `sqlite:PATH`.
//!
//! Refusals name the accepted forms and never repeat the URL, which may
//! hold a password.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use switchboard_core::StoreError;

use crate::error::from_sqlx;

/// The forms a database URL may take, for refusals.
const ACCEPTED: &str = "use sqlite:PATH, sqlite://PATH, sqlite::memory:, a plain file path \
     (without ':' or '@'), or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE";

/// The database a URL names, described without secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file, by absolute path.
    SqliteFile(PathBuf),
    /// A SQLite database of this process alone, gone when it closes.
    SqliteMemory,
    /// A Postgres database: where, and as whom (never the password).
    Postgres {
        user: String,
        host: String,
        port: u16,
        database: String,
    },
}

impl Location {
    /// Applies the rule of this module.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(postgres(
                &PgConnectOptions::from_str(url).map_err(from_sqlx)?,
            ));
        }
        if url.starts_with("sqlite:") {
            if is_memory(url) {
                return Ok(Self::SqliteMemory);
            }
            let options = SqliteConnectOptions::from_str(url).map_err(from_sqlx)?;
            return sqlite_file(options.get_filename());
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(refused(&format!("unsupported scheme {scheme:?}")));
        }
        if url.contains([':', '@']) {
            return Err(refused(
                "it has ':' or '@' like a host, so it is not taken for a file path",
            ));
        }
        sqlite_file(Path::new(url))
    }

    /// Postgres or SQLite.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres { .. })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SqliteFile(path) => write!(f, "sqlite file {}", path.display()),
            Self::SqliteMemory => f.write_str("sqlite in memory"),
            Self::Postgres {
                user,
                host,
                port,
                database,
            } => write!(f, "postgres {user}@{host}:{port}/{database}"),
        }
    }
}

/// A `sqlite:` URL of an in-memory database.
pub(crate) fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

fn postgres(options: &PgConnectOptions) -> Location {
    Location::Postgres {
        user: options.get_username().to_owned(),
        host: options.get_host().to_owned(),
        port: options.get_port(),
        database: options
            .get_database()
            .unwrap_or(options.get_username())
            .to_owned(),
    }
}

fn sqlite_file(path: &Path) -> Result<Location, StoreError> {
    if path.as_os_str().is_empty() {
        return Err(refused("it names no file"));
    }
    absolute(path).map(Location::SqliteFile)
}

/// `path` from the working directory, as a SQLite file is told and locked.
pub(crate) fn absolute(path: &Path) -> Result<PathBuf, StoreError> {
    std::path::absolute(path)
        .map_err(|error| StoreError::Internal(format!("cannot resolve the sqlite path: {error}")))
}

fn refused(why: &str) -> StoreError {
    StoreError::Internal(format!("unsupported database url ({why}): {ACCEPTED}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(url: &str) -> String {
        Location::parse(url).map_or_else(|e| format!("error: {e}"), |l| l.to_string())
    }

    #[test]
    fn postgres_urls_are_told_without_their_password() {
        assert_eq!(
            described("postgres://sb:secret@db.internal:6543/inbox"),
            "postgres sb@db.internal:6543/inbox"
        );
        assert_eq!(
            described("postgresql://sb@127.0.0.1/test"),
            "postgres sb@127.0.0.1:5432/test"
        );
    }

    #[test]
    fn sqlite_urls_and_plain_paths_are_files_by_absolute_path() {
        let here = std::env::current_dir().unwrap();
        let file = |name: &str| format!("sqlite file {}", here.join(name).display());
        assert_eq!(described("sqlite:switchboard.db"), file("switchboard.db"));
        assert_eq!(described("sqlite://data/x.db"), file("data/x.db"));
        assert_eq!(described("data/x.db"), file("data/x.db"));
        assert_eq!(described("sqlite:///var/x.db"), "sqlite file /var/x.db");
        assert_eq!(described("/var/x.db"), "sqlite file /var/x.db");
        assert_eq!(described("sqlite:x.db?mode=rwc"), file("x.db"));
        assert_eq!(described("sqlite::memory:"), "sqlite in memory");
        assert_eq!(described("sqlite:x?mode=memory"), "sqlite in memory");
    }

    #[test]
    fn what_looks_like_a_host_or_another_scheme_is_refused() {
        for url in [
            "postgres@localhost/test",
            "localhost:5432/test",
            "sb:secret@db/test",
            "mysql://h/db",
            "",
            "sqlite:",
        ] {
            let error = described(url);
            assert!(
                error.starts_with("error: "),
                "{url:?} was accepted: {error}"
            );
            assert!(error.contains("sqlite:PATH"), "{error}");
            assert!(!error.contains("secret"), "{error}");
        }
        assert!(described("mysql://h/db").contains("\"mysql\""));
    }
}
