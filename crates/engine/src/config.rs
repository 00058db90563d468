//! What an experiment is: the model, the data, the schedule and the runs to compare, read from TOML.
//!
//! A configuration is resolved from layers, each overriding the one before: a preset, a config file,
//! then command-line flags; with `--quick`, the preset's and the file's `[quick]` tables are merged
//! into them (so a copy of a preset keeps its laptop scale). Tables merge
//! key by key; any other value, `runs` included, is replaced whole. The result is validated once,
//! into an [`ExperimentConfig`] whose every value is explicit, and that is what results record.

use std::collections::BTreeSet;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use stepwise_model::Arch;
use stepwise_optim::{LrSchedule, OptimizerConfig, OptimizerSpec};
use thiserror::Error;
use toml::de::{DeTable, DeValue};

use crate::DeviceChoice;

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

/// A fully resolved experiment: several runs of one model on one data set, each trained once per
/// seed; the runs of one seed start from the same initial weights and see the same batch order
/// (both drawn from the seed), so that every comparison between runs is paired by seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// The preset this configuration started from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Whether the `[quick]` scale (of the preset or the config file) was applied.
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
    /// Seeds of the initial weights and of the batch order: every run is trained once per seed.
    /// (`seed = N`, as configurations before seeds wrote it, reads as `seeds = [N]`.)
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Where the runs train, dealt over in turn (`["cpu", "gpu:1"]`): see [`crate::place`]. A
    /// front-end's device flag overrides it; absent, `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<DeviceChoice>>,
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

pub(crate) fn default_seeds() -> Vec<u64> {
    vec![0]
}

/// `seed = N`, the key configurations had before seeds, as `seeds = [N]` (both at once is
/// refused): old config files, results folders and checkpoints keep reading.
pub(crate) fn upgrade_seed(table: &mut toml::Table) -> Result<(), String> {
    let Some(seed) = table.remove("seed") else {
        return Ok(());
    };
    if table.contains_key("seeds") {
        return Err("`seed` and `seeds` both set: keep `seeds` (a list)".into());
    }
    table.insert("seeds".into(), toml::Value::Array(vec![seed]));
    Ok(())
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

/// A run as a user writes it (a config file's `[[runs]]`, the app's run editor): an optional name
/// beside the optimizer's spec, kept as written until [`resolve`](Self::resolve)d.
///
/// Read by hand rather than with `#[serde(flatten)]`, which would hide every key the spec does
/// not know (a misspelt `lrr` would silently leave `lr` at its default) and the key an error is
/// in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunSpec {
    /// The run's name; without one, the spec's label (`adam lr=0.01`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The optimizer as written.
    #[serde(flatten)]
    pub spec: OptimizerSpec,
}

impl RunSpec {
    /// The name the run will have: its own, or its spec's label.
    pub fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.spec.label())
    }

    /// The run with every hyperparameter resolved.
    ///
    /// # Errors
    /// [`ConfigError::Run`]: the spec does not resolve.
    pub fn resolve(&self) -> Result<RunConfig, ConfigError> {
        let name = self.name();
        match self.spec.resolve() {
            Ok(optimizer) => Ok(RunConfig { name, optimizer }),
            Err(source) => Err(ConfigError::Run { name, source }),
        }
    }
}

impl<'de> Deserialize<'de> for RunSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RunSpecVisitor)
    }
}

struct RunSpecVisitor;

impl<'de> Visitor<'de> for RunSpecVisitor {
    type Value = RunSpec;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a run: `optimizer`, its hyperparameters and an optional `name`")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RunSpec, A::Error> {
        let mut name = None;
        let spec =
            OptimizerSpec::deserialize(de::value::MapAccessDeserializer::new(WithoutName {
                map,
                name: &mut name,
            }))?;
        Ok(RunSpec { name, spec })
    }
}

