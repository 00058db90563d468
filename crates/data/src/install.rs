//! Where the data set lives, and loading it (or the shipped sample when it is absent).

use std::path::{Path, PathBuf};

use crate::DataError;
use crate::cifar::{Cifar10, Images, Source};

/// The folder the official archive unpacks to.
pub const BATCHES_DIR: &str = "cifar-10-batches-bin";
/// The training batch files, in the official order.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test batch file.
pub const TEST_FILE: &str = "test_batch.bin";
/// The class names, one per line.
pub const META_FILE: &str = "batches.meta.txt";

/// The default data folder: the platform cache folder's `stepwise/cifar10` (on Linux
/// `~/.cache/stepwise/cifar10`).
pub fn default_dir() -> Result<PathBuf, DataError> {
    dirs::cache_dir()
        .map(|cache| cache.join("stepwise").join("cifar10"))
        .ok_or(DataError::NoCacheDir)
}

/// Whether `dir` holds an installed data set (every batch file present).
pub fn is_installed(dir: &Path) -> bool {
    let batches = dir.join(BATCHES_DIR);
    TRAIN_FILES
        .iter()
        .chain([&TEST_FILE])
        .all(|file| batches.join(file).is_file())
}

/// The installation `dir` names: `dir`, or its parent when `dir` is an installation's
/// `cifar-10-batches-bin` folder itself (pointing at the unpacked folder is an easy slip, and
/// would otherwise fall back to the sample).
fn installation(dir: &Path) -> &Path {
    match dir.parent() {
        Some(parent)
            if dir.file_name() == Some(std::ffi::OsStr::new(BATCHES_DIR))
                && !is_installed(dir)
                && is_installed(parent) =>
        {
            parent
        }
        _ => dir,
    }
}

/// Loads the data set installed in `dir` (or in its parent, when `dir` is the installation's
/// `cifar-10-batches-bin`).
pub fn load(dir: &Path) -> Result<Cifar10, DataError> {
    let dir = installation(dir);
    if !is_installed(dir) {
        return Err(DataError::NotInstalled {
            dir: dir.to_path_buf(),
        });
    }
    let batches = dir.join(BATCHES_DIR);
    let mut train = Images::default();
    for file in TRAIN_FILES {
        train.extend(Images::read(&batches.join(file))?);
    }
    let test = Images::read(&batches.join(TEST_FILE))?;
    Ok(Cifar10 {
        train,
        test,
        source: Source::Installed(dir.to_path_buf()),
    })
}

/// Loads the data set installed in `dir` (as [`load`]), or the shipped sample if none is (see
/// [`Cifar10::source`]). A data set that is installed but unreadable is an error, not a fallback.
/// (Native only: the browser build fetches the sample, see [`crate::sample_from_bytes`].)
#[cfg(not(target_arch = "wasm32"))]
pub fn load_or_sample(dir: &Path) -> Result<Cifar10, DataError> {
    let dir = installation(dir);
    let batches = dir.join(BATCHES_DIR);
    if is_installed(dir) {
        load(dir)
    } else if batches.exists() {
        // Half an installation is a broken one, not an absent one: training on the sample
        // instead would hide it.
        let missing = TRAIN_FILES
            .iter()
            .chain([&TEST_FILE])
            .find(|file| !batches.join(file).is_file())
            .map_or_else(|| BATCHES_DIR.to_string(), |file| (*file).to_string());
        Err(DataError::PartlyInstalled {
            dir: batches,
            missing,
        })
    } else {
        crate::sample::load_sample(dir)
    }
}
