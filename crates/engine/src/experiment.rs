//! The experiment as a state machine its caller advances one unit of work at a time: one training
//! step of a group of runs, or one evaluation batch of a group (a group is one run, or on a native
//! CPU as many runs as there are threads, stepped side by side). A thread drives it on the desktop,
//! an async task in the browser; the only waits are the read-backs, and those are `async`.
//!
//! A training step's loss and measurements are read back one unit of work later: each step queues
//! its read-back behind its own work, and the next call queues the next steps before waiting for
//! it, so that a GPU always has work while the host waits. A divergence is therefore noticed when
//! the next unit of work is already queued: in an experiment of one run, after the diverged run's
//! next step (which is discarded, as its state is). A caller that stops early calls
//! [`Experiment::settle`] to record the steps still in flight.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::GradientsParams;
use burn::prelude::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use stepwise_data::{Augment, Batches, Cifar10, HostBatch, Images, Normalization, Source};
use stepwise_gpu::{FusedOptimizer, TensorState, TensorStep};
use stepwise_model::ResNet;
use web_time::Instant;

use crate::EngineError;
use crate::config::ExperimentConfig;
use crate::device::{Compute, Placement};
use crate::metrics::{EpochMetrics, RunHistory, RunStatus, StepMetrics};
use crate::probe::{ProbeLayout, Probes, STEP_SIZE_SAMPLE, Update};

/// Images per evaluation batch on native targets (see `eval_batch`).
pub const EVAL_BATCH: usize = 500;

/// Readies `gpu`, the adapter burn trains on, for `config` on a GPU: burn's kernel
/// tuning for this adapter is kept in the machine's cache ([`stepwise_gpu::tuning`], native
/// targets), and every run's fused optimizer kernel is compiled, so that a shader or pipeline error
/// names the run and the shader instead of reaching the first read as burn's error about a kernel
/// called `main`.
///
/// # Errors
/// [`EngineError::Kernel`].
pub async fn prepare_gpu(
    config: &ExperimentConfig,
    gpu: &stepwise_gpu::Gpu,
) -> Result<(), EngineError> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(path) = stepwise_gpu::tuning::keep_tuning_for(&gpu.adapter) {
        tracing::info!(path = %path.display(), "kernel tuning cache");
    }
    let mut checked = Vec::new();
    for run in &config.runs {
        // Runs of one optimizer family share a kernel: compile each once.
        let kernel = stepwise_gpu::kernel_for(&run.optimizer);
        if checked.contains(&kernel) {
            continue;
        }
        FusedOptimizer::new(run.optimizer)
            .check(gpu)
            .await
            .map_err(|source| EngineError::Kernel {
                run: run.name.clone(),
                source,
            })?;
        checked.push(kernel);
    }
    Ok(())
}

/// What one call to [`Experiment::advance`] produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A run took a training step.
    Step {
        /// Index of the run in the configuration.
        run: usize,
        /// What it measured.
        metrics: StepMetrics,
    },
    /// A run's loss diverged: it stops here; the others go on.
    Diverged {
        /// The run.
        run: usize,
        /// The step.
        step: u64,
        /// The loss (NaN, infinite, or above the threshold).
        loss: f32,
    },
    /// A run finished an epoch's training and evaluation.
    Epoch {
        /// The run.
        run: usize,
        /// The epoch's figures.
        metrics: EpochMetrics,
    },
    /// Every run has finished epoch `epoch` (from 1): the moment to checkpoint.
    EpochComplete {
        /// The epoch.
        epoch: u32,
    },
    /// Every run has finished or diverged.
    Finished,
}

/// One run's model, optimizer and record.
pub(crate) struct Run {
    /// Configuration, schedule and step count: each step's scalars are computed here, once.
    pub optimizer: stepwise_optim::Optimizer,
    /// `None` once diverged (its memory is released).
    pub model: Option<ResNet>,
    /// Optimizer state per float tensor of the model, in module order.
    pub states: Vec<Option<TensorState>>,
    /// Per float tensor, which elements of v̂ the median step size samples (made once).
    pub samples: Vec<Option<Tensor<1, Int>>>,
    pub status: RunStatus,
    pub history: RunHistory,
    pub epoch: EpochTally,
}

