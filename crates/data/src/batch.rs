//! From stored images to training batches: a seeded order per epoch, optional augmentation,
//! per-channel normalisation, and tensors on any burn device.

use std::ops::Deref;

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use crate::cifar::{IMAGE_BYTES, Images, SIDE};

/// Per-channel mean and standard deviation that images are normalised with:
/// `(pixel / 255 - mean) / std`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normalization {
    /// Mean of each channel (RGB), in `[0, 1]` units.
    pub mean: [f32; 3],
    /// Standard deviation of each channel (RGB), in `[0, 1]` units.
    pub std: [f32; 3],
}

impl Normalization {
    /// The official CIFAR-10 training set's per-channel mean and (population) standard deviation
    /// over all 50,000 images. (pytorch-cifar's often-copied std `(0.2023, 0.1994, 0.2010)` is a
    /// mean of per-image stds, not the data set's.) Fixed constants, so that a subset or sample
    /// is normalised exactly as the full set is.
    pub const CIFAR10: Self = Self {
        mean: [0.491_399_7, 0.482_158_4, 0.446_530_9],
        std: [0.247_032_2, 0.243_485_1, 0.261_587_8],
    };

    /// Mean and population standard deviation per channel of `images`.
    pub fn measure(images: &Images) -> Self {
        let plane = SIDE * SIDE;
        let mut sum = [0f64; 3];
        let mut sum_sq = [0f64; 3];
        for i in 0..images.len() {
            for (c, channel) in images.pixels(i).chunks_exact(plane).enumerate() {
                for &p in channel {
                    let v = f64::from(p) / 255.0;
                    sum[c] += v;
                    sum_sq[c] += v * v;
                }
            }
        }
        let n = (images.len() * plane) as f64;
        let mean = sum.map(|s| s / n);
        let std = [0, 1, 2].map(|c| (sum_sq[c] / n - mean[c] * mean[c]).max(0.0).sqrt() as f32);
        Self {
            mean: mean.map(|m| m as f32),
            std,
        }
    }
}

/// Training-time augmentation, as torchvision's `RandomCrop(32, padding=4)` and
/// `RandomHorizontalFlip()`. Off in the study (and by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Augment {
    /// Zero-pad by this many pixels on every side, then crop 32x32 at a random offset (0: off).
    pub crop_padding: usize,
    /// Mirror left-right with probability 1/2.
    pub flip: bool,
}

impl Augment {
    /// The standard CIFAR augmentation: 4-pixel padded random crop and horizontal flip.
    pub const STANDARD: Self = Self {
        crop_padding: 4,
        flip: true,
    };

    /// Whether it changes anything.
    pub fn is_off(&self) -> bool {
        self.crop_padding == 0 && !self.flip
    }
}

/// The order in which epoch `epoch` visits `len` images: a permutation determined by `seed` and
/// `epoch` alone, so that every run of a comparison (and a resumed run) sees the same batches.
pub fn epoch_order(seed: u64, epoch: u64, len: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..len as u32).collect();
    order.shuffle(&mut epoch_rng(seed, epoch, Stream::Order));
    order
}

/// Independent random streams per epoch.
#[derive(Clone, Copy)]
enum Stream {
    Order = 0,
    Augment = 1,
}

fn epoch_rng(seed: u64, epoch: u64, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // ChaCha's 2^64 streams: one per (epoch, purpose), so no two draws overlap.
    rng.set_stream(epoch.wrapping_mul(2).wrapping_add(stream as u64));
    rng
}

/// A batch on the host: normalised `f32` images `[len, 3, 32, 32]` and their labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostBatch {
    /// `len * 3 * 32 * 32` values, CHW per image.
    pub images: Vec<f32>,
    /// Class labels, as burn's cross-entropy takes them.
    pub labels: Vec<i64>,
}

impl HostBatch {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The batch as tensors on `device`: images `[len, 3, 32, 32]`, labels `[len]`. Consumes the
    /// batch, so that its buffers move into the tensor data instead of being copied.
    pub fn into_tensors(self, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
        let n = self.len();
        let images = Tensor::from_data(TensorData::new(self.images, [n, 3, SIDE, SIDE]), device);
        let labels = Tensor::from_data(TensorData::new(self.labels, [n]), device);
        (images, labels)
    }
}

/// The batches of one epoch over `images`, in the order [`epoch_order`] gives; the last batch
/// holds the remainder (as PyTorch's `DataLoader` with `drop_last=False`).
///
/// `D` is how the images are held: borrowed (`&Images`) or shared (`Arc<Images>`, for a caller that
/// keeps the iterator across calls, like the training engine).
pub struct Batches<D: Deref<Target = Images>> {
    images: D,
    order: Vec<u32>,
    batch_size: usize,
    next: usize,
    normalization: Normalization,
    augment: Augment,
    rng: ChaCha8Rng,
}

