//! An experiment's runs as TensorBoard runs, written as training goes: one folder per run and seed
//! under the chosen folder, every per-step and per-epoch metric as a scalar on the run's step axis,
//! and the run's hyperparameters for TensorBoard's HParams tab.

use std::path::Path;

use stepwise_tensorboard::{Ended, EventWriter, HParam, WriteError, is_event_file};
use web_time::Instant;

use crate::metrics::EPOCH_COLUMNS;
use crate::output::hyperparameters;
use crate::{EngineError, Event, Experiment, ExperimentConfig, RunConfig, RunStatus, STEP_COLUMNS};

/// Seconds between flushes while steps arrive: TensorBoard re-reads its folder every 5 s.
const FLUSH_SECONDS: f64 = 2.0;

/// Tags of the per-step scalars: `metrics.csv`'s step columns, but the step itself and its epoch.
fn step_tags() -> impl Iterator<Item = (usize, String)> {
    STEP_COLUMNS
        .iter()
        .enumerate()
        .filter(|(_, column)| !matches!(**column, "step" | "epoch"))
        .map(|(index, column)| (index, format!("step/{column}")))
}

/// Writes an experiment's events as TensorBoard event files; feed it the [`Event`]s of every
/// [`Experiment::advance`] (and [`Experiment::settle`]).
pub struct TensorBoard {
    /// One writer per run (index as in the experiment).
    writers: Vec<EventWriter>,
    step_tags: Vec<(usize, String)>,
    epoch_tags: Vec<String>,
    flushed: Instant,
}

impl TensorBoard {
    /// Opens a new event file for each run in its folder under `dir`: the run's name (characters
    /// a folder name cannot hold safely become `_`), with `seed-S` below it where the experiment
    /// has several seeds. Each starts with the run's hyperparameters. A new experiment refuses a
    /// run folder that already holds event files: TensorBoard would mix the two. A resumed
    /// experiment's files say where training restarts, so that TensorBoard drops what the earlier
    /// files recorded after the checkpoint; runs that had already ended say so again.
    ///
    /// # Errors
    /// [`EngineError::TensorBoardInUse`], and [`EngineError::Io`] naming the folder or file that
    /// cannot be written.
    pub fn create(dir: &Path, experiment: &Experiment) -> Result<Self, EngineError> {
        let config = experiment.config();
        let names = folder_names(config);
        let resumed = (0..experiment.run_count()).any(|run| experiment.steps(run) > 0);
        let several_seeds = config.seeds.len() > 1;
        let mut writers = Vec::with_capacity(experiment.run_count());
        for index in 0..experiment.run_count() {
            let (Some((r, _)), Some((run_config, seed))) =
                (config.position(index), config.run_at(index))
            else {
                continue;
            };
            let mut folder = dir.join(&names[r]);
            if several_seeds {
                folder.push(format!("seed-{seed}"));
            }
            if !resumed && holds_events(&folder) {
                return Err(EngineError::TensorBoardInUse { dir: folder });
            }
            writers.push(open_run(&folder, experiment, index, run_config, seed)?);
        }
        Ok(Self {
            writers,
            step_tags: step_tags().collect(),
            epoch_tags: EPOCH_COLUMNS
                .iter()
                .map(|column| format!("epoch/{column}"))
                .collect(),
            flushed: Instant::now(),
        })
    }

    /// Writes what `events` measured. Per-epoch scalars go on the step axis too, at the epoch's
    /// last step, so that they line up with the per-step ones. Everything is flushed when an
    /// epoch completes, when the experiment finishes, and every few seconds between.
    ///
    /// # Errors
    /// [`EngineError::Io`] naming the file that cannot be written.
    pub fn record(&mut self, experiment: &Experiment, events: &[Event]) -> Result<(), EngineError> {
        for event in events {
            self.record_one(experiment, event)?;
        }
        if self.flushed.elapsed().as_secs_f64() >= FLUSH_SECONDS {
            self.flush()?;
        }
        Ok(())
    }

