//! What the engine measures: per step, per epoch, and how each run ended.

use serde::{Deserialize, Serialize};

/// The smallest, median and largest value of a per-element quantity.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Smallest.
    pub min: f32,
    /// Median.
    pub median: f32,
    /// Largest.
    pub max: f32,
}

/// One training step of one run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// The optimizer step, from 1.
    pub step: u64,
    /// The epoch it belongs to, from 1.
    pub epoch: u32,
    /// Mean cross-entropy of the batch, before the step.
    pub loss: f32,
    /// Learning rate of the step (after the schedule).
    pub lr: f64,
    /// L2 norm of the whole gradient (all parameters as one vector).
    pub grad_norm: Option<f32>,
    /// ‖Δθ‖ / ‖θ‖ over all parameters: how far the step moved the weights, relatively.
    pub update_ratio: Option<f32>,
    /// ‖θ‖ over all parameters before the step: what weight decay shrinks.
    pub weight_norm: Option<f32>,
    /// The per-element learning rate the optimizer applied (see
    /// `stepwise_optim::StepScalars::step_size`): exact minimum and maximum, median of a strided
    /// sample of at most [`STEP_SIZE_SAMPLE`](crate::STEP_SIZE_SAMPLE) elements.
    pub step_size: Option<Spread>,
    /// AdaBound's lower and upper bounds on the per-element learning rate.
    pub bounds: Option<(f32, f32)>,
    /// RAdam's rectification term r_t (0 before the adaptive step starts).
    pub rectification: Option<f32>,
}

/// Column names of [`StepMetrics::to_row`], as in `metrics.csv`.
pub const STEP_COLUMNS: [&str; 13] = [
    "step",
    "epoch",
    "loss",
    "lr",
    "grad_norm",
    "update_ratio",
    "weight_norm",
    "step_size_min",
    "step_size_median",
    "step_size_max",
    "lower_bound",
    "upper_bound",
    "rectification",
];

impl StepMetrics {
    /// The metrics as numbers in [`STEP_COLUMNS`] order; NaN where a metric was not measured.
    pub fn to_row(&self) -> [f64; STEP_COLUMNS.len()] {
        let opt = |v: Option<f32>| v.map_or(f64::NAN, f64::from);
        [
            self.step as f64,
            f64::from(self.epoch),
            f64::from(self.loss),
            self.lr,
            opt(self.grad_norm),
            opt(self.update_ratio),
            opt(self.weight_norm),
            opt(self.step_size.map(|s| s.min)),
            opt(self.step_size.map(|s| s.median)),
            opt(self.step_size.map(|s| s.max)),
            opt(self.bounds.map(|b| b.0)),
            opt(self.bounds.map(|b| b.1)),
            opt(self.rectification),
        ]
    }

    /// The inverse of [`to_row`](Self::to_row).
    pub fn from_row(row: [f64; STEP_COLUMNS.len()]) -> Self {
        let opt = |v: f64| (!v.is_nan()).then_some(v as f32);
        let step_size = match (opt(row[7]), opt(row[8]), opt(row[9])) {
            (Some(min), Some(median), Some(max)) => Some(Spread { min, median, max }),
            _ => None,
        };
        let bounds = opt(row[10]).zip(opt(row[11]));
        Self {
            step: row[0] as u64,
            epoch: row[1] as u32,
            loss: row[2] as f32,
            lr: row[3],
            grad_norm: opt(row[4]),
            update_ratio: opt(row[5]),
            weight_norm: opt(row[6]),
            step_size,
            bounds,
            rectification: opt(row[12]),
        }
    }
}

/// One epoch of one run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// The epoch, from 1.
    pub epoch: u32,
    /// Mean training loss over the epoch's images (with the weights of the moment each batch
    /// was seen, as PyTorch training loops report it).
    pub train_loss: f32,
    /// Fraction of training images classified right, likewise.
    pub train_accuracy: f32,
    /// Mean loss on the test images after the epoch, batch norm in evaluation mode.
    pub test_loss: f32,
    /// Fraction of test images classified right.
    pub test_accuracy: f32,
    /// Seconds spent training this run during the epoch (forward, backward, optimizer step,
    /// metrics), without evaluation.
    pub seconds: f64,
    /// Seconds spent evaluating this run on the test images.
    pub eval_seconds: f64,
    /// Training images per second.
    pub images_per_second: f64,
}

/// How a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunStatus {
    /// Still training (or stopped before its last epoch).
    Training,
    /// Its loss became NaN or infinite, or exceeded the divergence threshold, at `step`.
    Diverged {
        /// The step whose loss diverged.
        step: u64,
        /// That loss.
        loss: f32,
    },
    /// Trained every epoch.
    Finished,
}

/// Everything recorded about one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunHistory {
    /// Every step, in order.
    pub steps: Vec<StepMetrics>,
    /// Every completed epoch, in order.
    pub epochs: Vec<EpochMetrics>,
}
