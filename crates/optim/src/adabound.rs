//! AdaBound, AMSBound and AdaBoundW, as Luolc's reference implementation (`adabound` 0.0.5).
//!
//! For step t = 1, 2, … with gradient g, betas β1, β2, the learning rate lr of this step and the
//! learning rate `base_lr` the optimizer was created with:
//!
//! ```text
//! g ← g + λ·p                                     (AdaBound: L2 penalty)
//! m ← β1·m + (1 − β1)·g
//! v ← β2·v + (1 − β2)·g²
//! v̂ ← max(v̂, v) if AMSBound, else v
//! α* ← final_lr · lr / base_lr                    (follows any lr schedule)
//! η_l ← α*·(1 − 1/(γ·t + 1)),  η_u ← α*·(1 + 1/(γ·t))
//! s ← clamp((lr·√(1 − β2ᵗ)/(1 − β1ᵗ)) / (√v̂ + ε), η_l, η_u)·m
//! p ← p − s − λ·p_old                             (AdaBoundW: decay not scaled by lr)
//! ```
//!
//! Unlike Adam, ε is added to the raw √v̂ and the bias correction sits in the step size.
//! Documented choices: `lr` must be > 0 (the bound target divides by `base_lr`); with γ = 0 the
//! upper bound is +∞ (the reference raises `ZeroDivisionError`).
//!
//! See: Luo et al., "Adaptive Gradient Methods with Dynamic Bound of Learning Rate" (ICLR 2019).

use bytemuck::{Pod, Zeroable};

use crate::config::rule;
use crate::lanes::{MomentRule, nan_clamp, second_moment};
use crate::{ConfigError, OptimizerKind};

/// Hyperparameters of AdaBound and AdaBoundW; defaults are the reference repository's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaBoundConfig {
    /// Learning rate, also `base_lr` of the bound target (default 1e-3).
    pub lr: f64,
    /// β1 (default 0.9).
    pub beta1: f64,
    /// β2 (default 0.999).
    pub beta2: f64,
    /// The SGD learning rate the bounds converge to (default 0.1).
    pub final_lr: f64,
    /// γ, how fast the bounds close (default 1e-3).
    pub gamma: f64,
    /// ε, added to the raw √v (default 1e-8).
    pub eps: f64,
    /// λ: L2 for AdaBound, `p -= λ·p_old` after the step for AdaBoundW (default 0).
    pub weight_decay: f64,
    /// AMSBound: bound the running maximum of v (default false).
    pub amsbound: bool,
}

impl Default for AdaBoundConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            final_lr: 0.1,
            gamma: 1e-3,
            eps: 1e-8,
            weight_decay: 0.0,
            amsbound: false,
        }
    }
}

impl AdaBoundConfig {
    pub(crate) fn validate(&self, kind: OptimizerKind) -> Result<(), ConfigError> {
        rule::positive(&kind, "lr", self.lr)?;
        rule::unit_interval(&kind, "beta1", self.beta1)?;
        rule::unit_interval(&kind, "beta2", self.beta2)?;
        rule::non_negative(&kind, "final_lr", self.final_lr)?;
        rule::unit_interval(&kind, "gamma", self.gamma)?;
        rule::non_negative(&kind, "eps", self.eps)?;
        rule::non_negative(&kind, "weight_decay", self.weight_decay)
    }

    /// The scalars of step `t` (from 1) at learning rate `lr`; `decoupled` selects AdaBoundW.
    pub fn scalars(&self, decoupled: bool, t: u64, lr: f64) -> AdaBoundScalars {
        let t = t as f64;
        let bias_correction1 = 1.0 - self.beta1.powf(t);
        let bias_correction2 = 1.0 - self.beta2.powf(t);
        let final_lr = self.final_lr * lr / self.lr;
        let (l2, decoupled_decay) = if decoupled {
            (0.0, self.weight_decay)
        } else {
            (self.weight_decay, 0.0)
        };
        AdaBoundScalars {
            l2: l2 as f32,
            decoupled_decay: decoupled_decay as f32,
            beta1: self.beta1 as f32,
            one_minus_beta1: (1.0 - self.beta1) as f32,
            beta2: self.beta2 as f32,
            one_minus_beta2: (1.0 - self.beta2) as f32,
            eps: self.eps as f32,
            step_size: (lr * bias_correction2.sqrt() / bias_correction1) as f32,
            lower_bound: (final_lr * (1.0 - 1.0 / (self.gamma * t + 1.0))) as f32,
            upper_bound: (final_lr * (1.0 + 1.0 / (self.gamma * t))) as f32,
            amsbound: u32::from(self.amsbound),
            _pad: 0,
        }
    }
}

/// Everything one AdaBound step needs besides the tensors; the GPU kernel's uniform block.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct AdaBoundScalars {
    /// L2 coefficient λ (AdaBound), 0 for AdaBoundW.
    pub l2: f32,
    /// λ of AdaBoundW's `p -= λ·p_old`, 0 for AdaBound.
    pub decoupled_decay: f32,
    /// β1.
    pub beta1: f32,
    /// 1 − β1.
    pub one_minus_beta1: f32,
    /// β2.
    pub beta2: f32,
    /// 1 − β2.
    pub one_minus_beta2: f32,
    /// ε.
    pub eps: f32,
    /// lr·√(1 − β2ᵗ)/(1 − β1ᵗ), the unclipped step size before division by √v̂ + ε.
    pub step_size: f32,
    /// η_l, the lower bound on the per-element learning rate.
    pub lower_bound: f32,
    /// η_u, the upper bound on the per-element learning rate.
    pub upper_bound: f32,
    /// 1 for AMSBound.
    pub amsbound: u32,
    /// Keeps the size a multiple of 16 bytes, as uniform buffers require.
    pub _pad: u32,
}

impl MomentRule for AdaBoundScalars {
    /// L2 and both moment updates (the parameter is left for `descend`); returns the new v.
    #[inline(always)]
    fn moments(&self, p: &mut f32, g: f32, m: &mut f32, v: &mut f32) -> f32 {
        let g = self.l2.mul_add(*p, g);
        *m = self.one_minus_beta1.mul_add(g, *m * self.beta1);
        *v = second_moment(*v, g, self.beta2, self.one_minus_beta2);
        *v
    }

    /// The parameter after the bounded step and AdaBoundW's decay.
    #[inline(always)]
    fn descend(&self, p: f32, m: f32, v_hat: f32) -> f32 {
        (p - self.rate(v_hat) * m) - self.decoupled_decay * p
    }
}

impl AdaBoundScalars {
    /// The bounded per-element learning rate for second moment `v_hat`.
    #[inline(always)]
    pub(crate) fn rate(&self, v_hat: f32) -> f32 {
        nan_clamp(
            self.step_size / (v_hat.sqrt() + self.eps),
            self.lower_bound,
            self.upper_bound,
        )
    }
}
