//! How the maps colour a final loss.

/// RGBA pixels for losses: a perceptual colour scale (viridis, dark = low) after `asinh`, which
/// compresses large losses like a logarithm and keeps the sign of the saddle's negative ones,
/// stretched between the smallest and largest finite loss. NaN and infinite losses (diverged
/// trajectories) are [`DIVERGED`] red.
pub fn loss_colours(losses: impl IntoIterator<Item = f32>) -> Vec<u8> {
    let shaped: Vec<f64> = losses.into_iter().map(|v| f64::from(v).asinh()).collect();
    let (lo, hi) = shaped
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    shaped
        .iter()
        .flat_map(|&v| {
            if v.is_finite() {
                let c = colorous::VIRIDIS.eval_continuous((v - lo) / span);
                [c.r, c.g, c.b, 255]
            } else {
                DIVERGED
            }
        })
        .collect()
}

/// The colour of a diverged trajectory's pixel.
pub const DIVERGED: [u8; 4] = [220, 30, 30, 255];
