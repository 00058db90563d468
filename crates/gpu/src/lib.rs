//! # stepwise-gpu
//!
//! Fused optimizer steps on any GPU through wgpu (Vulkan, Metal, DX12, WebGPU): every step of SGD,
//! Adam/AdamW, AdaBound/AdaBoundW or RAdam is one compute pass that reads a parameter, its gradient
//! and its optimizer state once and writes them once (`shaders/*.wgsl`).
//!
//! The kernels take their per-step scalars (learning rate, bias corrections, bounds,
//! rectification) from `stepwise_optim`'s host code, byte for byte: the formulas exist once, and
//! the tests hold every kernel to the CPU reference.
//!
//! - [`Gpu`]: adapter selection with a clear report, device, queue, async readback.
//! - [`FusedStepper`]: one parameter tensor and its state in GPU buffers.
//! - [`trajectories`]: many independent 2-D problems (one per start point, with one optimizer or
//!   one each) stepped together.
//! - [`FusedOptimizer`]: the fused kernels as a burn optimizer, in place on burn-wgpu tensors;
//!   [`ReferenceOptimizer`]: the CPU reference as a burn optimizer for any backend.
//! - [`BasinMap`]: the final loss from every pixel of a grid of start points (GPU, CPU fallback).
//! - [`tuning`]: where burn-wgpu keeps its autotune choices (native targets).
//! - [`HyperMap`]: the final loss from one start for every cell of a grid of learning rates ×
//!   beta1 or momentum, each cell its own optimizer (GPU, CPU fallback).

mod basin;
mod burn_optim;
mod device;
mod fused;
mod hypermap;
mod kernels;
mod landscape;
#[cfg(not(target_arch = "wasm32"))]
pub mod tuning;

pub use basin::{BasinGrid, BasinMap, CPU_CHUNK, DIVERGED, loss_colours};
pub use burn_optim::{
    CountedState, FusedOptimizer, FusedStepOps, ReferenceOptimizer, ScalarBlock, TensorState,
    TensorStep,
};
pub use device::{AdapterSummary, Gpu, GpuError};
pub use fused::{FusedStepper, kernel_for};
pub use hypermap::{HyperGrid, HyperMap};
pub use kernels::{Kernel, Scalars, WORKGROUP_SIZE, Width};
pub use landscape::{Optimizers, Record, Trajectories, trajectories};
