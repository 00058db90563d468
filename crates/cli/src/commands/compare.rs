//! `stepwise compare`: train several optimizers side by side and write the results, plots and a
//! ranked report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use stepwise_engine::output;
use stepwise_engine::{
    DeviceChoice, EngineError, Event, Experiment, ExperimentConfig, Layers, PRESETS, Placement,
    RunHistory, RunStatus, TensorBoard,
    checkpoint::{self, Checkpoint},
    findings, prepare_gpu,
};
use stepwise_gpu::Gpu;
use stepwise_model::Arch;

use super::Error;
use super::data::{DirArg, data_dir_to_read};
use super::progress::Progress;
use crate::report;

/// Train several optimizers side by side (same initial weights, same batches) and rank them.
///
/// Example: stepwise compare --preset seed-optimizers --quick --seeds 3
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A shipped preset: seed-optimizers, seed-lr-sensitivity or seed-weight-decay.
    #[arg(long)]
    preset: Option<String>,
    /// The laptop scale: the [quick] table of the preset or config file (a small ResNet on a subset
    /// of the data for a few epochs).
    #[arg(long)]
    quick: bool,
    /// A TOML file: overrides the preset's values, or is a whole experiment by itself (a
    /// results folder's config.toml is one).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output folder [default: results/PRESET or results/FILE-STEM, with -quick for --quick].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Where to train: auto (every hardware GPU wgpu finds, else the CPU), cpu, gpu (the default
    /// adapter) or gpu:N (the adapter listed N-th). Several, comma-separated, deal the runs over
    /// them [default: the configuration's devices, else auto].
    #[arg(long, value_name = "DEVICES", value_delimiter = ',')]
    device: Option<Vec<DeviceChoice>>,
    /// Continue the experiment in DIR from its last checkpoint, with its configuration and on the
    /// data it was trained on.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["preset", "quick", "config", "out", "force"])]
    resume: Option<PathBuf>,
    /// Replace the results of another experiment in the output folder.
    #[arg(long)]
    force: bool,
    /// Print the resolved configuration (every default written out, as config.toml would hold
    /// it) and exit without training.
    #[arg(long, conflicts_with = "resume")]
    dry_run: bool,
    /// Also write TensorBoard event files as training goes: a TensorBoard run per run and seed,
    /// every per-step and per-epoch metric, the hyperparameters (HParams tab). DIR holds one
    /// experiment [default: the output folder's tensorboard/]. Watch with: tensorboard --logdir DIR
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    tensorboard: Option<Option<PathBuf>>,
    /// The command that continues this experiment when it stops early, where it is not
    /// `compare --resume` (a sweep's cell).
    #[arg(skip)]
    again: Option<String>,
    /// Epochs (overrides preset and config file).
    #[arg(long)]
    epochs: Option<u32>,
    /// Images per step.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Seed of the initial weights and batch order (the first seed, with --seeds).
    #[arg(long)]
    seed: Option<u64>,
    /// Train every run at N seeds (from --seed, default 0, upwards): the runs of a seed share
    /// their initial weights and batch order, and the report compares them seed by seed.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    seeds: Option<u32>,
    /// The network.
    #[arg(long, value_enum)]
    model: Option<Arch>,
    /// Train on the first N training images.
    #[arg(long, value_name = "N")]
    train_images: Option<usize>,
    /// Evaluate on the first N test images.
    #[arg(long, value_name = "N")]
    test_images: Option<usize>,
    /// CIFAR-10 folder, which must exist [default: the platform cache folder's stepwise/cifar10];
    /// the shipped sample is used when no data set is installed there.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// `--tensorboard`'s folder inside the output folder, when it names none.
const TENSORBOARD_DIR: &str = "tensorboard";

