//! How users name an optimizer and its hyperparameters, and the validated configuration built from it.
//!
//! [`OptimizerSpec`] is the one user-facing form: CLI flags (with the `clap` feature), config files
//! and the app all produce it. Unset hyperparameters take the reference implementation's default for
//! the chosen optimizer; a hyperparameter that does not apply to it is an error.
//! [`OptimizerConfig`] is the typed, validated result, and serialises back to a fully resolved spec.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{AdaBoundConfig, AdamConfig, ParamState, RAdamConfig, SgdConfig, StepScalars};

/// The optimizers Stepwise implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OptimizerKind {
    /// Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 decay.
    #[cfg_attr(feature = "clap", value(name = "sgd"))]
    Sgd,
    /// Adam with L2 weight decay added to the gradient (and AMSGrad).
    #[cfg_attr(feature = "clap", value(name = "adam"))]
    Adam,
    /// Adam with decoupled weight decay (and AMSGrad).
    #[cfg_attr(feature = "clap", value(name = "adamw"))]
    AdamW,
    /// AdaBound with L2 weight decay (and AMSBound).
    #[cfg_attr(feature = "clap", value(name = "adabound"))]
    AdaBound,
    /// AdaBound with the reference repository's decoupled decay `p -= wd * p` (and AMSBound).
    #[cfg_attr(feature = "clap", value(name = "adaboundw"))]
    AdaBoundW,
    /// Rectified Adam, L2 or decoupled weight decay.
    #[cfg_attr(feature = "clap", value(name = "radam"))]
    RAdam,
}

impl OptimizerKind {
    /// Every optimizer, in the order the study lists them.
    pub const ALL: [Self; 6] = [
        Self::Sgd,
        Self::Adam,
        Self::AdamW,
        Self::AdaBound,
        Self::AdaBoundW,
        Self::RAdam,
    ];

    /// The lowercase name used in flags, config files and output.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Adam => "adam",
            Self::AdamW => "adamw",
            Self::AdaBound => "adabound",
            Self::AdaBoundW => "adaboundw",
            Self::RAdam => "radam",
        }
    }

    /// The hyperparameters this optimizer accepts.
    pub const fn hyperparameters(self) -> &'static [Hyperparameter] {
        use Hyperparameter::{
            Amsgrad, Beta1, Beta2, Dampening, DecoupledWeightDecay, Eps, FinalLr, Gamma, Lr,
            Momentum, Nesterov, WeightDecay,
        };
        match self {
            Self::Sgd => &[Lr, Momentum, Dampening, Nesterov, WeightDecay],
            Self::Adam | Self::AdamW => &[Lr, Beta1, Beta2, Eps, WeightDecay, Amsgrad],
            Self::AdaBound | Self::AdaBoundW => {
                &[Lr, Beta1, Beta2, FinalLr, Gamma, Eps, WeightDecay, Amsgrad]
            }
            Self::RAdam => &[Lr, Beta1, Beta2, Eps, WeightDecay, DecoupledWeightDecay],
        }
    }

    /// The hyperparameter that, after the learning rate, shapes this optimizer's steps most:
    /// `momentum` for SGD, `beta1` for the Adam family (the second axis of a hyperparameter map).
    pub const fn momentum_like(self) -> Hyperparameter {
        match self {
            Self::Sgd => Hyperparameter::Momentum,
            _ => Hyperparameter::Beta1,
        }
    }

    /// The reference defaults for this optimizer.
    pub fn default_config(self) -> OptimizerConfig {
        match self {
            Self::Sgd => OptimizerConfig::Sgd(SgdConfig::default()),
            Self::Adam => OptimizerConfig::Adam(AdamConfig::adam()),
            Self::AdamW => OptimizerConfig::AdamW(AdamConfig::adamw()),
            Self::AdaBound => OptimizerConfig::AdaBound(AdaBoundConfig::default()),
            Self::AdaBoundW => OptimizerConfig::AdaBoundW(AdaBoundConfig::default()),
            Self::RAdam => OptimizerConfig::RAdam(RAdamConfig::default()),
        }
    }
}

