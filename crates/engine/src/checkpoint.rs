//! The whole experiment at an epoch boundary, in one safetensors file.
//!
//! Runs are numbered as [`ExperimentConfig::run_at`] orders them (every configured run once per
//! seed). Tensors: `run{r}.model.{k}` (the k-th float tensor of run r's model in module order: weights and
//! batch norm's running statistics), `run{r}.state.{k}.{buffer}` (its optimizer state, under
//! `torch.optim`'s buffer names) and `run{r}.steps` (the step metrics, one row per step, in
//! [`STEP_COLUMNS`](crate::STEP_COLUMNS) order). The metadata entry `stepwise` holds the resolved
//! configuration, the epoch reached, each run's seed, status, step count and epoch metrics, the data
//! trained on (its source, image counts and fingerprint) and a CRC-32 of every tensor's bytes, as
//! JSON. Resuming verifies every checksum and the data's fingerprint before anything trains.
//!
//! Nothing random remains to save: initial weights and the batch order of every epoch are functions
//! of each run's seed (and the epoch), so a resumed experiment sees the same batches.
//! The file is written beside its destination and renamed over it, so a crash leaves the previous
//! checkpoint intact.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use stepwise_data::Cifar10;
use stepwise_gpu::TensorState;

use crate::Placement;
use crate::experiment::{Experiment, Run};
use crate::metrics::{EpochMetrics, RunStatus, StepMetrics};
use crate::{EngineError, ExperimentConfig};

/// The checkpoint's file name inside an output folder.
pub const FILE_NAME: &str = "checkpoint.safetensors";

const METADATA_KEY: &str = "stepwise";
/// Format 2 added the tensors' checksums and the data's fingerprint, format 3 seeds (a list in the
/// configuration, each run's own); earlier files are still read.
const FORMAT_VERSION: u32 = 3;

#[derive(Serialize, Deserialize)]
struct Metadata {
    format: u32,
    #[serde(deserialize_with = "upgraded_config")]
    config: ExperimentConfig,
    epochs_done: u32,
    runs: Vec<RunMetadata>,
    /// The data trained on (absent in checkpoints written before it was recorded).
    #[serde(default)]
    data: Option<DataUsed>,
    /// CRC-32 of each tensor's bytes, by name (absent in format 1).
    #[serde(default)]
    checksums: BTreeMap<String, u32>,
    /// When the experiment first started (absent before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_at: Option<String>,
}

/// Enough of the data to tell when a resume would train on other images: the batch order is a
/// function of the seed and the image count, so the same count from another source would
/// silently change every batch.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct DataUsed {
    source: DataSource,
    train_images: usize,
    test_images: usize,
    /// [`Images::fingerprint`](stepwise_data::Images::fingerprint) of the training and test
    /// images used, as `TRAIN-TEST` in hex (absent in format 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
}

/// Where the images came from (not the folder: an installation may move).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DataSource {
    Installed,
    Sample,
}

impl DataUsed {
    fn of(experiment: &Experiment) -> Self {
        Self {
            source: match experiment.source() {
                stepwise_data::Source::Installed(_) => DataSource::Installed,
                stepwise_data::Source::Sample { .. } => DataSource::Sample,
            },
            train_images: experiment.train_images(),
            test_images: experiment.test_images(),
            fingerprint: Some(format!(
                "{:08x}-{:08x}",
                experiment.train_set().fingerprint(),
                experiment.test_set().fingerprint()
            )),
        }
    }

    /// Whether `now` is the same data; a checkpoint without a fingerprint compares the rest.
    fn matches(&self, now: &Self) -> bool {
        self.source == now.source
            && self.train_images == now.train_images
            && self.test_images == now.test_images
            && (self.fingerprint.is_none() || self.fingerprint == now.fingerprint)
    }

    fn describe(&self) -> String {
        let source = match self.source {
            DataSource::Installed => "an installed CIFAR-10",
            DataSource::Sample => "the shipped sample",
        };
        let fingerprint = self
            .fingerprint
            .as_ref()
            .map_or(String::new(), |f| format!(" (fingerprint {f})"));
        format!(
            "{} training and {} test images of {source}{fingerprint}",
            self.train_images, self.test_images
        )
    }
}