/// Runs the command.
pub fn run(args: &CompareArgs) -> Result<(), Error> {
    // Everything that can be refused is checked before anything in the output folder changes.
    let (dir, layers, resumed_lock) = match &args.resume {
        Some(dir) => {
            if !dir.join(checkpoint::FILE_NAME).is_file() {
                return Err(Error::Usage(format!(
                    "--resume {}: no {} there to continue from",
                    dir.display(),
                    checkpoint::FILE_NAME
                )));
            }
            if args.overrides()?.is_some() {
                return Err(Error::Usage(
                    "--resume continues an experiment with its own configuration; drop --epochs, --batch-size, --seed, --seeds, --model, --train-images and --test-images".into(),
                ));
            }
            // Before the checkpoint is read: a second resume of the same folder waits for none.
            let lock = hold(dir, "stepwise compare --resume")?;
            (dir.clone(), None, Some(lock))
        }
        None => {
            let layers = args.layers()?;
            let config = layers
                .resolve()
                .map_err(|err| Error::Usage(err.to_string()))?;
            if args.dry_run {
                let text = config
                    .to_toml()
                    .map_err(|err| Error::Failed(err.to_string()))?;
                print!("{text}");
                return Ok(());
            }
            let dir = args.out.clone().unwrap_or_else(|| default_out(args));
            experiment_files(&dir, args.force)?;
            (dir, Some(config), None)
        }
    };
    // The checkpoint first, where it resumes: where to train is its configuration's choice too.
    let (config, saved) = match layers {
        Some(config) => (config, None),
        None => {
            let saved = Checkpoint::read(&dir.join(checkpoint::FILE_NAME)).map_err(failed)?;
            refuse_edits(&saved, &dir)?;
            (saved.config().clone(), Some(saved))
        }
    };
    let (placement, gpu) = choose_placement(&config.devices_or(args.device.as_deref()))?;
    let data_dir = data_dir_to_read(
        &DirArg {
            dir: args.data_dir.clone(),
        },
        "--data-dir",
    )?;
    let load = |sample: bool| {
        let data = if sample {
            stepwise_data::load_sample(&data_dir)
        } else {
            stepwise_data::load_or_sample(&data_dir)
        };
        data.map_err(|err| Error::Failed(err.to_string()))
    };
    let mut experiment = match saved {
        None => Experiment::new(config, load(false)?, placement).map_err(failed)?,
        Some(saved) => {
            // On the data it was trained on: the sample stays the sample after an installation.
            let data = load(saved.trained_on_sample())?;
            Experiment::resume_from(saved, data, placement).map_err(failed)?
        }
    };
    if let Some(gpu) = &gpu {
        pollster::block_on(prepare_gpu(experiment.config(), gpu)).map_err(failed)?;
    }
    // One writer per folder, for as long as this command runs; a new experiment's folder is
    // checked again under the lock, in case another writer filled it meanwhile.
    let (_lock, replaced) = match resumed_lock {
        Some(lock) => (lock, Vec::new()),
        None => {
            let lock = hold(&dir, "stepwise compare")?;
            (lock, experiment_files(&dir, args.force)?)
        }
    };
    // Before the output folder changes: a TensorBoard folder of another experiment is refused.
    let board = open_tensorboard(args, &dir, &experiment, !replaced.is_empty())?;
    replace_out(&dir, &replaced)?;
    let _log = start_log(&dir)?;
    describe(&experiment, &dir);
    let mut board = board.map(|(at, board)| {
        eprintln!(
            "tensorboard: {} (watch: tensorboard --logdir {0})",
            at.display()
        );
        board
    });
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                // A second Ctrl-C (or SIGTERM, SIGHUP): the user wants out now.
                std::process::exit(130);
            }
        })
        .map_err(|err| Error::Failed(format!("cannot handle Ctrl-C and SIGTERM: {err}")))?;
    }
    let finished = train(&mut experiment, &dir, &stop, board.as_mut())?;
    let results = output::write(&dir, &experiment).map_err(failed)?;
    let histories: Vec<RunHistory> = (0..experiment.run_count())
        .map(|r| experiment.history(r).cloned().unwrap_or_default())
        .collect();
    let statuses: Vec<RunStatus> = (0..experiment.run_count())
        .map(|r| experiment.status(r).unwrap_or(RunStatus::Training))
        .collect();
    let notes = findings::notes(experiment.config(), &histories, &statuses);
    report::write(&dir, &results, &histories, &notes)?;
    print!("{}", report::summary(&results));
    if finished {
        eprintln!("report: {}", dir.join(report::REPORT_FILE).display());
        Ok(())
    } else if dir.join(checkpoint::FILE_NAME).is_file() {
        let again = args
            .again
            .clone()
            .unwrap_or_else(|| format!("stepwise compare --resume {}", dir.display()));
        Err(Error::Stopped(format!(
            "stopped after {} of {} epochs; everything so far is in {}. Continue with: {again}",
            results.epochs_completed,
            results.epochs,
            dir.display(),
        )))
    } else {
        let again = args.again.as_ref().map_or_else(
            || "Start again with --force to replace them".to_owned(),
            |again| format!("Start again with: {again}"),
        );
        Err(Error::Stopped(format!(
            "stopped before the first epoch ended, so there is no checkpoint to resume from; the steps so far are in {}. {again}",
            dir.display()
        )))
    }
}