/// A run's keys with `name` taken out (into `name`): what is left is the optimizer's spec, read
/// straight from the document so that its unknown keys are refused and errors keep their key.
struct WithoutName<'a, A> {
    map: A,
    name: &'a mut Option<String>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for WithoutName<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        while let Some(key) = self.map.next_key::<String>()? {
            if key != "name" {
                let key: de::value::StringDeserializer<A::Error> = key.into_deserializer();
                return match seed.deserialize(key) {
                    Ok(field) => Ok(Some(field)),
                    // Raised again from the key's value, so that the error's path ends in the key.
                    Err(unknown) => match self.map.next_value_seed(Raise(unknown))? {},
                };
            }
            if self.name.is_some() {
                return Err(de::Error::duplicate_field("name"));
            }
            // As `Option`, as it is serialised: RON writes `Some("SGD")`.
            *self.name = self.map.next_value::<Option<String>>()?;
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// A seed that fails with the error it holds, without reading anything.
struct Raise<E>(E);

impl<'de, E: std::fmt::Display> DeserializeSeed<'de> for Raise<E> {
    type Value = std::convert::Infallible;

    fn deserialize<D: Deserializer<'de>>(self, _: D) -> Result<Self::Value, D::Error> {
        Err(de::Error::custom(self.0))
    }
}

impl TryFrom<RunSpec> for RunConfig {
    type Error = String;

    fn try_from(run: RunSpec) -> Result<Self, String> {
        run.resolve().map_err(|err| err.to_string())
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
    #[error("unknown preset '{name}'{suggestion} (presets: {known})")]
    UnknownPreset {
        /// The name given.
        name: String,
        /// `: did you mean 'NAME'?` for the closest preset, where one is close.
        suggestion: String,
        /// The shipped presets.
        known: String,
    },
    /// `--quick` where neither the preset nor the config file has a `[quick]` table.
    #[error("--quick: no [quick] table in {0}")]
    NoQuickScale(String),
    /// Neither a preset nor a config file.
    #[error("nothing to run: name a preset or a config file")]
    Empty,
    /// A layer is not valid TOML.
    #[error("{at}: {message}")]
    Syntax {
        /// The layer, line and column.
        at: Location,
        /// The parser's message.
        message: String,
    },
    /// A run's optimizer does not resolve.
    #[error("run '{name}': {source}")]
    Run {
        /// The run's name.
        name: String,
        /// Why its optimizer does not resolve.
        source: stepwise_optim::ConfigError,
    },
    /// A value is of the wrong kind, unknown, missing or breaks a rule.
    #[error("{at}: {}{message}", key_prefix(.key))]
    Invalid {
        /// Where the value was written.
        at: Location,
        /// Its key, as `runs[1].lr` (empty for the whole configuration).
        key: String,
        /// What is wrong.
        message: String,
    },
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{key}: ")
    }
}

/// Where a configuration value was written, for messages: `my.toml:12:7`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// The layer: `preset 'NAME'`, a config file as named, or `command-line flags`; `None` for a
    /// configuration built in code.
    pub origin: Option<String>,
    /// Line and column (from 1) in that layer's text, when the value was found there.
    pub line_column: Option<(usize, usize)>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.origin, self.line_column) {
            (None, _) => f.write_str("invalid configuration"),
            (Some(origin), None) => f.write_str(origin),
            (Some(origin), Some((line, column))) => write!(f, "{origin}:{line}:{column}"),
        }
    }
}

/// One step of a key path: a table's key or an array's index.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Key {
    Name(String),
    Index(usize),
}