/// Running sums of the current epoch of one run.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EpochTally {
    loss_sum: f64,
    correct: f64,
    images: usize,
    seconds: f64,
}

// One `Phase` exists per experiment, moved out and back each step: boxing would only add
// allocations.
#[allow(clippy::large_enum_variant)]
enum Phase {
    /// Training, run `run` next, in rounds: each seed's runs step on that seed's next batch.
    Train {
        /// Each seed's batch order this epoch, in the order of the configuration's seeds.
        batches: Vec<Batches<Arc<Images>>>,
        /// The batch the runs of one seed are stepping on this round.
        current: Option<Current>,
        run: usize,
    },
    /// Evaluating a group of runs (of one place) on the test images, batch by batch.
    Eval {
        place: usize,
        group: Vec<Evaluation>,
        batches: Batches<Arc<Images>>,
        seconds: f64,
    },
    Done,
}

/// One run's evaluation in progress.
struct Evaluation {
    run: usize,
    /// The run's model in evaluation mode.
    model: ResNet,
    /// Summed loss and correct count so far, on the device.
    totals: Option<Tensor<1>>,
}

/// A training step queued on the device whose loss and measurements are on their way back.
struct InFlight {
    run: usize,
    images: usize,
    epoch: u32,
    step: stepwise_optim::Step,
    layout: Option<ProbeLayout>,
    values: Readback,
    /// Host time spent queueing it (its share of its group's).
    seconds: f64,
}

/// A read-back started when it is made and awaited later.
enum Readback {
    Started(Pin<Box<dyn Future<Output = Result<TensorData, burn::tensor::ExecutionError>> + Send>>),
    Done(Result<TensorData, burn::tensor::ExecutionError>),
}

impl Readback {
    /// Starts reading `tensor`: burn queues the copy behind the work that computes it when its
    /// read is first polled, so it is polled once here (with a waker that does nothing: the
    /// future registers the real one when it is awaited).
    fn start(tensor: Tensor<1>) -> Self {
        let mut read = Box::pin(tensor.into_data_async());
        match read.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(result) => Self::Done(result),
            Poll::Pending => Self::Started(read),
        }
    }

    async fn values(self) -> Result<Vec<f32>, EngineError> {
        let data = match self {
            Self::Started(read) => read.await,
            Self::Done(result) => result,
        };
        host_values(data)
    }
}

/// The batch the runs of one seed step on this round: on the host until the last place that needs
/// it has it, and on each place that has asked for it.
struct Current {
    /// The seed's index in the configuration.
    seed: usize,
    host: HostBatch,
    on: Vec<Option<Batch>>,
}

impl Current {
    fn new(seed: usize, host: HostBatch, places: usize) -> Self {
        Self {
            seed,
            host,
            on: (0..places).map(|_| None).collect(),
        }
    }

    /// The batch on place `place`'s training device, sent there the first time it is asked for:
    /// copied from the host while other places may still ask, moved to the last (with one device,
    /// always moved).
    fn on(&mut self, place: usize, device: &Device) -> &Batch {
        let waiting = self.on.iter().filter(|batch| batch.is_none()).count();
        let host = &mut self.host;
        self.on[place].get_or_insert_with(|| {
            // Each place is sent the batch once, so the last one takes what the others copied.
            let batch = if waiting == 1 {
                std::mem::take(host)
            } else {
                host.clone()
            };
            let n = batch.len();
            let (images, labels) = batch.into_tensors(device);
            (images, labels, n)
        })
    }
}

