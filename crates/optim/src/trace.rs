//! Optimizer trajectories on the 2-D test functions.

use crate::{Optimizer, ParamState, StateError, TestFunction};

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

/// A trajectory computed as it is read: the start point, then the point after each step, for as
/// many steps as the reader takes. It holds one point and the optimizer's state, so memory stays
/// the same however long it runs. Divergence is not an error: NaN and infinities are reported as
/// they arise.
pub struct Trajectory<'a> {
    function: TestFunction,
    optimizer: &'a mut Optimizer,
    state: ParamState,
    point: [f32; 2],
    /// The step of the next point to yield.
    step: u64,
}

/// The trajectory of `optimizer` (from its current step) on `function` from `start`.
pub fn trajectory(
    function: TestFunction,
    optimizer: &mut Optimizer,
    start: [f32; 2],
) -> Trajectory<'_> {
    let state = optimizer.init_state(start.len());
    Trajectory {
        function,
        optimizer,
        state,
        point: start,
        step: 0,
    }
}

impl Trajectory<'_> {
    /// The next point.
    ///
    /// # Errors
    /// [`StateError`] only if the optimizer cannot step a two-element parameter, which would be a
    /// bug.
    pub fn next_point(&mut self) -> Result<TracePoint, StateError> {
        if self.step > 0 {
            let [x, y] = self.point;
            let grad = self.function.gradient(x, y);
            self.optimizer
                .begin_step()
                .apply(&mut self.point, &grad, &mut self.state)?;
        }
        let [x, y] = self.point;
        let point = TracePoint {
            step: self.step,
            x,
            y,
            loss: self.function.value(x, y),
        };
        self.step += 1;
        Ok(point)
    }
}

impl<'a> Trajectory<'a> {
    /// The start and the points after each of `steps` steps: `steps + 1` points, then the end.
    pub fn through(self, steps: u64) -> std::iter::Take<Self> {
        // Beyond usize, the reader stops long before the end.
        self.take(usize::try_from(steps.saturating_add(1)).unwrap_or(usize::MAX))
    }
}

impl Iterator for Trajectory<'_> {
    type Item = Result<TracePoint, StateError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.next_point())
    }
}

/// Runs `optimizer` for `steps` steps on `function` from `start`; returns `steps + 1` points, the
/// start first (see [`trajectory`] to read them one at a time instead).
///
/// # Errors
/// [`StateError`] only if `optimizer` cannot step a two-element parameter, which would be a bug.
pub fn trace(
    function: TestFunction,
    optimizer: &mut Optimizer,
    start: [f32; 2],
    steps: u64,
) -> Result<Vec<TracePoint>, StateError> {
    trajectory(function, optimizer, start)
        .through(steps)
        .collect()
}

/// The point after `steps` steps of `optimizer` on `function` from `start`, in constant memory.
///
/// # Errors
/// As [`trace`].
pub fn final_point(
    function: TestFunction,
    optimizer: &mut Optimizer,
    start: [f32; 2],
    steps: u64,
) -> Result<TracePoint, StateError> {
    let mut points = trajectory(function, optimizer, start);
    let mut last = points.next_point()?;
    for _ in 0..steps {
        last = points.next_point()?;
    }
    Ok(last)
}
