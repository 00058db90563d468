//! What can go wrong with data, each naming the file (and record, entry or URL) at fault.

use std::path::PathBuf;

/// A data error. Every variant names what is wrong and where.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A batch file that is not a whole number of records.
    #[error(
        "{path}: {len} bytes is not a whole number of 3,073-byte CIFAR-10 records \
         (the file ends {} bytes into record {}; truncated or not a CIFAR-10 batch file)",
        len % crate::RECORD_BYTES as u64, len / crate::RECORD_BYTES as u64
    )]
    BadSize {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        len: u64,
    },
    /// A record whose label is not a class.
    #[error(
        "{path}: record {record} (byte offset {}) has label {label}; CIFAR-10 labels are 0 to 9",
        record * crate::RECORD_BYTES
    )]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// Index of the record in the file.
        record: usize,
        /// The label found.
        label: u8,
    },
    /// An archive whose md5 is not the official one.
    #[error("{path}: md5 is {actual}, expected {expected}; {advice}")]
    Checksum {
        /// The archive (or the address it came from).
        path: PathBuf,
        /// The md5 expected.
        expected: String,
        /// The md5 found.
        actual: String,
        /// What to do about it.
        advice: &'static str,
    },
    /// An archive that cannot be decompressed or unpacked.
    #[error("{path}: corrupt or truncated archive: {detail}")]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What failed, and in which entry.
        detail: String,
    },
    /// An archive entry that would land outside the target folder, or a link.
    #[error("{path}: refusing entry '{entry}': {why}")]
    UnsafeEntry {
        /// The archive.
        path: PathBuf,
        /// The entry's name.
        entry: String,
        /// Why it is refused.
        why: &'static str,
    },
    /// An archive that lacks a file of the CIFAR-10 layout.
    #[error("{path}: not a CIFAR-10 binary archive: it has no {missing}")]
    Incomplete {
        /// The archive.
        path: PathBuf,
        /// The file it lacks.
        missing: String,
    },
    /// A data set folder without every batch file.
    #[error(
        "{dir} has no {missing}: the data set is only partly installed; install it again with \
         `stepwise data download` or `stepwise data import --archive PATH`"
    )]
    PartlyInstalled {
        /// The batch folder.
        dir: PathBuf,
        /// The first file it lacks.
        missing: String,
    },
    /// A batch file without a single record.
    #[error("{path}: the file is empty (a CIFAR-10 batch file holds 3,073-byte records)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// An archive entry far larger than any file of CIFAR-10.
    #[error("{path}: entry '{entry}' is larger than {limit} bytes; no CIFAR-10 file is")]
    OversizedEntry {
        /// The archive.
        path: PathBuf,
        /// The entry's name.
        entry: String,
        /// The largest entry accepted.
        limit: u64,
    },
    /// An archive that unpacks to more than any CIFAR-10 archive does, or holds more entries.
    #[error("{path}: {what} exceeds {limit}; the CIFAR-10 archive is far below that")]
    OversizedArchive {
        /// The archive.
        path: PathBuf,
        /// What grew too large: its unpacked bytes, or its entries.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// A download larger than the archive can be, stopped there.
    #[error("download of {url}: {detail}; nothing of it was kept")]
    TooLarge {
        /// The address.
        url: String,
        /// What the server announced or sent, against what was expected.
        detail: String,
    },
    /// No data set in the folder.
    #[error(
        "no CIFAR-10 in {dir}: run `stepwise data download`, or `stepwise data import --archive PATH`"
    )]
    NotInstalled {
        /// The folder looked in.
        dir: PathBuf,
    },
    /// The server refused or failed the request.
    #[error("download of {url} failed: {detail}")]
    Http {
        /// The address.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The transfer stopped before the end.
    #[error(
        "download of {url} stopped after {received} {} ({detail}); run the command again to resume",
        expected.map_or_else(|| "bytes".to_string(), |total| format!("of {total} bytes"))
    )]
    Interrupted {
        /// The address.
        url: String,
        /// Bytes on disk so far (kept for resuming).
        received: u64,
        /// Bytes the server announced, if it did.
        expected: Option<u64>,
        /// What broke.
        detail: String,
    },
    /// No platform cache folder and no `--dir`.
    #[error("no cache folder on this platform: give a folder with --dir")]
    NoCacheDir,
}

/// `text` with control characters (escape sequences, carriage returns) written as escapes: names
/// and messages that come from an archive or a server reach the terminal as text, never as
/// commands to it.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
