//! An experiment's results as files: `config.toml` (the resolved configuration, a valid config file
//! itself), `metrics.csv` (one row per run and seed per step, and per epoch) and `results.json`
//! ([`Results`]). Each file is written beside its destination and renamed over it, so a reader
//! never sees half a file; one process at a time writes into a folder ([`FolderLock`]).

mod lock;

pub use lock::{FolderLock, LOCK_FILE};

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use stepwise_model::Arch;
use stepwise_optim::{LrSchedule, OptimizerConfig, OptimizerKind, OptimizerSpec};

use crate::metrics::{
    EPOCH_COLUMNS, EpochMetrics, RunHistory, RunStatus, STEP_COLUMNS, StepMetrics,
};
use crate::{Compute, EngineError, Experiment, Placement};

/// The resolved configuration.
pub const CONFIG_FILE: &str = "config.toml";
/// Per-step and per-epoch metrics.
pub const METRICS_FILE: &str = "metrics.csv";
/// The summary.
pub const RESULTS_FILE: &str = "results.json";
/// The files [`write`] writes, in that order.
pub const RESULT_FILES: [&str; 3] = [CONFIG_FILE, METRICS_FILE, RESULTS_FILE];

/// The files of an earlier experiment in `dir` that writing one there would replace, in this
/// order: [`RESULT_FILES`], the checkpoint, then `also` (a front-end's own files, such as the CLI's
/// report). A folder that does not exist yet holds none. Each front-end decides what to do with
/// them (the CLI wants `--force`, the app a second press); they all ask here.
///
/// # Errors
/// [`EngineError::Io`] when `dir` exists and is not a folder.
pub fn files_replaced(dir: &Path, also: &[&'static str]) -> Result<Vec<&'static str>, EngineError> {
    if dir.exists() && !dir.is_dir() {
        return Err(EngineError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a folder"),
        });
    }
    Ok(RESULT_FILES
        .iter()
        .chain(&[crate::checkpoint::FILE_NAME])
        .chain(also)
        .copied()
        .filter(|name| dir.join(name).exists())
        .collect())
}

/// The time now as RFC 3339 in UTC, to the second (`None` where the clock is before 1970).
pub(crate) fn now() -> Option<String> {
    let since = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .ok()?;
    let at =
        time::OffsetDateTime::from_unix_timestamp(i64::try_from(since.as_secs()).ok()?).ok()?;
    at.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// `results.json`: what each run reached, epoch by epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The preset the configuration started from.
    pub preset: Option<String>,
    /// Whether its quick scale was used.
    pub quick: bool,
    /// What the experiment compares.
    pub description: String,
    /// The network.
    pub model: Arch,
    /// Where it was trained: the devices its runs were dealt over (`cpu`, `gpu`, `cpu,gpu:1`).
    pub device: Placement,
    /// The Stepwise version that wrote it (empty in results written before it was recorded).
    #[serde(default)]
    pub stepwise_version: String,
    /// Random crops and flips of the training images.
    #[serde(default)]
    pub augment: bool,
    /// The learning-rate schedule, relative to each run's lr.
    #[serde(default)]
    pub schedule: LrSchedule,
    /// When the experiment first started (RFC 3339, UTC; kept across resumes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When these results were written (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at: Option<String>,
    /// Seconds of training and evaluation, every run's share summed over its epochs: the
    /// experiment's wall-clock time, less writing its outputs (and across resumes, the time
    /// between them).
    #[serde(default)]
    pub wall_seconds: f64,
    /// The data's description (`stepwise_data::Source`'s `Display`).
    pub data: String,
    /// Training images per epoch.
    pub train_images: usize,
    /// Test images per evaluation.
    pub test_images: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Epochs configured.
    pub epochs: u32,
    /// Epochs every run has completed (fewer than `epochs` when stopped early).
    pub epochs_completed: u32,
    /// The seeds every run was trained with (`[0]` in results written before seeds).
    #[serde(default = "crate::config::default_seeds")]
    pub seeds: Vec<u64>,
    /// The runs trained, seed by seed: every configured run at the first seed, then at the next.
    pub runs: Vec<RunResult>,
}

/// One run in `results.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The run's name (its configured run's: the same at every seed).
    pub name: String,
    /// The seed of its initial weights and batch order.
    #[serde(default)]
    pub seed: u64,
    /// The device it trained on (absent in results written before placements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Compute>,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// Every hyperparameter, resolved (defaults written out).
    pub hyperparameters: serde_json::Map<String, serde_json::Value>,
    /// `training` (stopped early), `diverged` or `finished`.
    pub status: String,
    /// The step whose loss diverged, or null.
    pub diverged_at_step: Option<u64>,
    /// That loss (a number, or `"NaN"`, `"inf"`).
    #[serde(default, with = "crate::metrics::nonfinite::option")]
    pub diverged_loss: Option<f32>,
    /// Optimizer steps taken.
    pub steps: u64,
    /// Highest test accuracy over the epochs, and its epoch.
    pub best_test_accuracy: Option<f32>,
    /// The epoch of `best_test_accuracy`.
    pub best_epoch: Option<u32>,
    /// Test accuracy after the last completed epoch.
    pub final_test_accuracy: Option<f32>,
    /// Every completed epoch.
    pub epochs: Vec<EpochMetrics>,
}

