//! The optimizer as a whole: configuration, schedule and step counter, and the split of each step
//! into host scalars ([`Optimizer::begin_step`]) and a per-element update ([`Step::apply`]).

use serde::{Deserialize, Serialize};

use crate::lanes::apply_moment_rule;
use crate::{
    AdaBoundScalars, AdamScalars, ConfigError, LrSchedule, OptimizerConfig, ParamState,
    RAdamScalars, SgdScalars, StateError,
};

/// An optimizer over any number of parameter tensors that step together.
///
/// Each step is two parts, as on the GPU: [`begin_step`](Self::begin_step) advances the step
/// counter and computes every per-step scalar once (learning rate, bias corrections, bounds,
/// rectification); [`Step::apply`] then updates each parameter tensor and its [`ParamState`].
///
/// ```
/// use stepwise_optim::{LrSchedule, Optimizer, OptimizerKind};
///
/// let mut optimizer = Optimizer::new(OptimizerKind::Adam.default_config(), LrSchedule::Constant {})?;
/// let mut param = vec![1.0_f32, -2.0];
/// let mut state = optimizer.init_state(param.len());
/// let grad = vec![0.5_f32, 0.5];
/// optimizer.begin_step().apply(&mut param, &grad, &mut state)?;
/// assert_eq!(optimizer.step_count(), 1);
/// assert!((param[0] - 0.999).abs() < 1e-6); // Adam's first step moves each weight by lr
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SavedOptimizer")]
pub struct Optimizer {
    config: OptimizerConfig,
    schedule: LrSchedule,
    /// Steps taken so far; the next step is `step + 1` (steps count from 1, as in PyTorch).
    step: u64,
}

/// An [`Optimizer`] as serialized, validated on the way in as [`Optimizer::new`] validates.
#[derive(Deserialize)]
struct SavedOptimizer {
    config: OptimizerConfig,
    schedule: LrSchedule,
    step: u64,
}

impl TryFrom<SavedOptimizer> for Optimizer {
    type Error = ConfigError;

    fn try_from(saved: SavedOptimizer) -> Result<Self, ConfigError> {
        Ok(Self {
            step: saved.step,
            ..Self::new(saved.config, saved.schedule)?
        })
    }
}

impl Optimizer {
    /// An optimizer that has taken no step yet.
    ///
    /// # Errors
    /// The configuration's or the schedule's [`ConfigError`].
    pub fn new(config: OptimizerConfig, schedule: LrSchedule) -> Result<Self, ConfigError> {
        config.validate()?;
        schedule.validate()?;
        Ok(Self {
            config,
            schedule,
            step: 0,
        })
    }

    /// The configuration.
    pub const fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// The learning-rate schedule.
    pub const fn schedule(&self) -> &LrSchedule {
        &self.schedule
    }

    /// Steps taken so far.
    pub const fn step_count(&self) -> u64 {
        self.step
    }

    /// Fresh (zero) state for a parameter tensor of `len` elements.
    pub fn init_state(&self, len: usize) -> ParamState {
        self.config.init_state(len)
    }

    /// This optimizer after `steps` steps: the counter of a resumed run (its state buffers are
    /// the caller's).
    #[must_use]
    pub const fn with_step_count(mut self, steps: u64) -> Self {
        self.step = steps;
        self
    }

    /// Advances the step counter and computes this step's scalars, once for all parameters.
    pub fn begin_step(&mut self) -> Step {
        self.step += 1;
        let t = self.step;
        Step::new(&self.config, t, self.schedule.lr(self.config.lr(), t))
    }
}

/// One optimizer step: its number, learning rate and kernel scalars.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// The step number, from 1.
    pub t: u64,
    /// The learning rate of this step (after the schedule).
    pub lr: f64,
    /// The scalars the per-element update reads.
    pub scalars: StepScalars,
}

/// The per-step scalars of each optimizer family: exactly what its WGSL kernel's uniform holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepScalars {
    /// SGD.
    Sgd(SgdScalars),
    /// Adam and AdamW.
    Adam(AdamScalars),
    /// AdaBound and AdaBoundW (and AMSBound).
    AdaBound(AdaBoundScalars),
    /// RAdam.
    RAdam(RAdamScalars),
}

