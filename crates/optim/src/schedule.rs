//! Learning-rate schedules: closed-form functions of the step counter, so that resuming a run needs
//! only the counter.
//!
//! Step t (from 1) uses the schedule at index `i = t − 1`, the number of `scheduler.step()` calls
//! PyTorch would have made before that optimizer step. Each schedule mirrors a `torch.optim`
//! scheduler: [`LrSchedule::Step`] is `StepLR`, [`LrSchedule::Cosine`] is `CosineAnnealingLR`
//! (which rises again after `t_max`, as PyTorch's does), and [`LrSchedule::Warmup`] is `LinearLR`
//! (to factor 1) followed by another schedule through `SequentialLR`.

use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::config::rule;

/// A learning-rate schedule, relative to the optimizer's base `lr`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "schedule", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    /// The base lr at every step. (A struct variant, so that keys written beside
    /// `schedule = "constant"`, such as a hoped-for `warmup_steps`, are refused, not ignored.)
    Constant {},
    /// `lr · gamma^⌊i / step_size⌋` (`StepLR`).
    Step {
        /// Steps between decays (> 0).
        step_size: u64,
        /// Multiplicative decay (finite, >= 0).
        gamma: f64,
    },
    /// `eta_min + (lr − eta_min)·(1 + cos(π·i / t_max))/2` (`CosineAnnealingLR`).
    Cosine {
        /// Half period in steps (> 0).
        t_max: u64,
        /// Minimum learning rate (finite, >= 0).
        eta_min: f64,
    },
    /// A linear ramp from `lr · start_factor` to `lr` over `warmup_steps`, then `then` (indexed
    /// from 0 again).
    Warmup {
        /// Steps of the ramp (> 0).
        warmup_steps: u64,
        /// Factor of the first step, in (0, 1].
        start_factor: f64,
        /// The schedule after the warmup.
        then: Box<LrSchedule>,
    },
}

impl Default for LrSchedule {
    fn default() -> Self {
        Self::Constant {}
    }
}

impl LrSchedule {
    /// The learning rate of step `t` (from 1) for base learning rate `base_lr`.
    pub fn lr(&self, base_lr: f64, t: u64) -> f64 {
        self.lr_at_index(base_lr, t.saturating_sub(1))
    }

    fn lr_at_index(&self, base_lr: f64, i: u64) -> f64 {
        match self {
            Self::Constant {} => base_lr,
            Self::Step { step_size, gamma } => {
                let decays = (i / step_size) as f64;
                base_lr * gamma.powf(decays)
            }
            Self::Cosine { t_max, eta_min } => {
                let phase = std::f64::consts::PI * i as f64 / *t_max as f64;
                eta_min + (base_lr - eta_min) * (1.0 + phase.cos()) / 2.0
            }
            Self::Warmup {
                warmup_steps,
                start_factor,
                then,
            } => {
                if i < *warmup_steps {
                    let progress = i as f64 / *warmup_steps as f64;
                    base_lr * (start_factor + (1.0 - start_factor) * progress)
                } else {
                    then.lr_at_index(base_lr, i - warmup_steps)
                }
            }
        }
    }

    /// Checks the schedule's parameters.
    ///
    /// # Errors
    /// [`ConfigError::InvalidValue`] for a zero `step_size`, `t_max` or `warmup_steps`, a negative
    /// or non-finite `gamma` or `eta_min`, or a `start_factor` outside (0, 1].
    pub fn validate(&self) -> Result<(), ConfigError> {
        let owner = &"schedule";
        match self {
            Self::Constant {} => Ok(()),
            Self::Step { step_size, gamma } => {
                rule::positive(owner, "step_size", *step_size as f64)?;
                rule::non_negative(owner, "gamma", *gamma)
            }
            Self::Cosine { t_max, eta_min } => {
                rule::positive(owner, "t_max", *t_max as f64)?;
                rule::non_negative(owner, "eta_min", *eta_min)
            }
            Self::Warmup {
                warmup_steps,
                start_factor,
                then,
            } => {
                rule::positive(owner, "warmup_steps", *warmup_steps as f64)?;
                let ok = *start_factor > 0.0 && *start_factor <= 1.0;
                rule::check(
                    owner,
                    "start_factor",
                    *start_factor,
                    ok,
                    "must be in (0, 1]",
                )?;
                then.validate()
            }
        }
    }
}