/// Every hyperparameter of `optimizer`, resolved, by name (as `results.json` lists them).
pub fn hyperparameters(optimizer: OptimizerConfig) -> serde_json::Map<String, serde_json::Value> {
    let mut map = match serde_json::to_value(OptimizerSpec::from(optimizer)) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    map.remove("optimizer");
    map
}

/// The study's sweeps (its experiments 2 and 3): runs of one optimizer that differ in exactly one
/// hyperparameter, laid out as a grid of optimizers by that hyperparameter's values.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// The hyperparameter that varies.
    pub hyperparameter: String,
    /// Its values, ascending.
    pub values: Vec<f64>,
    /// Per optimizer, in the order of the runs: the index of its run at each value, if any.
    pub rows: Vec<(OptimizerKind, Vec<Option<usize>>)>,
}

impl Sweep {
    /// The sweep that `runs` (each an optimizer and its [`hyperparameters`]) form, if they form
    /// one: at least two runs of one optimizer, and one numeric hyperparameter in which runs of
    /// the same optimizer differ.
    pub fn of(
        runs: &[(OptimizerKind, serde_json::Map<String, serde_json::Value>)],
    ) -> Option<Self> {
        let [hyperparameter] = swept(runs)[..] else {
            return None;
        };
        let value = |r: usize| {
            runs[r]
                .1
                .get(hyperparameter)
                .and_then(serde_json::Value::as_f64)
        };
        let mut values: Vec<f64> = (0..runs.len()).filter_map(value).collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        if values.len() < 2 {
            // Not a numeric axis (a switch such as `amsgrad`): no grid.
            return None;
        }
        let mut rows: Vec<(OptimizerKind, Vec<Option<usize>>)> = Vec::new();
        for (kind, _) in runs {
            if rows.iter().all(|(row, _)| row != kind) {
                let cells = values
                    .iter()
                    .map(|v| (0..runs.len()).find(|&r| runs[r].0 == *kind && value(r) == Some(*v)))
                    .collect();
                rows.push((*kind, cells));
            }
        }
        Some(Self {
            hyperparameter: hyperparameter.to_owned(),
            values,
            rows,
        })
    }

    /// A cell's text: the run's best test accuracy, and where it diverged; `None` when it has
    /// neither yet.
    pub fn cell(best_test_accuracy: Option<f32>, diverged_at_step: Option<u64>) -> Option<String> {
        let best = best_test_accuracy.map(|acc| format!("{:.2}%", 100.0 * acc));
        match (diverged_at_step, best) {
            (Some(step), Some(best)) => Some(format!("{best}, then diverged at step {step}")),
            (Some(step), None) => Some(format!("diverged at step {step}")),
            (None, best) => best,
        }
    }

    /// The sweep among `results`' runs, if they form one.
    pub fn of_results(results: &Results) -> Option<Self> {
        Self::of(&hyperparameters_of(results))
    }