impl StepScalars {
    /// The scalars as the bytes of the WGSL kernel's uniform block.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Sgd(s) => bytemuck::bytes_of(s),
            Self::Adam(s) => bytemuck::bytes_of(s),
            Self::AdaBound(s) => bytemuck::bytes_of(s),
            Self::RAdam(s) => bytemuck::bytes_of(s),
        }
    }
}

impl StepScalars {
    /// The learning rate this step applies to one element, given that element's second moment
    /// `v_hat` (the `max_exp_avg_sq` under AMSGrad/AMSBound, else `exp_avg_sq`; ignored by SGD and
    /// by RAdam before rectification): the factor on the first moment (SGD: on the momentum buffer
    /// or gradient) in the update. It never increases with `v_hat`, so the smallest and largest
    /// step sizes of a tensor come from its largest and smallest `v_hat`.
    pub fn step_size(&self, v_hat: f32) -> f32 {
        match self {
            Self::Sgd(s) => s.lr,
            Self::Adam(s) => s.step_size / (v_hat.sqrt() / s.bias_correction2_sqrt + s.eps),
            Self::AdaBound(s) => s.rate(v_hat),
            Self::RAdam(s) if s.rectified != 0 => {
                s.lr / s.bias_correction1
                    * ((v_hat.sqrt() + s.eps).recip() * s.bias_correction2_sqrt)
                    * s.rectification
            }
            Self::RAdam(s) => s.lr / s.bias_correction1,
        }
    }

    /// The state buffer holding v̂ for [`step_size`](Self::step_size), if this step reads one.
    pub fn second_moment_buffer(&self) -> Option<&'static str> {
        let amsgrad = match self {
            Self::Sgd(_) => return None,
            Self::RAdam(s) if s.rectified == 0 => return None,
            Self::RAdam(_) => false,
            Self::Adam(s) => s.amsgrad != 0,
            Self::AdaBound(s) => s.amsbound != 0,
        };
        Some(if amsgrad {
            "max_exp_avg_sq"
        } else {
            "exp_avg_sq"
        })
    }

    /// AdaBound's lower and upper bounds on the per-element learning rate.
    pub fn bounds(&self) -> Option<(f32, f32)> {
        match self {
            Self::AdaBound(s) => Some((s.lower_bound, s.upper_bound)),
            _ => None,
        }
    }

    /// RAdam's variance rectification term r_t (0 while the step is not rectified).
    pub fn rectification(&self) -> Option<f32> {
        match self {
            Self::RAdam(s) => Some(s.rectification),
            _ => None,
        }
    }
}

impl Step {
    /// Step `t` (from 1) of `config` at learning rate `lr`: its scalars, computed once.
    pub fn new(config: &OptimizerConfig, t: u64, lr: f64) -> Self {
        Self {
            t,
            lr,
            scalars: config.scalars(t, lr),
        }
    }

    /// Updates one parameter tensor and its state in place, given its gradient.
    ///
    /// # Errors
    /// [`StateError`] when the gradient or a state buffer has another length than the parameter,
    /// or the state belongs to another optimizer. Nothing is modified then.
    pub fn apply(
        &self,
        param: &mut [f32],
        grad: &[f32],
        state: &mut ParamState,
    ) -> Result<(), StateError> {
        match &self.scalars {
            StepScalars::Sgd(s) => s.apply(state.sgd_lanes(param, grad, s.has_momentum != 0)?),
            StepScalars::Adam(s) => {
                apply_moment_rule(s, state.moment_lanes(param, grad, s.amsgrad != 0)?);
            }
            StepScalars::AdaBound(s) => {
                apply_moment_rule(s, state.moment_lanes(param, grad, s.amsbound != 0)?);
            }
            StepScalars::RAdam(s) => s.apply(state.moment_lanes(param, grad, false)?),
        }
        Ok(())
    }
}
