//! Plot series that stay cheap to draw however long a run gets: decimated as they grow, with the
//! newest point always shown, and borrowed by the plots instead of copied every frame.

use egui::Color32;
use egui_plot::PlotPoint;
use stepwise_engine::Smoothing;

/// Points kept per series before the stride doubles: a few per horizontal pixel of a wide plot.
const MAX_POINTS: usize = 4096;

/// A decimated (x, y) series with optional TensorBoard-style smoothing ([`Smoothing`]).
#[derive(Clone, Debug)]
pub struct Series {
    smoothing: Smoothing,
    /// Values pushed so far (finite ones).
    seen: u64,
    /// Every `stride`-th value is kept.
    stride: u64,
    points: Vec<PlotPoint>,
    /// Whether the last point is the newest value between two kept ones.
    tail: bool,
}

impl Default for Series {
    fn default() -> Self {
        Self::smoothed(0.0)
    }
}

impl Series {
    /// An empty series smoothed with weight `smoothing` (0 = raw values).
    pub fn smoothed(smoothing: f64) -> Self {
        Self {
            smoothing: Smoothing::new(smoothing),
            seen: 0,
            stride: 1,
            points: Vec::new(),
            tail: false,
        }
    }

    /// Adds a value; NaN and infinities are skipped (divergence is marked separately).
    pub fn push(&mut self, x: f64, y: f64) {
        let Some(y) = self.smoothing.push(y) else {
            return;
        };
        self.seen += 1;
        let point = PlotPoint::new(x, y);
        if self.tail {
            self.points.pop();
        }
        self.tail = !(self.seen - 1).is_multiple_of(self.stride);
        self.points.push(point);
        if self.points.len() > 2 * MAX_POINTS {
            self.halve();
        }
    }

    /// Keeps every other sampled point and doubles the stride; the newest value stays last.
    fn halve(&mut self) {
        let newest = self.points.pop();
        let mut keep = false;
        self.points.retain(|_| {
            keep = !keep;
            keep
        });
        self.stride *= 2;
        self.points.extend(newest);
        self.tail = !(self.seen - 1).is_multiple_of(self.stride);
    }

    /// The points to draw, oldest first; the newest value is always last.
    pub fn points(&self) -> &[PlotPoint] {
        &self.points
    }

    /// The newest point.
    pub fn last(&self) -> Option<PlotPoint> {
        self.points.last().copied()
    }
}

/// Several seeds' series of one quantity as one: at each point of the longest, the mean over the
/// series with a point at that step, and their lowest and highest value (a band). Series of one
/// run's seeds keep the same steps (a series that stopped early keeps a finer subset).
pub fn across_seeds(series: &[&Series]) -> Band {
    let Some(longest) = series.iter().max_by_key(|s| s.points.len()) else {
        return Band::default();
    };
    let mut band = Band::default();
    for point in &longest.points {
        let values: Vec<f64> = series
            .iter()
            .filter_map(|s| {
                let at = s
                    .points
                    .binary_search_by(|p| p.x.total_cmp(&point.x))
                    .ok()?;
                Some(s.points[at].y)
            })
            .collect();
        band.xs.push(point.x);
        band.means
            .push(values.iter().sum::<f64>() / values.len().max(1) as f64);
        band.lows
            .push(values.iter().copied().fold(f64::INFINITY, f64::min));
        band.highs
            .push(values.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    }
    band
}

/// A mean over seeds and their range, step by step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Band {
    /// The steps.
    pub xs: Vec<f64>,
    /// The mean at each.
    pub means: Vec<f64>,
    /// The lowest value at each.
    pub lows: Vec<f64>,
    /// The highest value at each.
    pub highs: Vec<f64>,
}

impl Band {
    /// The mean line's points.
    pub fn mean_points(&self) -> Vec<[f64; 2]> {
        self.xs
            .iter()
            .zip(&self.means)
            .map(|(&x, &y)| [x, y])
            .collect()
    }

    /// Each value through `f` (log10 for a log axis).
    pub fn map(mut self, f: impl Fn(f64) -> f64) -> Self {
        for values in [&mut self.means, &mut self.lows, &mut self.highs] {
            for value in values.iter_mut() {
                *value = f(*value);
            }
        }
        self
    }
}

/// The colour of run `index`: Tableau 10, distinct for the first ten runs and readable on the
/// dark and light themes.
pub fn run_color(index: usize) -> Color32 {
    let c = colorous::TABLEAU10[index % colorous::TABLEAU10.len()];
    Color32::from_rgb(c.r, c.g, c.b)
}

/// A short bar in a run's colour, beside its name in a list.
pub fn swatch(ui: &mut egui::Ui, color: Color32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(18.0, 4.0), egui::Sense::hover());
    ui.painter().rect_filled(rect, 1.0, color);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use super::*;

    /// Two seeds' series, one of which stopped early: the mean and range where both have a
    /// point, the longer one alone after.
    #[test]
    fn seeds_become_a_mean_and_a_band() {
        let mut a = Series::default();
        let mut b = Series::default();
        for step in 1..=4 {
            a.push(f64::from(step), f64::from(step));
        }
        for step in 1..=2 {
            b.push(f64::from(step), 3.0 * f64::from(step));
        }
        let band = across_seeds(&[&b, &a]);
        assert_eq!(band.xs, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(band.means, [2.0, 4.0, 3.0, 4.0]);
        assert_eq!(band.lows, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(band.highs, [3.0, 6.0, 3.0, 4.0]);
        assert_eq!(across_seeds(&[]), Band::default());
    }

    #[test]
    fn long_series_are_decimated_and_end_at_the_newest_value() {
        let mut series = Series::default();
        for step in 1..=100_000u32 {
            series.push(f64::from(step), f64::from(step) * 2.0);
            let last = series.last().expect("a point");
            assert_eq!(last.x, f64::from(step), "newest point shown");
        }
        let points = series.points();
        assert!(points.len() <= 2 * MAX_POINTS + 1, "{}", points.len());
        assert!(points.len() > MAX_POINTS / 2, "{}", points.len());
        assert_eq!(points[0].x, 1.0);
        assert!(points.windows(2).all(|w| w[0].x < w[1].x), "in order");
        assert!(points.iter().all(|p| p.y == p.x * 2.0), "raw values kept");
    }

    #[test]
    fn smoothed_series_skip_non_finite_values() {
        let mut series = Series::smoothed(0.5);
        series.push(1.0, 4.0);
        series.push(2.0, f64::NAN);
        series.push(3.0, 2.0);
        let mut smoothing = Smoothing::new(0.5);
        let expected = [smoothing.push(4.0), smoothing.push(2.0)];
        let drawn: Vec<_> = series.points().iter().map(|p| (p.x, Some(p.y))).collect();
        assert_eq!(drawn, [(1.0, expected[0]), (3.0, expected[1])]);
    }
}