/// A hyperparameter of some optimizer, named as in flags, config files and specs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hyperparameter {
    /// `lr`: the learning rate.
    Lr,
    /// `momentum`: SGD's momentum factor.
    Momentum,
    /// `dampening`: SGD's dampening of the gradient entering the momentum buffer.
    Dampening,
    /// `nesterov`: SGD's Nesterov momentum (a switch).
    Nesterov,
    /// `weight_decay`: L2 or decoupled, by optimizer.
    WeightDecay,
    /// `beta1`: the first-moment running average's coefficient.
    Beta1,
    /// `beta2`: the second-moment running average's coefficient.
    Beta2,
    /// `eps`: the denominator's term for numerical stability.
    Eps,
    /// `amsgrad`: AMSGrad / AMSBound (a switch).
    Amsgrad,
    /// `final_lr`: AdaBound's SGD learning rate, the bounds' limit.
    FinalLr,
    /// `gamma`: AdaBound's convergence speed of the bounds.
    Gamma,
    /// `decoupled_weight_decay`: RAdam's decoupled decay (a switch).
    DecoupledWeightDecay,
}

impl Hyperparameter {
    /// The name used in flags (with dashes for underscores), config files and specs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Lr => "lr",
            Self::Momentum => "momentum",
            Self::Dampening => "dampening",
            Self::Nesterov => "nesterov",
            Self::WeightDecay => "weight_decay",
            Self::Beta1 => "beta1",
            Self::Beta2 => "beta2",
            Self::Eps => "eps",
            Self::Amsgrad => "amsgrad",
            Self::FinalLr => "final_lr",
            Self::Gamma => "gamma",
            Self::DecoupledWeightDecay => "decoupled_weight_decay",
        }
    }
}

impl std::fmt::Display for Hyperparameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An optimizer as a user writes it: its name and the hyperparameters they chose to set.
///
/// Every unset hyperparameter takes the reference default *of the chosen optimizer* (for example
/// `weight_decay` is 0 for Adam and 1e-2 for AdamW, as in `torch.optim`). Turn it into a validated
/// [`OptimizerConfig`] with [`OptimizerSpec::resolve`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct OptimizerSpec {
    /// Optimizer.
    #[cfg_attr(feature = "clap", arg(long))]
    pub optimizer: OptimizerKind,
    /// Learning rate [default 1e-3 for every optimizer, as in torch.optim and AdaBound].
    #[cfg_attr(feature = "clap", arg(long))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// SGD momentum factor [sgd; default 0].
    #[cfg_attr(feature = "clap", arg(long))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    /// SGD dampening of the gradient entering the momentum buffer [sgd; default 0].
    #[cfg_attr(feature = "clap", arg(long))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dampening: Option<f64>,
    /// Nesterov momentum [sgd; needs momentum > 0 and dampening 0].
    #[cfg_attr(feature = "clap", arg(long, num_args = 0..=1, default_missing_value = "true"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nesterov: Option<bool>,
    /// Weight decay [default 0; adamw 1e-2]. L2 (added to the gradient) for sgd, adam, adabound
    /// and radam; decoupled `p *= 1 - lr*wd` for adamw and radam with --decoupled-weight-decay;
    /// `p -= wd*p` after the step for adaboundw.
    #[cfg_attr(feature = "clap", arg(long))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    /// Coefficient of the first-moment running average [adam family; default 0.9].
    #[cfg_attr(feature = "clap", arg(long))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta1: Option<f64>,
    /// Coefficient of the second-moment running average [adam family; default 0.999].
    #[cfg_attr(feature = "clap", arg(long))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta2: Option<f64>,
    /// Term added to the denominator [adam family; default 1e-8].
    #[cfg_attr(feature = "clap", arg(long))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps: Option<f64>,
    /// AMSGrad: use the running maximum of the second moment [adam, adamw; on adabound and
    /// adaboundw this is AMSBound].
    #[cfg_attr(feature = "clap", arg(long, num_args = 0..=1, default_missing_value = "true"))]
    #[serde(default, alias = "amsbound", skip_serializing_if = "Option::is_none")]
    pub amsgrad: Option<bool>,
    /// Final (SGD) learning rate the bounds converge to [adabound family; default 0.1].
    #[cfg_attr(feature = "clap", arg(long))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_lr: Option<f64>,
    /// Convergence speed of the bounds [adabound family; default 1e-3].
    #[cfg_attr(feature = "clap", arg(long))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// Decoupled weight decay `p *= 1 - lr*wd` instead of L2 [radam; default false].
    #[cfg_attr(feature = "clap", arg(long, num_args = 0..=1, default_missing_value = "true"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoupled_weight_decay: Option<bool>,
}