    fn record_one(&mut self, experiment: &Experiment, event: &Event) -> Result<(), EngineError> {
        match event {
            Event::Step { run, metrics } => {
                let fields = metrics.fields();
                let values = self
                    .step_tags
                    .iter()
                    .filter_map(|(index, tag)| Some((tag.as_str(), fields[*index]? as f32)));
                if let Some(writer) = self.writers.get_mut(*run) {
                    writer.scalars(metrics.step, values).map_err(io)?;
                }
            }
            Event::Diverged { run, .. } => {
                // Its loss came with the step's own event.
                if let Some(writer) = self.writers.get_mut(*run) {
                    writer.session_end(Ended::Failure).map_err(io)?;
                }
            }
            Event::Epoch { run, metrics } => {
                let step = u64::from(metrics.epoch) * experiment.batches_per_epoch() as u64;
                let values = metrics.values().map(|value| value as f32);
                if let Some(writer) = self.writers.get_mut(*run) {
                    let tags = self.epoch_tags.iter().map(String::as_str);
                    writer.scalars(step, tags.zip(values)).map_err(io)?;
                }
            }
            Event::EpochComplete { .. } => self.flush()?,
            Event::Finished => {
                for (run, writer) in self.writers.iter_mut().enumerate() {
                    if experiment.status(run) == Some(RunStatus::Finished) {
                        writer.session_end(Ended::Success).map_err(io)?;
                    }
                }
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Hands everything written so far to the system (also before the experiment is dropped
    /// unfinished).
    ///
    /// # Errors
    /// [`EngineError::Io`] naming the file.
    pub fn flush(&mut self) -> Result<(), EngineError> {
        for writer in &mut self.writers {
            writer.flush().map_err(io)?;
        }
        self.flushed = Instant::now();
        Ok(())
    }
}

/// A run's new event file in `folder`, opened with its hyperparameters and, when resumed, where it
/// restarts and whether it had ended.
fn open_run(
    folder: &Path,
    experiment: &Experiment,
    index: usize,
    run_config: &RunConfig,
    seed: u64,
) -> Result<EventWriter, EngineError> {
    let config = experiment.config();
    let mut writer = EventWriter::create(folder).map_err(io)?;
    let mut hparams = vec![
        ("run", HParam::Text(run_config.name.clone())),
        (
            "optimizer",
            HParam::Text(run_config.optimizer.kind().name().into()),
        ),
        ("model", HParam::Text(config.model.name().into())),
        ("batch_size", HParam::Number(config.batch_size as f64)),
        ("epochs", HParam::Number(f64::from(config.epochs))),
        ("seed", HParam::Number(seed as f64)),
    ];
    let optimizer = hyperparameters(run_config.optimizer);
    hparams.extend(optimizer.iter().filter_map(|(name, value)| {
        let value = match value {
            serde_json::Value::Number(n) => HParam::Number(n.as_f64()?),
            serde_json::Value::Bool(b) => HParam::Bool(*b),
            serde_json::Value::String(s) => HParam::Text(s.clone()),
            _ => return None,
        };
        Some((name.as_str(), value))
    }));
    writer
        .session_start(&run_config.name, hparams)
        .map_err(io)?;
    let steps = experiment.steps(index);
    if steps > 0 {
        writer.restart(steps + 1).map_err(io)?;
    }
    match experiment.status(index) {
        None | Some(RunStatus::Training) => {}
        Some(RunStatus::Finished) => writer.session_end(Ended::Success).map_err(io)?,
        Some(RunStatus::Diverged { .. }) => writer.session_end(Ended::Failure).map_err(io)?,
    }
    writer.flush().map_err(io)?;
    Ok(writer)
}

/// The first `version-N` folder (N from 0) that `dir` does not hold yet: a new experiment's own
/// TensorBoard folder under one that an interactive user keeps, as Lightning numbers its runs.
pub fn next_version(dir: &Path) -> std::path::PathBuf {
    (0_u64..)
        .map(|n| dir.join(format!("version-{n}")))
        .find(|folder| !folder.exists())
        .unwrap_or_else(|| dir.to_owned())
}

/// Whether `folder` holds an event file.
fn holds_events(folder: &Path) -> bool {
    std::fs::read_dir(folder)
        .is_ok_and(|entries| entries.flatten().any(|entry| is_event_file(&entry.path())))
}

/// Each configured run's folder name under the TensorBoard folder: its name, where characters a
/// folder name cannot hold safely become `_`; two runs whose names then clash get their position
/// appended.
fn folder_names(config: &ExperimentConfig) -> Vec<String> {
    let names: Vec<String> = config
        .runs
        .iter()
        .map(|run| folder_name(&run.name))
        .collect();
    names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            if names.iter().filter(|other| *other == name).count() > 1 {
                format!("{name}-{}", index + 1)
            } else {
                name.clone()
            }
        })
        .collect()
}

/// `name` as one folder name: letters, digits, spaces and `-_.=+,` kept, anything else `_`, and
/// never `.` or `..`.
fn folder_name(name: &str) -> String {
    let kept: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " -_.=+,".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if kept.trim_matches('.').is_empty() {
        kept.replace('.', "_")
    } else {
        kept
    }
}

fn io(err: WriteError) -> EngineError {
    EngineError::Io {
        path: err.path,
        source: err.source,
    }
}

#[cfg(test)]
mod tests {
    use super::{folder_name, next_version};

    #[test]
    fn each_experiment_gets_the_next_free_version() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(
            next_version(dir.path()),
            dir.path().join("version-0"),
            "the first"
        );
        std::fs::create_dir(dir.path().join("version-0")).expect("made");
        std::fs::create_dir(dir.path().join("version-2")).expect("made");
        assert_eq!(
            next_version(dir.path()),
            dir.path().join("version-1"),
            "the first free"
        );
    }

    #[test]
    fn run_names_become_safe_folder_names() {
        assert_eq!(
            folder_name("adam lr=0.01"),
            "adam lr=0.01",
            "kept as written"
        );
        assert_eq!(folder_name("../etc/x"), ".._etc_x", "no separators");
        assert_eq!(folder_name(".."), "__", "not the parent folder");
        assert_eq!(folder_name("a\\b:c"), "a_b_c", "nor Windows' separators");
    }
}
