//! Sweeps: an experiment and axes, expanded into cells that run anywhere — a local pool of
//! processes, a Slurm job array, a Kubernetes indexed Job — and merge back into one set of results.
//!
//! A sweep file is a config file (its `[[runs]]` optional) with a `[sweep]` table of axes: lists
//! of values for `optimizer`, any hyperparameter (`lr`, `weight_decay`, `beta1`, …) and `seeds`.
//! Every combination of the optimizers (or the listed runs) and the hyperparameter axes is one run;
//! each run at each seed is one **cell**, a complete experiment of one run at one seed. Cells of one
//! seed start from the same weights on the same batches wherever they run (both are functions of
//! the seed), so the merged results pair by seed as one experiment's do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::upgrade_seed;
use crate::output::{self, Recorded, Results};
use crate::{ConfigError, EngineError, ExperimentConfig, Layers, Location};

/// The plan's file in a sweep folder.
pub const PLAN_FILE: &str = "sweep.json";
/// The folder of the cells, each in `cells/NNNN`.
pub const CELLS_DIR: &str = "cells";

/// A sweep expanded into cells.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPlan {
    /// The sweep file it came from.
    pub source: String,
    /// The axes, in the file's order, with their values (TOML values as JSON).
    pub axes: Vec<(String, Vec<serde_json::Value>)>,
    /// The cells, run by run, each run at every seed.
    pub cells: Vec<Cell>,
}

/// One run at one seed: a complete experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Its index (a Slurm array task's id, a Kubernetes completion index).
    pub index: usize,
    /// The run's name.
    pub run: String,
    /// Its seed.
    pub seed: u64,
    /// The value of each axis at this cell, by axis name.
    pub values: BTreeMap<String, serde_json::Value>,
    /// The experiment it trains.
    pub config: ExperimentConfig,
}

