#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

//! The binary-format reader: the shipped sample, and every kind of bad file.

mod support;

use std::path::Path;

use stepwise_data::{CLASSES, DataError, Images, RECORD_BYTES, Source, load, load_or_sample};
use support::write;

#[test]
fn the_sample_is_real_balanced_and_used_when_nothing_is_installed() {
    let empty = tempfile::tempdir().expect("tempdir");
    let data = load_or_sample(empty.path()).expect("sample");
    assert_eq!(
        data.source,
        Source::Sample {
            looked_in: empty.path().to_path_buf()
        }
    );
    assert_eq!(data.train.len(), 2_000);
    assert_eq!(data.test.len(), 1_000);
    assert_eq!(data.train.class_counts(), [200; 10]);
    assert_eq!(data.test.class_counts(), [100; 10]);
    // The records as the files hold them: label, then the CHW pixels.
    let (train, _) = support::sample_bytes();
    assert_eq!(data.train.label(0), train[0]);
    assert_eq!(
        data.train.pixels(1999),
        &train[1999 * RECORD_BYTES + 1..2000 * RECORD_BYTES]
    );
    // Real photographs, not noise or blanks: neighbouring pixels correlate strongly.
    let image = data.train.pixels(0);
    let rough: f64 = image[..1024]
        .windows(2)
        .map(|w| (f64::from(w[0]) - f64::from(w[1])).abs())
        .sum::<f64>()
        / 1023.0;
    assert!(rough < 40.0, "mean neighbour difference {rough}");
    assert_eq!(CLASSES[usize::from(data.train.label(0))], "frog");
}

#[test]
fn an_empty_folder_is_not_an_installation() {
    let empty = tempfile::tempdir().expect("tempdir");
    let err = load(empty.path()).expect_err("nothing installed");
    assert!(matches!(err, DataError::NotInstalled { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "no CIFAR-10 in {}: run `stepwise data download`, or `stepwise data import --archive PATH`",
            empty.path().display()
        )
    );
}

#[test]
fn a_missing_file_is_named() {
    let err = Images::read(Path::new("/nonexistent/data_batch_1.bin")).expect_err("missing");
    assert!(
        matches!(&err, DataError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    assert!(
        err.to_string()
            .starts_with("/nonexistent/data_batch_1.bin: "),
        "{err}"
    );
}

#[test]
fn a_size_that_is_not_whole_records_is_named_with_the_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "short.bin", &vec![0u8; 2 * RECORD_BYTES + 5]);
    let err = Images::read(&path).expect_err("bad size");
    assert!(matches!(err, DataError::BadSize { len, .. } if len == 6151));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: 6151 bytes is not a whole number of 3,073-byte CIFAR-10 records (the file ends 5 \
             bytes into record 2; truncated or not a CIFAR-10 batch file)",
            path.display()
        )
    );
}

#[test]
fn a_label_above_nine_is_named_with_record_and_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = vec![3u8; 3 * RECORD_BYTES];
    bytes[2 * RECORD_BYTES] = 10;
    let path = write(dir.path(), "bad_label.bin", &bytes);
    let err = Images::read(&path).expect_err("bad label");
    assert!(matches!(
        err,
        DataError::BadLabel {
            record: 2,
            label: 10,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: record 2 (byte offset 6146) has label 10; CIFAR-10 labels are 0 to 9",
            path.display()
        )
    );
}

#[test]
fn the_unpacked_folder_itself_names_its_installation() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in support::layout() {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }
    let batches = dir.path().join(stepwise_data::BATCHES_DIR);
    for data in [load(&batches), load_or_sample(&batches)] {
        let data = data.expect("installed");
        assert_eq!(data.source, Source::Installed(dir.path().to_path_buf()));
        assert_eq!((data.train.len(), data.test.len()), (2_000, 1_000));
    }
    // A folder of that name that is not inside an installation is still just a folder.
    let lone = tempfile::tempdir().expect("tempdir");
    let lone = lone.path().join(stepwise_data::BATCHES_DIR);
    std::fs::create_dir(&lone).expect("mkdir");
    assert!(matches!(load(&lone), Err(DataError::NotInstalled { .. })));
}

#[test]
fn an_installed_but_corrupt_file_is_an_error_not_a_fallback_to_the_sample() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = dir.path().join(stepwise_data::BATCHES_DIR);
    std::fs::create_dir_all(&batches).expect("mkdir");
    for name in stepwise_data::TRAIN_FILES
        .iter()
        .chain([&stepwise_data::TEST_FILE])
    {
        write(&batches, name, &vec![1u8; RECORD_BYTES]);
    }
    write(&batches, "data_batch_4.bin", &vec![1u8; RECORD_BYTES - 1]);
    let err = load_or_sample(dir.path()).expect_err("corrupt");
    assert!(
        err.to_string().contains("data_batch_4.bin: 3072 bytes"),
        "{err}"
    );
}

#[test]
fn a_partly_installed_folder_is_an_error_not_a_fallback_to_the_sample() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = dir.path().join(stepwise_data::BATCHES_DIR);
    std::fs::create_dir_all(&batches).expect("mkdir");
    write(&batches, "data_batch_1.bin", &vec![1u8; RECORD_BYTES]);
    let err = load_or_sample(dir.path()).expect_err("partly installed");
    assert!(matches!(err, DataError::PartlyInstalled { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{} has no data_batch_2.bin: the data set is only partly installed; install it again \
             with `stepwise data download` or `stepwise data import --archive PATH`",
            batches.display()
        )
    );
}

#[test]
fn an_empty_batch_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "test_batch.bin", &[]);
    let err = Images::read(&path).expect_err("empty");
    assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: the file is empty (a CIFAR-10 batch file holds 3,073-byte records)",
            path.display()
        )
    );
}

#[test]
fn keeping_more_images_than_there_are_keeps_them_all() {
    let mut data = load_or_sample(tempfile::tempdir().expect("tempdir").path()).expect("sample");
    let all = data.train.len();
    data.train.truncate(usize::MAX / 2);
    assert_eq!(data.train.len(), all);
    assert_eq!(data.train.pixels(all - 1).len(), 3 * 32 * 32);
}
