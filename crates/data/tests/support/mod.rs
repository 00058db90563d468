//! Archives in the official layout, built from the shipped sample, for the tests.

#![allow(dead_code)] // each test binary uses part of it

use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use stepwise_data::{BATCHES_DIR, META_FILE, RECORD_BYTES, TEST_FILE, TRAIN_FILES};

/// The sample's records, as stored.
pub fn sample_bytes() -> (Vec<u8>, Vec<u8>) {
    let dir = package_dir().join("sample");
    (
        std::fs::read(dir.join("train.bin")).expect("sample train.bin"),
        std::fs::read(dir.join("test.bin")).expect("sample test.bin"),
    )
}

/// The files of a CIFAR-10 archive: the sample's training records spread over the five
/// training batches (400 each), its test records as the test batch, and the class names.
pub fn layout() -> Vec<(String, Vec<u8>)> {
    let (train, test) = sample_bytes();
    let mut files: Vec<(String, Vec<u8>)> = TRAIN_FILES
        .iter()
        .zip(train.chunks(400 * RECORD_BYTES))
        .map(|(name, chunk)| (format!("{BATCHES_DIR}/{name}"), chunk.to_vec()))
        .collect();
    files.push((format!("{BATCHES_DIR}/{TEST_FILE}"), test));
    files.push((
        format!("{BATCHES_DIR}/{META_FILE}"),
        stepwise_data::CLASSES.join("\n").into_bytes(),
    ));
    files
}

/// A `.tar.gz` of `files`, entry names written as given (even unsafe ones).
pub fn tar_gz(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        let field = &mut header.as_old_mut().name;
        field[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, bytes.as_slice()).expect("append");
    }
    builder.into_inner().expect("tar").finish().expect("gzip")
}

/// Writes `bytes` as `name` in `dir` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// Every file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).expect("under").display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// The package's folder, as cargo tells the running test: a test binary built in another checkout
/// that shares the target folder carries a compile-time path that may be gone.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
        || env!("CARGO_MANIFEST_DIR").into(),
        std::path::PathBuf::from,
    )
}
