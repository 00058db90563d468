//! Hyperparameter maps: the final loss from one start point for every setting of a grid of
//! learning rates × beta1 (momentum for SGD), each cell its own optimizer, all stepped in one
//! dispatch per step on the GPU (or one trace per cell on the CPU).

use stepwise_optim::{
    Hyperparameter, LrSchedule, Optimizer, OptimizerSpec, Slot, TestFunction, final_point,
};

use crate::basin::map_pausing;
use stepwise_gpu::{Gpu, GpuError};

use crate::{LossScale, Optimizers, Record, loss_colours, trajectories};

/// A square grid of settings in image order: learning rates evenly spaced in log10 across the
/// columns (left to right), the second hyperparameter evenly across the rows (row 0 is the top,
/// its largest value), sampled at cell centres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HyperGrid {
    /// (min, max) of log10 of the learning rate.
    pub lr_log10: (f64, f64),
    /// (min, max) of beta1, or of momentum for SGD.
    pub second: (f64, f64),
    /// Cells per side.
    pub resolution: u32,
}

impl HyperGrid {
    /// The (learning rate, second hyperparameter) of every cell, row by row from the top.
    pub fn settings(&self) -> Vec<(f64, f64)> {
        let n = self.resolution;
        let centre =
            |i: u32, (lo, hi): (f64, f64)| lo + (f64::from(i) + 0.5) * (hi - lo) / f64::from(n);
        (0..n)
            .flat_map(|row| {
                let second = centre(n - 1 - row, self.second);
                (0..n).map(move |col| (10f64.powf(centre(col, self.lr_log10)), second))
            })
            .collect()
    }

    /// The optimizer of every cell: `spec` with the cell's learning rate and second
    /// hyperparameter (whatever `spec` sets for those), at a constant learning rate; `None` where
    /// the setting is invalid.
    pub fn optimizers(&self, spec: &OptimizerSpec) -> Vec<Option<Optimizer>> {
        self.settings()
            .into_iter()
            .map(|(lr, second)| {
                let config = with_axes(spec, Some(lr), Some(second)).resolve().ok()?;
                Optimizer::new(config, LrSchedule::Constant {}).ok()
            })
            .collect()
    }

    /// What a map of `spec` depends on besides the grid: `spec` without the two hyperparameters
    /// the map sweeps.
    pub fn unswept(spec: &OptimizerSpec) -> OptimizerSpec {
        with_axes(spec, None, None)
    }
}

/// `spec` with the map's axes set: the learning rate and the optimizer's
/// [`momentum_like`](stepwise_optim::OptimizerKind::momentum_like) hyperparameter.
fn with_axes(spec: &OptimizerSpec, lr: Option<f64>, second: Option<f64>) -> OptimizerSpec {
    let mut spec = spec.clone();
    let second_axis = spec.optimizer.momentum_like();
    for (hyperparameter, slot) in spec.hyperparameters_mut() {
        if let Slot::Number(value) = slot {
            if hyperparameter == Hyperparameter::Lr {
                *value = lr;
            } else if hyperparameter == second_axis {
                *value = second;
            }
        }
    }
    spec
}

/// The final loss of every cell of a [`HyperGrid`], in image order.
#[derive(Clone, Debug, PartialEq)]
pub struct HyperMap {
    /// The grid.
    pub grid: HyperGrid,
    /// Final losses, in image order; NaN where the setting is invalid or the run overflowed.
    pub losses: Vec<f32>,
}

impl HyperMap {
    /// Runs `spec` at every setting of `grid` for `steps` steps from `start`: on `gpu` every
    /// valid cell is one problem with its own scalars, all in one dispatch per step; without one,
    /// one trace per cell on the CPU, in parallel.
    ///
    /// # Errors
    /// GPU errors ([`GpuError::MixedOptimizers`] when the settings change which state the
    /// optimizer keeps, as momentum 0 does for SGD).
    pub async fn compute(
        gpu: Option<&Gpu>,
        function: TestFunction,
        spec: &OptimizerSpec,
        start: [f32; 2],
        grid: HyperGrid,
        steps: u64,
    ) -> Result<Self, GpuError> {
        Self::compute_pausing(gpu, function, spec, start, grid, steps, || async {}).await
    }

    /// [`compute`](Self::compute), awaiting `pause()` between chunks of
    /// [`CPU_CHUNK`](crate::CPU_CHUNK) cells on the CPU (as
    /// [`BasinMap::compute_pausing`](crate::BasinMap::compute_pausing) does).
    ///
    /// # Errors
    /// As [`compute`](Self::compute).
    pub async fn compute_pausing<Fut: Future<Output = ()>>(
        gpu: Option<&Gpu>,
        function: TestFunction,
        spec: &OptimizerSpec,
        start: [f32; 2],
        grid: HyperGrid,
        steps: u64,
        pause: impl FnMut() -> Fut,
    ) -> Result<Self, GpuError> {
        let cells = grid.optimizers(spec);
        let losses = match gpu {
            Some(gpu) => {
                let valid: Vec<Optimizer> = cells.iter().flatten().cloned().collect();
                let mut finals = if valid.is_empty() {
                    Vec::new()
                } else {
                    let starts = vec![start; valid.len()];
                    let optimizers = Optimizers::PerStart(&valid);
                    trajectories(gpu, function, optimizers, &starts, steps, Record::FinalOnly)
                        .await?
                        .finals()
                }
                .into_iter();
                cells
                    .iter()
                    .map(|cell| match cell {
                        Some(_) => finals.next().map_or(f32::NAN, |p| p.loss),
                        None => f32::NAN,
                    })
                    .collect()
            }
            None => {
                let final_loss = |cell: &Option<Optimizer>| {
                    let mut optimizer = cell.clone()?;
                    final_point(function, &mut optimizer, start, steps)
                        .ok()
                        .map(|p| p.loss)
                };
                map_pausing(&cells, |cell| final_loss(cell).unwrap_or(f32::NAN), pause).await
            }
        };
        Ok(Self { grid, losses })
    }

    /// The colour scale of its final losses.
    pub fn scale(&self) -> LossScale {
        LossScale::of(self.losses.iter().copied())
    }

    /// RGBA pixels, row by row: final losses coloured by [`loss_colours`].
    pub fn rgba(&self) -> Vec<u8> {
        loss_colours(self.losses.iter().copied())
    }
}
