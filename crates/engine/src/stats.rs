//! What is noise: the spread of a result over seeds, the resolution of an accuracy measured on N
//! test images, and paired differences between two optimizers run on the same seeds, with
//! Student's t confidence intervals (as `scipy.stats.ttest_rel` and `scipy.stats.t`).

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The confidence of the intervals reports show.
pub const CONFIDENCE: f64 = 0.95;

/// The spread of one result over seeds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Values summarised.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator); `None` for a single value.
    pub sd: Option<f64>,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

impl Summary {
    /// The summary of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Self> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = (n > 1).then(|| {
            let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
            (squares / (n - 1) as f64).sqrt()
        });
        Some(Self {
            n,
            mean,
            sd,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

/// The binomial standard error of an accuracy `accuracy` measured on `images` test images,
/// √(p(1 − p)/n): the resolution of the test set itself, whatever the seeds.
pub fn accuracy_standard_error(accuracy: f64, images: usize) -> f64 {
    (accuracy * (1.0 - accuracy) / images.max(1) as f64).sqrt()
}

/// Half the width of the normal-approximation interval of a difference between two accuracies
/// measured on `images` test images each: below it, a difference is within the test set's noise.
pub fn accuracy_difference_margin(a: f64, b: f64, images: usize, confidence: f64) -> f64 {
    let z = normal_quantile(0.5 + confidence / 2.0);
    z * accuracy_standard_error(a, images).hypot(accuracy_standard_error(b, images))
}

/// `accuracies` ranked best first (each measured on `images` test images, one seed) cut into
/// groups the test set cannot tell apart: a run joins the group above it while its gap to that
/// group's best is within [`accuracy_difference_margin`].
pub fn groups_within_noise(
    accuracies: &[f64],
    images: usize,
    confidence: f64,
) -> Vec<std::ops::Range<usize>> {
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, &accuracy) in accuracies.iter().enumerate() {
        match groups.last_mut() {
            Some(group)
                if accuracies[group.start] - accuracy
                    <= accuracy_difference_margin(
                        accuracies[group.start],
                        accuracy,
                        images,
                        confidence,
                    ) =>
            {
                group.end = i + 1;
            }
            _ => groups.push(i..i + 1),
        }
    }
    groups
}

/// One optimizer against another over the same seeds (same initial weights, same batches per
/// seed): the difference a − b seed by seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairedDifference {
    /// Seeds compared.
    pub n: usize,
    /// Mean of the differences.
    pub mean: f64,
    /// Their sample standard deviation; `None` for one seed.
    pub sd: Option<f64>,
    /// The confidence interval of the mean difference (Student's t, n − 1 degrees of freedom);
    /// `None` for one seed.
    pub interval: Option<(f64, f64)>,
    /// The paired t statistic (±∞ when every difference is the same non-zero value, NaN when
    /// every difference is zero); `None` for one seed.
    pub t: Option<f64>,
    /// Its two-sided p-value; `None` for one seed.
    pub p_value: Option<f64>,
    /// Seeds where a beat b.
    pub wins: usize,
    /// Seeds where b beat a.
    pub losses: usize,
}

impl PairedDifference {
    /// `a` against `b`, paired by index (seed); `None` when they are empty or of other lengths.
    pub fn of(a: &[f64], b: &[f64], confidence: f64) -> Option<Self> {
        if a.is_empty() || a.len() != b.len() {
            return None;
        }
        let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        let summary = Summary::of(&differences)?;
        let n = summary.n;
        let (interval, t, p_value) = match summary.sd {
            Some(sd) => {
                let freedom = (n - 1) as f64;
                let standard_error = sd / (n as f64).sqrt();
                let t = summary.mean / standard_error;
                let distribution = StudentsT::new(0.0, 1.0, freedom).ok()?;
                let half = distribution.inverse_cdf(0.5 + confidence / 2.0) * standard_error;
                let p_value = if t.is_nan() {
                    f64::NAN
                } else {
                    2.0 * distribution.sf(t.abs())
                };
                (
                    Some((summary.mean - half, summary.mean + half)),
                    Some(t),
                    Some(p_value),
                )
            }
            None => (None, None, None),
        };
        Some(Self {
            n,
            mean: summary.mean,
            sd: summary.sd,
            interval,
            t,
            p_value,
            wins: differences.iter().filter(|d| **d > 0.0).count(),
            losses: differences.iter().filter(|d| **d < 0.0).count(),
        })
    }

    /// Whether the seeds cannot tell the two apart: the interval holds 0 (or there is one seed).
    pub fn is_noise(&self) -> bool {
        self.interval.is_none_or(|(lo, hi)| lo <= 0.0 && 0.0 <= hi)
    }
}

/// The standard normal quantile at `p`.
fn normal_quantile(p: f64) -> f64 {
    Normal::new(0.0, 1.0).map_or(f64::NAN, |normal| normal.inverse_cdf(p))
}
