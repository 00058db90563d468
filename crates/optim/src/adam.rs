//! Adam and AdamW (with AMSGrad), as `torch.optim.Adam` and `torch.optim.AdamW`.
//!
//! For step t = 1, 2, … with gradient g, betas β1, β2, weight decay λ:
//!
//! ```text
//! p ← p·(1 − lr·λ)                                (AdamW: decoupled decay, scaled by lr)
//! g ← g + λ·p                                     (Adam: L2 penalty)
//! m ← m + (1 − β1)·(g − m)                        (torch's lerp)
//! v ← β2·v + (1 − β2)·g²
//! v̂ ← max(v̂, v) if AMSGrad, else v               (maximum of the raw second moment)
//! p ← p − (lr / (1 − β1ᵗ))·m / (√v̂ / √(1 − β2ᵗ) + ε)
//! ```
//!
//! ε is added after the bias correction of √v̂, as PyTorch does (the paper's ε̂ placement).
//! AdamW's decay is multiplied by lr, as in PyTorch (the paper's schedule multiplier η_t is lr here).
//! One documented difference: torch's `lerp` switches to `g − (g − m)·β1` when 1 − β1 ≥ 0.5 (β1 ≤
//! 0.5); Stepwise keeps the first form throughout, which differs only by rounding.
//!
//! See: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (arXiv:1412.6980);
//! Reddi et al., "On the Convergence of Adam and Beyond" (AMSGrad, ICLR 2018);
//! Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (AdamW, arXiv:1711.05101).

use bytemuck::{Pod, Zeroable};

use crate::config::rule;
use crate::lanes::{MomentRule, lerp_moment, second_moment};
use crate::{ConfigError, OptimizerKind};

/// Hyperparameters of Adam and AdamW; whether decay is L2 or decoupled depends on which one
/// ([`OptimizerConfig::Adam`](crate::OptimizerConfig::Adam) or
/// [`OptimizerConfig::AdamW`](crate::OptimizerConfig::AdamW)) holds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// β1, first-moment coefficient (default 0.9).
    pub beta1: f64,
    /// β2, second-moment coefficient (default 0.999).
    pub beta2: f64,
    /// ε, added to the bias-corrected √v (default 1e-8).
    pub eps: f64,
    /// λ: L2 for Adam (default 0), decoupled `p *= 1 − lr·λ` for AdamW (default 1e-2).
    pub weight_decay: f64,
    /// AMSGrad: divide by the running maximum of v (default false).
    pub amsgrad: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self::adam()
    }
}

impl AdamConfig {
    /// `torch.optim.Adam`'s defaults.
    pub const fn adam() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
        }
    }

    /// `torch.optim.AdamW`'s defaults (weight decay 1e-2).
    pub const fn adamw() -> Self {
        Self {
            weight_decay: 1e-2,
            ..Self::adam()
        }
    }

    pub(crate) fn validate(&self, kind: OptimizerKind) -> Result<(), ConfigError> {
        rule::non_negative(&kind, "lr", self.lr)?;
        rule::unit_interval(&kind, "beta1", self.beta1)?;
        rule::unit_interval(&kind, "beta2", self.beta2)?;
        rule::non_negative(&kind, "eps", self.eps)?;
        rule::non_negative(&kind, "weight_decay", self.weight_decay)
    }

    /// The scalars of step `t` (from 1) at learning rate `lr`; `decoupled` selects AdamW's decay.
    pub fn scalars(&self, decoupled: bool, t: u64, lr: f64) -> AdamScalars {
        let t = t as f64;
        let bias_correction1 = 1.0 - self.beta1.powf(t);
        let bias_correction2 = 1.0 - self.beta2.powf(t);
        AdamScalars {
            moments: AdamMoments::new(decoupled, lr, self.weight_decay, self.beta1, self.beta2),
            bias_correction2_sqrt: bias_correction2.sqrt() as f32,
            eps: self.eps as f32,
            step_size: (lr / bias_correction1) as f32,
            amsgrad: u32::from(self.amsgrad),
            _pad: [0; 3],
        }
    }
}

/// The decay and moment coefficients of one step of the Adam family (Adam, AdamW, RAdam): the
/// leading fields of [`AdamScalars`] and [`RAdamScalars`](crate::RAdamScalars), whose kernels read
/// them as their first five members.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct AdamMoments {
    /// Decoupled decay factor 1 − lr·λ (AdamW, RAdam decoupled), else 1.
    pub decay: f32,
    /// L2 coefficient λ (Adam, RAdam), 0 when the decay is decoupled.
    pub l2: f32,
    /// 1 − β1, the lerp weight of the first moment.
    pub one_minus_beta1: f32,
    /// β2.
    pub beta2: f32,
    /// 1 − β2.
    pub one_minus_beta2: f32,
}

impl AdamMoments {
    /// The coefficients at learning rate `lr`; `decoupled` picks decoupled decay over L2.
    pub(crate) fn new(decoupled: bool, lr: f64, weight_decay: f64, beta1: f64, beta2: f64) -> Self {
        let (decay, l2) = if decoupled {
            (1.0 - lr * weight_decay, 0.0)
        } else {
            (1.0, weight_decay)
        };
        Self {
            decay: decay as f32,
            l2: l2 as f32,
            one_minus_beta1: (1.0 - beta1) as f32,
            beta2: beta2 as f32,
            one_minus_beta2: (1.0 - beta2) as f32,
        }
    }

    /// Decay, L2 and both moment updates of one element; returns the new second moment.
    #[inline(always)]
    pub(crate) fn update(&self, p: &mut f32, g: f32, m: &mut f32, v: &mut f32) -> f32 {
        *p *= self.decay;
        let g = self.l2.mul_add(*p, g);
        *m = lerp_moment(*m, g, self.one_minus_beta1);
        *v = second_moment(*v, g, self.beta2, self.one_minus_beta2);
        *v
    }
}

/// Everything one Adam/AdamW step needs besides the tensors; the GPU kernel's uniform block.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct AdamScalars {
    /// Decay and moment coefficients.
    pub moments: AdamMoments,
    /// √(1 − β2ᵗ).
    pub bias_correction2_sqrt: f32,
    /// ε.
    pub eps: f32,
    /// lr / (1 − β1ᵗ).
    pub step_size: f32,
    /// 1 for AMSGrad.
    pub amsgrad: u32,
    /// Keeps the size a multiple of 16 bytes, as uniform buffers require.
    pub _pad: [u32; 3],
}

impl MomentRule for AdamScalars {
    /// Decay, L2 and both moment updates; returns the new v.
    #[inline(always)]
    fn moments(&self, p: &mut f32, g: f32, m: &mut f32, v: &mut f32) -> f32 {
        self.moments.update(p, g, m, v)
    }

    /// The parameter after the step, given the first moment and the (maximal) second moment.
    #[inline(always)]
    fn descend(&self, p: f32, m: f32, v_hat: f32) -> f32 {
        let denom = v_hat.sqrt() / self.bias_correction2_sqrt + self.eps;
        p - self.step_size * m / denom
    }
}
