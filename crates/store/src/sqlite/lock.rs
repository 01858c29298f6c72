//! The lock a serving process holds on its SQLite file.
//!
//! A server on a SQLite file takes it for the only node: at start it voids
//! the active roles and consoles an earlier run left behind. A second server
//! on the same file would void the first's, silently. So `serve` holds an
//! advisory lock (`flock`, exclusive, never waited for) on a sidecar file
//! `<database>.lock` for as long as its store is open, and a second one
//! finds it taken and refuses to start. SQLite's own locks are not used for
//! this: they are held per transaction, and admin commands (which take no
//! lock here) must keep writing beside a running server. The sidecar stays
//! on disk when the server stops; the kernel drops the lock with the
//! process, however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use switchboard_core::StoreError;

/// An exclusive lock on a database file, held until dropped.
#[derive(Debug)]
pub(super) struct ServeLock {
    /// Open for as long as the lock is held: closing it releases it.
    _file: File,
}

impl ServeLock {
    /// Takes the lock of `database` (an absolute path), or says who holds it.
    pub(super) fn take(database: &Path) -> Result<Self, StoreError> {
        let path = sidecar(database);
        let cannot = |error: std::io::Error| {
            StoreError::Internal(format!("cannot lock {}: {error}", path.display()))
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(cannot)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Unavailable(format!(
                "another switchboard server holds the database {} (its lock {} is taken): \
                 stop that server first; admin commands may run beside it",
                database.display(),
                path.display()
            ))),
            Err(TryLockError::Error(error)) => Err(cannot(error)),
        }
    }
}

/// `<database>.lock`, beside the database.
fn sidecar(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    name.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("one.db");
        let first = ServeLock::take(&database).unwrap();
        let refused = ServeLock::take(&database).unwrap_err().to_string();
        assert!(refused.contains("another switchboard server"), "{refused}");
        assert!(
            refused.contains(&database.display().to_string()),
            "{refused}"
        );
        drop(first);
        ServeLock::take(&database).expect("free again once the first is gone");
    }
}
