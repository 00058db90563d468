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

/// TensorBoard's smoothing of a noisy series such as the training loss: an exponential moving
/// average debiased by the weight it has accumulated, so that the first values are not pulled
/// towards zero. What the report's plots and the app's live plots both draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Smoothing {
    weight: f64,
    average: f64,
    /// 1 − weightⁿ after n values.
    accumulated: f64,
}

impl Smoothing {
    /// The weight of the report's plots (TensorBoard's slider goes from 0 to 0.999).
    pub const REPORT: f64 = 0.9;

    /// A smoothing with weight `weight` on the past (0 = the raw values), clamped to [0, 0.999].
    pub fn new(weight: f64) -> Self {
        Self {
            weight: if weight.is_nan() {
                0.0
            } else {
                weight.clamp(0.0, 0.999)
            },
            average: 0.0,
            accumulated: 0.0,
        }
    }

    /// The smoothed value once `value` is added; `None` for NaN and infinities, which are
    /// skipped (a divergence is marked apart).
    pub fn push(&mut self, value: f64) -> Option<f64> {
        if !value.is_finite() {
            return None;
        }
        self.average = self.weight * self.average + (1.0 - self.weight) * value;
        self.accumulated = self.weight * self.accumulated + (1.0 - self.weight);
        Some(self.average / self.accumulated)
    }
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
    /// The metrics in [`STEP_COLUMNS`] order; `None` where a metric was not measured.
    pub fn fields(&self) -> [Option<f64>; STEP_COLUMNS.len()] {
        let opt = |v: Option<f32>| v.map(f64::from);
        [
            Some(self.step as f64),
            Some(f64::from(self.epoch)),
            Some(f64::from(self.loss)),
            Some(self.lr),
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

    /// The inverse of [`fields`](Self::fields).
    pub fn from_fields(fields: [Option<f64>; STEP_COLUMNS.len()]) -> Self {
        let opt = |v: Option<f64>| v.map(|v| v as f32);
        let step_size = match (opt(fields[7]), opt(fields[8]), opt(fields[9])) {
            (Some(min), Some(median), Some(max)) => Some(Spread { min, median, max }),
            _ => None,
        };
        Self {
            step: fields[0].unwrap_or_default() as u64,
            epoch: fields[1].unwrap_or_default() as u32,
            loss: opt(fields[2]).unwrap_or(f32::NAN),
            lr: fields[3].unwrap_or(f64::NAN),
            grad_norm: opt(fields[4]),
            update_ratio: opt(fields[5]),
            weight_norm: opt(fields[6]),
            step_size,
            bounds: opt(fields[10]).zip(opt(fields[11])),
            rectification: opt(fields[12]),
        }
    }

    /// [`fields`](Self::fields) as plain numbers, NaN where not measured (a checkpoint's rows;
    /// a measured NaN reads back as not measured, except the loss, which is always measured).
    pub fn to_row(&self) -> [f64; STEP_COLUMNS.len()] {
        self.fields().map(|v| v.unwrap_or(f64::NAN))
    }

    /// The inverse of [`to_row`](Self::to_row).
    pub fn from_row(row: [f64; STEP_COLUMNS.len()]) -> Self {
        Self::from_fields(row.map(|v| (!v.is_nan()).then_some(v)))
    }
}

/// One epoch of one run. In JSON a loss that is not finite is the string `"NaN"`, `"inf"` or
/// `"-inf"` (see [`nonfinite`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// The epoch, from 1.
    pub epoch: u32,
    /// Mean training loss over the epoch's images (with the weights of the moment each batch
    /// was seen, as PyTorch training loops report it).
    #[serde(with = "nonfinite")]
    pub train_loss: f32,
    /// Fraction of training images classified right, likewise.
    #[serde(with = "nonfinite")]
    pub train_accuracy: f32,
    /// Mean loss on the test images after the epoch, batch norm in evaluation mode (it can be
    /// NaN or infinite while the training loss is not: batch norm's running statistics blow up).
    #[serde(with = "nonfinite")]
    pub test_loss: f32,
    /// Fraction of test images classified right.
    #[serde(with = "nonfinite")]
    pub test_accuracy: f32,
    /// Seconds spent training this run during the epoch (forward, backward, optimizer step,
    /// metrics), without evaluation.
    pub seconds: f64,
    /// Seconds spent evaluating this run on the test images.
    pub eval_seconds: f64,
    /// Training images per second.
    #[serde(with = "nonfinite")]
    pub images_per_second: f64,
}

/// Column names of [`EpochMetrics::values`], as in `metrics.csv`.
pub const EPOCH_COLUMNS: [&str; 7] = [
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "seconds",
    "eval_seconds",
    "images_per_second",
];

impl EpochMetrics {
    /// The figures in [`EPOCH_COLUMNS`] order.
    pub fn values(&self) -> [f64; EPOCH_COLUMNS.len()] {
        [
            f64::from(self.train_loss),
            f64::from(self.train_accuracy),
            f64::from(self.test_loss),
            f64::from(self.test_accuracy),
            self.seconds,
            self.eval_seconds,
            self.images_per_second,
        ]
    }
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
        #[serde(with = "nonfinite")]
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

impl RunHistory {
    /// The epoch with the highest test accuracy (NaN accuracies aside), if one has ended.
    pub fn best_epoch(&self) -> Option<&EpochMetrics> {
        self.epochs
            .iter()
            .filter(|e| !e.test_accuracy.is_nan())
            .max_by(|a, b| a.test_accuracy.total_cmp(&b.test_accuracy))
    }
}

/// Serde for floats that may be NaN or infinite. JSON has no such numbers (serde_json writes
/// them as `null` and cannot read that back into a float), so they travel as the strings `"NaN"`,
/// `"inf"` and `"-inf"`; finite values stay plain numbers. Reading also takes `null` as NaN.
pub mod nonfinite {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// A float as JSON can carry it.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value<T> {
        Number(T),
        Text(String),
        Null(()),
    }

