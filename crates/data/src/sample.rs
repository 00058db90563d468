//! The sample that ships inside Stepwise: 2,000 training and 1,000 test images of the real data
//! set, 200 and 100 per class, cut by `sample/cut_sample.py` (see `sample/README.md`).

use std::path::{Path, PathBuf};

use crate::DataError;
use crate::cifar::{Cifar10, Images, Source};

const TRAIN: &[u8] = include_bytes!("../sample/train.bin");
const TEST: &[u8] = include_bytes!("../sample/test.bin");

/// The sample, noting that no data set was found in `looked_in`.
pub fn load(looked_in: &Path) -> Result<Cifar10, DataError> {
    let name =
        |file: &str| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/sample")).join(file);
    Ok(Cifar10 {
        train: Images::parse(TRAIN, &name("train.bin"))?,
        test: Images::parse(TEST, &name("test.bin"))?,
        source: Source::Sample {
            looked_in: looked_in.to_path_buf(),
        },
    })
}