/// `--tensorboard`'s folder and writer, if asked for. Replacing an experiment
/// (`replacing`) removes the old one's runs from the default folder first.
fn open_tensorboard(
    args: &CompareArgs,
    dir: &Path,
    experiment: &Experiment,
    replacing: bool,
) -> Result<Option<(PathBuf, TensorBoard)>, Error> {
    let default = dir.join(TENSORBOARD_DIR);
    let remove_replaced = || match replacing && default.is_dir() {
        true => std::fs::remove_dir_all(&default)
            .map_err(|err| Error::Failed(format!("{}: {err}", default.display()))),
        false => Ok(()),
    };
    let at = args
        .tensorboard
        .as_ref()
        .map(|chosen| chosen.clone().unwrap_or_else(|| default.clone()));
    // The replaced runs go before new ones are written in their place; from elsewhere, only once
    // the new folder is accepted.
    if at.as_ref() == Some(&default) {
        remove_replaced()?;
    }
    let board = at
        .map(|at| match TensorBoard::create(&at, experiment) {
            Ok(board) => Ok((at, board)),
            Err(err @ EngineError::TensorBoardInUse { .. }) => {
                Err(Error::Usage(format!("--tensorboard {err}")))
            }
            Err(other) => Err(failed(other)),
        })
        .transpose()?;
    remove_replaced()?;
    Ok(board)
}

/// Takes the output folder's lock for this command; another writer there is a usage error.
fn hold(dir: &Path, holder: &str) -> Result<output::FolderLock, Error> {
    output::FolderLock::acquire(dir, holder).map_err(|err| match err {
        EngineError::Busy { .. } => Error::Usage(err.to_string()),
        other => failed(other),
    })
}

/// Refuses to resume when the folder's `config.toml` was edited since the checkpoint: the edits
/// would be ignored, then overwritten.
fn refuse_edits(saved: &Checkpoint, dir: &Path) -> Result<(), Error> {
    let file = dir.join(output::CONFIG_FILE);
    let edits = saved.config_edits(&file).map_err(failed)?;
    if edits.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{} was edited since the last checkpoint ({}); --resume continues the experiment as it was \
         checkpointed, so put the file back as it was, or train the edited experiment in another \
         folder: stepwise compare --config {} --out NEW-FOLDER",
        file.display(),
        edits.join(", "),
        file.display()
    )))
}

impl CompareArgs {
    /// A sweep's cell: the experiment of the folder `dir` (its `config.toml`), into `dir` itself,
    /// resumed from its checkpoint when `resume`, else started over.
    pub fn cell(
        dir: &Path,
        resume: bool,
        device: Option<Vec<DeviceChoice>>,
        data_dir: Option<PathBuf>,
        again: String,
    ) -> Self {
        Self {
            again: Some(again),
            preset: None,
            quick: false,
            config: (!resume).then(|| dir.join(output::CONFIG_FILE)),
            out: (!resume).then(|| dir.to_path_buf()),
            device,
            resume: resume.then(|| dir.to_path_buf()),
            force: !resume,
            dry_run: false,
            tensorboard: None,
            epochs: None,
            batch_size: None,
            seed: None,
            seeds: None,
            model: None,
            train_images: None,
            test_images: None,
            data_dir,
        }
    }