    /// Every hyperparameter in which runs of one optimizer differ in `results`, by name: a
    /// sweep's axes, read back from what it trained (one is a [`Sweep`]; several make the report's
    /// table by axis values).
    pub fn axes(results: &Results) -> Vec<String> {
        swept(&hyperparameters_of(results))
            .into_iter()
            .map(str::to_owned)
            .collect()
    }
}

fn hyperparameters_of(
    results: &Results,
) -> Vec<(OptimizerKind, serde_json::Map<String, serde_json::Value>)> {
    results
        .runs
        .iter()
        .map(|run| (run.optimizer, run.hyperparameters.clone()))
        .collect()
}

/// The hyperparameters in which runs of one optimizer differ, by name.
fn swept(runs: &[(OptimizerKind, serde_json::Map<String, serde_json::Value>)]) -> Vec<&str> {
    let mut swept = std::collections::BTreeSet::new();
    for (kind, a) in runs {
        for (_, b) in runs.iter().filter(|(other, _)| other == kind) {
            swept.extend(
                a.iter()
                    .filter(|(name, value)| b.get(*name) != Some(value))
                    .map(|(name, _)| name.as_str()),
            );
        }
    }
    swept.into_iter().collect()
}

impl Results {
    /// The results so far of `experiment`.
    pub fn of(experiment: &Experiment) -> Self {
        let config = experiment.config();
        let runs: Vec<RunResult> = (0..experiment.run_count())
            .filter_map(|r| config.run_at(r).map(|(run, seed)| (r, run, seed)))
            .map(|(r, run, seed)| {
                let history = experiment.history(r).cloned().unwrap_or_default();
                let status = experiment.status(r).unwrap_or(RunStatus::Training);
                let hyperparameters = hyperparameters(run.optimizer);
                let best = history.best_epoch().copied();
                let (status_name, diverged_at_step, diverged_loss) = match status {
                    RunStatus::Training => ("training", None, None),
                    RunStatus::Finished => ("finished", None, None),
                    RunStatus::Diverged { step, loss } => ("diverged", Some(step), Some(loss)),
                };
                RunResult {
                    name: run.name.clone(),
                    seed,
                    device: Some(experiment.placement().of_run(r)),
                    optimizer: run.optimizer.kind(),
                    hyperparameters,
                    status: status_name.into(),
                    diverged_at_step,
                    diverged_loss,
                    steps: experiment.steps(r),
                    best_test_accuracy: best.map(|e| e.test_accuracy),
                    best_epoch: best.map(|e| e.epoch),
                    final_test_accuracy: history.epochs.last().map(|e| e.test_accuracy),
                    epochs: history.epochs,
                }
            })
            .collect();
        Self {
            preset: config.preset.clone(),
            quick: config.quick,
            description: config.description.clone(),
            model: config.model,
            device: experiment.placement().clone(),
            stepwise_version: env!("CARGO_PKG_VERSION").into(),
            augment: config.augment,
            schedule: config.schedule.clone(),
            started_at: experiment.started_at.clone(),
            written_at: now(),
            // To the millisecond, as the epochs' own timings are written.
            wall_seconds: ((runs.iter())
                .flat_map(|run| &run.epochs)
                // From +0 (an empty f64 sum is -0).
                .fold(0.0, |sum, epoch| sum + epoch.seconds + epoch.eval_seconds)
                * 1e3)
                .round()
                / 1e3,
            data: experiment.source().to_string(),
            train_images: experiment.train_images(),
            test_images: experiment.test_images(),
            batch_size: config.batch_size,
            epochs: config.epochs,
            epochs_completed: experiment.epochs_done(),
            seeds: config.seeds.clone(),
            runs,
        }
    }

