//! What the experiment and internals views draw: every run's record, fed live by the engine's
//! events or read from a results folder, with its plot series kept up to date as steps arrive.

use stepwise_engine::output::{self, Recorded, Sweep};
use stepwise_engine::{EpochMetrics, Event, ExperimentConfig, RunHistory, RunStatus, StepMetrics};
use stepwise_optim::OptimizerKind;

use crate::series::Series;

/// A per-step quantity drawn as a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    /// Training loss (smoothed as the user chooses).
    Loss,
    /// Training loss as measured, drawn faintly behind the smoothed curve.
    RawLoss,
    /// Learning rate.
    Lr,
    /// log10 of the smallest per-element step size.
    StepSizeMin,
    /// log10 of the median per-element step size.
    StepSizeMedian,
    /// log10 of the largest per-element step size.
    StepSizeMax,
    /// log10 of AdaBound's lower bound.
    LowerBound,
    /// log10 of AdaBound's upper bound.
    UpperBound,
    /// RAdam's rectification term.
    Rectification,
    /// log10 of |Δθ|/|θ|.
    UpdateRatio,
    /// |θ|.
    WeightNorm,
}

impl Quantity {
    const ALL: [Self; 11] = [
        Self::Loss,
        Self::RawLoss,
        Self::Lr,
        Self::StepSizeMin,
        Self::StepSizeMedian,
        Self::StepSizeMax,
        Self::LowerBound,
        Self::UpperBound,
        Self::Rectification,
        Self::UpdateRatio,
        Self::WeightNorm,
    ];

    /// The value this quantity takes at `step`, on the scale it is drawn (log10 for step sizes,
    /// bounds and ratios, which span decades).
    fn of(self, step: &StepMetrics) -> Option<f64> {
        let log = |v: f32| f64::from(v).log10();
        match self {
            Self::Loss | Self::RawLoss => Some(f64::from(step.loss)),
            Self::Lr => Some(step.lr),
            Self::StepSizeMin => step.step_size.map(|s| log(s.min)),
            Self::StepSizeMedian => step.step_size.map(|s| log(s.median)),
            Self::StepSizeMax => step.step_size.map(|s| log(s.max)),
            Self::LowerBound => step.bounds.map(|b| log(b.0)),
            Self::UpperBound => step.bounds.map(|b| log(b.1)),
            Self::Rectification => step.rectification.map(f64::from),
            Self::UpdateRatio => step.update_ratio.map(log),
            Self::WeightNorm => step.weight_norm.map(f64::from),
        }
    }
}

/// One run (a configured run at one seed) as the plots see it.
#[derive(Clone, Debug)]
pub struct RunView {
    /// Its name in the configuration.
    pub name: String,
    /// Its configured run's index: the runs of one group are the same run at several seeds,
    /// drawn in one colour.
    pub group: usize,
    /// Its seed.
    pub seed: u64,
    /// Its optimizer.
    pub optimizer: OptimizerKind,
    /// How it stands.
    pub status: RunStatus,
    /// Everything recorded.
    pub history: RunHistory,
    series: Vec<Series>,
}

impl RunView {
    fn new(
        (name, group, seed): (String, usize, u64),
        optimizer: OptimizerKind,
        smoothing: f64,
    ) -> Self {
        Self {
            name,
            group,
            seed,
            optimizer,
            status: RunStatus::Training,
            history: RunHistory::default(),
            series: Quantity::ALL
                .iter()
                .map(|&q| Series::smoothed(if q == Quantity::Loss { smoothing } else { 0.0 }))
                .collect(),
        }
    }

    fn push_step(&mut self, step: StepMetrics) {
        for (quantity, series) in Quantity::ALL.iter().zip(&mut self.series) {
            if let Some(value) = quantity.of(&step) {
                series.push(step.step as f64, value);
            }
        }
        self.history.steps.push(step);
    }

    /// The series of `quantity`.
    pub fn series(&self, quantity: Quantity) -> &Series {
        // `Quantity::ALL` lists the variants in declaration order.
        &self.series[quantity as usize]
    }

    /// The step at which the run diverged, with its loss.
    pub const fn diverged(&self) -> Option<(u64, f32)> {
        match self.status {
            RunStatus::Diverged { step, loss } => Some((step, loss)),
            _ => None,
        }
    }
}

