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
//! - [`FusedStepper`]: one parameter tensor and its state in GPU buffers; with one optimizer per
//!   element pair, many independent 2-D problems at once (`stepwise-landscape` builds on that).
//! - [`FusedOptimizer`]: the fused kernels as a burn optimizer, in place on burn-wgpu tensors;
//!   [`ReferenceOptimizer`]: the CPU reference as a burn optimizer for any backend.
//! - [`Shader`], [`Pipeline`], [`ScalarSlots`]: the conventions every WGSL kernel here follows,
//!   public for kernels of the crates above.
//! - [`tuning`]: where burn-wgpu keeps its autotune choices (native targets).

mod burn_optim;
mod device;
mod fused;
mod kernels;
#[cfg(not(target_arch = "wasm32"))]
pub mod tuning;

pub use burn_optim::{
    CountedState, FusedOptimizer, FusedStepOps, ReferenceOptimizer, ScalarBlock, TensorState,
    TensorStep,
};
pub use device::{AdapterSummary, Gpu, GpuError};
pub use fused::{FusedStepper, kernel_for};
pub use kernels::{
    Kernel, Pipeline, ScalarSlots, Scalars, Shader, WORKGROUP_SIZE, Width, workgroups,
};
