//! One writer per output folder: an exclusive lock held for as long as something writes an
//! experiment there (`stepwise compare`, a resume, the app's save).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::EngineError;

/// The lock file inside an output folder. It stays when the lock is released; what counts is the
/// operating system's lock on it, which a process that dies (even by SIGKILL) gives up.
pub const LOCK_FILE: &str = ".stepwise.lock";

/// An exclusive hold on an output folder, released when dropped.
#[derive(Debug)]
pub struct FolderLock {
    // Held for its lock; the system releases it when the file is closed.
    _file: File,
    dir: PathBuf,
}

impl FolderLock {
    /// Creates `dir` if it does not exist and takes its lock, recording `holder` (what this
    /// process is doing, such as `stepwise compare`) and the process id in the lock file for a
    /// second writer's error.
    ///
    /// # Errors
    /// [`EngineError::Busy`] naming the folder and the holder when another process (or another
    /// lock in this one) holds it; [`EngineError::Io`] when the folder or its lock file cannot be
    /// made or locked.
    pub fn acquire(dir: &Path, holder: &str) -> Result<Self, EngineError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| EngineError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|source| EngineError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut recorded = String::new();
                // The holder writes its name just after locking: it may not be there yet.
                let _ = file.read_to_string(&mut recorded);
                let recorded = recorded.trim();
                return Err(EngineError::Busy {
                    dir: dir.to_path_buf(),
                    holder: if recorded.is_empty() {
                        "a process that has not said what it is".into()
                    } else {
                        recorded.chars().filter(|c| !c.is_control()).collect()
                    },
                });
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| write!(file, "{holder}, process {}", std::process::id()))
            .and_then(|()| file.flush())
            .map_err(io)?;
        Ok(Self {
            _file: file,
            dir: dir.to_path_buf(),
        })
    }

    /// Whether a process holds `dir`'s lock now (a status, not a promise: it may be released or
    /// taken the moment after).
    pub fn held(dir: &Path) -> bool {
        File::open(dir.join(LOCK_FILE))
            .is_ok_and(|file| matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock)))
    }

    /// The folder held.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