    /// Writes `value`: a number when finite, else its name.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<T, S>(value: &T, serializer: S) -> Result<S::Ok, S::Error>
    where
        T: Copy + Into<f64> + Serialize,
        S: Serializer,
    {
        let wide: f64 = (*value).into();
        if wide.is_nan() {
            serializer.serialize_str("NaN")
        } else if wide.is_infinite() {
            serializer.serialize_str(if wide > 0.0 { "inf" } else { "-inf" })
        } else {
            value.serialize(serializer)
        }
    }

    /// Reads what [`serialize`] writes.
    ///
    /// # Errors
    /// A string other than `NaN`, `inf` or `-inf`.
    pub fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
    where
        T: Deserialize<'de> + std::str::FromStr,
        D: Deserializer<'de>,
    {
        let name = match Value::<T>::deserialize(deserializer)? {
            Value::Number(value) => return Ok(value),
            Value::Null(()) => "NaN".to_string(),
            Value::Text(text) => text,
        };
        match name.as_str() {
            // Rust's float parser reads exactly these names.
            "NaN" | "inf" | "-inf" => name.parse().map_err(|_| unknown(&name)),
            _ => Err(unknown(&name)),
        }
    }

    fn unknown<E: serde::de::Error>(name: &str) -> E {
        E::custom(format!(
            "'{name}' is not a number (the names allowed are NaN, inf and -inf)"
        ))
    }

    /// The same for an optional float: `null` is `None` here.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        #[derive(Deserialize)]
        #[serde(bound = "T: Deserialize<'de> + std::str::FromStr")]
        struct Named<T>(#[serde(deserialize_with = "super::deserialize")] T);

        /// Writes `value` as [`super::serialize`] does, `None` as `null`.
        ///
        /// # Errors
        /// The serializer's.
        pub fn serialize<T, S>(value: &Option<T>, serializer: S) -> Result<S::Ok, S::Error>
        where
            T: Copy + Into<f64> + Serialize,
            S: Serializer,
        {
            match value {
                Some(value) => super::serialize(value, serializer),
                None => serializer.serialize_none(),
            }
        }

        /// Reads what [`serialize`] writes.
        ///
        /// # Errors
        /// As [`super::deserialize`].
        pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
        where
            T: Deserialize<'de> + std::str::FromStr,
            D: Deserializer<'de>,
        {
            Ok(Option::<Named<T>>::deserialize(deserializer)?.map(|named| named.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Smoothing;

    #[test]
    fn smoothing_is_a_debiased_moving_average_that_skips_non_finite_values() {
        let mut smoothing = Smoothing::new(0.5);
        assert_eq!(smoothing.push(4.0), Some(4.0), "debiased from the start");
        assert_eq!(smoothing.push(f64::NAN), None);
        assert_eq!(smoothing.push(f64::INFINITY), None);
        // (0.5·0.5·4 + 0.5·2) / (1 − 0.5²)
        assert_eq!(
            smoothing.push(2.0),
            Some((0.5 * 0.5 * 4.0 + 0.5 * 2.0) / 0.75)
        );
        let mut raw = Smoothing::new(0.0);
        assert_eq!((raw.push(3.0), raw.push(-1.0)), (Some(3.0), Some(-1.0)));
        let mut clamped = Smoothing::new(2.0);
        assert_eq!(clamped, Smoothing::new(0.999));
        assert_eq!(clamped.push(7.0), Some(7.0));
    }
}