/// `runs[1].lr`.
fn key_path(path: &[Key]) -> String {
    let mut text = String::new();
    for key in path {
        match key {
            Key::Name(name) if text.is_empty() => text.push_str(name),
            Key::Name(name) => text.push_str(&format!(".{name}")),
            Key::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

/// The key path serde was at when it failed.
fn serde_path(path: &serde_path_to_error::Path) -> Vec<Key> {
    path.iter()
        .filter_map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => Some(Key::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Key::Name(key.clone())),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {
                None
            }
        })
        .collect()
}

/// Origin of the flags layer in messages.
const FLAGS: &str = "command-line flags";

/// The layers of a configuration, lowest precedence first.
#[derive(Clone, Debug, Default)]
pub struct Layers {
    /// A shipped preset's name.
    pub preset: Option<String>,
    /// Apply the `[quick]` tables of the preset and of the config file.
    pub quick: bool,
    /// A config file's text and where it came from (for messages).
    pub file: Option<(String, String)>,
    /// Values from command-line flags, as TOML keys.
    pub flags: toml::Table,
}

impl ExperimentConfig {
    /// The shipped preset `name`, at its quick scale when `quick`.
    ///
    /// # Errors
    /// [`ConfigError`] for a name that is not a preset.
    pub fn preset(name: &str, quick: bool) -> Result<Self, ConfigError> {
        Layers {
            preset: Some(name.into()),
            quick,
            ..Layers::default()
        }
        .resolve()
    }

    /// What a front-end offers before the user chooses: the study's five optimizers
    /// (`seed-optimizers`) at the quick scale, which trains in about a minute on a CPU.
    pub fn starting_point() -> Self {
        #[allow(clippy::expect_used)] // every shipped preset resolves at both scales: tested
        Self::preset(PRESETS[0].0, true).expect("the shipped seed-optimizers preset resolves")
    }
}

impl Layers {
    /// Merges the layers and validates the result.
    ///
    /// # Errors
    /// [`ConfigError`] naming the preset, file or field at fault.
    pub fn resolve(&self) -> Result<ExperimentConfig, ConfigError> {
        let texts = self.texts()?;
        if texts.is_empty() {
            return Err(ConfigError::Empty);
        }
        let mut table = toml::Table::new();
        let mut scaled = false;
        for (origin, text) in texts.iter().rev() {
            let mut layer = parse_table(text, origin)?;
            upgrade_layer(&mut layer, origin, text)?;
            // A `[quick]` table is the layer's laptop scale; a `quick = true` records one applied.
            match layer.remove("quick") {
                Some(toml::Value::Table(quick)) if self.quick => {
                    merge(&mut layer, quick);
                    scaled = true;
                }
                Some(toml::Value::Table(_)) | None => {}
                Some(applied) => {
                    layer.insert("quick".into(), applied);
                }
            }
            merge(&mut table, layer);
        }
        if self.quick && !scaled {
            let origins: Vec<&str> = texts
                .iter()
                .rev()
                .map(|(origin, _)| origin.as_str())
                .collect();
            return Err(ConfigError::NoQuickScale(origins.join(" or ")));
        }
        if let Some(name) = &self.preset {
            table.insert("preset".into(), name.clone().into());
        }
        if self.quick {
            table.insert("quick".into(), true.into());
        }
        merge(&mut table, self.flags.clone());
        let config: ExperimentConfig =
            serde_path_to_error::deserialize(table.clone()).map_err(|err| {
                let mut path = serde_path(err.path());
                path.extend(failing_hyperparameter(&table, &path).map(|key| Key::Name(key.into())));
                self.invalid(&path, err.into_inner().message().to_string())
            })?;
        config
            .check()
            .map_err(|(path, message)| self.invalid(&path, message))?;
        Ok(config)
    }

    /// The layers with a text, as (origin, text), topmost first: the config file, the preset.
    fn texts(&self) -> Result<Vec<(String, &str)>, ConfigError> {
        let mut texts: Vec<(String, &str)> = self
            .file
            .iter()
            .map(|(origin, text)| (origin.clone(), text.as_str()))
            .collect();
        if let Some(name) = &self.preset {
            texts.push((format!("preset '{name}'"), preset_text(name)?));
        }
        Ok(texts)
    }

    fn invalid(&self, path: &[Key], message: String) -> ConfigError {
        ConfigError::Invalid {
            at: self.locate(path),
            key: key_path(path),
            message,
        }
    }

    /// The topmost layer that writes `path` (or, failing that, its longest prefix: where a missing
    /// key belongs), and where in its text; the topmost layer present when none writes any of it.
    fn locate(&self, path: &[Key]) -> Location {
        let flagged = matches!(path.first(), Some(Key::Name(key)) if self.flags.contains_key(key));
        if flagged {
            return Location {
                origin: Some(FLAGS.into()),
                line_column: None,
            };
        }
        // (origin, text, its document, the key the layer's values sit under), topmost first;
        // each text parsed once, with spans.
        let texts = self.texts().unwrap_or_default();
        let documents: Vec<_> = texts
            .iter()
            .filter_map(|(origin, text)| {
                let document = DeTable::parse(text).ok()?;
                Some((origin.as_str(), *text, document))
            })
            .collect();
        let layers: Vec<(&str, &str, &DeTable, Option<&str>)> = documents
            .iter()
            .flat_map(|(origin, text, document)| {
                let quick =
                    self.quick
                        .then_some((*origin, *text, document.get_ref(), Some("quick")));
                quick
                    .into_iter()
                    .chain([(*origin, *text, document.get_ref(), None)])
            })
            .collect();
        let found = (1..=path.len()).rev().find_map(|len| {
            layers.iter().find_map(|(origin, text, document, under)| {
                let under = under.map(|key| Key::Name(key.into()));
                let full: Vec<Key> = under.into_iter().chain(path[..len].to_vec()).collect();
                let start = value_span(document, &full)?.start;
                Some(Location {
                    origin: Some((*origin).into()),
                    line_column: Some(line_column(text, start)),
                })
            })
        });
        found.unwrap_or_else(|| Location {
            origin: Some(texts.first().map_or(FLAGS, |(origin, _)| origin).into()),
            line_column: None,
        })
    }
}

/// The hyperparameter that the run at `path` (`runs[i]`) fails on, when its spec reads but does
/// not resolve: serde's error keeps only the message, and the key locates the line.
fn failing_hyperparameter(table: &toml::Table, path: &[Key]) -> Option<&'static str> {
    let [Key::Name(runs), Key::Index(index)] = path else {
        return None;
    };
    let run = table.get(runs.as_str())?.as_array()?.get(*index)?.clone();
    let run: RunSpec = run.try_into().ok()?;
    run.spec.resolve().err().map(|err| err.field())
}