/// A device the experiment trains on, and what lives there.
struct Place {
    compute: Compute,
    /// The device evaluation runs on.
    device: Device,
    /// The same with autodiff, for training.
    train_device: Device,
    loss: CrossEntropyLoss,
    /// Runs that take their step on a batch together, in one unit of work.
    group_size: usize,
}

impl Place {
    fn new(compute: Compute) -> Self {
        let device = compute.device();
        Self {
            compute,
            loss: CrossEntropyLossConfig::new().init(&device.clone().autodiff()),
            train_device: device.clone().autodiff(),
            device,
            group_size: group_size(compute),
        }
    }
}

/// Several runs of one model trained side by side, once per seed, interleaved step by step: the
/// runs of one seed start from the same initial weights and step on the same batches. Runs are
/// numbered as [`ExperimentConfig::run_at`] orders them (seed by seed), and dealt over the
/// [`Placement`]'s devices in that order: each device's work is queued in turn, so that they
/// compute at the same time, and a round ends when the slowest has taken its step.
pub struct Experiment {
    config: ExperimentConfig,
    placement: Placement,
    /// One per device of the placement, in its order.
    places: Vec<Place>,
    train: Arc<Images>,
    test: Arc<Images>,
    source: Source,
    runs: Vec<Run>,
    /// Epochs every run has completed.
    epochs_done: u32,
    phase: Phase,
    /// The training steps queued last, until their values are back.
    in_flight: Vec<InFlight>,
    sample_stride: usize,
    /// When the experiment first started (RFC 3339, UTC), kept across resumes by the checkpoint.
    pub(crate) started_at: Option<String>,
}

impl Experiment {
    /// A new experiment on `data` (cut to the configured sizes), every run starting from the
    /// weights drawn from its seed, on its device of `placement`.
    ///
    /// # Errors
    /// [`EngineError`] for an invalid configuration or empty data.
    pub fn new(
        config: ExperimentConfig,
        data: Cifar10,
        placement: impl Into<Placement>,
    ) -> Result<Self, EngineError> {
        let placement = placement.into();
        let runs = Self::fresh_runs(&config, &placement)?;
        Self::assemble(config, data, placement, runs, 0)
    }

    pub(crate) fn assemble(
        mut config: ExperimentConfig,
        data: Cifar10,
        placement: Placement,
        runs: Vec<Run>,
        epochs_done: u32,
    ) -> Result<Self, EngineError> {
        config.validate()?;
        let Cifar10 {
            mut train,
            mut test,
            source,
        } = data;
        // More images asked for than there are: all of them, and the configuration (which results
        // and checkpoints record) says how many that was.
        if let Some(count) = &mut config.train_images {
            train.truncate(*count);
            *count = train.len();
        }
        if let Some(count) = &mut config.test_images {
            test.truncate(*count);
            *count = test.len();
        }
        if train.is_empty() || test.is_empty() {
            return Err(EngineError::NoData(format!(
                "{} training and {} test images",
                train.len(),
                test.len()
            )));
        }
        // Every run has the same model; a resumed run that diverged has none left.
        let params = runs
            .iter()
            .find_map(|run| run.model.as_ref())
            .map_or(1, ResNet::trainable_params);
        let mut experiment = Self {
            sample_stride: params.div_ceil(STEP_SIZE_SAMPLE).max(1),
            config,
            places: placement
                .devices()
                .iter()
                .copied()
                .map(Place::new)
                .collect(),
            placement,
            train: Arc::new(train),
            test: Arc::new(test),
            source,
            runs,
            epochs_done,
            phase: Phase::Done,
            in_flight: Vec::new(),
            started_at: crate::output::now(),
        };
        experiment.phase = experiment.start_epoch();
        Ok(experiment)
    }

