//! CIFAR-10 for Stepwise.
//!
//! - [`download`] fetches the official `cifar-10-binary.tar.gz` (resumable, md5-checked) and
//!   [`import`] installs a local copy of it; both unpack through [`unpack`], which refuses entries
//!   that would land outside the data folder, and replace an installed copy only once the new one
//!   has been read back whole.
//! - [`Images`] reads the binary format (a label byte and 3,072 CHW pixel bytes per record);
//!   [`load_or_sample`] loads an installed data set, or the real 3,000-image sample shipped inside
//!   this crate when none is installed.
//! - [`Batches`] turns an epoch into normalised batches in a seeded order, with optional
//!   augmentation, and [`HostBatch::into_tensors`] puts one on any burn device.
//!
//! Every error names the file (and record, entry or address) at fault: [`DataError`].

mod archive;
mod batch;
mod cifar;
#[cfg(feature = "download")]
mod download;
mod error;
mod install;
mod sample;

pub use archive::{ARCHIVE_NAME, Imported, OFFICIAL_MD5, import, install, md5_hex, unpack};
pub use batch::{Augment, Batches, HostBatch, Normalization, epoch_order};
pub use cifar::{CLASSES, Cifar10, IMAGE_BYTES, Images, RECORD_BYTES, SIDE, Source};
#[cfg(feature = "download")]
pub use download::{Limits, OFFICIAL_SIZE, OFFICIAL_URL, Progress, download};
pub use error::DataError;
#[cfg(not(target_arch = "wasm32"))]
pub use install::load_or_sample;
pub use install::{
    BATCHES_DIR, META_FILE, TEST_FILE, TRAIN_FILES, default_dir, is_installed, load,
};
#[cfg(not(target_arch = "wasm32"))]
pub use sample::load_sample;
pub use sample::{SAMPLE_TEST_FILE, SAMPLE_TRAIN_FILE, sample_from_bytes};