    /// The runs grouped by name, each group a configured run at every seed (as indices into
    /// `runs`, in seed order), the groups in the order the runs were configured.
    pub fn groups(&self) -> Vec<Vec<usize>> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (index, run) in self.runs.iter().enumerate() {
            match groups
                .iter_mut()
                .find(|group| self.runs[group[0]].name == run.name)
            {
                Some(group) => group.push(index),
                None => groups.push(vec![index]),
            }
        }
        groups
    }

    /// Writes the results to `path` (as `results.json` holds them), atomically.
    ///
    /// # Errors
    /// [`EngineError::Io`] naming the file.
    pub fn write(&self, path: &Path) -> Result<(), EngineError> {
        let json = serde_json::to_vec_pretty(self).map_err(|err| EngineError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, err),
        })?;
        write_atomically(path, &json)
    }

    /// Reads `results.json`.
    ///
    /// # Errors
    /// [`EngineError::Io`]: unreadable (kind of the system's error) or not results (`InvalidData`).
    pub fn read(path: &Path) -> Result<Self, EngineError> {
        let io = |source| EngineError::Io {
            path: path.to_path_buf(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(io)?;
        serde_json::from_str(&text)
            .map_err(|err| io(std::io::Error::new(std::io::ErrorKind::InvalidData, err)))
    }
}

/// A results folder read back: the summary, and each run's history in configuration order.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// `results.json`.
    pub results: Results,
    /// Every run's steps (from `metrics.csv`) and epochs, in the order of `results.runs`.
    pub histories: Vec<RunHistory>,
}

impl RunResult {
    /// How the run stands, as the engine reports it.
    pub fn run_status(&self) -> RunStatus {
        match (self.status.as_str(), self.diverged_at_step) {
            ("diverged", Some(step)) => RunStatus::Diverged {
                step,
                loss: self.diverged_loss.unwrap_or(f32::NAN),
            },
            ("finished", _) => RunStatus::Finished,
            _ => RunStatus::Training,
        }
    }
}

/// Reads a folder written by [`write`]: `results.json`, and the step rows of `metrics.csv`.
///
/// # Errors
/// [`EngineError::Io`] naming the file: missing or unreadable (the system's error kind), or not
/// what Stepwise writes (`InvalidData`, with the line and column at fault).
pub fn read(dir: &Path) -> Result<Recorded, EngineError> {
    let results = Results::read(&dir.join(RESULTS_FILE))?;
    let path = dir.join(METRICS_FILE);
    let invalid = |message: String| EngineError::Io {
        path: path.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, message),
    };
    let mut reader = csv::Reader::from_path(&path).map_err(|err| match err.into_kind() {
        csv::ErrorKind::Io(source) => EngineError::Io {
            path: path.clone(),
            source,
        },
        other => invalid(format!("{other:?}")),
    })?;
    let mut histories: Vec<RunHistory> = results
        .runs
        .iter()
        .map(|run| RunHistory {
            steps: Vec::new(),
            epochs: run.epochs.clone(),
        })
        .collect();
    // Files written before seeds have no `seed` column (their one seed is 0).
    let seeded = reader
        .headers()
        .ok()
        .and_then(|h| h.get(1).map(str::to_owned))
        == Some("seed".into());
    let first_step_column = if seeded { 3 } else { 2 };
    for (index, record) in reader.records().enumerate() {
        // Line 1 is the header.
        let line = index + 2;
        let record = record.map_err(|err| invalid(format!("line {line}: {err}")))?;
        if record.get(first_step_column - 1) != Some("step") {
            continue;
        }
        let name = record.get(0).unwrap_or_default();
        let seed = if seeded {
            let field = record.get(1).unwrap_or_default();
            field.parse::<u64>().map_err(|_| {
                invalid(format!(
                    "line {line}: seed is {field:?}, not a whole number"
                ))
            })?
        } else {
            0
        };
        let run = results
            .runs
            .iter()
            .position(|run| run.name == name && run.seed == seed)
            .ok_or_else(|| {
                invalid(format!(
                    "line {line}: run {name:?} at seed {seed} is not in {RESULTS_FILE}"
                ))
            })?;
        let mut fields = [None; STEP_COLUMNS.len()];
        for (column, value) in fields.iter_mut().enumerate() {
            let field = record.get(column + first_step_column).unwrap_or_default();
            if !field.is_empty() {
                *value = Some(field.parse().map_err(|_| {
                    invalid(format!(
                        "line {line}: {} is {field:?}, not a number",
                        STEP_COLUMNS[column]
                    ))
                })?);
            }
        }
        histories[run].steps.push(StepMetrics::from_fields(fields));
    }
    Ok(Recorded { results, histories })
}