    /// Every run at the initial weights, on its training device of `placement`.
    pub(crate) fn fresh_runs(
        config: &ExperimentConfig,
        placement: &Placement,
    ) -> Result<Vec<Run>, EngineError> {
        let architecture = config.model.config(stepwise_data::CLASSES.len());
        // A model built per run from its seed: the runs of a seed start from the same weights, in
        // buffers and batch-norm statistics of their own (a cloned module would share its running
        // statistics, which burn keeps behind a shared lock, and the fused step writes weights in
        // place).
        (0..config.run_count())
            .filter_map(|index| config.run_at(index))
            .enumerate()
            .map(|(index, (run, seed))| {
                let device = placement.of_run(index).device().autodiff();
                let model = ResNet::new(&architecture, seed, &device)?;
                let optimizer =
                    stepwise_optim::Optimizer::new(run.optimizer, config.schedule.clone())?;
                Ok(Run::new(optimizer, model))
            })
            .collect()
    }

    /// The configuration.
    pub const fn config(&self) -> &ExperimentConfig {
        &self.config
    }

    /// Where its runs compute.
    pub const fn placement(&self) -> &Placement {
        &self.placement
    }

    /// Where the images came from.
    pub const fn source(&self) -> &Source {
        &self.source
    }

    /// Training images per epoch.
    pub fn train_images(&self) -> usize {
        self.train.len()
    }

    /// Test images per evaluation.
    pub fn test_images(&self) -> usize {
        self.test.len()
    }

    /// The training images, cut to the configured count.
    pub fn train_set(&self) -> &Images {
        &self.train
    }

    /// The test images, cut to the configured count.
    pub fn test_set(&self) -> &Images {
        &self.test
    }