/// Where in its text `document` writes the value at `path`, if it does.
fn value_span(document: &DeTable, path: &[Key]) -> Option<std::ops::Range<usize>> {
    let (Key::Name(first), rest) = path.split_first()? else {
        return None;
    };
    let mut node = document.get(first.as_str())?;
    for key in rest {
        node = match (key, node.get_ref()) {
            (Key::Name(name), DeValue::Table(table)) => table.get(name.as_str())?,
            (Key::Index(index), DeValue::Array(array)) => array.get(*index)?,
            _ => return None,
        };
    }
    Some(node.span())
}

/// Line and column, from 1, of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
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
            suggestion: closest_preset(name)
                .map(|close| format!(": did you mean '{close}'?"))
                .unwrap_or_default(),
            known: PRESETS.map(|(name, _)| name).join(", "),
        })
}

/// The shipped preset closest to `name`, if it is close (Jaro-Winkler similarity of 0.8 or more,
/// as clap judges a misspelt subcommand).
fn closest_preset(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .map(|(preset, _)| (strsim::jaro_winkler(name, preset), *preset))
        .filter(|(similarity, _)| *similarity >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, preset)| preset)
}

/// [`upgrade_seed`] on a layer and on its `[quick]` table.
fn upgrade_layer(layer: &mut toml::Table, origin: &str, text: &str) -> Result<(), ConfigError> {
    let mut result = upgrade_seed(layer);
    if let Some(toml::Value::Table(quick)) = layer.get_mut("quick") {
        result = result.and(upgrade_seed(quick));
    }
    result.map_err(|message| {
        let start = DeTable::parse(text)
            .ok()
            .and_then(|document| value_span(document.get_ref(), &[Key::Name("seed".into())]));
        ConfigError::Invalid {
            at: Location {
                origin: Some(origin.into()),
                line_column: start.map(|span| line_column(text, span.start)),
            },
            key: "seed".into(),
            message,
        }
    })
}

