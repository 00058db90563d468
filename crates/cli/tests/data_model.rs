//! `stepwise model summary` and `stepwise data download|import|info`, through the binary.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

mod support;

use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use support::{stepwise, text};

/// The numbers of the row of `data info`'s table that starts with `name`.
fn counts<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    let row = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name}: {out}"));
    row.split_whitespace().skip(1).collect()
}

/// An archive in the official layout holding the shipped sample (400 training images per batch
/// file): the official format, not the official md5.
fn sample_archive(path: &Path) {
    let sample = package_dir().join("../data/sample");
    let train = std::fs::read(sample.join("train.bin")).expect("train.bin");
    let test = std::fs::read(sample.join("test.bin")).expect("test.bin");
    let mut files: Vec<(String, Vec<u8>)> = train
        .chunks(400 * 3073)
        .enumerate()
        .map(|(i, chunk)| {
            (
                format!("cifar-10-batches-bin/data_batch_{}.bin", i + 1),
                chunk.to_vec(),
            )
        })
        .collect();
    files.push(("cifar-10-batches-bin/test_batch.bin".into(), test));
    files.push((
        "cifar-10-batches-bin/batches.meta.txt".into(),
        b"airplane\n".to_vec(),
    ));
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (name, bytes) in &files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .expect("append");
    }
    let bytes = builder.into_inner().expect("tar").finish().expect("gzip");
    std::fs::write(path, bytes).expect("write archive");
}

#[test]
fn model_summary_prints_the_layers_and_resnet50s_parameter_count() {
    let output = stepwise(&["model", "summary", "--arch", "resnet50"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    assert!(
        out.starts_with("resnet50 (CIFAR form: 3x3 stem, no max-pool; 10 classes)"),
        "{out}"
    );
    assert!(
        out.trim_end().ends_with("Total parameters: 23,520,842"),
        "{out}"
    );
    let stem = out
        .lines()
        .find(|l| l.starts_with("stem "))
        .expect("stem row");
    assert!(
        stem.contains("64 x 32 x 32") && stem.trim_end().ends_with("1,856"),
        "{stem}"
    );
    let fc = out.lines().find(|l| l.starts_with("fc ")).expect("fc row");
    assert!(
        fc.contains("Linear") && fc.trim_end().ends_with("20,490"),
        "{fc}"
    );
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("layer") && !l.starts_with("layer "))
            .count(),
        16
    );

    let output = stepwise(&["model", "summary", "--arch", "resnet18", "--classes", "100"]);
    assert!(text(&output.stdout).contains("Total parameters: 11,220,132"));
}

#[test]
fn model_summary_rejects_unknown_architectures() {
    let output = stepwise(&["model", "summary", "--arch", "resnet51"]);
    assert_eq!(output.status.code(), Some(2));
    let err = text(&output.stderr);
    assert!(
        err.starts_with("error: invalid value 'resnet51' for '--model <MODEL>'"),
        "{err}"
    );
    assert!(err.contains("a similar value exists: 'resnet50'"), "{err}");
}

#[test]
fn data_info_falls_back_to_the_sample_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir_arg = dir.path().to_str().expect("utf-8 path");
    let output = stepwise(&["data", "info", "--dir", dir_arg]);
    assert!(output.status.success());
    let out = text(&output.stdout);
    assert!(
        out.starts_with(&format!(
            "data: the shipped CIFAR-10 sample (no CIFAR-10 installed in {dir_arg})"
        )),
        "{out}"
    );
    assert_eq!(counts(&out, "airplane"), ["200", "100"]);
    assert_eq!(counts(&out, "total"), ["2000", "1000"]);
}

#[test]
fn data_import_checks_the_checksum_then_installs() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let archive = scratch.path().join("copy.tar.gz");
    sample_archive(&archive);
    let dir = scratch.path().join("data");
    let (archive_arg, dir_arg) = (
        archive.to_str().expect("utf-8"),
        dir.to_str().expect("utf-8"),
    );

    let refused = stepwise(&["data", "import", "--archive", archive_arg, "--dir", dir_arg]);
    assert_eq!(refused.status.code(), Some(1));
    let err = text(&refused.stderr);
    assert!(
        err.starts_with(&format!("error: {archive_arg}: md5 is ")),
        "{err}"
    );
    assert!(
        err.contains("expected c32a1d4ab5d03f1284b67883e8d87530"),
        "{err}"
    );
    assert!(
        err.trim_end()
            .ends_with("(pass --allow-checksum-mismatch to install it anyway)")
    );
    assert!(!dir.exists());

    let output = stepwise(&[
        "data",
        "import",
        "--archive",
        archive_arg,
        "--dir",
        dir_arg,
        "--allow-checksum-mismatch",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    assert!(out.contains("NOT the official archive"), "{out}");
    assert!(
        out.contains(&format!(
            "installed CIFAR-10 in {dir_arg}/cifar-10-batches-bin"
        )),
        "{out}"
    );

    let info = text(&stepwise(&["data", "info", "--dir", dir_arg]).stdout);
    assert!(
        info.starts_with(&format!("data: CIFAR-10 in {dir_arg}\n")),
        "{info}"
    );
    assert_eq!(counts(&info, "truck"), ["200", "100"]);
    assert_eq!(counts(&info, "total"), ["2000", "1000"]);
}

#[test]
fn data_errors_name_the_file_or_address() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir_arg = scratch.path().to_str().expect("utf-8");
    let missing = stepwise(&[
        "data",
        "import",
        "--archive",
        "/nonexistent/c.tar.gz",
        "--dir",
        dir_arg,
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        text(&missing.stderr),
        "error: /nonexistent/c.tar.gz: No such file or directory (os error 2)\n"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/cifar-10-binary.tar.gz",
        closed.local_addr().expect("addr")
    );
    drop(closed);
    let failed = stepwise(&["data", "download", "--url", &url, "--dir", dir_arg]);
    assert_eq!(failed.status.code(), Some(1));
    let err = text(&failed.stderr);
    assert!(
        err.lines()
            .any(|l| l.starts_with(&format!("error: download of {url} failed: "))),
        "{err}"
    );
}

/// The package's folder, as cargo tells the running test: a test binary built in another checkout
/// that shares the target folder carries a compile-time path that may be gone.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
        || env!("CARGO_MANIFEST_DIR").into(),
        std::path::PathBuf::from,
    )
}