impl OptimizerSpec {
    /// A spec for `optimizer` with every hyperparameter at its default.
    pub const fn new(optimizer: OptimizerKind) -> Self {
        Self {
            optimizer,
            lr: None,
            momentum: None,
            dampening: None,
            nesterov: None,
            weight_decay: None,
            beta1: None,
            beta2: None,
            eps: None,
            amsgrad: None,
            final_lr: None,
            gamma: None,
            decoupled_weight_decay: None,
        }
    }

    /// The spec for `kind`, keeping what this one sets that `kind` also has (the learning rate,
    /// the betas...) and dropping the rest: an editor switching optimizers.
    pub fn switched_to(&self, kind: OptimizerKind) -> Self {
        let mut switched = Self::new(kind);
        let mut old = self.clone();
        for ((hyperparameter, from), (_, to)) in old
            .hyperparameters_mut()
            .into_iter()
            .zip(switched.hyperparameters_mut())
        {
            if !kind.hyperparameters().contains(&hyperparameter) {
                continue;
            }
            match (from, to) {
                (Slot::Number(from), Slot::Number(to)) => *to = *from,
                (Slot::Flag(from), Slot::Flag(to)) => *to = *from,
                _ => {}
            }
        }
        switched
    }

    /// The hyperparameters this spec sets.
    pub fn set_hyperparameters(&self) -> Vec<Hyperparameter> {
        self.clone()
            .hyperparameters_mut()
            .into_iter()
            .filter_map(|(name, slot)| slot.is_set().then_some(name))
            .collect()
    }

    /// `adam lr=0.01 weight_decay=0.0001`: the optimizer and the hyperparameters this spec sets (the
    /// default name of a run, and the app's label for it).
    pub fn label(&self) -> String {
        let mut label = self.optimizer.name().to_owned();
        for (name, slot) in self.clone().hyperparameters_mut() {
            match slot {
                Slot::Number(Some(value)) => label.push_str(&format!(" {name}={value}")),
                Slot::Flag(Some(value)) => label.push_str(&format!(" {name}={value}")),
                _ => {}
            }
        }
        label
    }