/// A configuration as any format wrote it: `seed = N` before format 3.
fn upgraded_config<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<ExperimentConfig, D::Error> {
    use serde::de::Error;
    let mut table = toml::Table::deserialize(deserializer)?;
    crate::config::upgrade_seed(&mut table).map_err(D::Error::custom)?;
    ExperimentConfig::deserialize(table).map_err(D::Error::custom)
}

#[derive(Serialize, Deserialize)]
struct RunMetadata {
    /// The run's seed (absent before format 3, which had one seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    steps: u64,
    status: RunStatus,
    epochs: Vec<EpochMetrics>,
}

/// One tensor on its way to the file.
struct Entry {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl Entry {
    /// `data` as f32, stored with `shape` (the tensor's own; `data` may be flattened).
    fn f32(name: String, shape: Vec<usize>, data: &TensorData) -> Result<Self, String> {
        let values = data
            .clone()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|err| format!("{name}: {err:?}"))?;
        Ok(Self {
            name,
            dtype: Dtype::F32,
            shape,
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        })
    }
}

/// Every float tensor of a module, in visiting order: its shape and its values, flat.
#[derive(Default)]
struct Collect(Vec<(Vec<usize>, Tensor<1>)>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let shape = value.dims().to_vec();
        let len = shape.iter().product::<usize>();
        self.0.push((shape, value.inner().reshape([len])));
    }
}

async fn host(tensor: Tensor<1>) -> Result<TensorData, String> {
    tensor
        .into_data_async()
        .await
        .map_err(|err| format!("{err:?}"))
}

