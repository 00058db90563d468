//! SGD with momentum, dampening, Nesterov momentum and L2 weight decay, as `torch.optim.SGD`.
//!
//! For step t = 1, 2, … with gradient g, momentum μ, dampening τ, weight decay λ:
//!
//! ```text
//! g ← g + λ·p
//! b ← g                      (t = 1)
//! b ← μ·b + (1 − τ)·g        (t > 1)
//! d ← g + μ·b  if Nesterov, else b     (d = g when μ = 0: no buffer is kept)
//! p ← p − lr·d
//! ```
//!
//! See: Sutskever et al., "On the importance of initialization and momentum in deep learning"
//! (ICML 2013), and PyTorch's `_single_tensor_sgd`.

use bytemuck::{Pod, Zeroable};

use crate::config::rule;
use crate::lanes::{SgdLanes, for_each_block};
use crate::{ConfigError, OptimizerKind};

/// Hyperparameters of SGD; defaults are `torch.optim.SGD`'s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// Momentum factor μ (default 0: plain SGD, no buffer).
    pub momentum: f64,
    /// Dampening τ of the gradient entering the buffer (default 0).
    pub dampening: f64,
    /// Nesterov momentum (default false; needs μ > 0 and τ = 0).
    pub nesterov: bool,
    /// L2 penalty λ, added to the gradient as `g + λ·p` (default 0).
    pub weight_decay: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

impl SgdConfig {
    pub(crate) fn validate(&self, kind: OptimizerKind) -> Result<(), ConfigError> {
        rule::non_negative(&kind, "lr", self.lr)?;
        rule::non_negative(&kind, "momentum", self.momentum)?;
        rule::finite(&kind, "dampening", self.dampening)?;
        rule::non_negative(&kind, "weight_decay", self.weight_decay)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(ConfigError::Nesterov {
                momentum: self.momentum,
                dampening: self.dampening,
            });
        }
        Ok(())
    }

    /// Whether a momentum buffer is kept (μ ≠ 0, as torch.optim.SGD).
    pub fn has_momentum(&self) -> bool {
        self.momentum != 0.0
    }

    /// The scalars of step `t` (from 1) at learning rate `lr`.
    pub fn scalars(&self, t: u64, lr: f64) -> SgdScalars {
        let first = t <= 1;
        SgdScalars {
            lr: lr as f32,
            weight_decay: self.weight_decay as f32,
            buffer_decay: if first { 0.0 } else { self.momentum as f32 },
            buffer_grad_scale: if first {
                1.0
            } else {
                (1.0 - self.dampening) as f32
            },
            momentum: self.momentum as f32,
            has_momentum: u32::from(self.has_momentum()),
            nesterov: u32::from(self.nesterov),
            _pad: 0,
        }
    }
}

/// Everything one SGD step needs besides the tensors; the GPU kernel's uniform block.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct SgdScalars {
    /// Learning rate of this step.
    pub lr: f32,
    /// L2 coefficient λ.
    pub weight_decay: f32,
    /// Factor on the old buffer: μ, or 0 on the first step so that the buffer becomes g.
    pub buffer_decay: f32,
    /// Factor on g entering the buffer: 1 − τ, or 1 on the first step.
    pub buffer_grad_scale: f32,
    /// μ, for the Nesterov look-ahead `g + μ·b`.
    pub momentum: f32,
    /// 1 when a momentum buffer is kept.
    pub has_momentum: u32,
    /// 1 for Nesterov momentum.
    pub nesterov: u32,
    /// Keeps the size a multiple of 16 bytes, as uniform buffers require.
    pub _pad: u32,
}

impl SgdScalars {
    pub(crate) fn apply(&self, lanes: SgdLanes<'_>) {
        if self.nesterov != 0 {
            for_each_block(lanes, &|l| self.update_block::<true>(l));
        } else {
            for_each_block(lanes, &|l| self.update_block::<false>(l));
        }
    }

    fn update_block<const NESTEROV: bool>(&self, lanes: SgdLanes<'_>) {
        let SgdLanes {
            param,
            grad,
            momentum_buffer,
        } = lanes;
        let n = param.len();
        let grad = &grad[..n];
        match momentum_buffer {
            None => {
                for i in 0..n {
                    let g = self.weight_decay.mul_add(param[i], grad[i]);
                    param[i] = (-self.lr).mul_add(g, param[i]);
                }
            }
            Some(buffer) => {
                let buffer = &mut buffer[..n];
                for i in 0..n {
                    let g = self.weight_decay.mul_add(param[i], grad[i]);
                    let b = self
                        .buffer_grad_scale
                        .mul_add(g, buffer[i] * self.buffer_decay);
                    buffer[i] = b;
                    let d = if NESTEROV {
                        self.momentum.mul_add(b, g)
                    } else {
                        b
                    };
                    param[i] = (-self.lr).mul_add(d, param[i]);
                }
            }
        }
    }
}
