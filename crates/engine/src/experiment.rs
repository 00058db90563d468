//! The experiment as a state machine its caller advances one unit of work at a time: one training
//! step of one run, or one evaluation batch of one run. A thread drives it on the desktop, an async
//! task in the browser; the only waits are the read-backs, and those are `async`.

use std::sync::Arc;

use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::GradientsParams;
use burn::prelude::Module;
use burn::tensor::{Device, DeviceKind, Int, Tensor};
use serde::{Deserialize, Serialize};
use stepwise_data::{Augment, Batches, Cifar10, Images, Normalization, Source};
use stepwise_gpu::{FusedOptimizer, ReferenceOptimizer, TensorState};
use stepwise_model::ResNet;
use web_time::Instant;

use crate::EngineError;
use crate::config::ExperimentConfig;
use crate::metrics::{EpochMetrics, RunHistory, RunStatus, StepMetrics};
use crate::probe::{Probes, STEP_SIZE_SAMPLE, Stepper, Update};

/// Images per evaluation batch (evaluation keeps no gradients, so it can take more than training).
pub const EVAL_BATCH: usize = 100;

/// Where the experiment computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compute {
    /// burn's CPU backend (flex), with Stepwise's reference optimizers.
    Cpu,
    /// burn-wgpu on the default adapter, with the fused WGSL optimizers.
    Gpu,
}

impl Compute {
    /// The burn device (without autodiff).
    pub fn device(self) -> Device {
        match self {
            Self::Cpu => Device::flex(),
            Self::Gpu => Device::wgpu(DeviceKind::DefaultDevice),
        }
    }

    /// `cpu` or `gpu`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
        }
    }
}