/// Writes `config.toml`, `metrics.csv` and `results.json` of `experiment` into `dir`.
///
/// # Errors
/// [`EngineError::Io`] naming the file.
pub fn write(dir: &Path, experiment: &Experiment) -> Result<Results, EngineError> {
    let (results, files) = files(experiment).map_err(|(file, err)| EngineError::Io {
        path: dir.join(file),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, err),
    })?;
    for (name, bytes) in files {
        write_atomically(&dir.join(name), &bytes)?;
    }
    Ok(results)
}

/// The files of an experiment's results, as (name, contents).
pub type Files = [(&'static str, Vec<u8>); 3];

/// The summary, and the files [`write`] writes: what the browser, which has no folders, offers as
/// downloads.
///
/// # Errors
/// The file that cannot be made, and why.
pub fn files(experiment: &Experiment) -> Result<(Results, Files), (&'static str, String)> {
    let toml = experiment
        .config()
        .to_toml()
        .map_err(|err| (CONFIG_FILE, err.to_string()))?;
    let results = Results::of(experiment);
    let json =
        serde_json::to_vec_pretty(&results).map_err(|err| (RESULTS_FILE, err.to_string()))?;
    let files = [
        (CONFIG_FILE, toml.into_bytes()),
        (METRICS_FILE, metrics_csv(experiment)),
        (RESULTS_FILE, json),
    ];
    Ok((results, files))
}

/// `bytes` to `path` through a `.part` file renamed over it: `path` is either its old contents or
/// all of `bytes`, and no `.part` file is left behind.
///
/// # Errors
/// [`EngineError::Io`] naming the file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".part");
    let partial = PathBuf::from(partial);
    let io = |source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    };
    let written = std::fs::File::create(&partial).and_then(|mut file| {
        // On disk before the rename, so that a crash cannot leave a renamed but empty file.
        file.write_all(bytes)?;
        file.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&partial, path)) {
        Ok(()) => Ok(()),
        Err(source) => {
            // A full disk leaves no half-written `.part` behind; the previous file stays whole.
            let _ = std::fs::remove_file(&partial);
            Err(io(source))
        }
    }
}

fn metrics_csv(experiment: &Experiment) -> Vec<u8> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    let header = ["run", "seed", "kind"]
        .into_iter()
        .chain(STEP_COLUMNS)
        .chain(EPOCH_COLUMNS);
    let _ = csv.write_record(header);
    // Values that came from f32 print as f32 (0.1, not 0.10000000149011612); NaN and infinities
    // print as `NaN`, `inf`, `-inf`, and an empty field is a metric not measured.
    let number = |v: f64| {
        if f64::from(v as f32) == v {
            (v as f32).to_string()
        } else {
            v.to_string()
        }
    };
    let field = |v: Option<f64>| v.map_or_else(String::new, number);
    let blank = || std::iter::repeat_n(String::new(), EPOCH_COLUMNS.len());
    for r in 0..experiment.run_count() {
        let (Some(history), Some((name, seed))) = (experiment.history(r), experiment.run_label(r))
        else {
            continue;
        };
        let run = [name.to_owned(), seed.to_string()];
        for step in &history.steps {
            let row = run
                .clone()
                .into_iter()
                .chain(["step".into()])
                .chain(step.fields().map(field))
                .chain(blank());
            let _ = csv.write_record(row);
        }
        if let Some(RunStatus::Diverged { step, loss }) = experiment.status(r) {
            // One row that says so, whatever the loss (a finite loss past the threshold too).
            let steps = STEP_COLUMNS.map(|column| match column {
                "step" => step.to_string(),
                "loss" => number(f64::from(loss)),
                _ => String::new(),
            });
            let row = run
                .clone()
                .into_iter()
                .chain(["diverged".into()])
                .chain(steps)
                .chain(blank());
            let _ = csv.write_record(row);
        }
        for epoch in &history.epochs {
            let steps = STEP_COLUMNS.map(|column| match column {
                "epoch" => epoch.epoch.to_string(),
                _ => String::new(),
            });
            let values = epoch.values();
            let row = run
                .clone()
                .into_iter()
                .chain(["epoch".into()])
                .chain(steps)
                .chain(values.map(number));
            let _ = csv.write_record(row);
        }
    }
    csv.into_inner().unwrap_or_default()
}
