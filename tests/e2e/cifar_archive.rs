//! The whole CIFAR-10 archive through the commands a user runs: `stepwise data import`, then
//! `stepwise data info`. The archive comes from `STEPWISE_CIFAR10_ARCHIVE` (`.ci/run` points it at
//! `../shared/cifar10/cifar-10-binary.tar.gz`); without it the test says it is skipped and passes,
//! so that the README's test command works where that archive is absent.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::process::Command;

use stepwise_e2e::binary;

#[test]
fn import_then_info_prints_the_official_counts() {
    let Some(archive) = std::env::var_os("STEPWISE_CIFAR10_ARCHIVE") else {
        eprintln!(
            "SKIPPED: STEPWISE_CIFAR10_ARCHIVE is not set (point it at cifar-10-binary.tar.gz)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let import = Command::new(binary("stepwise"))
        .args(["data", "import", "--allow-checksum-mismatch", "--archive"])
        .arg(&archive)
        .arg("--dir")
        .arg(dir.path())
        .output()
        .expect("stepwise runs");
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );

    let info = Command::new(binary("stepwise"))
        .args(["data", "info", "--dir"])
        .arg(dir.path())
        .output()
        .expect("stepwise runs");
    let out = String::from_utf8(info.stdout).expect("utf-8");
    assert!(out.starts_with("data: CIFAR-10 in "), "{out}");
    let counts = |name: &str| {
        let row = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}: {out}"));
        row.split_whitespace().skip(1).collect::<Vec<_>>()
    };
    for class in stepwise_data::CLASSES {
        assert_eq!(counts(class), ["5000", "1000"], "{class}");
    }
    assert_eq!(counts("total"), ["50000", "10000"]);
}