fn parse_table(text: &str, origin: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|err| ConfigError::Syntax {
            at: Location {
                origin: Some(origin.into()),
                line_column: err.span().map(|span| line_column(text, span.start)),
            },
            message: err.message().trim().replace('\n', " "),
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
    /// Where to train: `flag` (a front-end's choice) if given, else the configured devices, else
    /// `auto`.
    pub fn devices_or(&self, flag: Option<&[DeviceChoice]>) -> Vec<DeviceChoice> {
        flag.map(<[DeviceChoice]>::to_vec)
            .or_else(|| self.devices.clone())
            .unwrap_or_else(|| vec![DeviceChoice::Auto])
    }

    /// Checks the rules serde cannot: counts, the schedule, unique run names.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check()
            .map_err(|(path, message)| ConfigError::Invalid {
                at: Location::default(),
                key: key_path(&path),
                message,
            })
    }

    /// [`Self::validate`]'s rules; a broken one as the key path it concerns and what is wrong.
    fn check(&self) -> Result<(), (Vec<Key>, String)> {
        let invalid = |key: &str, message: &str| Err((vec![Key::Name(key.into())], message.into()));
        if self.epochs == 0 {
            return invalid("epochs", "must be at least 1");
        }
        if self.batch_size == 0 {
            return invalid("batch_size", "must be at least 1");
        }
        if self.train_images == Some(0) {
            return invalid("train_images", "must be at least 1 when set");
        }
        if self.test_images == Some(0) {
            return invalid("test_images", "must be at least 1 when set");
        }
        if self.metrics_every == 0 {
            return invalid("metrics_every", "must be at least 1");
        }
        if !(self.divergence_loss.is_finite() && self.divergence_loss > 0.0) {
            return invalid("divergence_loss", "must be a positive number");
        }
        if let Err(err) = self.schedule.validate() {
            // The failing schedule: a warmup's `then` when that fails the same way.
            let mut path = vec![Key::Name("schedule".into())];
            let mut failing = &self.schedule;
            while let LrSchedule::Warmup { then, .. } = failing {
                if then.validate().err().as_ref() != Some(&err) {
                    break;
                }
                path.push(Key::Name("then".into()));
                failing = then;
            }
            path.push(Key::Name(err.field().into()));
            let message = match err {
                stepwise_optim::ConfigError::InvalidValue { value, rule, .. } => {
                    format!("{rule} (got {value})")
                }
                other => other.to_string(),
            };
            return Err((path, message));
        }
        if self.seeds.is_empty() {
            return invalid("seeds", "must list at least one seed");
        }
        if let Some(seed) = self
            .seeds
            .iter()
            .enumerate()
            .find_map(|(i, seed)| self.seeds[..i].contains(seed).then_some(seed))
        {
            return invalid(
                "seeds",
                &format!("seed {seed} is listed twice (a seed trains the same runs again)"),
            );
        }
        if self.runs.is_empty() {
            return invalid("runs", "must list at least one run");
        }
        let mut names = BTreeSet::new();
        for (index, run) in self.runs.iter().enumerate() {
            let path = vec![Key::Name("runs".into()), Key::Index(index)];
            if run.name.trim().is_empty() {
                return Err((path, "a run's name must not be empty".into()));
            }
            if run.name.chars().any(char::is_control) {
                return Err((
                    path,
                    format!(
                        "run name {:?}: no line breaks or control characters (it names files' \
                         rows and the report's table)",
                        run.name
                    ),
                ));
            }
            if !names.insert(run.name.as_str()) {
                return Err((path, format!("a second run named '{}'", run.name)));
            }
        }
        Ok(())
    }

    /// `count` consecutive seeds from `first` (what `--seeds N` and the app's seed count mean);
    /// `None` when `count` is 0 or the seeds would pass `u64::MAX`.
    pub fn seeds_from(first: u64, count: u64) -> Option<Vec<u64>> {
        first.checked_add(count.checked_sub(1)?)?;
        Some((0..count).map(|i| first + i).collect())
    }

    /// Runs trained: every configured run once per seed.
    pub fn run_count(&self) -> usize {
        self.runs.len() * self.seeds.len()
    }

    /// Trained run `index` as (its configured run, its seed's position in `seeds`). Trained runs
    /// are ordered seed by seed (all runs of the first seed, then of the next), as events, results
    /// and checkpoints number them; this and [`Self::index`] are that order, in one place.
    pub fn position(&self, index: usize) -> Option<(usize, usize)> {
        let per_seed = self.runs.len();
        (index < self.run_count()).then(|| (index % per_seed, index / per_seed))
    }

    /// The trained run of configured run `run` at the seed in position `seed` of `seeds`.
    pub fn index(&self, run: usize, seed: usize) -> usize {
        seed * self.runs.len() + run
    }

    /// The configured run and seed of trained run `index`.
    pub fn run_at(&self, index: usize) -> Option<(&RunConfig, u64)> {
        let (run, seed) = self.position(index)?;
        Some((&self.runs[run], self.seeds[seed]))
    }

    /// The configuration as TOML, readable back by [`Layers::resolve`] as a config file.
    ///
    /// # Errors
    /// When TOML cannot represent a value.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }
}