    /// The flags that override configuration values, as TOML keys; `None` when there are none.
    ///
    /// # Errors
    /// [`Error::Usage`] for a number TOML cannot hold (its integers are 64-bit signed).
    fn overrides(&self) -> Result<Option<toml::Table>, Error> {
        let mut table = toml::Table::new();
        let mut set = |key: &str, value: Option<toml::Value>| {
            if let Some(value) = value {
                table.insert(key.into(), value);
            }
        };
        let integer = |flag: &str, value: Option<u64>| -> Result<Option<toml::Value>, Error> {
            value
                .map(|v| {
                    i64::try_from(v)
                        .map(toml::Value::from)
                        .map_err(|_| Error::Usage(format!("--{flag} {v}: at most {}", i64::MAX)))
                })
                .transpose()
        };
        set("epochs", self.epochs.map(|v| i64::from(v).into()));
        set(
            "batch_size",
            integer("batch-size", self.batch_size.map(|v| v as u64))?,
        );
        if self.seed.is_some() || self.seeds.is_some() {
            let first = self.seed.unwrap_or(0);
            let count = self.seeds.unwrap_or(1);
            let seeds = ExperimentConfig::seeds_from(first, u64::from(count))
                .ok_or_else(|| Error::Usage(format!("--seed {first} --seeds {count}: too large")))?
                .into_iter()
                .map(|seed| {
                    i64::try_from(seed)
                        .map(toml::Value::from)
                        .map_err(|_| Error::Usage(format!("--seed {seed}: at most {}", i64::MAX)))
                })
                .collect::<Result<Vec<toml::Value>, Error>>()?;
            set("seeds", Some(toml::Value::Array(seeds)));
        }
        set("model", self.model.map(|m| m.name().into()));
        set(
            "train_images",
            integer("train-images", self.train_images.map(|v| v as u64))?,
        );
        set(
            "test_images",
            integer("test-images", self.test_images.map(|v| v as u64))?,
        );
        Ok((!table.is_empty()).then_some(table))
    }

    fn layers(&self) -> Result<Layers, Error> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|err| Error::Usage(format!("--config {}: {err}", path.display())))?;
                Some((path.display().to_string(), text))
            }
            None => None,
        };
        if self.preset.is_none() && file.is_none() {
            return Err(Error::Usage(format!(
                "name a --preset ({}) or a --config FILE",
                PRESETS.map(|(name, _)| name).join(", ")
            )));
        }
        Ok(Layers {
            preset: self.preset.clone(),
            quick: self.quick,
            file,
            flags: self.overrides()?.unwrap_or_default(),
        })
    }
}

fn default_out(args: &CompareArgs) -> PathBuf {
    let name = match (&args.preset, &args.config) {
        (Some(preset), _) => preset.clone(),
        (None, Some(file)) => file
            .file_stem()
            .map_or("experiment".into(), |s| s.to_string_lossy().into_owned()),
        (None, None) => "experiment".into(),
    };
    let suffix = if args.quick { "-quick" } else { "" };
    Path::new("results").join(format!("{name}{suffix}"))
}

/// The files of another experiment in `dir`, to be replaced: refused unless `force`.
fn experiment_files(dir: &Path, force: bool) -> Result<Vec<&'static str>, Error> {
    let existing = output::files_replaced(dir, &[report::REPORT_FILE])
        .map_err(|err| Error::Usage(format!("--out {err}")))?;
    if !existing.is_empty() && !force {
        return Err(Error::Usage(format!(
            "{} holds another experiment ({}); continue it with --resume {}, or replace it with --force",
            dir.display(),
            existing.join(", "),
            dir.display()
        )));
    }
    Ok(existing)
}

/// Creates `dir` and removes the `replaced` experiment's files (exactly those, and its plots).
fn replace_out(dir: &Path, replaced: &[&str]) -> Result<(), Error> {
    let at = |path: &Path| {
        let path = path.to_path_buf();
        move |err: std::io::Error| Error::Failed(format!("{}: {err}", path.display()))
    };
    std::fs::create_dir_all(dir).map_err(at(dir))?;
    for name in replaced {
        let path = dir.join(name);
        std::fs::remove_file(&path).map_err(at(&path))?;
    }
    if !replaced.is_empty() {
        report::remove_plots(dir)?;
    }
    Ok(())
}

