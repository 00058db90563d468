//! The sample that ships inside Stepwise: 2,000 training and 1,000 test images of the real data
//! set, 200 and 100 per class, cut by `sample/cut_sample.py` (see `sample/README.md`).
//!
//! Native builds carry the two files inside the binary. The browser build does not (9 MB that
//! barely compress would more than double the download); the page fetches them from beside itself
//! and hands the bytes to [`sample_from_bytes`].

use std::path::Path;

use crate::DataError;
use crate::cifar::{Cifar10, Images, Source};

/// The sample's training file (`sample/` in this crate; beside the page in the browser build).
pub const SAMPLE_TRAIN_FILE: &str = "train.bin";
/// The sample's test file.
pub const SAMPLE_TEST_FILE: &str = "test.bin";

/// The sample, noting that no data set was used from `looked_in`.
///
/// # Errors
/// Never in practice: the files are compiled in and checked by the tests.
#[cfg(not(target_arch = "wasm32"))]
pub fn load_sample(looked_in: &Path) -> Result<Cifar10, DataError> {
    const TRAIN: &[u8] = include_bytes!("../sample/train.bin");
    const TEST: &[u8] = include_bytes!("../sample/test.bin");
    let folder = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/sample"));
    sample_from_bytes(TRAIN, TEST, &folder, looked_in)
}

/// The sample from the bytes of its two files, read from `folder` (a path or URL, named in
/// errors), noting that no data set was found in `looked_in`.
///
/// # Errors
/// [`DataError`] naming the file at fault when the bytes are not whole CIFAR-10 records.
pub fn sample_from_bytes(
    train: &[u8],
    test: &[u8],
    folder: &Path,
    looked_in: &Path,
) -> Result<Cifar10, DataError> {
    Ok(Cifar10 {
        train: Images::parse(train, &folder.join(SAMPLE_TRAIN_FILE))?,
        test: Images::parse(test, &folder.join(SAMPLE_TEST_FILE))?,
        source: Source::Sample {
            looked_in: looked_in.to_path_buf(),
        },
    })
}
