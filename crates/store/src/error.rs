//! The one place where database errors (sqlx's, and rusqlite's from the
//! SQLite writer thread) become [`StoreError`]s.
//!
//! Callers (the hub, the REST handlers) branch on the variant: a
//! [`StoreError::Conflict`] becomes a 409 with its message, an
//! [`StoreError::Unavailable`] a 503 that may be retried. So the mapping
//! decides by what the database said, never by the text of the error, and
//! the messages stay free of SQL and connection strings.

use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::migrate::MigrateError;
use switchboard_core::StoreError;

/// What a broken uniqueness rule says until [`conflict_as`] names it.
const CONFLICT: &str = "already exists";

/// Maps any sqlx error; a unique violation gets a generic conflict message.
pub(crate) fn from_sqlx(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Database(db) => from_database(db.as_ref()),
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("timed out waiting for a database connection".into())
        }
        sqlx::Error::PoolClosed => StoreError::Unavailable("database pool is closed".into()),
        sqlx::Error::Io(io) => StoreError::Unavailable(format!("database connection: {io}")),
        sqlx::Error::Tls(tls) => StoreError::Unavailable(format!("database tls: {tls}")),
        sqlx::Error::WorkerCrashed => StoreError::Unavailable("database worker crashed".into()),
        sqlx::Error::Configuration(cfg) => {
            StoreError::Internal(format!("database configuration: {cfg}"))
        }
        sqlx::Error::Migrate(err) => from_migrate(*err),
        other => StoreError::Internal(other.to_string()),
    }
}

/// Names the conflict of a statement whose only unique rule is the one
/// `conflict` describes ("email already in use"); other errors pass.
pub(crate) fn conflict_as(conflict: &'static str) -> impl FnOnce(StoreError) -> StoreError {
    move |err| match err {
        StoreError::Conflict(_) => StoreError::Conflict(conflict.into()),
        other => other,
    }
}

pub(crate) fn from_migrate(err: MigrateError) -> StoreError {
    match err {
        MigrateError::Execute(err) | MigrateError::ExecuteMigration(err, _) => from_sqlx(err),
        other => StoreError::Internal(format!("migrations: {other}")),
    }
}

fn from_database(db: &dyn DatabaseError) -> StoreError {
    match db.kind() {
        ErrorKind::UniqueViolation => return StoreError::Conflict(CONFLICT.into()),
        // every foreign key names something that must exist: an account,
        // a user, a conversation
        ErrorKind::ForeignKeyViolation => return StoreError::NotFound,
        _ => {}
    }
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    let sqlite = db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some();
    if is_transient(&code, sqlite) {
        StoreError::Unavailable(format!("database busy ({code})"))
    } else {
        StoreError::Internal(format!("database error ({code}): {}", db.message()))
    }
}

/// Maps a rusqlite error (the SQLite writer); a unique violation gets a
/// generic conflict message. Decides exactly as [`from_sqlx`] does on the
/// same SQLite result codes.
pub(crate) fn from_rusqlite(err: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    match err {
        rusqlite::Error::SqliteFailure(failure, message) => match failure.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                StoreError::Conflict(CONFLICT.into())
            }
            // every foreign key names something that must exist
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => StoreError::NotFound,
            code if is_transient(&code.to_string(), true) => {
                StoreError::Unavailable(format!("database busy ({code})"))
            }
            code => StoreError::Internal(format!(
                "database error ({code}): {}",
                message.unwrap_or_else(|| failure.to_string())
            )),
        },
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        other => StoreError::Internal(other.to_string()),
    }
}

/// Codes after which nothing was committed and a retry may succeed.
fn is_transient(code: &str, sqlite: bool) -> bool {
    if sqlite {
        // SQLite result codes: SQLITE_BUSY (5) and SQLITE_LOCKED (6) and
        // their extended codes (the low byte is the primary code).
        return code
            .parse::<i64>()
            .is_ok_and(|extended| matches!(extended & 0xff, 5 | 6));
    }
    // Postgres SQLSTATEs: connection exceptions (08xxx), serialization and
    // deadlock failures, lock timeouts, too many connections, shutdown,
    // statement timeout.
    code.starts_with("08")
        || matches!(
            code,
            "40001" | "40P01" | "53300" | "57P01" | "57P02" | "57P03" | "57014" | "55P03"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_codes() {
        assert!(is_transient("08006", false));
        assert!(is_transient("40001", false));
        assert!(!is_transient("23505", false));
        assert!(!is_transient("22005", false));
        assert!(is_transient("5", true));
        assert!(is_transient("517", true)); // SQLITE_BUSY_SNAPSHOT
        assert!(!is_transient("2067", true)); // SQLITE_CONSTRAINT_UNIQUE
        assert!(!is_transient("", true));
    }

    fn sqlite_failure(extended: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(extended), Some("x".into()))
    }

    #[test]
    fn rusqlite_codes_map_like_sqlx() {
        use rusqlite::ffi;
        assert!(matches!(
            conflict_as("email already in use")(from_rusqlite(sqlite_failure(
                ffi::SQLITE_CONSTRAINT_UNIQUE
            ))),
            StoreError::Conflict(m) if m == "email already in use"
        ));
        assert!(matches!(
            from_rusqlite(sqlite_failure(ffi::SQLITE_CONSTRAINT_PRIMARYKEY)),
            StoreError::Conflict(m) if m == "already exists"
        ));
        assert!(matches!(
            from_rusqlite(sqlite_failure(ffi::SQLITE_CONSTRAINT_FOREIGNKEY)),
            StoreError::NotFound
        ));
        for busy in [
            ffi::SQLITE_BUSY,
            ffi::SQLITE_BUSY_SNAPSHOT,
            ffi::SQLITE_LOCKED,
        ] {
            assert!(matches!(
                from_rusqlite(sqlite_failure(busy)),
                StoreError::Unavailable(_)
            ));
        }
        assert!(matches!(
            from_rusqlite(sqlite_failure(ffi::SQLITE_CONSTRAINT_CHECK)),
            StoreError::Internal(_)
        ));
        assert!(matches!(
            from_rusqlite(rusqlite::Error::QueryReturnedNoRows),
            StoreError::NotFound
        ));
    }

    #[test]
    fn only_a_conflict_is_renamed() {
        let named = conflict_as("team name already in use");
        assert!(matches!(
            named(StoreError::Conflict(CONFLICT.into())),
            StoreError::Conflict(m) if m == "team name already in use"
        ));
        let named = conflict_as("team name already in use");
        assert!(matches!(named(StoreError::NotFound), StoreError::NotFound));
    }

    #[test]
    fn pool_timeouts_are_unavailable() {
        assert!(matches!(
            from_sqlx(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
    }
}