    /// Every hyperparameter's slot, for editors that work through the list (the app's sliders,
    /// a hyperparameter map's axes).
    pub fn hyperparameters_mut(&mut self) -> [(Hyperparameter, Slot<'_>); 12] {
        use Hyperparameter as H;
        [
            (H::Lr, Slot::Number(&mut self.lr)),
            (H::Momentum, Slot::Number(&mut self.momentum)),
            (H::Dampening, Slot::Number(&mut self.dampening)),
            (H::Nesterov, Slot::Flag(&mut self.nesterov)),
            (H::WeightDecay, Slot::Number(&mut self.weight_decay)),
            (H::Beta1, Slot::Number(&mut self.beta1)),
            (H::Beta2, Slot::Number(&mut self.beta2)),
            (H::Eps, Slot::Number(&mut self.eps)),
            (H::Amsgrad, Slot::Flag(&mut self.amsgrad)),
            (H::FinalLr, Slot::Number(&mut self.final_lr)),
            (H::Gamma, Slot::Number(&mut self.gamma)),
            (
                H::DecoupledWeightDecay,
                Slot::Flag(&mut self.decoupled_weight_decay),
            ),
        ]
    }

    /// Fills in the optimizer's reference defaults and validates the result.
    ///
    /// # Errors
    /// [`ConfigError::NotApplicable`] for a hyperparameter the optimizer does not have, and the
    /// errors of [`OptimizerConfig::validate`].
    pub fn resolve(&self) -> Result<OptimizerConfig, ConfigError> {
        let kind = self.optimizer;
        if let Some(field) = self
            .set_hyperparameters()
            .into_iter()
            .find(|field| !kind.hyperparameters().contains(field))
        {
            let applies_to: Vec<&str> = OptimizerKind::ALL
                .iter()
                .filter(|k| k.hyperparameters().contains(&field))
                .map(|k| k.name())
                .collect();
            return Err(ConfigError::NotApplicable {
                optimizer: kind,
                field,
                applies_to: applies_to.join(", "),
            });
        }
        let config = match kind.default_config() {
            OptimizerConfig::Sgd(d) => OptimizerConfig::Sgd(SgdConfig {
                lr: self.lr.unwrap_or(d.lr),
                momentum: self.momentum.unwrap_or(d.momentum),
                dampening: self.dampening.unwrap_or(d.dampening),
                nesterov: self.nesterov.unwrap_or(d.nesterov),
                weight_decay: self.weight_decay.unwrap_or(d.weight_decay),
            }),
            OptimizerConfig::Adam(d) => OptimizerConfig::Adam(self.adam_config(d)),
            OptimizerConfig::AdamW(d) => OptimizerConfig::AdamW(self.adam_config(d)),
            OptimizerConfig::AdaBound(d) => OptimizerConfig::AdaBound(self.adabound_config(d)),
            OptimizerConfig::AdaBoundW(d) => OptimizerConfig::AdaBoundW(self.adabound_config(d)),
            OptimizerConfig::RAdam(d) => OptimizerConfig::RAdam(RAdamConfig {
                lr: self.lr.unwrap_or(d.lr),
                beta1: self.beta1.unwrap_or(d.beta1),
                beta2: self.beta2.unwrap_or(d.beta2),
                eps: self.eps.unwrap_or(d.eps),
                weight_decay: self.weight_decay.unwrap_or(d.weight_decay),
                decoupled_weight_decay: self
                    .decoupled_weight_decay
                    .unwrap_or(d.decoupled_weight_decay),
            }),
        };
        config.validate()?;
        Ok(config)
    }

    fn adam_config(&self, d: AdamConfig) -> AdamConfig {
        AdamConfig {
            lr: self.lr.unwrap_or(d.lr),
            beta1: self.beta1.unwrap_or(d.beta1),
            beta2: self.beta2.unwrap_or(d.beta2),
            eps: self.eps.unwrap_or(d.eps),
            weight_decay: self.weight_decay.unwrap_or(d.weight_decay),
            amsgrad: self.amsgrad.unwrap_or(d.amsgrad),
        }
    }

    fn adabound_config(&self, d: AdaBoundConfig) -> AdaBoundConfig {
        AdaBoundConfig {
            lr: self.lr.unwrap_or(d.lr),
            beta1: self.beta1.unwrap_or(d.beta1),
            beta2: self.beta2.unwrap_or(d.beta2),
            final_lr: self.final_lr.unwrap_or(d.final_lr),
            gamma: self.gamma.unwrap_or(d.gamma),
            eps: self.eps.unwrap_or(d.eps),
            weight_decay: self.weight_decay.unwrap_or(d.weight_decay),
            amsbound: self.amsgrad.unwrap_or(d.amsbound),
        }
    }
}

/// One hyperparameter of an [`OptimizerSpec`], unset (`None`) meaning the optimizer's default.
#[derive(Debug)]
pub enum Slot<'a> {
    /// A real number (learning rate, betas, decay...).
    Number(&'a mut Option<f64>),
    /// A switch (Nesterov, AMSGrad/AMSBound, decoupled decay).
    Flag(&'a mut Option<bool>),
}

impl Slot<'_> {
    /// Whether the spec sets it.
    pub const fn is_set(&self) -> bool {
        match self {
            Self::Number(value) => value.is_some(),
            Self::Flag(value) => value.is_some(),
        }
    }
}

/// A validated optimizer configuration: which optimizer, with every hyperparameter resolved.
///
/// Serialises as a fully resolved [`OptimizerSpec`] (every hyperparameter written out), and
/// deserialises through [`OptimizerSpec::resolve`], so a config file can never hold an invalid one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "OptimizerSpec", into = "OptimizerSpec")]
pub enum OptimizerConfig {
    /// SGD (momentum, dampening, Nesterov, L2).
    Sgd(SgdConfig),
    /// Adam: weight decay is L2, added to the gradient.
    Adam(AdamConfig),
    /// AdamW: weight decay is decoupled, `p *= 1 - lr*wd` before the moments.
    AdamW(AdamConfig),
    /// AdaBound: weight decay is L2.
    AdaBound(AdaBoundConfig),
    /// AdaBoundW: `p -= wd * p_old` after the step, not scaled by lr.
    AdaBoundW(AdaBoundConfig),
    /// RAdam: L2 or decoupled weight decay.
    RAdam(RAdamConfig),
}

impl OptimizerConfig {
    /// Which optimizer this is.
    pub const fn kind(&self) -> OptimizerKind {
        match self {
            Self::Sgd(_) => OptimizerKind::Sgd,
            Self::Adam(_) => OptimizerKind::Adam,
            Self::AdamW(_) => OptimizerKind::AdamW,
            Self::AdaBound(_) => OptimizerKind::AdaBound,
            Self::AdaBoundW(_) => OptimizerKind::AdaBoundW,
            Self::RAdam(_) => OptimizerKind::RAdam,
        }
    }

