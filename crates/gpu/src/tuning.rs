//! Where burn-wgpu keeps its autotune choices: one database per adapter in the platform's cache
//! folder, shared by every Stepwise process (the CLI, the app, tests and benchmarks), so that a
//! convolution or matrix product of a given shape is benchmarked once per machine and adapter, not
//! once per process. burn's autotune (cubecl) keys each choice by kernel and shape inside the
//! database; the database's name keys it by adapter and driver.
//!
//! A cache that cannot be read is set aside and rebuilt; one that cannot be written costs tuning
//! again in the next process, never a failure: cubecl then keeps its choices in memory.

use std::path::{Path, PathBuf};

use burn::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};

use crate::AdapterSummary;

/// Overrides the folder of the tuning caches (CI points it beside its build cache).
pub const TUNING_DIR_VARIABLE: &str = "STEPWISE_TUNING_DIR";

/// The first 16 bytes of every SQLite-format database, which cubecl's store (Turso) writes.
const DATABASE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The folder holding the tuning caches: `$STEPWISE_TUNING_DIR`, else `stepwise/tuning` in the
/// platform's cache folder (`~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on
/// Windows); `None` where the platform names no cache folder.
pub fn tuning_dir() -> Option<PathBuf> {
    match std::env::var_os(TUNING_DIR_VARIABLE) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => dirs::cache_dir().map(|dir| dir.join("stepwise").join("tuning")),
    }
}

/// Makes burn-wgpu keep its tuning for `adapter` in [`tuning_dir`], and returns the database's
/// path. Call it before training on that adapter; a process that does not call it tunes into
/// cubecl's default location instead. `None` (with a warning in the log) where the platform names
/// no cache folder: autotune then still works, in memory.
pub fn keep_tuning_for(adapter: &AdapterSummary) -> Option<PathBuf> {
    let Some(dir) = tuning_dir() else {
        tracing::warn!("no cache folder on this platform: kernel tuning is kept in memory only");
        return None;
    };
    keep_tuning_in(&dir, adapter)
}

/// [`keep_tuning_for`] in `dir`, for the whole process (cubecl's environment is global). `None`
/// (with a warning in the log) where `dir` cannot be made.
pub fn keep_tuning_in(dir: &Path, adapter: &AdapterSummary) -> Option<PathBuf> {
    if let Err(err) = std::fs::create_dir_all(dir) {
        tracing::warn!(
            dir = %dir.display(),
            %err,
            "cannot make the tuning cache folder: kernel tuning is kept in memory only"
        );
        return None;
    }
    // cubecl points its environment at its configured place (`cubecl.toml`, else
    // `target/environment`) when its configuration first loads, which is when the first device
    // starts: load it now, so that what follows is not undone then.
    let _ = <CubeClRuntimeConfig as RuntimeConfig>::get();
    burn::cubecl::environment::set_root(dir);
    burn::cubecl::environment::activate(environment_name(adapter));
    let path = burn::cubecl::environment::path();
    set_aside_if_damaged(&path);
    Some(path)
}

/// The adapter, its backend and its driver, as cubecl names a database (characters outside
/// `[A-Za-z0-9._-]` become `_`): tuning measured on one driver version is not reused on another.
fn environment_name(adapter: &AdapterSummary) -> String {
    format!("{}-{}-{}", adapter.name, adapter.backend, adapter.driver)
}

/// Whether `path` holds something other than a database (a truncated or overwritten file).
fn is_damaged(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false; // absent or unreadable: cubecl creates it or goes without
    };
    !bytes.is_empty() && !bytes.starts_with(DATABASE_HEADER)
}

/// Moves a damaged database (and its write-ahead log and shared-memory index) aside as
/// `*.damaged`, replacing any set aside before, so that cubecl builds a new one in its place
/// instead of tuning in memory in every process from now on.
fn set_aside_if_damaged(path: &Path) {
    if !is_damaged(path) {
        return;
    }
    tracing::warn!(
        path = %path.display(),
        "the kernel tuning cache is damaged: setting it aside and tuning again"
    );
    for suffix in ["", "-wal", "-shm", "-tshm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            let aside = PathBuf::from(format!("{}.damaged", file.display()));
            if let Err(err) = std::fs::rename(&file, &aside) {
                tracing::warn!(file = %file.display(), %err, "cannot set the damaged file aside");
            }
        }
    }
}
