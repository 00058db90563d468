//! # stepwise-engine
//!
//! Trains several runs of one ResNet side by side, once per seed; the runs of a seed start from the
//! **same initial weights** and see the **same batch order**, so that what differs between them is
//! the optimizer alone, and every comparison is paired by seed. The CLI drives it from
//! a thread, the app from a thread on the desktop and an async task in the browser: the caller
//! advances it one unit of work at a time ([`Experiment::advance`]) and receives [`Event`]s.
//!
//! - [`ExperimentConfig`]: presets (TOML in `presets/`), config files and flags, resolved by
//!   [`Layers`] with that precedence;
//! - [`DeviceChoice`] and [`place`]: where to train (*auto* takes every hardware GPU, else the
//!   CPU), and why; a [`Placement`] deals the runs over several devices;
//! - [`Experiment`]: the state machine, on the GPU (burn-wgpu, fused kernels) or the CPU (flex,
//!   reference optimizers); per-step [`StepMetrics`], per-epoch [`EpochMetrics`], divergence;
//! - [`checkpoint`]: the whole experiment in one safetensors file, written atomically;
//! - [`output`]: `config.toml`, `metrics.csv` and `results.json`; [`TensorBoard`]: the same
//!   metrics as TensorBoard event files, written as training goes;
//! - [`standings`], [`stats`] and [`findings`]: the runs ranked over their seeds, what is noise,
//!   and what the data shows;
//! - [`sweep`]: an experiment and axes expanded into cells that run anywhere and merge back.

pub mod checkpoint;
mod config;
mod device;
mod experiment;
pub mod findings;
mod metrics;
pub mod output;
mod probe;
pub mod standings;
pub mod stats;
pub mod sweep;
pub mod tensorboard;

pub use config::{
    ConfigError, DEFAULT_DIVERGENCE_LOSS, ExperimentConfig, Layers, Location, PRESETS, RunConfig,
    RunSpec, preset_text,
};
pub use device::{Adapter, Compute, DeviceChoice, DeviceError, Placement, Reason, place};
pub use experiment::{EVAL_BATCH, Event, Experiment, prepare_gpu};
pub use metrics::{
    EPOCH_COLUMNS, EpochMetrics, RunHistory, RunStatus, STEP_COLUMNS, Smoothing, Spread,
    StepMetrics,
};
pub use probe::STEP_SIZE_SAMPLE;
pub use tensorboard::TensorBoard;

use thiserror::Error;

/// What can stop an experiment.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The model cannot be built.
    #[error(transparent)]
    Model(#[from] stepwise_model::ModelError),
    /// A run's optimizer or the schedule is invalid.
    #[error(transparent)]
    Optimizer(#[from] stepwise_optim::ConfigError),
    /// No images to train or test on.
    #[error("no data: {0}")]
    NoData(String),
    /// The device did not return results.
    #[error("reading results back from the device failed: {0}")]
    Readback(String),
    /// A run's fused optimizer kernel does not compile on the GPU.
    #[error("run '{run}': {source}")]
    Kernel {
        /// The run.
        run: String,
        /// The error, naming the shader.
        source: stepwise_gpu::GpuError,
    },
    /// A checkpoint cannot be read or written, or does not fit this experiment.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Another process is writing an experiment into the folder.
    #[error(
        "{dir} is in use by another Stepwise process ({holder}); wait for it to end, or choose \
         another folder"
    )]
    Busy {
        /// The output folder.
        dir: std::path::PathBuf,
        /// Who holds it, as its lock file says.
        holder: String,
    },
    /// A TensorBoard folder already holds event files for one of a new experiment's runs.
    #[error(
        "{dir} already holds TensorBoard event files (another experiment's run of this name); \
         choose another TensorBoard folder, one per experiment, or remove them"
    )]
    TensorBoardInUse {
        /// The run's folder.
        dir: std::path::PathBuf,
    },
    /// An output file cannot be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
}
