//! Optimizer trajectories on the 2-D test functions.

use crate::{Optimizer, StateError, TestFunction};

/// One row of a trajectory: the point after `step` steps and the loss there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TracePoint {
    /// Steps taken (0 is the start point).
    pub step: u64,
    /// x after `step` steps.
    pub x: f32,
    /// y after `step` steps.
    pub y: f32,
    /// The function's value at (x, y).
    pub loss: f32,
}

/// Runs `optimizer` for `steps` steps on `function` from `start`; returns `steps + 1` points, the
/// start first. Divergence is not an error: NaN and infinities are reported as they arise.
///
/// # Errors
/// [`StateError`] only if `optimizer` cannot step a two-element parameter, which would be a bug.
pub fn trace(
    function: TestFunction,
    optimizer: &mut Optimizer,
    start: [f32; 2],
    steps: u64,
) -> Result<Vec<TracePoint>, StateError> {
    let mut point = start;
    let mut state = optimizer.init_state(point.len());
    let at = |step: u64, [x, y]: [f32; 2]| TracePoint {
        step,
        x,
        y,
        loss: function.value(x, y),
    };
    let mut points = Vec::with_capacity(usize::try_from(steps).map_or(0, |s| s + 1));
    points.push(at(0, point));
    for step in 1..=steps {
        let grad = function.gradient(point[0], point[1]);
        optimizer
            .begin_step()
            .apply(&mut point, &grad, &mut state)?;
        points.push(at(step, point));
    }
    Ok(points)
}
