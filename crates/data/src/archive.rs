//! The official archive: its checksum, and safe extraction into a data folder.

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;
use md5::{Digest, Md5};

use crate::error::printable;
use crate::install::{BATCHES_DIR, META_FILE, TEST_FILE, TRAIN_FILES};
use crate::{DataError, Images};

/// md5 of the official `cifar-10-binary.tar.gz`, as published with it.
pub const OFFICIAL_MD5: &str = "c32a1d4ab5d03f1284b67883e8d87530";
/// The archive's file name.
pub const ARCHIVE_NAME: &str = "cifar-10-binary.tar.gz";
/// The largest archive entry extracted: twice CIFAR-10's largest file (a batch, 30,730,000
/// bytes).
const ENTRY_LIMIT: u64 = 64 << 20;
/// The most bytes an archive may unpack to: CIFAR-10 unpacks to 184,380,000 bytes or so.
const TOTAL_LIMIT: u64 = 256 << 20;
/// The most entries an archive may hold: CIFAR-10's has ten.
const ENTRY_COUNT_LIMIT: u64 = 64;

/// The md5 of a file, as lower-case hex.
pub fn md5_hex(path: &Path) -> Result<String, DataError> {
    let io_error = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = BufReader::new(File::open(path).map_err(io_error)?);
    let mut hasher = Md5::new();
    io::copy(&mut file, &mut hasher).map_err(io_error)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// What [`import`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// The archive's md5.
    pub md5: String,
    /// Whether it is the official archive's.
    pub official: bool,
    /// Where the batch files now are.
    pub batches: PathBuf,
}

/// Installs a local copy of the official archive into `dir` (as `dir/cifar-10-batches-bin`):
/// checks its md5 against the official one (a mismatch is an error unless
/// `allow_checksum_mismatch`), then [`install`]s it.
pub fn import(
    archive: &Path,
    dir: &Path,
    allow_checksum_mismatch: bool,
) -> Result<Imported, DataError> {
    let md5 = md5_hex(archive)?;
    let official = md5 == OFFICIAL_MD5;
    if !official && !allow_checksum_mismatch {
        return Err(DataError::Checksum {
            path: archive.to_path_buf(),
            expected: OFFICIAL_MD5.to_string(),
            actual: md5,
            advice: "not the official archive (pass --allow-checksum-mismatch to install it anyway)",
        });
    }
    Ok(Imported {
        batches: install(archive, dir)?,
        md5,
        official,
    })
}

/// Unpacks `archive` into a staging folder inside `dir`, checks that every batch file is there
/// and parses, and only then moves it into place as `dir/cifar-10-batches-bin`, replacing what was
/// there. A failure at any point leaves `dir` as it was. Returns the batch folder.
pub fn install(archive: &Path, dir: &Path) -> Result<PathBuf, DataError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let staging = fresh_dir(dir, "import")?;
    let result = unpack_checked(archive, &staging).and_then(|()| {
        let target = dir.join(BATCHES_DIR);
        if !target.exists() {
            fs::rename(staging.join(BATCHES_DIR), &target).map_err(io_error(&target))?;
            return Ok(target);
        }
        let previous = fresh_dir(dir, "previous")?;
        let kept = previous.join(BATCHES_DIR);
        fs::rename(&target, &kept).map_err(io_error(&target))?;
        if let Err(source) = fs::rename(staging.join(BATCHES_DIR), &target) {
            // Put the old installation back; the error is the one to report.
            let _ = fs::rename(&kept, &target);
            let _ = fs::remove_dir(&previous);
            return Err(DataError::Io {
                path: target,
                source,
            });
        }
        fs::remove_dir_all(&previous).map_err(io_error(&previous))?;
        Ok(target)
    });
    // The staging folder goes whatever happened.
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io_error(&staging))?;
    }
    result
}

/// A new, empty folder `dir/.{purpose}-{pid}-{n}` that nothing else uses: an interrupted import
/// can leave one behind, and a later import (often with the same process id, in containers) must
/// not mistake its files for its own.
fn fresh_dir(dir: &Path, purpose: &str) -> Result<PathBuf, DataError> {
    let mut n = 0_u32;
    loop {
        let path = dir.join(format!(".{purpose}-{}-{n}", std::process::id()));
        match fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(source) => return Err(DataError::Io { path, source }),
        }
    }
}