    /// The learning rate the optimizer is created with (the base of any schedule, and AdaBound's
    /// `base_lr`).
    pub const fn lr(&self) -> f64 {
        match self {
            Self::Sgd(c) => c.lr,
            Self::Adam(c) | Self::AdamW(c) => c.lr,
            Self::AdaBound(c) | Self::AdaBoundW(c) => c.lr,
            Self::RAdam(c) => c.lr,
        }
    }

    /// The kernel scalars of step `t` (from 1) at learning rate `lr` (the scheduled lr of that step;
    /// AdaBound's bounds follow `lr / self.lr()`).
    pub fn scalars(&self, t: u64, lr: f64) -> StepScalars {
        match self {
            Self::Sgd(c) => StepScalars::Sgd(c.scalars(t, lr)),
            Self::Adam(c) => StepScalars::Adam(c.scalars(false, t, lr)),
            Self::AdamW(c) => StepScalars::Adam(c.scalars(true, t, lr)),
            Self::AdaBound(c) => StepScalars::AdaBound(c.scalars(false, t, lr)),
            Self::AdaBoundW(c) => StepScalars::AdaBound(c.scalars(true, t, lr)),
            Self::RAdam(c) => StepScalars::RAdam(c.scalars(t, lr)),
        }
    }

    /// Fresh (zero) state for a parameter tensor of `len` elements.
    pub fn init_state(&self, len: usize) -> ParamState {
        let zeros = || vec![0.0_f32; len];
        match self {
            Self::Sgd(c) if c.has_momentum() => ParamState::Momentum {
                momentum_buffer: zeros(),
            },
            Self::Sgd(_) => ParamState::Stateless,
            Self::Adam(c) | Self::AdamW(c) => ParamState::Moments {
                exp_avg: zeros(),
                exp_avg_sq: zeros(),
                max_exp_avg_sq: c.amsgrad.then(zeros),
            },
            Self::AdaBound(c) | Self::AdaBoundW(c) => ParamState::Moments {
                exp_avg: zeros(),
                exp_avg_sq: zeros(),
                max_exp_avg_sq: c.amsbound.then(zeros),
            },
            Self::RAdam(_) => ParamState::Moments {
                exp_avg: zeros(),
                exp_avg_sq: zeros(),
                max_exp_avg_sq: None,
            },
        }
    }

    /// Checks every hyperparameter against the reference implementation's rules.
    ///
    /// # Errors
    /// [`ConfigError::InvalidValue`] naming the field and value when: `lr` is negative or not finite
    /// (AdaBound: not positive, since its bounds divide by it); a beta is outside [0, 1); `eps`,
    /// `final_lr`, `momentum` or `weight_decay` is negative or not finite; `gamma` is outside [0, 1);
    /// `dampening` is not finite. [`ConfigError::Nesterov`] when Nesterov is asked for without
    /// momentum or with dampening.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let kind = self.kind();
        match self {
            Self::Sgd(c) => c.validate(kind),
            Self::Adam(c) | Self::AdamW(c) => c.validate(kind),
            Self::AdaBound(c) | Self::AdaBoundW(c) => c.validate(kind),
            Self::RAdam(c) => c.validate(kind),
        }
    }
}

impl TryFrom<OptimizerSpec> for OptimizerConfig {
    type Error = ConfigError;

    fn try_from(spec: OptimizerSpec) -> Result<Self, Self::Error> {
        spec.resolve()
    }
}