    /// Training steps per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.train.len().div_ceil(self.config.batch_size)
    }

    /// Epochs every run has completed.
    pub const fn epochs_done(&self) -> u32 {
        self.epochs_done
    }

    /// Runs trained: every configured run once per seed.
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// Run `run`'s name (its configured run's) and seed.
    pub fn run_label(&self, run: usize) -> Option<(&str, u64)> {
        self.config
            .run_at(run)
            .map(|(config, seed)| (config.name.as_str(), seed))
    }

    /// Steps run `run` has taken and recorded.
    pub fn steps(&self, run: usize) -> u64 {
        self.runs.get(run).map_or(0, Run::steps)
    }

    /// How run `run` stands.
    pub fn status(&self, run: usize) -> Option<RunStatus> {
        self.runs.get(run).map(|r| r.status)
    }

    /// What run `run` has recorded.
    pub fn history(&self, run: usize) -> Option<&RunHistory> {
        self.runs.get(run).map(|r| &r.history)
    }

    pub(crate) fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// Whether every run has finished or diverged.
    pub const fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    fn start_epoch(&self) -> Phase {
        let active = self.runs.iter().any(|r| r.status == RunStatus::Training);
        if self.epochs_done >= self.config.epochs || !active {
            return Phase::Done;
        }
        let augment = if self.config.augment {
            Augment::STANDARD
        } else {
            Augment::default()
        };
        let batches = self
            .config
            .seeds
            .iter()
            .map(|&seed| {
                Batches::new(
                    Arc::clone(&self.train),
                    seed,
                    u64::from(self.epochs_done),
                    self.config.batch_size,
                    Normalization::CIFAR10,
                    augment,
                )
            })
            .collect();
        Phase::Train {
            batches,
            current: None,
            run: 0,
        }
    }

    /// The index, in `places`, of the device run `run` trains on.
    fn place_of(&self, run: usize) -> usize {
        self.placement.index_of(run)
    }

    /// The index, in the configuration's seeds, of run `run`'s seed.
    fn seed_index(&self, run: usize) -> usize {
        self.config.position(run).map_or(0, |(_, seed)| seed)
    }

    fn next_active(&self, from: usize) -> Option<usize> {
        (from..self.runs.len()).find(|&r| self.runs[r].status == RunStatus::Training)
    }

    /// Does one unit of work: the next run's step on the current batch, or the next evaluation
    /// batch, and returns what happened.
    ///
    /// # Errors
    /// [`EngineError::Readback`] when the device fails to return results.
    pub async fn advance(&mut self) -> Result<Vec<Event>, EngineError> {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Done => Ok(vec![]),
            Phase::Train {
                mut batches,
                current,
                run,
            } => {
                if self.next_active(0).is_none() {
                    // Every run diverged during this epoch: nothing is left to train or evaluate,
                    // and the epoch was not completed by anyone.
                    let mut events = self.settle().await?;
                    self.finish();
                    events.push(Event::Finished);
                    return Ok(events);
                }
                let group = self.training_group(run);
                let Some((&first, &last)) = group.first().zip(group.last()) else {
                    // Every run has taken its step of this round: the next round.
                    self.phase = Phase::Train {
                        batches,
                        current: None,
                        run: 0,
                    };
                    return Ok(vec![]);
                };
                let stream = self.seed_index(first);
                let mut current = match current {
                    Some(current) if current.seed == stream => current,
                    // Every seed's order has as many batches: the first to end ends the epoch.
                    _ => match batches[stream].next() {
                        Some(batch) => Current::new(stream, batch, self.places.len()),
                        None => {
                            let mut events = self.settle().await?;
                            self.after_training_or_eval(0, &mut events);
                            return Ok(events);
                        }
                    },
                };
                let place = self.place_of(first);
                let batch = current.on(place, &self.places[place].train_device);
                let queued = self.queue_steps(&group, place, batch);
                let events = self.settle().await?;
                self.in_flight = queued;
                self.phase = Phase::Train {
                    batches,
                    current: Some(current),
                    run: last + 1,
                };
                Ok(events)
            }
            Phase::Eval {
                place,
                mut group,
                mut batches,
                seconds,
            } => {
                let started = Instant::now();
                match batches.next() {
                    Some(batch) => {
                        let n = batch.len() as f64;
                        let (images, labels) = batch.into_tensors(&self.places[place].device);
                        let loss = &self.places[place].loss;
                        let batch_totals = each(group.iter().collect(), |evaluation| {
                            let logits = evaluation.model.forward(images.clone());
                            let correct = correct(logits.clone(), labels.clone());
                            let loss = loss.forward(logits, labels.clone()).mul_scalar(n);
                            Tensor::cat(vec![loss, correct], 0)
                        });
                        for (evaluation, batch_totals) in group.iter_mut().zip(batch_totals) {
                            evaluation.totals = Some(match evaluation.totals.take() {
                                Some(t) => t + batch_totals,
                                None => batch_totals,
                            });
                        }
                        self.phase = Phase::Eval {
                            place,
                            group,
                            batches,
                            seconds: seconds + started.elapsed().as_secs_f64(),
                        };
                        Ok(vec![])
                    }
                    None => {
                        let mut totals = Vec::with_capacity(group.len());
                        for evaluation in &mut group {
                            totals.push(match evaluation.totals.take() {
                                Some(t) => read(t).await?,
                                None => vec![0.0, 0.0],
                            });
                        }
                        // The runs of a group shared the time.
                        let share =
                            (seconds + started.elapsed().as_secs_f64()) / group.len() as f64;
                        let mut events: Vec<Event> = group
                            .iter()
                            .zip(&totals)
                            .map(|(evaluation, totals)| {
                                self.close_epoch(evaluation.run, totals, share)
                            })
                            .collect();
                        let next = group.last().map_or(self.runs.len(), |e| e.run + 1);
                        self.after_training_or_eval(next, &mut events);
                        Ok(events)
                    }
                }
            }
        }
    }

    /// The active runs from `from` that take a unit of work together: the next active run and
    /// those after it on the same device (at most its [`group_size`]), with `alike` among them.
    fn next_group(&self, from: usize, alike: impl Fn(usize, usize) -> bool) -> Vec<usize> {
        let Some(first) = self.next_active(from) else {
            return Vec::new();
        };
        let place = self.place_of(first);
        (first..self.runs.len())
            .filter(|&r| self.runs[r].status == RunStatus::Training)
            .take_while(|&r| self.place_of(r) == place && alike(first, r))
            .take(self.places[place].group_size)
            .collect()
    }

    /// [`next_group`](Self::next_group) of runs of one seed: they step on one batch.
    fn training_group(&self, from: usize) -> Vec<usize> {
        self.next_group(from, |first, run| {
            self.seed_index(run) == self.seed_index(first)
        })
    }

    /// Evaluation of the next active runs from `from`, if any are left this epoch.
    fn start_eval(&self, from: usize) -> Option<Phase> {
        let runs = self.next_group(from, |_, _| true);
        let place = self.place_of(*runs.first()?);
        let group: Vec<Evaluation> = runs
            .into_iter()
            .filter_map(|run| {
                let model = self.runs[run].model.as_ref()?.valid();
                Some(Evaluation {
                    run,
                    model,
                    totals: None,
                })
            })
            .collect();
        if group.is_empty() {
            return None;
        }
        Some(Phase::Eval {
            place,
            group,
            batches: Batches::in_order(
                Arc::clone(&self.test),
                eval_batch(self.places[place].compute),
                Normalization::CIFAR10,
            ),
            seconds: 0.0,
        })
    }

    /// The next evaluation from run `from`, or, when every run is evaluated, the next epoch.
    fn after_training_or_eval(&mut self, from: usize, events: &mut Vec<Event>) {
        if let Some(eval) = self.start_eval(from) {
            self.phase = eval;
            return;
        }
        self.epochs_done += 1;
        events.push(Event::EpochComplete {
            epoch: self.epochs_done,
        });
        self.phase = self.start_epoch();
        if self.is_finished() {
            self.finish();
            events.push(Event::Finished);
        }
    }
}

