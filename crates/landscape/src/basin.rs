//! Basin maps: the final loss of the trajectory started at every pixel of a grid, computed in one
//! GPU run (or on the CPU as a fallback).

use rayon::prelude::*;
use stepwise_optim::{Optimizer, StateError, TestFunction, TracePoint, final_point};

use stepwise_gpu::{Gpu, GpuError};

use crate::{LossScale, Optimizers, Record, loss_colours, trajectories};

/// A square grid of start points over a rectangle of the plane, in image order: row 0 is the top
/// (largest y), pixel centres are sampled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BasinGrid {
    /// (min, max) of x.
    pub x_range: (f32, f32),
    /// (min, max) of y.
    pub y_range: (f32, f32),
    /// Pixels per side.
    pub resolution: u32,
}

impl BasinGrid {
    /// The start point of every pixel, row by row from the top.
    pub fn starts(&self) -> Vec<[f32; 2]> {
        let n = self.resolution;
        let (x0, x1) = self.x_range;
        let (y0, y1) = self.y_range;
        // In f64: the span of a range near f32's limits (-3e38 to 3e38) overflows f32.
        let centre = |i: u32, lo: f32, hi: f32| {
            let (lo, hi) = (f64::from(lo), f64::from(hi));
            (lo + (f64::from(i) + 0.5) * (hi - lo) / f64::from(n)) as f32
        };
        (0..n)
            .flat_map(|row| {
                let y = centre(n - 1 - row, y0, y1);
                (0..n).map(move |col| [centre(col, x0, x1), y])
            })
            .collect()
    }
}

/// Problems a CPU map runs between two pauses (see [`BasinMap::compute_pausing`]): a few tens of
/// milliseconds of work in the browser at a few hundred steps each.
pub const CPU_CHUNK: usize = 256;

/// `f` of every item, on the CPU in parallel, [`CPU_CHUNK`] items at a time with `pause()`
/// awaited between chunks: a caller on one thread (the browser) lets the page draw there.
pub(crate) async fn map_pausing<T, R, Fut>(
    items: &[T],
    f: impl Fn(&T) -> R + Sync + Send,
    mut pause: impl FnMut() -> Fut,
) -> Vec<R>
where
    T: Sync,
    R: Send,
    Fut: Future<Output = ()>,
{
    let mut out = Vec::with_capacity(items.len());
    for (index, chunk) in items.chunks(CPU_CHUNK).enumerate() {
        if index > 0 {
            pause().await;
        }
        out.par_extend(chunk.par_iter().map(&f));
    }
    out
}

/// The start and final point of every pixel's trajectory, in the grid's order.
#[derive(Clone, Debug, PartialEq)]
pub struct BasinMap {
    /// The grid.
    pub grid: BasinGrid,
    /// Start points, in image order.
    pub starts: Vec<[f32; 2]>,
    /// Final points and losses, in image order.
    pub finals: Vec<TracePoint>,
}

impl BasinMap {
    /// Runs `optimizer` (from its current step) for `steps` steps from every pixel of `grid`: on
    /// `gpu`, all trajectories at once; without one, a trajectory per start on the CPU reference,
    /// in parallel.
    ///
    /// # Errors
    /// GPU errors ([`GpuError::TooLarge`] for grids past the device's buffer limit).
    pub async fn compute(
        gpu: Option<&Gpu>,
        function: TestFunction,
        optimizer: &Optimizer,
        grid: BasinGrid,
        steps: u64,
    ) -> Result<Self, GpuError> {
        Self::compute_pausing(gpu, function, optimizer, grid, steps, || async {}).await
    }

    /// [`compute`](Self::compute), awaiting `pause()` between chunks of [`CPU_CHUNK`] starts on
    /// the CPU (the browser yields to its event loop there, so that the page draws meanwhile).
    ///
    /// # Errors
    /// As [`compute`](Self::compute).
    pub async fn compute_pausing<Fut: Future<Output = ()>>(
        gpu: Option<&Gpu>,
        function: TestFunction,
        optimizer: &Optimizer,
        grid: BasinGrid,
        steps: u64,
        pause: impl FnMut() -> Fut,
    ) -> Result<Self, GpuError> {
        let starts = grid.starts();
        let finals = match gpu {
            Some(gpu) => trajectories(
                gpu,
                function,
                Optimizers::Shared(optimizer),
                &starts,
                steps,
                Record::FinalOnly,
            )
            .await?
            .finals(),
            None => map_pausing(
                &starts,
                |&start| final_point(function, &mut optimizer.clone(), start, steps),
                pause,
            )
            .await
            .into_iter()
            .collect::<Result<Vec<_>, StateError>>()?,
        };
        Ok(Self {
            grid,
            starts,
            finals,
        })
    }

    /// The colour scale of its final losses.
    pub fn scale(&self) -> LossScale {
        LossScale::of(self.finals.iter().map(|p| p.loss))
    }

    /// RGBA pixels, row by row: final losses coloured by [`loss_colours`].
    pub fn rgba(&self) -> Vec<u8> {
        loss_colours(self.finals.iter().map(|p| p.loss))
    }
}
