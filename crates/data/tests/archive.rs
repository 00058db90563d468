#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

//! Importing an archive: checksum, safe extraction, layout checks, and that a failed import
//! leaves an existing installation untouched.

mod support;

use stepwise_data::{DataError, OFFICIAL_MD5, import, install, load, md5_hex};
use support::{files_under, layout, tar_gz, write};

#[test]
fn a_checksum_mismatch_is_an_error_unless_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = write(dir.path(), "copy.tar.gz", &tar_gz(&layout()));
    let target = dir.path().join("data");
    let md5 = md5_hex(&archive).expect("md5");
    assert_ne!(md5, OFFICIAL_MD5);

    let err = import(&archive, &target, false).expect_err("not the official archive");
    assert!(matches!(err, DataError::Checksum { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: md5 is {md5}, expected {OFFICIAL_MD5}; not the official archive (pass \
             --allow-checksum-mismatch to install it anyway)",
            archive.display()
        )
    );
    assert!(
        !target.exists(),
        "nothing may be written on a refused import"
    );

    let imported = import(&archive, &target, true).expect("allowed");
    assert_eq!(imported.md5, md5);
    assert!(!imported.official);
    assert_eq!(imported.batches, target.join("cifar-10-batches-bin"));
    let data = load(&target).expect("installed");
    assert_eq!(data.train.len(), 2_000);
    assert_eq!(data.test.len(), 1_000);
    assert_eq!(data.train.class_counts(), [200; 10]);
    // The records came through unchanged, in order.
    let (train, test) = support::sample_bytes();
    assert_eq!(data.train.pixels(777), &train[777 * 3073 + 1..778 * 3073]);
    assert_eq!(data.test.label(999), test[999 * 3073]);
    // Only the layout is left behind: no staging folders.
    assert_eq!(
        files_under(&target),
        [
            "cifar-10-batches-bin/batches.meta.txt",
            "cifar-10-batches-bin/data_batch_1.bin",
            "cifar-10-batches-bin/data_batch_2.bin",
            "cifar-10-batches-bin/data_batch_3.bin",
            "cifar-10-batches-bin/data_batch_4.bin",
            "cifar-10-batches-bin/data_batch_5.bin",
            "cifar-10-batches-bin/test_batch.bin",
        ]
    );
}

#[test]
fn entries_that_escape_the_folder_or_are_links_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, why) in [
        (
            "cifar-10-batches-bin/../../escaped.txt",
            "its path leaves the target folder",
        ),
        (
            "/tmp/stepwise-absolute.txt",
            "its path leaves the target folder",
        ),
    ] {
        let mut files = layout();
        files.insert(1, (name.to_string(), b"payload".to_vec()));
        let archive = write(dir.path(), "evil.tar.gz", &tar_gz(&files));
        let target = dir.path().join("data");
        let err = install(&archive, &target).expect_err("unsafe entry");
        assert_eq!(
            err.to_string(),
            format!("{}: refusing entry '{name}': {why}", archive.display())
        );
        assert!(!dir.path().join("escaped.txt").exists());
        assert!(!std::path::Path::new("/tmp/stepwise-absolute.txt").exists());
        assert!(
            files_under(&target).is_empty(),
            "staging must be cleaned up"
        );
    }
    // A symbolic link.
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    builder
        .append_link(&mut header, "cifar-10-batches-bin/link", "/etc/passwd")
        .expect("link");
    let bytes = builder.into_inner().expect("tar").finish().expect("gz");
    let archive = write(dir.path(), "link.tar.gz", &bytes);
    let err = install(&archive, &dir.path().join("data")).expect_err("link");
    assert!(
        err.to_string()
            .ends_with("refusing entry 'cifar-10-batches-bin/link': links are not extracted"),
        "{err}"
    );
}

#[test]
fn corrupt_and_truncated_archives_leave_an_installation_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("data");
    let good = tar_gz(&layout());
    let first = write(dir.path(), "good.tar.gz", &good);
    install(&first, &target).expect("good archive");
    let before = std::fs::read(target.join("cifar-10-batches-bin/data_batch_2.bin")).expect("read");

    let truncated = write(dir.path(), "truncated.tar.gz", &good[..good.len() / 2]);
    let err = install(&truncated, &target).expect_err("truncated");
    assert!(matches!(err, DataError::Archive { .. }));
    assert!(
        err.to_string().starts_with(&format!(
            "{}: corrupt or truncated archive: ",
            truncated.display()
        )),
        "{err}"
    );

    let not_gzip = write(dir.path(), "noise.tar.gz", &[0x42u8; 4096]);
    let err = install(&not_gzip, &target).expect_err("not gzip");
    assert!(matches!(err, DataError::Archive { .. }), "{err}");

    // A bit flipped inside the compressed stream.
    let mut flipped = good.clone();
    let middle = flipped.len() / 3;
    flipped[middle] ^= 0xff;
    let flipped = write(dir.path(), "flipped.tar.gz", &flipped);
    assert!(install(&flipped, &target).is_err());

    // The installation from the good archive is intact, and nothing else was left behind.
    let after = std::fs::read(target.join("cifar-10-batches-bin/data_batch_2.bin")).expect("read");
    assert_eq!(before, after);
    assert_eq!(files_under(&target).len(), 7);
    assert_eq!(load(&target).expect("still loads").train.len(), 2_000);
}