/// The runs of one experiment, live or recorded.
#[derive(Clone, Debug, Default)]
pub struct Board {
    /// The runs, seed by seed (every configured run at the first seed, then at the next), as
    /// the engine numbers them.
    pub runs: Vec<RunView>,
    /// Training steps per epoch (to place epoch results on the step axis).
    pub batches_per_epoch: usize,
    /// Weight of the loss smoothing.
    smoothing: f64,
    /// The sweep the configured runs form, if they form one (runs of one optimizer differing in
    /// one hyperparameter); its cells are groups.
    pub sweep: Option<Sweep>,
}

impl Board {
    /// An empty board for the runs of `config`.
    pub fn for_config(config: &ExperimentConfig, batches_per_epoch: usize, smoothing: f64) -> Self {
        let hyperparameters: Vec<_> = config
            .runs
            .iter()
            .map(|run| (run.optimizer.kind(), output::hyperparameters(run.optimizer)))
            .collect();
        Self {
            runs: (0..config.run_count())
                .filter_map(|r| {
                    let (run, seed) = config.run_at(r)?;
                    let (group, _) = config.position(r)?;
                    let label = (run.name.clone(), group, seed);
                    Some(RunView::new(label, run.optimizer.kind(), smoothing))
                })
                .collect(),
            batches_per_epoch,
            smoothing,
            sweep: Sweep::of(&hyperparameters),
        }
    }

    /// A board showing a results folder.
    pub fn recorded(recorded: &Recorded, smoothing: f64) -> Self {
        let results = &recorded.results;
        let groups = results.groups();
        let mut board = Self {
            runs: results
                .runs
                .iter()
                .enumerate()
                .map(|(r, run)| {
                    let group = groups
                        .iter()
                        .position(|g| g.contains(&r))
                        .unwrap_or_default();
                    let label = (run.name.clone(), group, run.seed);
                    RunView::new(label, run.optimizer, smoothing)
                })
                .collect(),
            batches_per_epoch: results.train_images.div_ceil(results.batch_size.max(1)),
            smoothing,
            sweep: Sweep::of_results(results),
        };
        for ((view, result), history) in board
            .runs
            .iter_mut()
            .zip(&results.runs)
            .zip(&recorded.histories)
        {
            for &step in &history.steps {
                view.push_step(step);
            }
            view.history.epochs.clone_from(&history.epochs);
            view.status = result.run_status();
        }
        board
    }

    /// Takes in what the engine reported.
    pub fn apply(&mut self, event: &Event) {
        match *event {
            Event::Step { run, metrics } => {
                if let Some(view) = self.runs.get_mut(run) {
                    view.push_step(metrics);
                }
            }
            Event::Diverged { run, step, loss } => {
                if let Some(view) = self.runs.get_mut(run) {
                    view.status = RunStatus::Diverged { step, loss };
                }
            }
            Event::Epoch { run, metrics } => {
                if let Some(view) = self.runs.get_mut(run) {
                    view.history.epochs.push(metrics);
                }
            }
            Event::EpochComplete { .. } => {}
            Event::Finished => {
                for view in &mut self.runs {
                    if view.status == RunStatus::Training {
                        view.status = RunStatus::Finished;
                    }
                }
            }
        }
    }

    /// The current loss smoothing weight.
    pub const fn smoothing(&self) -> f64 {
        self.smoothing
    }

    /// Re-smooths every loss series (a slider moved).
    pub fn set_smoothing(&mut self, smoothing: f64) {
        if smoothing == self.smoothing {
            return;
        }
        self.smoothing = smoothing;
        for view in &mut self.runs {
            let mut series = Series::smoothed(smoothing);
            for step in &view.history.steps {
                series.push(step.step as f64, f64::from(step.loss));
            }
            view.series[Quantity::Loss as usize] = series;
        }
    }

    /// The step at which `epoch` (from 1) ended: where its results sit on the step axis.
    pub fn epoch_step(&self, epoch: &EpochMetrics) -> f64 {
        f64::from(epoch.epoch) * self.batches_per_epoch as f64
    }

    /// The runs of each group (a configured run at every seed), in configuration order.
    pub fn groups(&self) -> Vec<Vec<&RunView>> {
        let count = self.runs.iter().map(|run| run.group + 1).max().unwrap_or(0);
        (0..count)
            .map(|group| self.runs.iter().filter(|run| run.group == group).collect())
            .filter(|runs: &Vec<&RunView>| !runs.is_empty())
            .collect()
    }

    /// The most steps any run has taken.
    pub fn steps(&self) -> u64 {
        self.runs
            .iter()
            .filter_map(|run| run.history.steps.last())
            .map(|step| step.step)
            .max()
            .unwrap_or(0)
    }
}