/// Unpacks into `staging`, then checks the layout and every record.
fn unpack_checked(archive: &Path, staging: &Path) -> Result<(), DataError> {
    unpack(archive, staging)?;
    let batches = staging.join(BATCHES_DIR);
    for file in TRAIN_FILES.iter().chain([&TEST_FILE, &META_FILE]) {
        let path = batches.join(file);
        if !path.is_file() {
            return Err(DataError::Incomplete {
                path: archive.to_path_buf(),
                missing: format!("{BATCHES_DIR}/{file}"),
            });
        }
        if *file != META_FILE {
            let in_archive = PathBuf::from(format!("{}:{BATCHES_DIR}/{file}", archive.display()));
            let bytes = fs::read(&path).map_err(|source| DataError::Io {
                path: path.clone(),
                source,
            })?;
            Images::parse(&bytes, &in_archive)?;
        }
    }
    Ok(())
}

/// Unpacks a `.tar.gz` into `target`: regular files and folders only, every path relative and
/// inside `target` (no `..`, no absolute paths, no links).
pub fn unpack(archive: &Path, target: &Path) -> Result<(), DataError> {
    let file = File::open(archive).map_err(|source| DataError::Io {
        path: archive.to_path_buf(),
        source,
    })?;
    let corrupt = |detail: String| DataError::Archive {
        path: archive.to_path_buf(),
        detail: printable(&detail),
    };
    let oversized_archive = |what, limit| DataError::OversizedArchive {
        path: archive.to_path_buf(),
        what,
        limit,
    };
    let mut tar = tar::Archive::new(MultiGzDecoder::new(BufReader::new(file)));
    let entries = tar.entries().map_err(|err| corrupt(err.to_string()))?;
    let mut unpacked = 0u64;
    for (index, entry) in entries.enumerate() {
        if index as u64 >= ENTRY_COUNT_LIMIT {
            return Err(oversized_archive(
                "the number of entries",
                ENTRY_COUNT_LIMIT,
            ));
        }
        let mut entry = entry.map_err(|err| corrupt(err.to_string()))?;
        let name = printable(&String::from_utf8_lossy(&entry.path_bytes()));
        let unsafe_entry = |why| DataError::UnsafeEntry {
            path: archive.to_path_buf(),
            entry: name.clone(),
            why,
        };
        let relative = entry
            .path()
            .map_err(|err| corrupt(format!("entry '{name}': {err}")))?;
        if !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(unsafe_entry("its path leaves the target folder"));
        }
        let destination = target.join(&relative);
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            fs::create_dir_all(&destination).map_err(|source| DataError::Io {
                path: destination.clone(),
                source,
            })?;
        } else if kind.is_file() {
            if let Some(parent) = destination.parent() {
                fs::create_dir_all(parent).map_err(|source| DataError::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            // Read whole, then write: a read error is the archive's fault, a write error the disk's.
            // At most ENTRY_LIMIT bytes, whatever the header says (headers can lie, and a
            // compressed entry can expand without end).
            let oversized = || DataError::OversizedEntry {
                path: archive.to_path_buf(),
                entry: name.clone(),
                limit: ENTRY_LIMIT,
            };
            if entry.size() > ENTRY_LIMIT {
                return Err(oversized());
            }
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            (&mut entry)
                .take(ENTRY_LIMIT + 1)
                .read_to_end(&mut bytes)
                .map_err(|err| corrupt(format!("entry '{name}': {err}")))?;
            if bytes.len() as u64 > ENTRY_LIMIT {
                return Err(oversized());
            }
            unpacked += bytes.len() as u64;
            if unpacked > TOTAL_LIMIT {
                return Err(oversized_archive("its unpacked size in bytes", TOTAL_LIMIT));
            }
            fs::write(&destination, bytes).map_err(|source| DataError::Io {
                path: destination.clone(),
                source,
            })?;
        } else if kind.is_symlink() || kind.is_hard_link() {
            return Err(unsafe_entry("links are not extracted"));
        }
        // Other entry types (pax headers, GNU long names) carry metadata the reader already used.
    }
    // tar stops at its end-of-archive blocks; reading the gzip stream to its end checks the CRC-32
    // and length in its trailer, which catches corruption inside file contents.
    io::copy(&mut tar.into_inner(), &mut io::sink())
        .map_err(|err| corrupt(format!("after the last entry: {err}")))?;
    Ok(())
}