impl<D: Deref<Target = Images>> Batches<D> {
    /// Epoch `epoch` of `images` for the run seeded with `seed`.
    ///
    /// # Panics
    /// If `batch_size` is 0.
    pub fn new(
        images: D,
        seed: u64,
        epoch: u64,
        batch_size: usize,
        normalization: Normalization,
        augment: Augment,
    ) -> Self {
        let order = epoch_order(seed, epoch, images.len());
        Self::with_order(
            images,
            order,
            batch_size,
            normalization,
            augment,
            epoch_rng(seed, epoch, Stream::Augment),
        )
    }

    /// The same images in stored order, for evaluation (no shuffling, no augmentation).
    ///
    /// # Panics
    /// If `batch_size` is 0.
    pub fn in_order(images: D, batch_size: usize, normalization: Normalization) -> Self {
        let order = (0..images.len() as u32).collect();
        let unused = epoch_rng(0, 0, Stream::Augment);
        Self::with_order(
            images,
            order,
            batch_size,
            normalization,
            Augment::default(),
            unused,
        )
    }

    fn with_order(
        images: D,
        order: Vec<u32>,
        batch_size: usize,
        normalization: Normalization,
        augment: Augment,
        rng: ChaCha8Rng,
    ) -> Self {
        assert!(batch_size > 0, "batch size must be at least 1");
        Self {
            images,
            order,
            batch_size,
            next: 0,
            normalization,
            augment,
            rng,
        }
    }

    /// Number of batches in the epoch.
    pub fn batch_count(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// Skips the first `batches` batches (to resume mid-epoch). Augmentation draws of the skipped
    /// images are still made, so later batches are the same as without skipping.
    pub fn skip_batches(&mut self, batches: usize) {
        for _ in 0..batches {
            if self.next_batch().is_none() {
                break;
            }
        }
    }

    fn next_batch(&mut self) -> Option<HostBatch> {
        if self.next >= self.order.len() {
            return None;
        }
        let end = (self.next + self.batch_size).min(self.order.len());
        let indices = &self.order[self.next..end];
        self.next = end;
        let mut batch = HostBatch {
            images: Vec::with_capacity(indices.len() * IMAGE_BYTES),
            labels: Vec::with_capacity(indices.len()),
        };
        let mut augmented = [0u8; IMAGE_BYTES];
        for &index in indices {
            let index = index as usize;
            let pixels = if self.augment.is_off() {
                self.images.pixels(index)
            } else {
                augment(
                    self.images.pixels(index),
                    self.augment,
                    &mut self.rng,
                    &mut augmented,
                );
                &augmented
            };
            normalize_into(pixels, &self.normalization, &mut batch.images);
            batch.labels.push(i64::from(self.images.label(index)));
        }
        Some(batch)
    }
}

impl<D: Deref<Target = Images>> Iterator for Batches<D> {
    type Item = HostBatch;

    fn next(&mut self) -> Option<HostBatch> {
        self.next_batch()
    }
}

fn normalize_into(pixels: &[u8], normalization: &Normalization, out: &mut Vec<f32>) {
    for (c, channel) in pixels.chunks_exact(SIDE * SIDE).enumerate() {
        let scale = 1.0 / (255.0 * normalization.std[c]);
        let shift = normalization.mean[c] / normalization.std[c];
        out.extend(channel.iter().map(|&p| f32::from(p) * scale - shift));
    }
}

/// Random crop of the zero-padded image and random flip, into `out`.
fn augment(pixels: &[u8], augment: Augment, rng: &mut ChaCha8Rng, out: &mut [u8; IMAGE_BYTES]) {
    let pad = augment.crop_padding as i32;
    // Offsets of the crop window in the padded image, as torchvision draws them (top, then left).
    let (dy, dx) = if pad > 0 {
        (
            (rng.random_range(0..=2 * pad) - pad) as isize,
            (rng.random_range(0..=2 * pad) - pad) as isize,
        )
    } else {
        (0, 0)
    };
    let flip = augment.flip && rng.random_bool(0.5);
    let side = SIDE as isize;
    for c in 0..3 {
        let plane = &pixels[c * SIDE * SIDE..(c + 1) * SIDE * SIDE];
        for y in 0..side {
            for x in 0..side {
                let sx = if flip { side - 1 - x } else { x } + dx;
                let sy = y + dy;
                let inside = (0..side).contains(&sx) && (0..side).contains(&sy);
                out[c * SIDE * SIDE + (y * side + x) as usize] = if inside {
                    plane[(sy * side + sx) as usize]
                } else {
                    0
                };
            }
        }
    }
}
