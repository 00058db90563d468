//! How the maps colour a final loss.

/// The colour scale of one map: a perceptual colour scale (viridis, dark = low) after `asinh`,
/// which compresses large losses like a logarithm and keeps the sign of the saddle's negative
/// ones, stretched between the smallest and largest finite loss. NaN and infinite losses
/// (diverged trajectories) are [`DIVERGED`] red.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossScale {
    /// asinh of the smallest finite loss.
    low: f64,
    /// asinh of the largest (above `low` even when every loss is the same).
    high: f64,
}

impl LossScale {
    /// The scale of a map of `losses`.
    pub fn of(losses: impl IntoIterator<Item = f32>) -> Self {
        let (low, high) = losses
            .into_iter()
            .map(|v| f64::from(v).asinh())
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        if !low.is_finite() {
            return Self {
                low: 0.0,
                high: 1.0,
            };
        }
        let high = if high > low { high } else { low + 1.0 };
        Self { low, high }
    }

    /// The colour of `loss`, as RGBA.
    pub fn colour(self, loss: f32) -> [u8; 4] {
        let shaped = f64::from(loss).asinh();
        if !shaped.is_finite() {
            return DIVERGED;
        }
        let c = colorous::VIRIDIS.eval_continuous((shaped - self.low) / (self.high - self.low));
        [c.r, c.g, c.b, 255]
    }

    /// The loss at `fraction` (0 to 1) of the scale: what a colour bar labels.
    pub fn loss_at(self, fraction: f64) -> f64 {
        (self.low + fraction * (self.high - self.low)).sinh()
    }
}

/// RGBA pixels for `losses`, each coloured on their [`LossScale`].
pub fn loss_colours(losses: impl IntoIterator<Item = f32> + Clone) -> Vec<u8> {
    let scale = LossScale::of(losses.clone());
    losses.into_iter().flat_map(|v| scale.colour(v)).collect()
}

/// The colour of a diverged trajectory's pixel.
pub const DIVERGED: [u8; 4] = [220, 30, 30, 255];
