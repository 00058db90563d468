#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

//! The whole data set through the import code a user runs: the archive named by
//! `STEPWISE_CIFAR10_ARCHIVE` (`.ci/run` points it at `../shared/cifar10/cifar-10-binary.tar.gz`).
//! Without that variable the test says it is skipped and passes, so that `cargo test` works on a
//! machine without the archive.

use stepwise_data::{Normalization, import, load};

#[test]
fn the_full_archive_imports_with_official_counts_and_statistics() {
    let Some(archive) = std::env::var_os("STEPWISE_CIFAR10_ARCHIVE") else {
        eprintln!(
            "SKIPPED: STEPWISE_CIFAR10_ARCHIVE is not set (point it at cifar-10-binary.tar.gz)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // The shared copy is rebuilt, not byte-identical to the official file (see its README).
    let imported = import(archive.as_ref(), dir.path(), true).expect("import");
    eprintln!(
        "imported {} (md5 {}, official: {})",
        imported.batches.display(),
        imported.md5,
        imported.official
    );
    let data = load(dir.path()).expect("load");
    assert_eq!(data.train.len(), 50_000);
    assert_eq!(data.test.len(), 10_000);
    assert_eq!(data.train.class_counts(), [5_000; 10]);
    assert_eq!(data.test.class_counts(), [1_000; 10]);
    // The statistics Stepwise normalises with are this training set's (up to JPEG noise).
    let measured = Normalization::measure(&data.train);
    for c in 0..3 {
        assert!(
            (measured.mean[c] - Normalization::CIFAR10.mean[c]).abs() < 2e-3,
            "{measured:?}"
        );
        assert!(
            (measured.std[c] - Normalization::CIFAR10.std[c]).abs() < 2e-3,
            "{measured:?}"
        );
    }
}
