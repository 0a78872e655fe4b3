//! The data dir holds the token, the database and every transcript: only its owner may
//! read it. It is made 0700 (and the database and token files 0600); an existing one that
//! belongs to another user or is open to the group or others is refused at start, with
//! the command that fixes it. Not a process-wide umask: agents and git inherit that, and
//! would make the files they write in the user's repositories private too.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why the data dir (or a file in it) is not private.
#[derive(Debug, thiserror::Error)]
pub enum PrivateDirError {
    /// It belongs to someone else.
    #[error(
        "{path} belongs to user {owner}, not to you (user {me}); use a data dir of your own \
         (--data-dir) or run Switchboard as its owner"
    )]
    NotOwner {
        /// The file or folder.
        path: PathBuf,
        /// Its owner's uid.
        owner: u32,
        /// Our uid.
        me: u32,
    },
    /// Others may read or enter it.
    #[error("{path} is open to other users (mode {mode:04o}); fix it with `chmod {fix:o} {path}`")]
    TooOpen {
        /// The file or folder.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
        /// The mode to set.
        fix: u32,
    },
    /// It could not be made or read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Makes `dir` 0700 if it is missing (its missing parents too); refuses one that exists and
/// is not private to us.
pub fn ensure_private_dir(dir: &Path) -> Result<(), PrivateDirError> {
    match std::fs::metadata(dir) {
        Ok(_) => check_private(dir, 0o700),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| PrivateDirError::Io {
                path: dir.to_path_buf(),
                source,
            }),
        Err(source) => Err(PrivateDirError::Io {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

/// Creates `file` empty with mode 0600 if it is missing, so whatever writes it later
/// (SQLite, which gives its WAL files the same mode) starts private.
pub fn ensure_private_file(file: &Path) -> Result<(), PrivateDirError> {
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file);
    match made {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(PrivateDirError::Io {
            path: file.to_path_buf(),
            source,
        }),
    }
}

/// Refuses `path` unless we own it and neither group nor others have any access.
pub fn check_private(path: &Path, fix: u32) -> Result<(), PrivateDirError> {
    let metadata = std::fs::metadata(path).map_err(|source| PrivateDirError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let me = nix::unistd::geteuid().as_raw();
    if metadata.uid() != me {
        return Err(PrivateDirError::NotOwner {
            path: path.to_path_buf(),
            owner: metadata.uid(),
            me,
        });
    }
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(PrivateDirError::TooOpen {
            path: path.to_path_buf(),
            mode,
            fix,
        });
    }
    Ok(())
}

/// Writes `bytes` to `path` readable by its owner alone (0600), through a `.partial` file
/// renamed over it, so a reader never sees half of it.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .map_err(|e| format!("{}: {e}", partial.display()))?;
    out.write_all(bytes)
        .and_then(|()| out.sync_all())
        .map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, path).map_err(|e| format!("{}: {e}", path.display()))
}