impl From<OptimizerConfig> for OptimizerSpec {
    fn from(config: OptimizerConfig) -> Self {
        let mut spec = Self::new(config.kind());
        match config {
            OptimizerConfig::Sgd(c) => {
                spec.lr = Some(c.lr);
                spec.momentum = Some(c.momentum);
                spec.dampening = Some(c.dampening);
                spec.nesterov = Some(c.nesterov);
                spec.weight_decay = Some(c.weight_decay);
            }
            OptimizerConfig::Adam(c) | OptimizerConfig::AdamW(c) => {
                spec.lr = Some(c.lr);
                spec.beta1 = Some(c.beta1);
                spec.beta2 = Some(c.beta2);
                spec.eps = Some(c.eps);
                spec.weight_decay = Some(c.weight_decay);
                spec.amsgrad = Some(c.amsgrad);
            }
            OptimizerConfig::AdaBound(c) | OptimizerConfig::AdaBoundW(c) => {
                spec.lr = Some(c.lr);
                spec.beta1 = Some(c.beta1);
                spec.beta2 = Some(c.beta2);
                spec.final_lr = Some(c.final_lr);
                spec.gamma = Some(c.gamma);
                spec.eps = Some(c.eps);
                spec.weight_decay = Some(c.weight_decay);
                spec.amsgrad = Some(c.amsbound);
            }
            OptimizerConfig::RAdam(c) => {
                spec.lr = Some(c.lr);
                spec.beta1 = Some(c.beta1);
                spec.beta2 = Some(c.beta2);
                spec.eps = Some(c.eps);
                spec.weight_decay = Some(c.weight_decay);
                spec.decoupled_weight_decay = Some(c.decoupled_weight_decay);
            }
        }
        spec
    }
}

/// An invalid configuration: names the optimizer, the field and the offending value.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum ConfigError {
    /// A hyperparameter outside the range the reference implementation accepts.
    #[error("{optimizer}: invalid {field} = {value}: {rule}")]
    InvalidValue {
        /// The optimizer (or `"schedule"`) whose field is invalid.
        optimizer: String,
        /// The field's name, as written in specs and config files.
        field: &'static str,
        /// The rejected value.
        value: f64,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A hyperparameter the chosen optimizer does not have.
    #[error("{field} does not apply to {optimizer} (it applies to: {applies_to})")]
    NotApplicable {
        /// The chosen optimizer.
        optimizer: OptimizerKind,
        /// The hyperparameter that was set.
        field: Hyperparameter,
        /// The optimizers that do accept it.
        applies_to: String,
    },
    /// Nesterov momentum needs momentum > 0 and zero dampening (torch.optim.SGD's rule).
    #[error(
        "sgd: nesterov requires momentum > 0 and dampening = 0 (got momentum = {momentum}, dampening = {dampening})"
    )]
    Nesterov {
        /// The configured momentum.
        momentum: f64,
        /// The configured dampening.
        dampening: f64,
    },
}

impl ConfigError {
    /// The hyperparameter at fault, as written in specs and config files.
    pub const fn field(&self) -> &'static str {
        match self {
            Self::InvalidValue { field, .. } => field,
            Self::NotApplicable { field, .. } => field.name(),
            Self::Nesterov { .. } => Hyperparameter::Nesterov.name(),
        }
    }
}

/// The rules shared by every optimizer's `validate`.
pub(crate) mod rule {
    use super::ConfigError;

    /// `ok`, or an [`ConfigError::InvalidValue`] saying `rule`.
    pub(crate) fn check(
        owner: &dyn std::fmt::Display,
        field: &'static str,
        value: f64,
        ok: bool,
        rule: &'static str,
    ) -> Result<(), ConfigError> {
        if ok {
            Ok(())
        } else {
            Err(ConfigError::InvalidValue {
                optimizer: owner.to_string(),
                field,
                value,
                rule,
            })
        }
    }

    /// `value` is finite and >= 0.
    pub(crate) fn non_negative(
        owner: &dyn std::fmt::Display,
        field: &'static str,
        value: f64,
    ) -> Result<(), ConfigError> {
        let ok = value.is_finite() && value >= 0.0;
        check(owner, field, value, ok, "must be finite and >= 0")
    }

    /// `value` is finite and > 0.
    pub(crate) fn positive(
        owner: &dyn std::fmt::Display,
        field: &'static str,
        value: f64,
    ) -> Result<(), ConfigError> {
        let ok = value.is_finite() && value > 0.0;
        check(owner, field, value, ok, "must be finite and > 0")
    }

    /// `value` is finite.
    pub(crate) fn finite(
        owner: &dyn std::fmt::Display,
        field: &'static str,
        value: f64,
    ) -> Result<(), ConfigError> {
        check(owner, field, value, value.is_finite(), "must be finite")
    }

    /// `value` is in [0, 1).
    pub(crate) fn unit_interval(
        owner: &dyn std::fmt::Display,
        field: &'static str,
        value: f64,
    ) -> Result<(), ConfigError> {
        let ok = (0.0..1.0).contains(&value);
        check(owner, field, value, ok, "must be in [0, 1)")
    }
}
