//! What an experiment is: the model, the data, the schedule and the runs to compare, read from TOML.
//!
//! A configuration is resolved from layers, each overriding the one before: a preset (with its
//! `[quick]` table merged in for `--quick`), a config file, then command-line flags. Tables merge
//! key by key; any other value, `runs` included, is replaced whole. The result is validated once,
//! into an [`ExperimentConfig`] whose every value is explicit, and that is what results record.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use stepwise_model::Arch;
use stepwise_optim::{LrSchedule, OptimizerConfig, OptimizerSpec};
use thiserror::Error;

/// The presets shipped in `crates/engine/presets/`, by name.
pub const PRESETS: [(&str, &str); 3] = [
    (
        "seed-optimizers",
        include_str!("../presets/seed-optimizers.toml"),
    ),
    (
        "seed-lr-sensitivity",
        include_str!("../presets/seed-lr-sensitivity.toml"),
    ),
    (
        "seed-weight-decay",
        include_str!("../presets/seed-weight-decay.toml"),
    ),
];

/// The loss above which a run counts as diverged unless a configuration says otherwise: 100 is
/// about 43 times the loss of a uniform guess over CIFAR-10's ten classes (ln 10 ≈ 2.3).
pub const DEFAULT_DIVERGENCE_LOSS: f64 = 100.0;

/// A fully resolved experiment: several runs of one model on one data set, from the same initial
/// weights (drawn from `seed`) and the same batch order (also from `seed`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// The preset this configuration started from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Whether the preset's `[quick]` scale was applied.
    #[serde(default)]
    pub quick: bool,
    /// What the experiment compares, in a sentence.
    #[serde(default)]
    pub description: String,
    /// The network.
    pub model: Arch,
    /// Passes over the training images.
    pub epochs: u32,
    /// Images per training step.
    pub batch_size: usize,
    /// Seed of the initial weights and of the batch order.
    #[serde(default)]
    pub seed: u64,
    /// Train on the first this many training images (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_images: Option<usize>,
    /// Evaluate on the first this many test images (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_images: Option<usize>,
    /// Random crops (padding 4) and horizontal flips of training images.
    #[serde(default)]
    pub augment: bool,
    /// Learning-rate schedule over steps, relative to each run's `lr`.
    #[serde(default)]
    pub schedule: LrSchedule,
    /// A run whose training loss exceeds this (or is NaN or infinite) is marked diverged and stops.
    #[serde(default = "default_divergence_loss")]
    pub divergence_loss: f64,
    /// Gradient norm, update/weight ratio and step-size spread are measured every this many steps
    /// (loss and learning rate at every step).
    #[serde(default = "default_metrics_every")]
    pub metrics_every: u64,
    /// The runs to compare.
    pub runs: Vec<RunConfig>,
}

const fn default_divergence_loss() -> f64 {
    DEFAULT_DIVERGENCE_LOSS
}

const fn default_metrics_every() -> u64 {
    1
}

/// One run: a name and an optimizer with every hyperparameter resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RunSpec", into = "RunSpec")]
pub struct RunConfig {
    /// Unique within the experiment; names the run in every output.
    pub name: String,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
}

/// A run as written in TOML: an optional name beside the optimizer's spec.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RunSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(flatten)]
    spec: OptimizerSpec,
}

impl TryFrom<RunSpec> for RunConfig {
    type Error = String;

    fn try_from(run: RunSpec) -> Result<Self, String> {
        let name = run.name.unwrap_or_else(|| run.spec.label());
        let optimizer = run
            .spec
            .resolve()
            .map_err(|err| format!("run '{name}': {err}"))?;
        Ok(Self { name, optimizer })
    }
}

impl From<RunConfig> for RunSpec {
    fn from(run: RunConfig) -> Self {
        Self {
            name: Some(run.name),
            spec: run.optimizer.into(),
        }
    }
}

/// What is wrong with a configuration, and where.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// `--preset` names no shipped preset.
    #[error("unknown preset '{name}' (presets: {known})")]
    UnknownPreset {
        /// The name given.
        name: String,
        /// The shipped presets.
        known: String,
    },
    /// `--quick` on a configuration without a `[quick]` table.
    #[error("preset '{0}' has no [quick] scale")]
    NoQuickScale(String),
    /// Neither a preset nor a config file.
    #[error("nothing to run: name a preset or a config file")]
    Empty,
    /// A layer is not valid TOML, or does not describe an experiment.
    #[error("{origin}: {message}")]
    Toml {
        /// The preset, file or flags the text came from.
        origin: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value breaks a rule.
    #[error("invalid configuration: {field} {message}")]
    Invalid {
        /// The field.
        field: String,
        /// The rule broken.
        message: String,
    },
}

