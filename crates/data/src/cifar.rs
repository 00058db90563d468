//! The CIFAR-10 binary format: records of one label byte and 3,072 pixel bytes.

use std::path::{Path, PathBuf};

use crate::DataError;

/// Bytes per image: 1,024 red, then 1,024 green, then 1,024 blue, each 32x32 row-major.
pub const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Bytes per record: the label, then the image.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
/// Image side in pixels.
pub const SIDE: usize = 32;
/// The ten classes, by label.
pub const CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Labelled images as they are stored: `u8` pixels in channel-major (CHW) order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Images {
    labels: Vec<u8>,
    pixels: Vec<u8>,
}

impl Images {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Label of image `index` (0..9, see [`CLASSES`]).
    pub fn label(&self, index: usize) -> u8 {
        self.labels[index]
    }

    /// All labels, in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The 3,072 CHW pixel bytes of image `index`.
    pub fn pixels(&self, index: usize) -> &[u8] {
        &self.pixels[index * IMAGE_BYTES..(index + 1) * IMAGE_BYTES]
    }

    /// A checksum of the labels and pixels (CRC-32): tells these images from others of the same
    /// count, as resuming an experiment must.
    pub fn fingerprint(&self) -> u32 {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&self.labels);
        hasher.update(&self.pixels);
        hasher.finalize()
    }

    /// Images per class.
    pub fn class_counts(&self) -> [usize; 10] {
        let mut counts = [0; 10];
        for &label in &self.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }

    /// Parses records from `bytes`, read from `source` (named in errors).
    pub fn parse(bytes: &[u8], source: &Path) -> Result<Self, DataError> {
        if bytes.is_empty() {
            return Err(DataError::Empty {
                path: source.to_path_buf(),
            });
        }
        if !bytes.len().is_multiple_of(RECORD_BYTES) {
            return Err(DataError::BadSize {
                path: source.to_path_buf(),
                len: bytes.len() as u64,
            });
        }
        let count = bytes.len() / RECORD_BYTES;
        let mut images = Self {
            labels: Vec::with_capacity(count),
            pixels: Vec::with_capacity(count * IMAGE_BYTES),
        };
        for (record, chunk) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
            let label = chunk[0];
            if usize::from(label) >= CLASSES.len() {
                return Err(DataError::BadLabel {
                    path: source.to_path_buf(),
                    record,
                    label,
                });
            }
            images.labels.push(label);
            images.pixels.extend_from_slice(&chunk[1..]);
        }
        Ok(images)
    }

    /// Reads a whole batch file (`data_batch_1.bin`, `test_batch.bin`, ...).
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let bytes = std::fs::read(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&bytes, path)
    }

    /// Keeps the first `count` images (all of them when there are fewer).
    pub fn truncate(&mut self, count: usize) {
        let count = count.min(self.len());
        self.labels.truncate(count);
        self.pixels.truncate(count * IMAGE_BYTES);
    }

    /// Appends `other`'s images after these.
    pub fn extend(&mut self, other: Images) {
        self.labels.extend(other.labels);
        self.pixels.extend(other.pixels);
    }
}

/// Where a [`Cifar10`] came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The full data set installed in this folder (`cifar-10-batches-bin` under it).
    Installed(PathBuf),
    /// The sample shipped inside Stepwise (no data set installed in the folder named).
    Sample {
        /// The folder where no data set was found.
        looked_in: PathBuf,
    },
}

/// How every front-end and output file names the data: `CIFAR-10 in DIR`, or `the shipped CIFAR-10
/// sample` with the folder where none was installed (the browser, which has no folder, names none).
impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Installed(dir) => write!(f, "CIFAR-10 in {}", dir.display()),
            Self::Sample { looked_in } if looked_in.as_os_str().is_empty() => {
                f.write_str("the shipped CIFAR-10 sample")
            }
            Self::Sample { looked_in } => write!(
                f,
                "the shipped CIFAR-10 sample (no CIFAR-10 installed in {})",
                looked_in.display()
            ),
        }
    }
}

/// The training and test splits.
#[derive(Clone, Debug)]
pub struct Cifar10 {
    /// The training split (50,000 images in the full set).
    pub train: Images,
    /// The test split (10,000 images in the full set).
    pub test: Images,
    /// Where it came from.
    pub source: Source,
}
