//! Generated inputs for the record reader and the archive extractor: whatever the bytes, an
//! error that names its input, never a panic, and nothing written outside the target folder.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

mod support;

use std::path::Path;

use proptest::prelude::*;
use stepwise_data::{Images, RECORD_BYTES, unpack};
use support::{files_under, tar_gz};

/// A small valid archive: a folder's worth of little files.
fn small_archive() -> Vec<u8> {
    let files: Vec<(String, Vec<u8>)> = (0..4)
        .map(|i| (format!("dir/file-{i}.bin"), vec![i as u8; 300 + 50 * i]))
        .collect();
    tar_gz(&files)
}

proptest! {
    // Bounded for CI: a few hundred cases in all, each a few milliseconds.
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn records_parse_or_the_error_names_the_file(bytes in proptest::collection::vec(any::<u8>(), 0..4 * RECORD_BYTES)) {
        let source = Path::new("generated/batch.bin");
        match Images::parse(&bytes, source) {
            Ok(images) => {
                prop_assert_eq!(images.len() * RECORD_BYTES, bytes.len());
                prop_assert!(images.labels().iter().all(|&label| label < 10));
            }
            Err(err) => prop_assert!(err.to_string().starts_with("generated/batch.bin: "), "{}", err),
        }
    }

    #[test]
    fn whole_records_with_labels_in_range_always_parse(
        records in proptest::collection::vec((0u8..10, proptest::collection::vec(any::<u8>(), 3072)), 1..4)
    ) {
        let bytes: Vec<u8> = records
            .iter()
            .flat_map(|(label, pixels)| std::iter::once(*label).chain(pixels.iter().copied()))
            .collect();
        let images = Images::parse(&bytes, Path::new("generated.bin")).expect("valid records");
        prop_assert_eq!(images.len(), records.len());
        for (i, (label, pixels)) in records.iter().enumerate() {
            prop_assert_eq!(images.label(i), *label);
            prop_assert_eq!(images.pixels(i), pixels.as_slice());
        }
    }

    #[test]
    fn arbitrary_bytes_are_refused_as_archives_naming_the_file(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join("generated.tar.gz");
        std::fs::write(&archive, &bytes).expect("write");
        let target = dir.path().join("target");
        std::fs::create_dir(&target).expect("mkdir");
        if let Err(err) = unpack(&archive, &target) {
            prop_assert!(err.to_string().starts_with(&archive.display().to_string()), "{}", err);
        }
        prop_assert_eq!(files_under(dir.path()).len(), 1 + files_under(&target).len());
    }

    #[test]
    fn damaged_archives_unpack_or_fail_naming_the_file(flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..6)) {
        let mut bytes = small_archive();
        for (at, bit) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join("damaged.tar.gz");
        std::fs::write(&archive, &bytes).expect("write");
        let target = dir.path().join("target");
        std::fs::create_dir(&target).expect("mkdir");
        if let Err(err) = unpack(&archive, &target) {
            let message = err.to_string();
            prop_assert!(message.starts_with(&archive.display().to_string()), "{}", message);
            prop_assert!(!message.chars().any(char::is_control), "{:?}", message);
        }
        // Nothing beside the archive and the target folder.
        let outside: Vec<String> = files_under(dir.path())
            .into_iter()
            .filter(|f| f != "damaged.tar.gz" && !f.starts_with("target/"))
            .collect();
        prop_assert!(outside.is_empty(), "{:?}", outside);
    }
}