/// The layers of a configuration, lowest precedence first.
#[derive(Clone, Debug, Default)]
pub struct Layers {
    /// A shipped preset's name.
    pub preset: Option<String>,
    /// Apply the preset's `[quick]` table.
    pub quick: bool,
    /// A config file's text and where it came from (for messages).
    pub file: Option<(String, String)>,
    /// Values from command-line flags, as TOML keys.
    pub flags: toml::Table,
}

impl Layers {
    /// Merges the layers and validates the result.
    ///
    /// # Errors
    /// [`ConfigError`] naming the preset, file or field at fault.
    pub fn resolve(&self) -> Result<ExperimentConfig, ConfigError> {
        let mut table = toml::Table::new();
        if let Some(name) = &self.preset {
            let text = preset_text(name)?;
            let mut preset = parse_table(text, &format!("preset '{name}'"))?;
            let quick = preset.remove("quick");
            if self.quick {
                match quick {
                    Some(toml::Value::Table(quick)) => merge(&mut preset, quick),
                    _ => return Err(ConfigError::NoQuickScale(name.clone())),
                }
            }
            preset.insert("preset".into(), name.clone().into());
            preset.insert("quick".into(), self.quick.into());
            merge(&mut table, preset);
        } else if self.quick {
            return Err(ConfigError::Invalid {
                field: "--quick".into(),
                message: "applies to a preset; name one with --preset".into(),
            });
        }
        if let Some((origin, text)) = &self.file {
            merge(&mut table, parse_table(text, origin)?);
        } else if self.preset.is_none() {
            return Err(ConfigError::Empty);
        }
        merge(&mut table, self.flags.clone());
        let origin = match (&self.preset, &self.file) {
            (_, Some((file, _))) => file.clone(),
            (Some(preset), None) => format!("preset '{preset}'"),
            (None, None) => "flags".into(),
        };
        let config: ExperimentConfig =
            table
                .try_into()
                .map_err(|err: toml::de::Error| ConfigError::Toml {
                    origin,
                    message: err.message().to_string(),
                })?;
        config.validate()?;
        Ok(config)
    }
}

/// The TOML of a shipped preset.
///
/// # Errors
/// [`ConfigError::UnknownPreset`], listing the presets.
pub fn preset_text(name: &str) -> Result<&'static str, ConfigError> {
    PRESETS
        .iter()
        .find(|(preset, _)| *preset == name)
        .map(|(_, text)| *text)
        .ok_or_else(|| ConfigError::UnknownPreset {
            name: name.into(),
            known: PRESETS.map(|(name, _)| name).join(", "),
        })
}

fn parse_table(text: &str, origin: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|err| ConfigError::Toml {
            origin: origin.into(),
            message: err.to_string().trim().replace('\n', " "),
        })
}

/// `over` merged into `base`: tables key by key, anything else replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base)), toml::Value::Table(over)) => merge(base, over),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

impl ExperimentConfig {
    /// Checks the rules serde cannot: counts, the schedule, unique run names.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &str, message: &str| {
            Err(ConfigError::Invalid {
                field: field.into(),
                message: message.into(),
            })
        };
        if self.epochs == 0 {
            return invalid("epochs", "must be at least 1");
        }
        if self.batch_size == 0 {
            return invalid("batch_size", "must be at least 1");
        }
        if self.train_images == Some(0) || self.test_images == Some(0) {
            return invalid("train_images/test_images", "must be at least 1 when set");
        }
        if self.metrics_every == 0 {
            return invalid("metrics_every", "must be at least 1");
        }
        if !(self.divergence_loss.is_finite() && self.divergence_loss > 0.0) {
            return invalid("divergence_loss", "must be a positive number");
        }
        self.schedule
            .validate()
            .map_err(|err| ConfigError::Invalid {
                field: "schedule".into(),
                message: err.to_string(),
            })?;
        if self.runs.is_empty() {
            return invalid("runs", "must list at least one run");
        }
        let mut names = BTreeSet::new();
        for run in &self.runs {
            if !names.insert(run.name.as_str()) {
                return invalid("runs", &format!("has two runs named '{}'", run.name));
            }
        }
        Ok(())
    }

    /// The configuration as TOML, readable back by [`Layers::resolve`] as a config file.
    ///
    /// # Errors
    /// When TOML cannot represent a value.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }
}