/// Where to train, and the default GPU when a run trains on a GPU (to check the kernels on);
/// says which and why.
fn choose_placement(choices: &[DeviceChoice]) -> Result<(Placement, Option<Gpu>), Error> {
    let gpu = super::default_gpu(choices)?;
    // The list where it can matter: `gpu:N`, or `auto` with a hardware GPU (there may be more).
    // Not otherwise: listing probes every graphics API, GL's EGL among them, which prints an
    // error on a headless machine.
    let hardware = gpu.as_ref().is_some_and(|gpu| !gpu.adapter.is_software());
    let listed = if choices.iter().any(|&choice| {
        matches!(choice, DeviceChoice::Listed(_)) || (choice == DeviceChoice::Auto && hardware)
    }) {
        Gpu::list_adapters()
    } else {
        Vec::new()
    };
    let (placement, reasons) =
        stepwise_engine::place(choices, gpu.as_ref().map(|gpu| &gpu.adapter), &listed)
            .map_err(|err| Error::Failed(err.to_string()))?;
    match reasons.as_slice() {
        [reason] => eprintln!("device: {reason}"),
        _ => {
            eprintln!("devices: the runs are dealt over {placement}, in turn");
            for (compute, reason) in placement.devices().iter().zip(&reasons) {
                eprintln!("  {compute}: {reason}");
            }
        }
    }
    let gpu = gpu.filter(|_| placement.uses_gpu());
    Ok((placement, gpu))
}

/// Sends the engine's tracing to `DIR/log.txt`; the guard keeps it until the command ends.
fn start_log(dir: &Path) -> Result<tracing::dispatcher::DefaultGuard, Error> {
    let path = dir.join(report::LOG_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|err| Error::Failed(format!("{}: {err}", path.display())))?;
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    Ok(tracing::subscriber::set_default(subscriber))
}

fn describe(experiment: &Experiment, dir: &Path) {
    let config = experiment.config();
    let source = experiment.source();
    let data = match source {
        stepwise_data::Source::Installed(_) => source.to_string(),
        stepwise_data::Source::Sample { .. } => {
            format!("{source}; `stepwise data download` installs it")
        }
    };
    let seeds = match config.seeds.len() {
        1 => String::new(),
        n => format!(" x {n} seeds"),
    };
    // Short lines: a terminal of 80 columns, a notebook's cell.
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    eprintln!(
        "{} on {}: {}{seeds}, {}",
        config.model,
        experiment.placement(),
        plural(config.runs.len(), "run"),
        plural(config.epochs as usize, "epoch"),
    );
    eprintln!(
        "  an epoch: {} images in {} of {}; tested on {} images",
        experiment.train_images(),
        plural(experiment.batches_per_epoch(), "step"),
        config.batch_size,
        experiment.test_images(),
    );
    eprintln!("output: {}", dir.display());
    eprintln!("data: {data}");
}

/// Drives the experiment to its end or to Ctrl-C, checkpointing and writing results after every
/// epoch, and TensorBoard's files as events arrive. Returns whether it finished. One bar per
/// configured run counts the steps of all its seeds.
fn train(
    experiment: &mut Experiment,
    dir: &Path,
    stop: &AtomicBool,
    mut board: Option<&mut TensorBoard>,
) -> Result<bool, Error> {
    let mut progress = Progress::new(experiment)?;
    while !experiment.is_finished() {
        let stopping = stop.load(Ordering::SeqCst);
        // When stopping, the steps still in flight belong in the results written next.
        let events = if stopping {
            pollster::block_on(experiment.settle())
        } else {
            pollster::block_on(experiment.advance())
        }
        .map_err(failed)?;
        if let Some(board) = board.as_deref_mut() {
            board.record(experiment, &events).map_err(failed)?;
            if stopping {
                board.flush().map_err(failed)?;
            }
        }
        if stopping {
            progress.end(false);
            return Ok(false);
        }
        for event in events {
            match event {
                Event::Step { run, metrics } => progress.step(run, &metrics),
                Event::Diverged { run, step, loss } => progress.diverged(run, step, loss),
                Event::Epoch { run, metrics } => progress.epoch(run, &metrics),
                Event::EpochComplete { epoch } => {
                    pollster::block_on(
                        experiment.save_checkpoint(&dir.join(checkpoint::FILE_NAME)),
                    )
                    .map_err(failed)?;
                    output::write(dir, experiment).map_err(failed)?;
                    progress.epoch_complete(epoch);
                }
                Event::Finished => {}
            }
        }
    }
    progress.end(true);
    Ok(true)
}

fn failed(err: EngineError) -> Error {
    Error::Failed(err.to_string())
}