impl SweepPlan {
    /// Expands the sweep file `text` (named `origin` in messages).
    ///
    /// # Errors
    /// [`ConfigError`] naming the file and key: not TOML, no `[sweep]` table, an axis that is not
    /// a non-empty list, no runs to sweep, or a cell whose experiment is invalid.
    pub fn expand(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            at: Location {
                origin: Some(origin.into()),
                line_column: None,
            },
            key: key.into(),
            message,
        };
        let mut table: toml::Table =
            text.parse()
                .map_err(|err: toml::de::Error| ConfigError::Syntax {
                    at: Location {
                        origin: Some(origin.into()),
                        line_column: None,
                    },
                    message: err.message().trim().replace('\n', " "),
                })?;
        upgrade_seed(&mut table).map_err(|message| invalid("seed", message))?;
        let Some(toml::Value::Table(sweep)) = table.remove("sweep") else {
            return Err(invalid(
                "sweep",
                "a sweep file needs a [sweep] table of axes (lists of values)".into(),
            ));
        };
        let mut axes: Vec<(String, Vec<toml::Value>)> = Vec::new();
        for (key, values) in sweep {
            match values {
                toml::Value::Array(values) if !values.is_empty() => axes.push((key, values)),
                _ => {
                    return Err(invalid(
                        &format!("sweep.{key}"),
                        "an axis is a non-empty list of values".into(),
                    ));
                }
            }
        }
        let take = |axes: &mut Vec<(String, Vec<toml::Value>)>, name: &str| {
            axes.iter()
                .position(|(key, _)| key == name)
                .map(|i| axes.remove(i).1)
        };
        let optimizers = take(&mut axes, "optimizer");
        let seeds = take(&mut axes, "seeds");
        // The runs the hyperparameter axes apply to: the file's, or one per optimizer.
        let bases: Vec<toml::Table> = match (table.remove("runs"), &optimizers) {
            (Some(toml::Value::Array(runs)), None) => runs
                .into_iter()
                .filter_map(|run| match run {
                    toml::Value::Table(run) => Some(run),
                    _ => None,
                })
                .collect(),
            (None, Some(optimizers)) => optimizers
                .iter()
                .map(|optimizer| toml::Table::from_iter([("optimizer".into(), optimizer.clone())]))
                .collect(),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "sweep.optimizer",
                    "either list [[runs]] or sweep an `optimizer` axis, not both".into(),
                ));
            }
            (_, None) => {
                return Err(invalid(
                    "runs",
                    "nothing to sweep: list [[runs]] or an `optimizer` axis".into(),
                ));
            }
        };
        if let Some(seeds) = seeds {
            table.insert("seeds".into(), toml::Value::Array(seeds));
        }
        // The experiment's own seeds (or the default), checked with the rest.
        let seeds: Vec<u64> = {
            let mut probe = table.clone();
            probe.insert(
                "runs".into(),
                toml::Value::Array(vec![bases[0].clone().into()]),
            );
            config_of(&probe, origin, 0)?.seeds
        };
        let mut runs: Vec<(toml::Table, BTreeMap<String, serde_json::Value>)> = Vec::new();
        for base in &bases {
            let mut combinations = vec![(base.clone(), BTreeMap::new())];
            for (key, values) in &axes {
                combinations = combinations
                    .into_iter()
                    .flat_map(|(run, chosen)| {
                        values.iter().map(move |value| {
                            let mut run = run.clone();
                            let mut chosen = chosen.clone();
                            run.insert(key.clone(), value.clone());
                            chosen.insert(key.clone(), json(value));
                            (run, chosen)
                        })
                    })
                    .collect();
            }
            for (mut run, mut chosen) in combinations {
                if let Some(optimizer) = base.get("optimizer").filter(|_| optimizers.is_some()) {
                    chosen.insert("optimizer".into(), json(optimizer));
                }
                // A named base run keeps its name, with the swept values after it.
                if let Some(toml::Value::String(name)) = run.get("name").cloned() {
                    let swept: Vec<String> = axes
                        .iter()
                        .map(|(key, _)| format!("{key}={}", run[key]))
                        .collect();
                    if !swept.is_empty() {
                        run.insert("name".into(), format!("{name} {}", swept.join(" ")).into());
                    }
                }
                runs.push((run, chosen));
            }
        }
        let mut cells = Vec::with_capacity(runs.len() * seeds.len());
        for (run, chosen) in runs {
            for &seed in &seeds {
                let mut cell = table.clone();
                cell.insert("runs".into(), toml::Value::Array(vec![run.clone().into()]));
                cell.insert(
                    "seeds".into(),
                    toml::Value::Array(vec![
                        i64::try_from(seed)
                            .map_err(|_| invalid("seeds", format!("seed {seed} is too large")))?
                            .into(),
                    ]),
                );
                let index = cells.len();
                let config = config_of(&cell, origin, index)?;
                let mut values = chosen.clone();
                values.insert("seeds".into(), seed.into());
                cells.push(Cell {
                    index,
                    run: config.runs[0].name.clone(),
                    seed,
                    values,
                    config,
                });
            }
        }
        // Each run's cells are consecutive, one per seed.
        let mut names = std::collections::BTreeSet::new();
        for cell in cells.iter().step_by(seeds.len().max(1)) {
            if !names.insert(cell.run.as_str()) {
                return Err(invalid(
                    "runs",
                    format!(
                        "two runs of the sweep are named '{}'; name them apart",
                        cell.run
                    ),
                ));
            }
        }
        let mut axes_out: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
        if let Some(optimizers) = &optimizers {
            axes_out.push(("optimizer".into(), optimizers.iter().map(json).collect()));
        }
        axes_out.extend(
            axes.iter()
                .map(|(key, values)| (key.clone(), values.iter().map(json).collect())),
        );
        axes_out.push(("seeds".into(), seeds.iter().map(|&s| s.into()).collect()));
        Ok(Self {
            source: origin.into(),
            axes: axes_out,
            cells,
        })
    }

    /// The folder of cell `index` in the sweep folder `dir`.
    pub fn cell_dir(dir: &Path, index: usize) -> PathBuf {
        dir.join(CELLS_DIR).join(format!("{index:04}"))
    }

    /// Writes the plan (`sweep.json`) and each cell's `config.toml` into `dir`.
    ///
    /// # Errors
    /// [`EngineError::Io`] naming the file.
    pub fn write(&self, dir: &Path) -> Result<(), EngineError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EngineError::Io { path, source }
        };
        for cell in &self.cells {
            let cell_dir = Self::cell_dir(dir, cell.index);
            std::fs::create_dir_all(&cell_dir).map_err(io(&cell_dir))?;
            let toml = cell.config.to_toml().map_err(|err| EngineError::Io {
                path: cell_dir.join(output::CONFIG_FILE),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, err.to_string()),
            })?;
            output::write_atomically(&cell_dir.join(output::CONFIG_FILE), toml.as_bytes())?;
        }
        let json = serde_json::to_vec_pretty(self).map_err(|err| EngineError::Io {
            path: dir.join(PLAN_FILE),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, err),
        })?;
        output::write_atomically(&dir.join(PLAN_FILE), &json)
    }

    /// Reads the plan of the sweep folder `dir`.
    ///
    /// # Errors
    /// [`EngineError::Io`]: missing, unreadable, or not a plan (`InvalidData`).
    pub fn read(dir: &Path) -> Result<Self, EngineError> {
        let path = dir.join(PLAN_FILE);
        let io = |source| EngineError::Io {
            path: path.clone(),
            source,
        };
        let text = std::fs::read_to_string(&path).map_err(io)?;
        serde_json::from_str(&text)
            .map_err(|err| io(std::io::Error::new(std::io::ErrorKind::InvalidData, err)))
    }

    /// How cell `index` stands in `dir`.
    pub fn state(dir: &Path, index: usize) -> CellState {
        let cell = Self::cell_dir(dir, index);
        if output::FolderLock::held(&cell) {
            return CellState::Running;
        }
        match Results::read(&cell.join(output::RESULTS_FILE)) {
            Ok(results) if results.runs.iter().all(|r| r.status != "training") => CellState::Done,
            Ok(_) if cell.join(crate::checkpoint::FILE_NAME).is_file() => CellState::Stopped,
            Ok(_) | Err(_) if cell.join(output::RESULTS_FILE).exists() => CellState::Failed,
            _ => CellState::Pending,
        }
    }

    /// Every finished cell of `dir` merged into one experiment's results, as if its runs had
    /// trained side by side: runs seed by seed, each seed's runs in plan order. The cells that
    /// have not finished are listed.
    ///
    /// # Errors
    /// [`EngineError::Io`] for a finished cell whose files do not read.
    pub fn merge(&self, dir: &Path) -> Result<Merged, EngineError> {
        let mut seeds: Vec<u64> = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for cell in &self.cells {
            if !seeds.contains(&cell.seed) {
                seeds.push(cell.seed);
            }
            if !names.contains(&cell.run.as_str()) {
                names.push(&cell.run);
            }
        }
        let mut missing = Vec::new();
        let mut recorded: Vec<(usize, usize, Recorded)> = Vec::new();
        for cell in &self.cells {
            if Self::state(dir, cell.index) != CellState::Done {
                missing.push(cell.index);
                continue;
            }
            let seed = seeds.iter().position(|&s| s == cell.seed).unwrap_or(0);
            let name = names.iter().position(|&n| n == cell.run).unwrap_or(0);
            recorded.push((seed, name, output::read(&Self::cell_dir(dir, cell.index))?));
        }
        recorded.sort_by_key(|(seed, name, _)| (*seed, *name));
        let mut config = self.cells.first().map(|c| c.config.clone());
        if let Some(config) = &mut config {
            config.seeds.clone_from(&seeds);
            config.runs = names
                .iter()
                .filter_map(|name| {
                    self.cells
                        .iter()
                        .find(|c| c.run == *name)
                        .map(|c| c.config.runs[0].clone())
                })
                .collect();
        }
        let mut results: Option<Results> = None;
        let mut histories = Vec::new();
        for (_, _, cell) in recorded {
            histories.extend(cell.histories);
            match &mut results {
                None => results = Some(cell.results),
                Some(results) => {
                    results.epochs_completed =
                        results.epochs_completed.min(cell.results.epochs_completed);
                    results.runs.extend(cell.results.runs);
                }
            }
        }
        if let Some(results) = &mut results {
            results.seeds = seeds;
            results.description =
                format!("sweep of {} cells from {}", self.cells.len(), self.source);
        }
        Ok(Merged {
            results,
            histories,
            config,
            missing,
        })
    }
}

/// A sweep's finished cells as one experiment's results.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    /// The merged results (`None` when no cell has finished).
    pub results: Option<Results>,
    /// Each run's history, in the order of the results' runs.
    pub histories: Vec<crate::RunHistory>,
    /// The experiment the sweep is: every run, every seed.
    pub config: Option<ExperimentConfig>,
    /// Cells not finished, by index.
    pub missing: Vec<usize>,
}

/// How a cell stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellState {
    /// Not started.
    Pending,
    /// A process holds its folder.
    Running,
    /// Stopped with a checkpoint: running it again resumes.
    Stopped,
    /// Stopped before its first checkpoint, or its results do not read: running it again starts
    /// it over.
    Failed,
    /// Every run finished or diverged.
    Done,
}

impl CellState {
    /// Its name in `sweep status`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
            Self::Done => "done",
        }
    }
}

/// A TOML value as JSON.
fn json(value: &toml::Value) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// The experiment of one cell's table, its errors located in the sweep file's cell.
fn config_of(
    table: &toml::Table,
    origin: &str,
    index: usize,
) -> Result<ExperimentConfig, ConfigError> {
    Layers {
        file: Some((format!("{origin} (cell {index})"), table.to_string())),
        ..Layers::default()
    }
    .resolve()
}