/// Run `run` as the log names it: its name and seed.
fn label(config: &ExperimentConfig, run: usize) -> String {
    config.run_at(run).map_or_else(
        || run.to_string(),
        |(r, seed)| format!("{} seed {seed}", r.name),
    )
}

/// Number of rows whose largest logit is the label's, as a one-element float tensor.
fn correct(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let n = labels.dims()[0];
    logits
        .argmax(1)
        .reshape([n])
        .equal(labels)
        .int()
        .sum()
        .float()
}

/// `value` to the nearest `1/per_unit` (a power of ten): timings carry no more digits than they
/// mean, and survive a round trip through JSON exactly.
fn round(value: f64, per_unit: f64) -> f64 {
    (value * per_unit).round() / per_unit
}

/// A device vector's values on the host.
async fn read(tensor: Tensor<1>) -> Result<Vec<f32>, EngineError> {
    host_values(tensor.into_data_async().await)
}

fn host_values(
    data: Result<TensorData, burn::tensor::ExecutionError>,
) -> Result<Vec<f32>, EngineError> {
    data.map_err(|err| EngineError::Readback(format!("{err:?}")))?
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|err| EngineError::Readback(format!("{err:?}")))
}

/// A training batch on the device: images, labels and how many.
type Batch = (Tensor<4>, Tensor<1, Int>, usize);

/// What every run's step on one batch shares.
struct StepQueue<'a> {
    compute: Compute,
    metrics_every: u64,
    epoch: u32,
    sample_stride: usize,
    loss: &'a CrossEntropyLoss,
    batch: &'a Batch,
}

