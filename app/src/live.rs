//! A live experiment: the engine advanced one unit of work at a time in the background (a thread
//! on the desktop, a browser task on the web), its events passed to the UI through a channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use std::path::PathBuf;
use stepwise_data::Cifar10;

use stepwise_engine::{Compute, Event, Experiment, ExperimentConfig, TensorBoard, prepare_gpu};
use stepwise_gpu::Gpu;

use crate::task::{self, Background, Reporter};

const RUN: u8 = 0;
const PAUSE: u8 = 1;
const STOP: u8 = 2;

/// The images being loaded: read from disk on the desktop, fetched from beside the page on the web.
#[cfg(not(target_arch = "wasm32"))]
pub type Loading = std::pin::Pin<Box<dyn Future<Output = Result<Cifar10, String>> + Send>>;
/// The images being loaded: read from disk on the desktop, fetched from beside the page on the web.
#[cfg(target_arch = "wasm32")]
pub type Loading = std::pin::Pin<Box<dyn Future<Output = Result<Cifar10, String>>>>;

/// Loads the images, in the background (the full data set takes a moment to read).
pub type Loader = Box<dyn FnOnce() -> Loading + Send>;

/// What the background work reports.
pub enum Update {
    /// The experiment is built and about to train.
    Started {
        /// Training steps per epoch.
        batches_per_epoch: usize,
        /// Where the images came from, for the status line.
        data: String,
    },
    /// Events of one or more units of work.
    Events(Vec<Event>),
    /// The experiment could not be built or failed while training.
    Failed(String),
    /// It has finished or was stopped; the experiment is handed back (to save its results).
    Ended(Box<Experiment>),
}

/// Where a live experiment stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Loading data and building the models.
    Starting,
    /// Training.
    Running,
    /// Waiting for resume.
    Paused,
    /// Asked to stop after the current unit of work.
    Stopping,
    /// Over (finished or stopped).
    Ended,
    /// Failed, with the reason.
    Failed(String),
}

/// The UI's handle on a live experiment.
pub struct Session {
    control: Arc<AtomicU8>,
    /// The background work; `None` when it could not start.
    updates: Option<Background<Update>>,
    state: State,
}

impl Session {
    /// Starts `config` on `compute` in the background, with the images `load` returns; `repaint`
    /// wakes the UI when something arrives. On the GPU, `gpu` (burn's device) compiles the runs'
    /// kernels first, so that a shader error names the shader. With a `tensorboard` folder, the
    /// runs are written there as TensorBoard event files as they train.
    pub fn start(
        config: ExperimentConfig,
        load: Loader,
        (compute, gpu): (Compute, Option<Gpu>),
        tensorboard: Option<PathBuf>,
        repaint: egui::Context,
    ) -> Self {
        let control = Arc::new(AtomicU8::new(RUN));
        let work_control = Arc::clone(&control);
        let work = |report| {
            drive(
                config,
                load,
                (compute, gpu),
                tensorboard,
                work_control,
                report,
            )
        };
        let (updates, state) = match Background::spawn("stepwise-engine", Some(repaint), work) {
            Ok(updates) => (Some(updates), State::Starting),
            Err(reason) => (None, State::Failed(reason)),
        };
        Self {
            control,
            updates,
            state,
        }
    }

    /// Where it stands.
    pub const fn state(&self) -> &State {
        &self.state
    }

    /// Pauses after the current unit of work.
    pub fn pause(&mut self) {
        if self.state == State::Running {
            self.control.store(PAUSE, Ordering::Relaxed);
            self.state = State::Paused;
        }
    }

    /// Resumes a paused experiment.
    pub fn resume(&mut self) {
        if self.state == State::Paused {
            self.control.store(RUN, Ordering::Relaxed);
            self.state = State::Running;
        }
    }

    /// Stops after the current unit of work; what was recorded is kept.
    pub fn stop(&mut self) {
        if matches!(self.state, State::Starting | State::Running | State::Paused) {
            self.control.store(STOP, Ordering::Relaxed);
            self.state = State::Stopping;
        }
    }

    /// Everything that arrived since the last call, in order.
    pub fn poll(&mut self) -> Vec<Update> {
        let Some(updates) = &mut self.updates else {
            return Vec::new();
        };
        let (arrived, over) = updates.take();
        for update in &arrived {
            match update {
                Update::Started { .. } if self.state == State::Starting => {
                    self.state = State::Running;
                }
                Update::Failed(reason) => self.state = State::Failed(reason.clone()),
                Update::Ended(_) if !matches!(self.state, State::Failed(_)) => {
                    self.state = State::Ended;
                }
                _ => {}
            }
        }
        if over && !matches!(self.state, State::Ended | State::Failed(_)) {
            self.state = State::Failed("the training task ended unexpectedly".into());
        }
        arrived
    }

    /// Whether the background work is still going.
    pub const fn is_active(&self) -> bool {
        matches!(
            self.state,
            State::Starting | State::Running | State::Paused | State::Stopping
        )
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A session replaced or closed stops its work rather than train unseen.
        self.control.store(STOP, Ordering::Relaxed);
    }
}

/// The background work: build the experiment, then advance it until it ends or is stopped.
async fn drive(
    config: ExperimentConfig,
    load: Loader,
    (compute, gpu): (Compute, Option<Gpu>),
    tensorboard: Option<PathBuf>,
    control: Arc<AtomicU8>,
    report: Reporter<Update>,
) {
    let send = |update: Update| report.send(update);
    if let (Compute::GPU, Some(gpu)) = (compute, &gpu)
        && let Err(err) = prepare_gpu(&config, gpu).await
    {
        return send(Update::Failed(err.to_string()));
    }
    let data = match load().await {
        Ok(data) => data,
        Err(reason) => return send(Update::Failed(reason)),
    };
    let data_name = data.source.to_string();
    let mut experiment = match Experiment::new(config, data, compute) {
        Ok(experiment) => experiment,
        Err(err) => return send(Update::Failed(err.to_string())),
    };
    let board = tensorboard.map(|dir| TensorBoard::create(&dir, &experiment));
    let mut board = match board.transpose() {
        Ok(board) => board,
        Err(err) => return send(Update::Failed(err.to_string())),
    };
    send(Update::Started {
        batches_per_epoch: experiment.batches_per_epoch(),
        data: data_name,
    });
    while !experiment.is_finished() {
        let stopping = match control.load(Ordering::Relaxed) {
            STOP => true,
            PAUSE => {
                task::sleep(50).await;
                continue;
            }
            _ => false,
        };
        // When stopping, the steps still in flight belong in the results handed back.
        let events = if stopping {
            experiment.settle().await
        } else {
            experiment.advance().await
        };
        let recorded = events.and_then(|events| {
            if let Some(board) = &mut board {
                board.record(&experiment, &events)?;
                if stopping {
                    board.flush()?;
                }
            }
            Ok(events)
        });
        match recorded {
            Ok(events) => send(Update::Events(events)),
            Err(err) => {
                send(Update::Failed(err.to_string()));
                break;
            }
        }
        if stopping {
            break;
        }
        // On the web, let the browser draw and take input between units of work.
        #[cfg(target_arch = "wasm32")]
        task::yield_now().await;
    }
    send(Update::Ended(Box::new(experiment)));
}
