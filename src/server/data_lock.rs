//! One process at a time writes a data dir: the server holds an exclusive lock on
//! `<data_dir>/switchboard.lock` while it runs, and so does `switchboard import`. Two
//! writers would each number a session's events on their own.

use std::fs::File;
use std::path::Path;

/// The lock file's name in the data dir.
pub const LOCK_FILE: &str = "switchboard.lock";

/// Why the data dir could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "another Switchboard process is using {0} (a server, or an import); stop it first, \
         or import from the running server's Import page"
    )]
    Busy(String),
    /// The lock file could not be opened or locked.
    #[error("cannot lock {path}: {cause}")]
    Io {
        /// The lock file.
        path: String,
        /// The cause.
        cause: String,
    },
}

/// The held lock; released when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub struct DataDirLock {
    _held: nix::fcntl::Flock<File>,
}

impl DataDirLock {
    /// Takes the data dir's lock, without waiting.
    pub fn acquire(data_dir: &Path) -> Result<DataDirLock, LockError> {
        Self::acquire_file(&data_dir.join(LOCK_FILE), data_dir)
    }

    /// Takes the lock of `path`, a lock file in `data_dir` (the runner has its own).
    pub fn acquire_file(path: &Path, data_dir: &Path) -> Result<DataDirLock, LockError> {
        use std::os::unix::fs::OpenOptionsExt;
        let io = |cause: String| LockError::Io {
            path: path.display().to_string(),
            cause,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| io(e.to_string()))?;
        match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
            Ok(held) => Ok(DataDirLock { _held: held }),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                Err(LockError::Busy(data_dir.display().to_string()))
            }
            Err((_, errno)) => Err(io(errno.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = DataDirLock::acquire(dir.path()).expect("free");
        let second = DataDirLock::acquire(dir.path()).unwrap_err();
        assert!(
            second.to_string().contains("another Switchboard process"),
            "{second}"
        );
        drop(first);
        DataDirLock::acquire(dir.path()).expect("free again");
    }
}
