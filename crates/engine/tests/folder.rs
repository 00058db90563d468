//! An output folder has one writer at a time, and a failed write leaves nothing half-written.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use stepwise_engine::EngineError;
use stepwise_engine::output::{self, FolderLock, LOCK_FILE};

#[test]
fn a_second_writer_is_refused_naming_the_folder_and_the_holder() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("results").join("a");
    let held = FolderLock::acquire(&dir, "stepwise compare").expect("first lock");
    assert!(dir.join(LOCK_FILE).is_file(), "the folder is made");
    let err = FolderLock::acquire(&dir, "stepwise-app save").expect_err("held");
    assert!(
        matches!(&err, EngineError::Busy { dir: d, holder } if *d == dir
            && *holder == format!("stepwise compare, process {}", std::process::id())),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{} is in use by another Stepwise process (stepwise compare, process {}); wait for \
             it to end, or choose another folder",
            dir.display(),
            std::process::id()
        )
    );
    drop(held);
    let again = FolderLock::acquire(&dir, "stepwise-app save").expect("released on drop");
    assert_eq!(again.dir(), dir);
}

#[test]
fn a_lock_on_a_file_that_is_no_folder_is_an_io_error() {
    let root = tempfile::tempdir().expect("temp dir");
    let file = root.path().join("plain");
    std::fs::write(&file, b"x").expect("write");
    let err = FolderLock::acquire(&file, "stepwise compare").expect_err("not a folder");
    assert!(
        matches!(&err, EngineError::Io { path, .. } if *path == file),
        "{err:?}"
    );
}

/// A write that cannot be made or finished names the file, keeps the old one and leaves no `.part`
/// behind.
#[test]
fn a_write_that_fails_leaves_no_part_file() {
    let root = tempfile::tempdir().expect("temp dir");
    let path = root.path().join("results.json");
    std::fs::write(&path, b"old").expect("write");
    // A folder where the `.part` file would go: creating it fails.
    std::fs::create_dir(root.path().join("results.json.part")).expect("dir");
    let err = output::write_atomically(&path, b"new").expect_err("cannot create");
    assert!(
        matches!(&err, EngineError::Io { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read(&path).expect("read"),
        b"old",
        "the old file stays"
    );
    std::fs::remove_dir(root.path().join("results.json.part")).expect("rmdir");

    if std::path::Path::new("/dev/full").exists() {
        // A file system that is full: the `.part` is made, then cannot be written.
        let full = root.path().join("full");
        std::os::unix::fs::symlink("/dev/full", full.with_extension("part")).expect("symlink");
        let err = output::write_atomically(&full, &[0; 4096]).expect_err("disk full");
        assert!(err.to_string().contains("No space left on device"), "{err}");
        assert!(!full.exists(), "nothing renamed into place");
        assert!(
            std::fs::symlink_metadata(full.with_extension("part")).is_err(),
            "the .part is removed"
        );
    }
}