impl StepQueue<'_> {
    /// Queues `run`'s next step (forward, cross-entropy, backward, the optimizer over every tensor,
    /// the measurements) and starts reading its values back.
    fn step(&self, index: usize, run: &mut Run) -> Option<InFlight> {
        let (images, labels, n) = self.batch;
        let model = run.model.take()?;
        let step = run.optimizer.begin_step();
        let step = TensorStep::new(run.optimizer.config(), step);
        let t = step.step().t;
        let logits = model.forward(images.clone());
        let loss = self.loss.forward(logits.clone(), labels.clone());
        let correct = correct(logits.inner(), labels.clone().inner());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let detailed = t.is_multiple_of(self.metrics_every) || t == 1;
        let mut update = Update {
            step: &step,
            compute: self.compute,
            grads,
            states: &mut run.states,
            sample_stride: self.sample_stride,
            samples: &mut run.samples,
            probes: detailed.then(Probes::default),
            index: 0,
        };
        run.model = Some(model.map(&mut update));
        let probes = update.probes.take();
        let mut parts = vec![loss.inner(), correct];
        let layout = probes.map(|probes| {
            let (tensors, layout) = probes.into_parts();
            parts.extend(tensors);
            layout
        });
        let values = Readback::start(Tensor::cat(parts, 0));
        Some(InFlight {
            run: index,
            images: *n,
            epoch: self.epoch,
            step: *step.step(),
            layout,
            values,
            seconds: 0.0,
        })
    }
}

/// `work` on each item, side by side on the CPU's threads on native targets, in order.
fn each<T: Send, R: Send>(items: Vec<T>, work: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    #[cfg(not(target_arch = "wasm32"))]
    if items.len() > 1 {
        use rayon::prelude::*;
        return items.into_par_iter().map(work).collect();
    }
    items.into_iter().map(work).collect()
}

/// Test images per evaluation batch: evaluation keeps no gradients, so it takes more than training.
/// The browser's WebGPU limits a buffer to 256 MiB (128 MiB bound at once), which a convolution's
/// buffers at 500 images would pass.
const fn eval_batch(compute: Compute) -> usize {
    match compute {
        Compute::Gpu(_) if cfg!(target_arch = "wasm32") => 100,
        _ => EVAL_BATCH,
    }
}

/// How many runs step on a batch together: as many as the CPU has threads when flex trains (each
/// run's step is a long chain of small operations that leaves cores idle), one on the GPU (whose
/// queue is the parallelism) and in the browser (no threads).
fn group_size(compute: Compute) -> usize {
    match compute {
        #[cfg(not(target_arch = "wasm32"))]
        Compute::Cpu => rayon::current_num_threads(),
        _ => 1,
    }
}

impl Run {
    fn new(optimizer: stepwise_optim::Optimizer, model: ResNet) -> Self {
        Self {
            optimizer,
            model: Some(model),
            states: Vec::new(),
            samples: Vec::new(),
            status: RunStatus::Training,
            history: RunHistory::default(),
            epoch: EpochTally::default(),
        }
    }

    /// Steps taken and recorded (every step records its loss).
    pub fn steps(&self) -> u64 {
        self.history.steps.len() as u64
    }
}

impl Experiment {
    /// Queues the next step of each run of `group` (on place `place`) on `batch` and starts
    /// reading their values back: side by side on the CPU's threads where there are several, else
    /// one after another.
    fn queue_steps(&mut self, group: &[usize], place: usize, batch: &Batch) -> Vec<InFlight> {
        let place = &self.places[place];
        let queue = &StepQueue {
            compute: place.compute,
            metrics_every: self.config.metrics_every,
            epoch: self.epochs_done + 1,
            sample_stride: self.sample_stride,
            loss: &place.loss,
            batch,
        };
        let runs: Vec<(usize, &mut Run)> = self
            .runs
            .iter_mut()
            .enumerate()
            .filter(|(index, _)| group.contains(index))
            .collect();
        let started = Instant::now();
        let mut queued: Vec<InFlight> = each(runs, |(index, run)| queue.step(index, run))
            .into_iter()
            .flatten()
            .collect();
        // The runs of a group shared the time.
        let share = started.elapsed().as_secs_f64() / queued.len().max(1) as f64;
        for step in &mut queued {
            step.seconds = share;
        }
        queued
    }