impl Experiment {
    /// Writes the experiment to `path` (atomically). Call it between epochs, on
    /// [`Event::EpochComplete`](crate::Event::EpochComplete).
    ///
    /// # Errors
    /// [`EngineError::Checkpoint`] when a tensor cannot be read back or the file not written.
    pub async fn save_checkpoint(&self, path: &Path) -> Result<(), EngineError> {
        let fail = |message: String| EngineError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let mut entries = Vec::new();
        let mut runs = Vec::new();
        for (r, run) in self.runs().iter().enumerate() {
            let seed = self.run_label(r).map(|(_, seed)| seed);
            if let Some(model) = &run.model {
                let mut tensors = Collect::default();
                model.visit(&mut tensors);
                for (k, (shape, tensor)) in tensors.0.into_iter().enumerate() {
                    let data = host(tensor).await.map_err(&fail)?;
                    entries.push(
                        Entry::f32(format!("run{r}.model.{k}"), shape, &data).map_err(&fail)?,
                    );
                }
                for (k, state) in run.states.iter().enumerate() {
                    for (buffer, tensor) in state.iter().flat_map(|s| &s.buffers) {
                        let data = host(tensor.clone()).await.map_err(&fail)?;
                        entries.push(
                            Entry::f32(
                                format!("run{r}.state.{k}.{buffer}"),
                                data.shape().to_vec(),
                                &data,
                            )
                            .map_err(&fail)?,
                        );
                    }
                }
            }
            let rows: Vec<u8> = run
                .history
                .steps
                .iter()
                .flat_map(StepMetrics::to_row)
                .flat_map(f64::to_le_bytes)
                .collect();
            entries.push(Entry {
                name: format!("run{r}.steps"),
                dtype: Dtype::F64,
                shape: vec![run.history.steps.len(), crate::STEP_COLUMNS.len()],
                bytes: rows,
            });
            runs.push(RunMetadata {
                seed,
                steps: run.steps(),
                status: run.status,
                epochs: run.history.epochs.clone(),
            });
        }
        let metadata = Metadata {
            format: FORMAT_VERSION,
            config: self.config().clone(),
            epochs_done: self.epochs_done(),
            runs,
            data: Some(DataUsed::of(self)),
            started_at: self.started_at.clone(),
            checksums: entries
                .iter()
                .map(|entry| (entry.name.clone(), crc32fast::hash(&entry.bytes)))
                .collect(),
        };
        let json = serde_json::to_string(&metadata).map_err(|err| fail(err.to_string()))?;
        let views = entries
            .iter()
            .map(|entry| {
                TensorView::new(entry.dtype, entry.shape.clone(), &entry.bytes)
                    .map(|view| (entry.name.clone(), view))
                    .map_err(|err| fail(format!("{}: {err}", entry.name)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let partial = path.with_extension("safetensors.part");
        safetensors::serialize_to_file(
            views,
            Some(HashMap::from([(METADATA_KEY.to_string(), json)])),
            &partial,
        )
        .map_err(|err| fail(format!("writing {}: {err}", partial.display())))?;
        // On disk before the rename, so that a crash cannot leave a renamed but empty file.
        std::fs::File::open(&partial)
            .and_then(|file| file.sync_all())
            .map_err(|err| fail(format!("writing {}: {err}", partial.display())))?;
        std::fs::rename(&partial, path).map_err(|err| fail(err.to_string()))
    }

    /// Continues the experiment saved at `path`, on `placement` (any: it need not be the one it
    /// was trained on) and `data` (the data set it was
    /// trained on: its source, installed or sample, and its image counts must be the same).
    ///
    /// # Errors
    /// [`EngineError::Checkpoint`] for an unreadable, truncated or foreign file, tensors that
    /// do not fit the configured model, or other data than the checkpoint's.
    pub fn resume(
        path: &Path,
        data: Cifar10,
        placement: impl Into<Placement>,
    ) -> Result<Self, EngineError> {
        Self::resume_from(Checkpoint::read(path)?, data, placement)
    }

    /// [`resume`](Self::resume) from a checkpoint already read (to choose the data by
    /// [`Checkpoint::trained_on_sample`] first).
    ///
    /// # Errors
    /// As [`resume`](Self::resume).
    pub fn resume_from(
        checkpoint: Checkpoint,
        data: Cifar10,
        placement: impl Into<Placement>,
    ) -> Result<Self, EngineError> {
        let placement = placement.into();
        let Checkpoint {
            path,
            bytes,
            metadata,
        } = checkpoint;
        let fail = |message: String| EngineError::Checkpoint {
            path: path.clone(),
            message,
        };
        let tensors = SafeTensors::deserialize(&bytes)
            .map_err(|err| fail(format!("tensors do not parse ({err})")))?;
        if metadata.format >= 2 {
            verify_checksums(&tensors, &metadata.checksums).map_err(&fail)?;
        }
        // Every tensor was read back to the host when saved: a run resumes on whichever device the
        // placement gives it now.
        let mut runs = Self::fresh_runs(&metadata.config, &placement)?;
        for (r, (run, saved)) in runs.iter_mut().zip(&metadata.runs).enumerate() {
            let device = placement.of_run(r).device();
            restore_run(run, r, saved, &metadata.config, &tensors, &device).map_err(&fail)?;
        }
        let mut experiment =
            Self::assemble(metadata.config, data, placement, runs, metadata.epochs_done)?;
        if metadata.started_at.is_some() {
            experiment.started_at = metadata.started_at;
        }
        if let Some(saved) = metadata.data {
            let now = DataUsed::of(&experiment);
            if !saved.matches(&now) {
                return Err(fail(format!(
                    "it was trained on {}, but the data now is {}; resume where the same data is \
                     installed (--data-dir)",
                    saved.describe(),
                    now.describe()
                )));
            }
        }
        Ok(experiment)
    }
}

/// A checkpoint file read and its metadata checked, its tensors not yet parsed.
pub struct Checkpoint {
    path: std::path::PathBuf,
    bytes: Vec<u8>,
    metadata: Metadata,
}

impl Checkpoint {
    /// Reads the checkpoint at `path`.
    ///
    /// # Errors
    /// [`EngineError::Checkpoint`] for an unreadable, truncated or foreign file.
    pub fn read(path: &Path) -> Result<Self, EngineError> {
        let fail = |message: String| EngineError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|err| fail(err.to_string()))?;
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|err| fail(format!("not a safetensors file ({err})")))?;
        let json = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(METADATA_KEY))
            .ok_or_else(|| fail("no Stepwise metadata: not a Stepwise checkpoint".into()))?;
        let metadata: Metadata = serde_json::from_str(json)
            .map_err(|err| fail(format!("metadata does not parse ({err})")))?;
        if !(1..=FORMAT_VERSION).contains(&metadata.format) {
            return Err(fail(format!(
                "format {} (this Stepwise reads format {FORMAT_VERSION})",
                metadata.format
            )));
        }
        if metadata.runs.len() != metadata.config.run_count() {
            return Err(fail("run count differs from its configuration".into()));
        }
        let seeds = (0..metadata.config.run_count())
            .filter_map(|r| metadata.config.run_at(r).map(|(_, seed)| seed));
        if let Some(r) = metadata
            .runs
            .iter()
            .zip(seeds)
            .position(|(run, seed)| run.seed.is_some_and(|saved| saved != seed))
        {
            return Err(fail(format!(
                "run{r}'s seed differs from its configuration's: the file is inconsistent"
            )));
        }
        Ok(Self {
            path: path.to_path_buf(),
            bytes,
            metadata,
        })
    }

    /// The top-level keys in which the configuration file at `path` (an output folder's
    /// `config.toml`, edited by hand since) differs from the configuration checkpointed: a
    /// resume continues the experiment as it was checkpointed, so those edits would be ignored
    /// and then overwritten. Empty when the file is absent or says the same.
    ///
    /// # Errors
    /// [`EngineError::Io`] when the file cannot be read or is not TOML.
    pub fn config_edits(&self, path: &Path) -> Result<Vec<String>, EngineError> {
        let invalid = |message: String| EngineError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, message),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(EngineError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let mut file: toml::Table =
            toml::from_str(&text).map_err(|err| invalid(err.to_string()))?;
        crate::config::upgrade_seed(&mut file).map_err(invalid)?;
        let saved: toml::Table = self
            .metadata
            .config
            .to_toml()
            .ok()
            .and_then(|text| toml::from_str(&text).ok())
            .ok_or_else(|| invalid("the checkpoint's configuration has no TOML form".into()))?;
        let mut keys: Vec<&String> = file.keys().chain(saved.keys()).collect();
        keys.sort_unstable();
        keys.dedup();
        Ok(keys
            .into_iter()
            .filter(|key| file.get(*key) != saved.get(*key))
            .cloned()
            .collect())
    }

    /// The configuration checkpointed.
    pub const fn config(&self) -> &ExperimentConfig {
        &self.metadata.config
    }

    /// Whether the experiment was trained on the shipped sample (so that it resumes on the sample
    /// even where CIFAR-10 has been installed since).
    pub fn trained_on_sample(&self) -> bool {
        self.metadata
            .data
            .as_ref()
            .is_some_and(|data| data.source == DataSource::Sample)
    }
}

/// Every tensor's bytes against the checksum recorded when it was written: a flipped bit
/// anywhere in a tensor, a tensor missing or one too many is refused, by name.
fn verify_checksums(
    tensors: &SafeTensors<'_>,
    checksums: &BTreeMap<String, u32>,
) -> Result<(), String> {
    let mut names = tensors.names();
    names.sort_unstable();
    for name in &names {
        let view = tensors
            .tensor(name)
            .map_err(|err| format!("{name}: {err}"))?;
        match checksums.get(*name) {
            None => return Err(format!("tensor {name} has no recorded checksum")),
            Some(&expected) if crc32fast::hash(view.data()) != expected => {
                return Err(format!(
                    "tensor {name} is corrupt: its checksum does not match the one recorded \
                     when it was written"
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(missing) = checksums
        .keys()
        .find(|name| !names.contains(&name.as_str()))
    {
        return Err(format!("tensor {missing} is missing"));
    }
    Ok(())
}

fn restore_run(
    run: &mut Run,
    r: usize,
    saved: &RunMetadata,
    config: &ExperimentConfig,
    tensors: &SafeTensors<'_>,
    plain: &burn::tensor::Device,
) -> Result<(), String> {
    run.optimizer = run.optimizer.clone().with_step_count(saved.steps);
    run.status = saved.status;
    run.history.epochs.clone_from(&saved.epochs);
    let rows = tensors
        .tensor(&format!("run{r}.steps"))
        .map_err(|err| format!("run{r}.steps: {err}"))?;
    if rows.shape().get(1) != Some(&crate::STEP_COLUMNS.len()) {
        return Err(format!(
            "run{r}.steps has shape {:?}; this version records {} metrics per step",
            rows.shape(),
            crate::STEP_COLUMNS.len()
        ));
    }
    run.history.steps = f64_values(rows.data())
        .chunks_exact(crate::STEP_COLUMNS.len())
        .map(|row| {
            let mut fixed = [0.0; crate::STEP_COLUMNS.len()];
            fixed.copy_from_slice(row);
            StepMetrics::from_row(fixed)
        })
        .collect();
    if run.steps() != saved.steps {
        return Err(format!(
            "run{r} took {} steps but records {} (run{r}.steps): the file is inconsistent",
            saved.steps,
            run.steps()
        ));
    }
    let Some(model) = run.model.take() else {
        return Ok(());
    };
    if matches!(run.status, RunStatus::Diverged { .. }) {
        // Its weights were dropped when it diverged.
        return Ok(());
    }
    let mut load = Load {
        tensors,
        prefix: format!("run{r}.model."),
        index: 0,
        error: None,
    };
    let model = model.map(&mut load);
    if let Some(error) = load.error {
        return Err(error);
    }
    let optimizer = config
        .run_at(r)
        .ok_or_else(|| format!("run{r} is not in the configuration"))?
        .0
        .optimizer;
    let names: Vec<&'static str> = optimizer
        .init_state(0)
        .buffers()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    run.states = (0..load.index)
        .map(|k| {
            let buffers = names
                .iter()
                .filter_map(|&name| {
                    let view = tensors.tensor(&format!("run{r}.state.{k}.{name}")).ok()?;
                    let values = f32_values(view.data());
                    let len = values.len();
                    Some((
                        name,
                        Tensor::<1>::from_data(TensorData::new(values, [len]), plain),
                    ))
                })
                .collect::<Vec<_>>();
            (buffers.len() == names.len() && saved.steps > 0).then(|| TensorState::new(buffers))
        })
        .collect();
    run.model = Some(model);
    Ok(())
}

fn f32_values(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn f64_values(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .collect()
}

/// Replaces every float tensor of a module, in visiting order, with the saved one.
struct Load<'a, 'b> {
    tensors: &'a SafeTensors<'b>,
    prefix: String,
    index: usize,
    error: Option<String>,
}

impl ModuleMapper for Load<'_, '_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let name = format!("{}{}", self.prefix, self.index);
        self.index += 1;
        let (id, tensor, mapper) = param.consume();
        let shape = tensor.dims();
        let loaded = match self.tensors.tensor(&name) {
            Ok(view) if view.dtype() == Dtype::F32 && view.shape() == shape.as_slice() => {
                let data = TensorData::new(f32_values(view.data()), shape);
                let value = Tensor::<D>::from_data(data, &tensor.device());
                if tensor.is_require_grad() {
                    value.require_grad()
                } else {
                    value
                }
            }
            Ok(view) => {
                self.error.get_or_insert(format!(
                    "{name} is {:?} {:?}, the model expects F32 {shape:?}",
                    view.dtype(),
                    view.shape()
                ));
                tensor
            }
            Err(err) => {
                self.error.get_or_insert(format!("{name}: {err}"));
                tensor
            }
        };
        Param::from_mapped_value(id, loaded, mapper)
    }
}
