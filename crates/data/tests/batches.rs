#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

//! Batching: seeded epoch order, normalisation, augmentation, resuming mid-epoch, tensors on
//! both backends.

use std::path::Path;

use burn::tensor::{Device, DeviceKind};
use stepwise_data::{
    Augment, Batches, HostBatch, Images, Normalization, epoch_order, load_or_sample,
};

fn sample() -> Images {
    load_or_sample(Path::new("/nonexistent"))
        .expect("sample")
        .train
}

#[test]
fn epoch_order_is_a_seeded_permutation() {
    let order = epoch_order(42, 0, 2_000);
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..2_000).collect::<Vec<u32>>());
    assert_eq!(order, epoch_order(42, 0, 2_000));
    assert_ne!(order, epoch_order(42, 1, 2_000));
    assert_ne!(order, epoch_order(43, 0, 2_000));
    assert_ne!(order, sorted);
}

#[test]
fn an_epoch_visits_every_image_once_in_that_order_normalised() {
    let images = sample();
    let norm = Normalization::CIFAR10;
    let batches = Batches::new(&images, 5, 3, 32, norm, Augment::default());
    assert_eq!(batches.batch_count(), 63);
    let all: Vec<HostBatch> = batches.collect();
    assert_eq!(all.len(), 63);
    assert!(all[..62].iter().all(|b| b.len() == 32));
    assert_eq!(all[62].len(), 2_000 - 62 * 32);
    let order = epoch_order(5, 3, 2_000);
    let labels: Vec<i64> = all.iter().flat_map(|b| b.labels.clone()).collect();
    let expected: Vec<i64> = order
        .iter()
        .map(|&i| i64::from(images.label(i as usize)))
        .collect();
    assert_eq!(labels, expected);
    // Image 7 of batch 4: (pixel / 255 - mean) / std, channel by channel.
    let source = images.pixels(order[4 * 32 + 7] as usize);
    let got = &all[4].images[7 * 3072..8 * 3072];
    for (i, (&p, &v)) in source.iter().zip(got).enumerate() {
        let c = i / 1024;
        let expected = (f32::from(p) / 255.0 - norm.mean[c]) / norm.std[c];
        assert!((v - expected).abs() < 1e-5, "value {i}: {v} vs {expected}");
    }
}

#[test]
fn skipping_batches_resumes_the_same_epoch() {
    let images = sample();
    let full: Vec<HostBatch> =
        Batches::new(&images, 9, 2, 50, Normalization::CIFAR10, Augment::STANDARD).collect();
    let mut resumed = Batches::new(&images, 9, 2, 50, Normalization::CIFAR10, Augment::STANDARD);
    resumed.skip_batches(17);
    let rest: Vec<HostBatch> = resumed.collect();
    assert_eq!(rest.as_slice(), &full[17..]);
}

/// The pixels of `image` (CHW u8) as normalised values.
fn normalised(image: &[u8]) -> Vec<f32> {
    let norm = Normalization::CIFAR10;
    image
        .iter()
        .enumerate()
        .map(|(i, &p)| (f32::from(p) / 255.0 - norm.mean[i / 1024]) / norm.std[i / 1024])
        .collect()
}

#[test]
fn augmentation_is_a_padded_crop_and_a_mirror() {
    let images = sample();
    let order = epoch_order(1, 0, images.len());
    let norm = Normalization::CIFAR10;
    let zero = [0, 1, 2].map(|c| -norm.mean[c] / norm.std[c]);
    let batch = Batches::new(&images, 1, 0, 64, norm, Augment::STANDARD)
        .next()
        .expect("a batch");
    let (mut flipped, mut shifted) = (0, 0);
    for (k, &index) in order[..64].iter().enumerate() {
        let source = normalised(images.pixels(index as usize));
        let got = &batch.images[k * 3072..(k + 1) * 3072];
        // Find the crop offset and flip that explain the output exactly.
        let explains = |dy: isize, dx: isize, flip: bool| {
            (0..3).all(|c| {
                (0..32isize).all(|y| {
                    (0..32isize).all(|x| {
                        let sx = if flip { 31 - x } else { x } + dx;
                        let sy = y + dy;
                        let expected = if (0..32).contains(&sx) && (0..32).contains(&sy) {
                            source[c * 1024 + (sy * 32 + sx) as usize]
                        } else {
                            zero[c]
                        };
                        (got[c * 1024 + (y * 32 + x) as usize] - expected).abs() < 1e-5
                    })
                })
            })
        };
        let found = (-4..=4isize)
            .flat_map(|dy| (-4..=4isize).flat_map(move |dx| [(dy, dx, false), (dy, dx, true)]))
            .find(|&(dy, dx, flip)| explains(dy, dx, flip));
        let (dy, dx, flip) =
            found.unwrap_or_else(|| panic!("image {k} is no crop or mirror of its source"));
        flipped += usize::from(flip);
        shifted += usize::from(dy != 0 || dx != 0);
    }
    // Both transformations happen, at plausible rates (flip p = 1/2; no shift 1/81).
    assert!((16..=48).contains(&flipped), "{flipped} of 64 flipped");
    assert!(shifted >= 56, "{shifted} of 64 shifted");
}

#[test]
fn measured_statistics_match_the_definition() {
    let images = sample();
    let measured = Normalization::measure(&images);
    // Direct two-pass computation over the red channel.
    let red: Vec<f64> = (0..images.len())
        .flat_map(|i| images.pixels(i)[..1024].to_vec())
        .map(|p| f64::from(p) / 255.0)
        .collect();
    let mean = red.iter().sum::<f64>() / red.len() as f64;
    let std = (red.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / red.len() as f64).sqrt();
    assert!((f64::from(measured.mean[0]) - mean).abs() < 1e-6);
    assert!((f64::from(measured.std[0]) - std).abs() < 1e-6);
    // A 2,000-image sample is close to the full set's constants.
    for c in 0..3 {
        assert!((measured.mean[c] - Normalization::CIFAR10.mean[c]).abs() < 0.02);
        assert!((measured.std[c] - Normalization::CIFAR10.std[c]).abs() < 0.02);
    }
}

#[test]
fn batches_land_on_both_backends_unchanged() {
    let images = sample();
    let batch = Batches::in_order(&images, 8, Normalization::CIFAR10)
        .next()
        .expect("a batch");
    assert_eq!(
        batch.labels,
        (0..8)
            .map(|i| i64::from(images.label(i)))
            .collect::<Vec<_>>()
    );
    for device in [Device::flex(), Device::wgpu(DeviceKind::DefaultDevice)] {
        let (x, y) = batch.clone().into_tensors(&device);
        assert_eq!(x.dims(), [8, 3, 32, 32]);
        assert_eq!(
            x.into_data().try_into_vec::<f32>().expect("f32"),
            batch.images
        );
        let labels = y
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .expect("int");
        assert_eq!(labels, batch.labels);
    }
}
