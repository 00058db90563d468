//! Helpers shared by the end-to-end tests: the recorded PyTorch references and the built binaries.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Reads and parses one of the reference files under `tests/reference/`.
///
/// # Panics
/// If the file is missing or malformed: the tests cannot run without it.
#[allow(clippy::panic)]
pub fn reference<T: DeserializeOwned>(name: &str) -> T {
    let path = package_dir().join("reference").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("cannot parse {}: {err}", path.display()))
}

/// The path of a workspace binary (for example `stepwise`), built beside the test executables.
///
/// `cargo test --workspace` builds every binary before any test runs, because the binaries'
/// packages have integration tests of their own.
///
/// # Panics
/// If the binary has not been built.
#[allow(clippy::panic)]
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|err| panic!("no current exe: {err}"));
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("unexpected test path {}", exe.display()));
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built: run the tests with `cargo test --workspace`",
        path.display()
    );
    path
}

/// Asserts `|actual − expected| <= rtol·|expected| + atol` element by element, naming the worst
/// element when it fails.
///
/// # Panics
/// When a pair is outside the tolerance, or the lengths differ.
pub fn assert_close(what: &str, actual: &[f32], expected: &[f32], rtol: f32, atol: f32) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    let worst = actual
        .iter()
        .zip(expected)
        .enumerate()
        .map(|(i, (&a, &e))| {
            let diff = (a - e).abs();
            let ratio = if diff == 0.0 {
                0.0
            } else {
                diff / (rtol * e.abs() + atol)
            };
            (i, a, e, ratio)
        })
        .fold(
            None,
            |worst: Option<(usize, f32, f32, f32)>, item| match worst {
                Some(w) if w.3.is_nan() || item.3 <= w.3 => Some(w),
                _ => Some(item),
            },
        );
    if let Some((i, a, e, ratio)) = worst {
        assert!(
            ratio <= 1.0,
            "{what}: element {i} is {a}, PyTorch has {e} (|diff| = {} > rtol {rtol} · |expected| + atol {atol})",
            (a - e).abs()
        );
    }
}

/// The package's folder, as cargo tells the running test: a test binary built in another checkout
/// that shares the target folder carries a compile-time path that may be gone.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
        || env!("CARGO_MANIFEST_DIR").into(),
        std::path::PathBuf::from,
    )
}
