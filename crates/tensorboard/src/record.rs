//! TensorFlow's record framing, which event files use: each record is its length (u64, little
//! endian), that length's masked CRC-32C (u32), the data, and the data's masked CRC-32C.

use std::path::{Path, PathBuf};

use prost::Message;
use thiserror::Error;

use crate::proto::Event;

/// Length and its checksum before the data, the data's checksum after it.
const HEADER: usize = 12;
const FOOTER: usize = 4;

/// CRC-32C, rotated and offset as TensorFlow masks it (a CRC of data that holds CRCs is weak).
pub(crate) fn masked_crc(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
        .rotate_right(15)
        .wrapping_add(0xa282_ead8)
}

/// `data` framed as one record.
pub(crate) fn frame(data: &[u8]) -> Vec<u8> {
    let length = (data.len() as u64).to_le_bytes();
    let mut record = Vec::with_capacity(HEADER + data.len() + FOOTER);
    record.extend_from_slice(&length);
    record.extend_from_slice(&masked_crc(&length).to_le_bytes());
    record.extend_from_slice(data);
    record.extend_from_slice(&masked_crc(data).to_le_bytes());
    record
}

/// Why an event file cannot be read.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A record is cut short, or its checksum or message is wrong.
    #[error("{path}: the record at byte {offset}: {problem}")]
    Record {
        /// The file.
        path: PathBuf,
        /// Where the record starts.
        offset: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// A record is whole, but the hparams plugin's data in it does not decode.
    #[error("{path}: the hparams plugin's data: {problem}")]
    PluginData {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

/// Every event of the file at `path`, in order, each record's checksums checked (the file is read
/// whole: event files are written in pieces of one run each).
///
/// # Errors
/// [`ReadError`]: the file cannot be read, or a record is truncated, fails its checksum or does not
/// decode.
pub fn read_events(path: &Path) -> Result<Vec<Event>, ReadError> {
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut events = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let problem = |problem: &str| ReadError::Record {
            path: path.to_owned(),
            offset,
            problem: problem.to_owned(),
        };
        let rest = &bytes[offset..];
        let header = rest
            .get(..HEADER)
            .ok_or_else(|| problem("truncated header"))?;
        let (length, length_crc) = header.split_at(8);
        if masked_crc(length).to_le_bytes() != length_crc {
            return Err(problem("the length's checksum does not match"));
        }
        let length = u64::from_le_bytes(length.try_into().unwrap_or_default());
        let end = usize::try_from(length)
            .ok()
            .and_then(|length| length.checked_add(HEADER + FOOTER))
            .filter(|&end| end <= rest.len())
            .ok_or_else(|| problem(&format!("{length} bytes of data announced, fewer left")))?;
        let data = &rest[HEADER..end - FOOTER];
        if masked_crc(data).to_le_bytes() != rest[end - FOOTER..end] {
            return Err(problem("the data's checksum does not match"));
        }
        events.push(Event::decode(data).map_err(|err| problem(&err.to_string()))?);
        offset += end;
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{FILE_VERSION, What};

    #[test]
    fn the_masked_crc_is_tensorflows() {
        // The CRC-32C check value of "123456789", and that CRC masked as TensorBoard's
        // `tensorflow_stub.pywrap_tensorflow.masked_crc32c` masks it.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283, "CRC-32C");
        assert_eq!(masked_crc(b"123456789"), 0xc78a_b0e5, "masked");
    }

    fn file_with(records: &[Vec<u8>]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("events.out.tfevents.test");
        std::fs::write(&path, records.concat()).expect("write");
        (dir, path)
    }

    fn version_event() -> Vec<u8> {
        Event {
            wall_time: 1.5,
            step: 0,
            what: Some(What::FileVersion(FILE_VERSION.into())),
        }
        .encode_to_vec()
    }

    #[test]
    fn framed_events_read_back() {
        let (_dir, path) = file_with(&[frame(&version_event()), frame(&version_event())]);
        let events = read_events(&path).expect("read");
        assert_eq!(events.len(), 2, "two records");
        assert_eq!(
            events[0].what,
            Some(What::FileVersion(FILE_VERSION.into())),
            "the version"
        );
    }

    #[test]
    fn a_damaged_record_is_named_by_its_offset() {
        let good = frame(&version_event());
        let mut flipped = good.clone();
        let last = flipped.len() - FOOTER - 1;
        flipped[last] ^= 1;
        let (_dir, path) = file_with(&[good.clone(), flipped]);
        let err = read_events(&path).expect_err("a flipped bit");
        assert!(
            err.to_string()
                .contains(&format!("at byte {}: the data's checksum", good.len())),
            "{err}"
        );
        let (_dir, path) = file_with(&[good[..good.len() - 1].to_vec()]);
        let err = read_events(&path).expect_err("truncated");
        assert!(err.to_string().contains("at byte 0: "), "{err}");
        assert!(err.to_string().contains("announced, fewer left"), "{err}");
    }
}