/// Compiles every run's fused optimizer kernel on `gpu` (the adapter burn trains on) before
/// training on [`Compute::Gpu`], so that a shader or pipeline error names the run and the shader
/// instead of reaching the first read as burn's error about a kernel called `main`.
///
/// # Errors
/// [`EngineError::Kernel`].
pub async fn check_kernels(
    config: &ExperimentConfig,
    gpu: &stepwise_gpu::Gpu,
) -> Result<(), EngineError> {
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

/// One run's model, optimizer state and record.
pub(crate) struct Run {
    pub stepper: Stepper,
    /// `None` once diverged (its memory is released).
    pub model: Option<ResNet>,
    /// Optimizer state per float tensor of the model, in module order.
    pub states: Vec<Option<TensorState>>,
    pub steps: u64,
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
    /// Training on batch `batch` of the epoch, run `run` next.
    Train {
        batches: Batches<Arc<Images>>,
        current: Option<(Tensor<4>, Tensor<1, Int>, usize)>,
        run: usize,
    },
    /// Evaluating run `run` on the test images.
    Eval {
        run: usize,
        /// The run's model in evaluation mode.
        model: ResNet,
        batches: Batches<Arc<Images>>,
        /// Summed loss and correct count so far, on the device.
        totals: Option<Tensor<1>>,
        seconds: f64,
    },
    Done,
}

/// Several runs of one model trained side by side from the same initial weights on the same batch
/// order, interleaved step by step.
pub struct Experiment {
    config: ExperimentConfig,
    compute: Compute,
    /// The device evaluation runs on.
    device: Device,
    /// The same with autodiff, for training.
    train_device: Device,
    train: Arc<Images>,
    test: Arc<Images>,
    source: Source,
    runs: Vec<Run>,
    /// Epochs every run has completed.
    epochs_done: u32,
    phase: Phase,
    loss: CrossEntropyLoss,
    sample_stride: usize,
}

impl Experiment {
    /// A new experiment on `data` (cut to the configured sizes), every run starting from the
    /// weights drawn from the configuration's seed.
    ///
    /// # Errors
    /// [`EngineError`] for an invalid configuration or empty data.
    pub fn new(
        config: ExperimentConfig,
        data: Cifar10,
        compute: Compute,
    ) -> Result<Self, EngineError> {
        let runs = Self::fresh_runs(&config, compute)?;
        Self::assemble(config, data, compute, runs, 0)
    }

    pub(crate) fn assemble(
        config: ExperimentConfig,
        data: Cifar10,
        compute: Compute,
        runs: Vec<Run>,
        epochs_done: u32,
    ) -> Result<Self, EngineError> {
        config.validate()?;
        let Cifar10 {
            mut train,
            mut test,
            source,
        } = data;
        if let Some(count) = config.train_images {
            train.truncate(count);
        }
        if let Some(count) = config.test_images {
            test.truncate(count);
        }
        if train.is_empty() || test.is_empty() {
            return Err(EngineError::NoData(format!(
                "{} training and {} test images",
                train.len(),
                test.len()
            )));
        }
        let device = compute.device();
        // Every run has the same model; a resumed run that diverged has none left.
        let params = runs
            .iter()
            .find_map(|run| run.model.as_ref())
            .map_or(1, ResNet::trainable_params);
        let mut experiment = Self {
            loss: CrossEntropyLossConfig::new().init(&device.clone().autodiff()),
            train_device: device.clone().autodiff(),
            sample_stride: params.div_ceil(STEP_SIZE_SAMPLE).max(1),
            config,
            compute,
            device,
            train: Arc::new(train),
            test: Arc::new(test),
            source,
            runs,
            epochs_done,
            phase: Phase::Done,
        };
        experiment.phase = experiment.start_epoch();
        Ok(experiment)
    }

    /// Every run at the initial weights, on `compute`'s training device.
    pub(crate) fn fresh_runs(
        config: &ExperimentConfig,
        compute: Compute,
    ) -> Result<Vec<Run>, EngineError> {
        let device = compute.device().autodiff();
        let architecture = config.model.config(stepwise_data::CLASSES.len());
        // A model built per run from the same seed: the same weights, in buffers and batch-norm
        // statistics of its own (a cloned module would share its running statistics, which burn
        // keeps behind a shared lock, and the fused step writes weights in place).
        config
            .runs
            .iter()
            .map(|run| {
                let model = ResNet::new(&architecture, config.seed, &device)?;
                Ok(Run::new(compute, run.optimizer, model))
            })
            .collect()
    }

    /// The configuration.
    pub const fn config(&self) -> &ExperimentConfig {
        &self.config
    }

    /// Where it computes.
    pub const fn compute(&self) -> Compute {
        self.compute
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

    /// Training steps per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.train.len().div_ceil(self.config.batch_size)
    }

    /// Epochs every run has completed.
    pub const fn epochs_done(&self) -> u32 {
        self.epochs_done
    }

    /// Steps run `run` has taken.
    pub fn steps(&self, run: usize) -> u64 {
        self.runs.get(run).map_or(0, |r| r.steps)
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
        Phase::Train {
            batches: Batches::new(
                Arc::clone(&self.train),
                self.config.seed,
                u64::from(self.epochs_done),
                self.config.batch_size,
                Normalization::CIFAR10,
                augment,
            ),
            current: None,
            run: 0,
        }
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
                    self.finish();
                    return Ok(vec![Event::Finished]);
                }
                let current = match current {
                    Some(current) => current,
                    None => match batches.next() {
                        Some(batch) => {
                            let n = batch.len();
                            let (images, labels) = batch.into_tensors(&self.train_device);
                            (images, labels, n)
                        }
                        None => {
                            let mut events = vec![];
                            self.after_training_or_eval(0, &mut events);
                            return Ok(events);
                        }
                    },
                };
                let Some(run) = self.next_active(run) else {
                    // Every run has seen this batch: the next one.
                    self.phase = Phase::Train {
                        batches,
                        current: None,
                        run: 0,
                    };
                    return Ok(vec![]);
                };
                let events = self.train_step(run, &current).await?;
                self.phase = Phase::Train {
                    batches,
                    current: Some(current),
                    run: run + 1,
                };
                Ok(events)
            }
            Phase::Eval {
                run,
                model,
                mut batches,
                totals,
                seconds,
            } => {
                let started = Instant::now();
                match batches.next() {
                    Some(batch) => {
                        let n = batch.len() as f64;
                        let (images, labels) = batch.into_tensors(&self.device);
                        let logits = model.forward(images);
                        let correct = correct(logits.clone(), labels.clone());
                        let loss = self.loss.forward(logits, labels).mul_scalar(n);
                        let batch_totals = Tensor::cat(vec![loss, correct], 0);
                        let totals = Some(match totals {
                            Some(t) => t + batch_totals,
                            None => batch_totals,
                        });
                        self.phase = Phase::Eval {
                            run,
                            model,
                            batches,
                            totals,
                            seconds: seconds + started.elapsed().as_secs_f64(),
                        };
                        Ok(vec![])
                    }
                    None => {
                        let totals = match totals {
                            Some(t) => read(t).await?,
                            None => vec![0.0, 0.0],
                        };
                        let seconds = seconds + started.elapsed().as_secs_f64();
                        let mut events = vec![self.close_epoch(run, &totals, seconds)];
                        self.after_training_or_eval(run + 1, &mut events);
                        Ok(events)
                    }
                }
            }
        }
    }

    /// Evaluation of the next active run from `from`, if any is left this epoch.
    fn start_eval(&self, from: usize) -> Option<Phase> {
        let run = self.next_active(from)?;
        let model = self.runs[run].model.as_ref()?.valid();
        Some(Phase::Eval {
            run,
            model,
            batches: Batches::in_order(Arc::clone(&self.test), EVAL_BATCH, Normalization::CIFAR10),
            totals: None,
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
    let data = tensor
        .into_data_async()
        .await
        .map_err(|err| EngineError::Readback(format!("{err:?}")))?;
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|err| EngineError::Readback(format!("{err:?}")))
}

impl Run {
    fn new(compute: Compute, optimizer: stepwise_optim::OptimizerConfig, model: ResNet) -> Self {
        let stepper = match compute {
            Compute::Cpu => Stepper::Reference(ReferenceOptimizer::new(optimizer)),
            Compute::Gpu => Stepper::Fused(FusedOptimizer::new(optimizer)),
        };
        Self {
            stepper,
            model: Some(model),
            states: Vec::new(),
            steps: 0,
            status: RunStatus::Training,
            history: RunHistory::default(),
            epoch: EpochTally::default(),
        }
    }
}

impl Experiment {
    async fn train_step(
        &mut self,
        index: usize,
        (images, labels, n): &(Tensor<4>, Tensor<1, Int>, usize),
    ) -> Result<Vec<Event>, EngineError> {
        let started = Instant::now();
        let optimizer = self.config.runs[index].optimizer;
        let schedule = &self.config.schedule;
        let metrics_every = self.config.metrics_every;
        let epoch = self.epochs_done + 1;
        let run = &mut self.runs[index];
        let Some(model) = run.model.take() else {
            return Ok(vec![]);
        };
        let t = run.steps + 1;
        let lr = schedule.lr(optimizer.lr(), t);
        let scalars = optimizer.scalars(t, lr);
        let logits = model.forward(images.clone());
        let loss = self.loss.forward(logits.clone(), labels.clone());
        let correct = correct(logits.inner(), labels.clone().inner());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let detailed = t.is_multiple_of(metrics_every) || t == 1;
        let mut update = Update {
            stepper: &run.stepper,
            lr,
            grads,
            states: &mut run.states,
            second_moment: scalars.second_moment_buffer(),
            sample_stride: self.sample_stride,
            probes: detailed.then(Probes::default),
            index: 0,
        };
        let model = model.map(&mut update);
        let probes = update.probes.take();
        let mut parts = vec![loss.inner(), correct];
        let layout = probes.map(|probes| {
            let (tensors, layout) = probes.into_parts();
            parts.extend(tensors);
            layout
        });
        let values = read(Tensor::cat(parts, 0)).await?;
        let (loss, correct) = (values[0], values[1]);
        let measured = layout
            .filter(|layout| layout.len() + 2 == values.len())
            .map(|layout| layout.measure(&values[2..], &scalars));
        let metrics = StepMetrics {
            step: t,
            epoch,
            loss,
            lr,
            grad_norm: measured.as_ref().map(|m| m.grad_norm),
            update_ratio: measured.as_ref().map(|m| m.update_ratio),
            weight_norm: measured.as_ref().map(|m| m.weight_norm),
            step_size: measured.and_then(|m| m.step_size),
            bounds: scalars.bounds(),
            rectification: scalars.rectification(),
        };
        run.steps = t;
        run.history.steps.push(metrics);
        let mut events = vec![Event::Step {
            run: index,
            metrics,
        }];
        if !loss.is_finite() || f64::from(loss) > self.config.divergence_loss {
            run.status = RunStatus::Diverged { step: t, loss };
            run.states.clear();
            tracing::warn!(run = index, step = t, loss, "run diverged");
            events.push(Event::Diverged {
                run: index,
                step: t,
                loss,
            });
        } else {
            run.model = Some(model);
        }
        run.epoch.loss_sum += f64::from(loss) * *n as f64;
        run.epoch.correct += f64::from(correct);
        run.epoch.images += n;
        run.epoch.seconds += started.elapsed().as_secs_f64();
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
            run = index,
            epoch = metrics.epoch,
            test_accuracy = metrics.test_accuracy,
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
