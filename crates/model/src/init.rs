//! Initial weights drawn on the host from one seed, so that a seed gives the same network on every
//! backend (CPU or any GPU) and every run of a comparison starts from the same point.

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// Draws parameters as PyTorch initialises `nn.Conv2d` and `nn.Linear` by default:
/// `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` for weights and biases alike (that is
/// `kaiming_uniform_(a=sqrt(5))`), where `fan_in` is input channels times kernel area.
pub struct HostInit {
    rng: ChaCha8Rng,
}

impl HostInit {
    /// A stream of initial values determined by `seed` alone.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// A parameter of `shape` drawn from `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`, in row-major order.
    pub fn uniform<const D: usize>(
        &mut self,
        shape: [usize; D],
        fan_in: usize,
        device: &Device,
    ) -> Param<Tensor<D>> {
        let bound = 1.0 / (fan_in as f32).sqrt();
        let values: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|_| self.rng.random_range(-bound..bound))
            .collect();
        Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
    }
}