    /// Waits for the training steps still in flight, if any, and records them in order: call it
    /// before stopping early, so that the results hold every step taken ([`Experiment::advance`]
    /// does it by itself before evaluating).
    ///
    /// # Errors
    /// [`EngineError::Readback`] when the device fails to return results.
    pub async fn settle(&mut self) -> Result<Vec<Event>, EngineError> {
        let mut events = Vec::new();
        for queued in std::mem::take(&mut self.in_flight) {
            events.extend(self.record(queued).await?);
        }
        Ok(events)
    }

    /// Waits for a step's values and records it: its metrics, and its run's divergence. A step of
    /// a run that diverged meanwhile is dropped.
    async fn record(&mut self, queued: InFlight) -> Result<Vec<Event>, EngineError> {
        let started = Instant::now();
        let values = queued.values.values().await?;
        let index = queued.run;
        let run = &mut self.runs[index];
        if run.status != RunStatus::Training {
            return Ok(vec![]);
        }
        let (loss, correct) = (values[0], values[1]);
        let step = queued.step;
        let measured = queued
            .layout
            .filter(|layout| layout.len() + 2 == values.len())
            .map(|layout| layout.measure(&values[2..], &step.scalars));
        let metrics = StepMetrics {
            step: step.t,
            epoch: queued.epoch,
            loss,
            lr: step.lr,
            grad_norm: measured.as_ref().map(|m| m.grad_norm),
            update_ratio: measured.as_ref().map(|m| m.update_ratio),
            weight_norm: measured.as_ref().map(|m| m.weight_norm),
            step_size: measured.and_then(|m| m.step_size),
            bounds: step.scalars.bounds(),
            rectification: step.scalars.rectification(),
        };
        run.history.steps.push(metrics);
        let mut events = vec![Event::Step {
            run: index,
            metrics,
        }];
        if !loss.is_finite() || f64::from(loss) > self.config.divergence_loss {
            run.status = RunStatus::Diverged { step: step.t, loss };
            run.model = None;
            run.states.clear();
            run.samples.clear();
            tracing::warn!(
                run = %label(&self.config, index),
                step = step.t,
                loss,
                "run diverged"
            );
            events.push(Event::Diverged {
                run: index,
                step: step.t,
                loss,
            });
        }
        run.epoch.loss_sum += f64::from(loss) * queued.images as f64;
        run.epoch.correct += f64::from(correct);
        run.epoch.images += queued.images;
        run.epoch.seconds += queued.seconds + started.elapsed().as_secs_f64();
        Ok(events)
    }

    /// Records run `index`'s epoch from its tally and the evaluation totals.
    fn close_epoch(&mut self, index: usize, totals: &[f32], eval_seconds: f64) -> Event {
        let test_images = self.test.len() as f64;
        let run = &mut self.runs[index];
        let tally = std::mem::take(&mut run.epoch);
        let images = tally.images.max(1) as f64;
        let metrics = EpochMetrics {
            epoch: self.epochs_done + 1,
            train_loss: (tally.loss_sum / images) as f32,
            train_accuracy: (tally.correct / images) as f32,
            test_loss: (f64::from(totals[0]) / test_images) as f32,
            test_accuracy: (f64::from(totals[1]) / test_images) as f32,
            seconds: round(tally.seconds, 1e6),
            eval_seconds: round(eval_seconds, 1e6),
            images_per_second: round(
                tally.images as f64 / tally.seconds.max(f64::MIN_POSITIVE),
                1e3,
            ),
        };
        run.history.epochs.push(metrics);
        tracing::info!(
            run = %label(&self.config, index),
            epoch = metrics.epoch,
            train_loss = %format_args!("{:.4}", metrics.train_loss),
            test_loss = %format_args!("{:.4}", metrics.test_loss),
            test_accuracy = %format_args!("{:.4}", metrics.test_accuracy),
            "epoch done"
        );
        Event::Epoch {
            run: index,
            metrics,
        }
    }

    fn finish(&mut self) {
        for run in &mut self.runs {
            if run.status == RunStatus::Training {
                run.status = RunStatus::Finished;
            }
        }
    }
}
