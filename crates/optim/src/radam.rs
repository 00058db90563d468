//! RAdam (rectified Adam) with L2 or decoupled weight decay, as `torch.optim.RAdam`.
//!
//! For step t = 1, 2, … with gradient g, betas β1, β2, weight decay λ:
//!
//! ```text
//! p ← p·(1 − lr·λ)                                (decoupled decay)
//! g ← g + λ·p                                     (L2, the default)
//! m ← m + (1 − β1)·(g − m)
//! v ← β2·v + (1 − β2)·g²
//! ρ∞ = 2/(1 − β2) − 1,   ρ_t = ρ∞ − 2t·β2ᵗ/(1 − β2ᵗ)
//! if ρ_t > 5:  r_t = √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t))
//!              p ← p − (m/(1 − β1ᵗ))·lr · (√(1 − β2ᵗ)/(√v + ε)) · r_t
//! else:        p ← p − (m/(1 − β1ᵗ))·lr            (bias-corrected momentum, no adaptivity)
//! ```
//!
//! The switch at ρ_t > 5 is PyTorch's rule (the paper's Algorithm 2 uses ρ_t > 4; the reference
//! repository later moved to 5); with the default β2 = 0.999 the first five steps are SGD with
//! momentum. ε is added to the raw √v, as in PyTorch.
//!
//! See: Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond" (arXiv:1908.03265).

use bytemuck::{Pod, Zeroable};

use crate::adam::AdamMoments;
use crate::config::rule;
use crate::lanes::{MomentLanes, MomentRule, apply_moment_rule};
use crate::{ConfigError, OptimizerKind};

/// The length of the approximated simple moving average above which the step is rectified.
pub const RECTIFICATION_THRESHOLD: f64 = 5.0;

/// Hyperparameters of RAdam; defaults are `torch.optim.RAdam`'s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RAdamConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// β1 (default 0.9).
    pub beta1: f64,
    /// β2 (default 0.999).
    pub beta2: f64,
    /// ε, added to the raw √v (default 1e-8).
    pub eps: f64,
    /// λ (default 0): L2, or decoupled `p *= 1 − lr·λ` with `decoupled_weight_decay`.
    pub weight_decay: f64,
    /// Decoupled (AdamW-style) weight decay (default false).
    pub decoupled_weight_decay: bool,
}

impl Default for RAdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
        }
    }
}

impl RAdamConfig {
    pub(crate) fn validate(&self, kind: OptimizerKind) -> Result<(), ConfigError> {
        rule::non_negative(&kind, "lr", self.lr)?;
        rule::unit_interval(&kind, "beta1", self.beta1)?;
        rule::unit_interval(&kind, "beta2", self.beta2)?;
        rule::non_negative(&kind, "eps", self.eps)?;
        rule::non_negative(&kind, "weight_decay", self.weight_decay)
    }

    /// The scalars of step `t` (from 1) at learning rate `lr`.
    pub fn scalars(&self, t: u64, lr: f64) -> RAdamScalars {
        let t = t as f64;
        let bias_correction1 = 1.0 - self.beta1.powf(t);
        let bias_correction2 = 1.0 - self.beta2.powf(t);
        let rho_inf = 2.0 / (1.0 - self.beta2) - 1.0;
        let rho_t = rho_inf - 2.0 * t * self.beta2.powf(t) / bias_correction2;
        let rectified = rho_t > RECTIFICATION_THRESHOLD;
        let rectification = if rectified {
            ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                .sqrt()
        } else {
            0.0
        };
        let moments = AdamMoments::new(
            self.decoupled_weight_decay,
            lr,
            self.weight_decay,
            self.beta1,
            self.beta2,
        );
        RAdamScalars {
            moments,
            eps: self.eps as f32,
            bias_correction1: bias_correction1 as f32,
            lr: lr as f32,
            bias_correction2_sqrt: bias_correction2.sqrt() as f32,
            rectification: rectification as f32,
            rectified: u32::from(rectified),
            _pad: 0,
        }
    }
}

/// Everything one RAdam step needs besides the tensors; the GPU kernel's uniform block.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct RAdamScalars {
    /// Decay and moment coefficients, as Adam's.
    pub moments: AdamMoments,
    /// ε.
    pub eps: f32,
    /// 1 − β1ᵗ.
    pub bias_correction1: f32,
    /// Learning rate of this step.
    pub lr: f32,
    /// √(1 − β2ᵗ).
    pub bias_correction2_sqrt: f32,
    /// r_t, the variance rectification term (0 while unrectified).
    pub rectification: f32,
    /// 1 when ρ_t > 5 and the adaptive, rectified step is taken.
    pub rectified: u32,
    /// Keeps the size a multiple of 16 bytes, as uniform buffers require.
    pub _pad: u32,
}

impl RAdamScalars {
    pub(crate) fn apply(&self, lanes: MomentLanes<'_>) {
        // The branch on rectification is taken once per step, outside the loops.
        if self.rectified != 0 {
            apply_moment_rule(&RAdamRule::<true>(self), lanes);
        } else {
            apply_moment_rule(&RAdamRule::<false>(self), lanes);
        }
    }
}

/// RAdam's per-element rule: Adam's moments, then the rectified adaptive step (`RECTIFIED`) or a
/// bias-corrected momentum step.
struct RAdamRule<'a, const RECTIFIED: bool>(&'a RAdamScalars);

impl<const RECTIFIED: bool> MomentRule for RAdamRule<'_, RECTIFIED> {
    #[inline(always)]
    fn moments(&self, p: &mut f32, g: f32, m: &mut f32, v: &mut f32) -> f32 {
        self.0.moments.update(p, g, m, v)
    }

    #[inline(always)]
    fn descend(&self, p: f32, m: f32, v: f32) -> f32 {
        let s = self.0;
        let momentum_step = m / s.bias_correction1 * s.lr;
        if RECTIFIED {
            // torch computes `float / tensor` as `tensor.reciprocal() * float`: two roundings.
            let adaptive = (v.sqrt() + s.eps).recip() * s.bias_correction2_sqrt;
            p - momentum_step * adaptive * s.rectification
        } else {
            p - momentum_step
        }
    }
}
