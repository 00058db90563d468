//! # stepwise-optim
//!
//! Pure-Rust reference implementations of the optimizers Stepwise compares: SGD (momentum,
//! dampening, Nesterov), Adam and AdamW (AMSGrad), AdaBound, AMSBound and AdaBoundW, and RAdam. Each
//! matches its reference (`torch.optim`, Luolc's `adabound`) step for step: same defaults, ε
//! placement, bias correction and weight-decay style, steps counted from 1; the tests hold them to
//! recorded PyTorch runs.
//!
//! Every step is split as the GPU kernels split it:
//! - on the host, once per step, [`Optimizer::begin_step`] computes the scalars of that step (the
//!   scheduled learning rate, bias corrections, AdaBound's bounds, RAdam's rectification) into a
//!   `#[repr(C)]` struct per family ([`SgdScalars`], [`AdamScalars`], [`AdaBoundScalars`],
//!   [`RAdamScalars`]) that is also the WGSL kernels' uniform block;
//! - per element, [`Step::apply`] updates a parameter slice and its [`ParamState`] in one pass,
//!   split over threads for large tensors, without allocating or branching on hyperparameters.
//!   Multiply-adds are fused (`mul_add`) exactly where PyTorch's CPU kernels fuse them, so that
//!   results agree to the last bit wherever torch's own rounding allows.
//!
//! Users name optimizers with an [`OptimizerSpec`] (CLI flags, config files, the app), which resolves
//! to a validated [`OptimizerConfig`] with each optimizer's reference defaults.

mod adabound;
mod adam;
mod config;
mod functions;
mod lanes;
mod optimizer;
mod radam;
mod schedule;
mod sgd;
mod state;
mod trace;

pub use adabound::{AdaBoundConfig, AdaBoundScalars};
pub use adam::{AdamConfig, AdamMoments, AdamScalars};
pub use config::{
    ConfigError, Hyperparameter, OptimizerConfig, OptimizerKind, OptimizerSpec, Slot,
};
pub use functions::TestFunction;
pub use optimizer::{Optimizer, Step, StepScalars};
pub use radam::{RAdamConfig, RAdamScalars, RECTIFICATION_THRESHOLD};
pub use schedule::LrSchedule;
pub use sgd::{SgdConfig, SgdScalars};
pub use state::{ParamState, StateError};
pub use trace::{TracePoint, Trajectory, final_point, trace, trajectory};