#[test]
fn archives_that_are_not_cifar10_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = layout();
    files.retain(|(name, _)| !name.ends_with("test_batch.bin"));
    let archive = write(dir.path(), "no_test.tar.gz", &tar_gz(&files));
    let err = install(&archive, &dir.path().join("data")).expect_err("incomplete");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not a CIFAR-10 binary archive: it has no cifar-10-batches-bin/test_batch.bin",
            archive.display()
        )
    );

    let mut files = layout();
    files[2].1[5 * 3073] = 200;
    let archive = write(dir.path(), "bad_label.tar.gz", &tar_gz(&files));
    let err = install(&archive, &dir.path().join("data")).expect_err("bad label");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:cifar-10-batches-bin/data_batch_3.bin: record 5 (byte offset 15365) has label 200; \
             CIFAR-10 labels are 0 to 9",
            archive.display()
        )
    );
}

/// Folders an interrupted import left behind, under the names this process would pick, change
/// nothing: the import stages in folders of its own.
#[test]
fn leftovers_of_an_interrupted_import_are_not_taken_for_this_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("data");
    let pid = std::process::id();
    let stale = target.join(format!(".import-{pid}-0/cifar-10-batches-bin"));
    std::fs::create_dir_all(&stale).expect("mkdir");
    for (name, bytes) in layout() {
        let name = name.trim_start_matches("cifar-10-batches-bin/");
        write(&stale, name, &bytes);
    }
    std::fs::create_dir_all(target.join(format!(".previous-{pid}-0/cifar-10-batches-bin")))
        .expect("mkdir");
    // An archive without the layout must still be refused...
    let readme = vec![("readme.html".to_string(), b"<html/>".to_vec())];
    let archive = write(dir.path(), "readme.tar.gz", &tar_gz(&readme));
    let err = install(&archive, &target).expect_err("no layout");
    assert!(matches!(err, DataError::Incomplete { .. }), "{err}");
    // ...and a good one installs, twice (the second replacing the first).
    let good = write(dir.path(), "good.tar.gz", &tar_gz(&layout()));
    install(&good, &target).expect("first install");
    install(&good, &target).expect("second install");
    assert_eq!(load(&target).expect("installed").train.len(), 2_000);
}

#[test]
fn an_archive_of_several_gzip_members_is_read_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let whole = tar_gz(&layout());
    // The same tar stream, compressed as two gzip members (as `cat a.gz b.gz` makes).
    let mut tar = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(whole.as_slice()),
        &mut tar,
    )
    .expect("gunzip");
    let (front, back) = tar.split_at(tar.len() / 2);
    let gzip = |bytes: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, bytes).expect("gzip");
        encoder.finish().expect("gzip")
    };
    let archive = write(
        dir.path(),
        "members.tar.gz",
        &[gzip(front), gzip(back)].concat(),
    );
    install(&archive, &dir.path().join("data")).expect("two members");
    assert_eq!(
        load(&dir.path().join("data"))
            .expect("installed")
            .test
            .len(),
        1_000
    );
}

#[test]
fn an_entry_larger_than_any_cifar10_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = layout();
    // Zeros compress to almost nothing: a small archive that would expand to 65 MiB.
    files.insert(0, ("readme.html".to_string(), vec![0; 65 << 20]));
    let archive = write(dir.path(), "big.tar.gz", &tar_gz(&files));
    assert!(std::fs::metadata(&archive).expect("size").len() < 16 << 20);
    let err = install(&archive, &dir.path().join("data")).expect_err("oversized");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: entry 'readme.html' is larger than 67108864 bytes; no CIFAR-10 file is",
            archive.display()
        )
    );
}

/// Entries each under the per-entry limit can still add up: the total unpacked and the number of
/// entries are capped, named in the error, and staging is cleaned up.
#[test]
fn archives_are_capped_in_total_size_and_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("data");
    // Five 60 MiB entries of zeros: 300 MiB unpacked from a small archive.
    let mut files: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| (format!("filler-{i}.bin"), vec![0; 60 << 20]))
        .collect();
    files.extend(layout());
    let archive = write(dir.path(), "bomb.tar.gz", &tar_gz(&files));
    drop(files);
    let err = install(&archive, &target).expect_err("too large");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: its unpacked size in bytes exceeds 268435456; the CIFAR-10 archive is far below \
             that",
            archive.display()
        )
    );
    assert!(files_under(&target).is_empty(), "staging is cleaned up");

    let mut files: Vec<(String, Vec<u8>)> = (0..70)
        .map(|i| (format!("note-{i}.txt"), b"x".to_vec()))
        .collect();
    files.extend(layout());
    let archive = write(dir.path(), "many.tar.gz", &tar_gz(&files));
    let err = install(&archive, &target).expect_err("too many");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: the number of entries exceeds 64; the CIFAR-10 archive is far below that",
            archive.display()
        )
    );
}

/// An entry's name is shown with its control characters escaped: an archive cannot write escape
/// sequences or carriage returns to the terminal through an error.
#[test]
fn names_from_an_archive_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = layout();
    files.insert(0, ("../\u{1b}[2J\r.txt".to_string(), b"x".to_vec()));
    let archive = write(dir.path(), "evil.tar.gz", &tar_gz(&files));
    let err = install(&archive, &dir.path().join("data")).expect_err("unsafe");
    let message = err.to_string();
    assert!(!message.chars().any(char::is_control), "{message:?}");
    assert!(
        message.contains("refusing entry '../\\u{1b}[2J\\r.txt'"),
        "{message}"
    );
}
