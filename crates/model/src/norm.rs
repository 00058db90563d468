//! Batch normalisation over channels with PyTorch's running-statistics rule.

use burn::module::{Module, Param, RunningState};
use burn::tensor::module::{batch_norm, batch_norm_train};
use burn::tensor::{Device, Tensor};

/// `nn.BatchNorm2d` as PyTorch defines it: on an autodiff (training) device it normalises with the
/// batch's statistics and moves the running ones by `momentum`; elsewhere (evaluation) it uses the
/// running statistics.
///
/// burn's own `BatchNorm` differs in one detail this type exists for: PyTorch updates the running
/// variance with the *unbiased* batch variance (`n / (n - 1)` times the population variance, `n` =
/// batch × height × width), burn with the biased one. At ResNet's 4x4 last stage with batch 32 that
/// is a 0.2 % difference in what evaluation divides by.
#[derive(Module, Debug)]
pub struct BatchNorm2d {
    /// Scale (PyTorch's `weight`), initialised to 1.
    pub gamma: Param<Tensor<1>>,
    /// Shift (PyTorch's `bias`), initialised to 0.
    pub beta: Param<Tensor<1>>,
    /// Running mean, initialised to 0.
    pub running_mean: RunningState<Tensor<1>>,
    /// Running (unbiased) variance, initialised to 1.
    pub running_var: RunningState<Tensor<1>>,
    momentum: f64,
    epsilon: f64,
}

impl BatchNorm2d {
    /// PyTorch's defaults: momentum 0.1, epsilon 1e-5.
    pub fn new(channels: usize, device: &Device) -> Self {
        Self {
            gamma: Param::from_tensor(Tensor::ones([channels], device)),
            beta: Param::from_tensor(Tensor::zeros([channels], device)),
            running_mean: RunningState::new(Tensor::zeros([channels], device)),
            running_var: RunningState::new(Tensor::ones([channels], device)),
            momentum: 0.1,
            epsilon: 1e-5,
        }
    }

    /// Trainable parameters (scale and shift). burn's `num_params` also counts the running
    /// statistics, which PyTorch counts as buffers, not parameters.
    pub fn trainable_params(&self) -> usize {
        2 * self.gamma.shape().num_elements()
    }

    /// Normalises `[batch, channels, height, width]`.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let device = input.device();
        if !device.is_autodiff() {
            return batch_norm(
                input,
                self.gamma.val(),
                self.beta.val(),
                self.running_mean.value().to_device(&device),
                self.running_var.value().to_device(&device),
                self.epsilon,
            );
        }
        let [batch, _, height, width] = input.dims();
        let count = (batch * height * width) as f64;
        let result = batch_norm_train(input, self.gamma.val(), self.beta.val(), self.epsilon);
        let unbiased = if count > 1.0 {
            count / (count - 1.0)
        } else {
            1.0
        };
        let m = self.momentum;
        let mean = self.running_mean.value_sync().to_device(&device);
        let var = self.running_var.value_sync().to_device(&device);
        self.running_mean
            .update((mean.mul_scalar(1.0 - m) + result.mean.mul_scalar(m)).detach());
        self.running_var
            .update((var.mul_scalar(1.0 - m) + result.variance.mul_scalar(m * unbiased)).detach());
        // burn keeps a running state's updates per thread and merges them when that thread next
        // reads it; a model whose steps move between threads (the engine steps runs side by side
        // on the CPU's threads) would then read a stale value. Merging the one update now keeps
        // the state a plain sequence (dividing by the one update's count of 1 is exact).
        self.running_mean.value_sync();
        self.running_var.value_sync();
        result.output
    }
}
