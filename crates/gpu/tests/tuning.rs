//! burn-wgpu's kernel tuning kept on disk: a damaged cache is set aside and rebuilt, never fatal.
//! One test in this binary: cubecl's environment (where tuning is kept) is global to the process.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use burn::tensor::{Device, DeviceKind, Distribution, Tensor};
use stepwise_gpu::tuning;

const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";

/// A matrix product on burn's default wgpu device: autotuned, so its choice is written to the
/// active cache.
fn tuned_product() -> Vec<f32> {
    let device = Device::wgpu(DeviceKind::DefaultDevice);
    let a = Tensor::<2>::random([48, 40], Distribution::Normal(0.0, 1.0), &device);
    let b = Tensor::<2>::random([40, 24], Distribution::Normal(0.0, 1.0), &device);
    a.matmul(b)
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 values")
}

#[test]
fn a_damaged_tuning_cache_is_set_aside_and_rebuilt() {
    let gpu = stepwise_gpu::Gpu::new_blocking().expect("a GPU adapter (lavapipe in CI)");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = tuning::keep_tuning_in(dir.path(), &gpu.adapter).expect("a cache folder");
    assert!(path.starts_with(dir.path()), "{}", path.display());
    let name = path
        .file_name()
        .expect("a file")
        .to_string_lossy()
        .into_owned();
    // Named after the adapter, as cubecl names files (anything outside [A-Za-z0-9._-] is `_`).
    let adapter: String = gpu
        .adapter
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    assert!(
        name.starts_with(&adapter) && name.ends_with(".db"),
        "{name}"
    );

    // Something that is no database where the cache should be (a crash, a full disk, a user).
    let garbage = vec![0x5a_u8; 3000];
    std::fs::write(&path, &garbage).expect("write");
    tuning::keep_tuning_in(dir.path(), &gpu.adapter).expect("a cache folder");
    let aside = dir.path().join(format!("{name}.damaged"));
    assert_eq!(std::fs::read(&aside).expect("set aside"), garbage);

    let values = tuned_product();
    assert!(values.iter().all(|v| v.is_finite()));
    let rebuilt = std::fs::read(&path).expect("a new cache");
    assert!(rebuilt.starts_with(SQLITE_HEADER), "a database again");
}
