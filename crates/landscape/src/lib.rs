//! # stepwise-landscape
//!
//! The teaching landscape: optimizers on the 2-D test functions of `stepwise_optim`, many
//! problems at once on the GPU (through `stepwise_gpu`'s fused kernels), with the CPU reference
//! as the fallback and the yardstick.
//!
//! - [`trajectories`]: many independent 2-D problems (one per start point, with one optimizer or
//!   one each) stepped together, `functions.wgsl` computing their gradients.
//! - [`BasinMap`]: the final loss from every pixel of a grid of start points.
//! - [`HyperMap`]: the final loss from one start for every cell of a grid of learning rates ×
//!   beta1 or momentum, each cell its own optimizer.
//! - [`LossScale`], [`loss_colours`]: how the maps colour a loss.

mod basin;
mod colours;
mod hypermap;
mod trajectories;

pub use basin::{BasinGrid, BasinMap, CPU_CHUNK};
pub use colours::{DIVERGED, LossScale, loss_colours};
pub use hypermap::{HyperGrid, HyperMap};
pub use trajectories::{FUNCTIONS, Optimizers, Record, Trajectories, trajectories};
