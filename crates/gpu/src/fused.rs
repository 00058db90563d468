//! One parameter tensor and its optimizer state in GPU buffers, stepped by a fused kernel.

use std::mem::size_of;

use stepwise_optim::{
    AdaBoundScalars, AdamScalars, OptimizerConfig, ParamState, RAdamScalars, SgdScalars,
    StateError, Step,
};

use crate::kernels::{Kernel, Pipeline, ScalarSlots, Scalars, Width, workgroups};
use crate::{Gpu, GpuError};

/// The kernel that steps an optimizer.
pub const fn kernel_for(config: &OptimizerConfig) -> Kernel {
    match config {
        OptimizerConfig::Sgd(_) => Kernel::Sgd,
        OptimizerConfig::Adam(_) | OptimizerConfig::AdamW(_) => Kernel::Adam,
        OptimizerConfig::AdaBound(_) | OptimizerConfig::AdaBoundW(_) => Kernel::AdaBound,
        OptimizerConfig::RAdam(_) => Kernel::RAdam,
    }
}

/// Size of the kernel's scalar block (the optimizer crate's scalar struct).
const fn block_size(kernel: Kernel) -> u64 {
    (match kernel {
        Kernel::Sgd => size_of::<SgdScalars>(),
        Kernel::Adam => size_of::<AdamScalars>(),
        Kernel::AdaBound => size_of::<AdaBoundScalars>(),
        Kernel::RAdam => size_of::<RAdamScalars>(),
    }) as u64
}

/// How a stepper's elements map onto invocations and scalar blocks.
#[derive(Clone, Copy, Debug)]
struct Layout {
    width: Width,
    scalars: Scalars,
    /// Scalar blocks per step: 1, or one per problem.
    blocks: usize,
}

impl Layout {
    /// One tensor, one optimizer: whole `vec4`s, since the buffers are ours to pad (llvmpipe
    /// needs 16-byte accesses for bandwidth; GPUs do not mind).
    const TENSOR: Self = Self {
        width: Width::Vec4,
        scalars: Scalars::Shared,
        blocks: 1,
    };
}

/// A parameter tensor, its gradient and its optimizer state on the GPU, with the fused kernel that
/// updates them in one pass per step. Buffers are padded with zeros to whole vectors; the padding
/// never reaches the caller.
///
/// The per-step scalars come from `Optimizer::begin_step` on the host, as for the CPU path, and
/// are written into slots: up to `slots` steps can be encoded into one submission. Either one
/// optimizer steps the whole tensor ([`new`](Self::new)), or the tensor is many 2-D problems, each
/// with its own optimizer ([`per_problem`](Self::per_problem)).
#[derive(Debug)]
pub struct FusedStepper {
    pipeline: Pipeline,
    scalars: ScalarSlots,
    layout: Layout,
    len: usize,
    param: wgpu::Buffer,
    grad: wgpu::Buffer,
    /// State buffers in binding order; one-vector placeholders for buffers the variant lacks.
    state: Vec<wgpu::Buffer>,
    /// The CPU state this mirrors, with its buffers emptied: the variant and which buffers exist.
    state_shape: ParamState,
    bind_group: wgpu::BindGroup,
}

impl FusedStepper {
    /// Uploads `param` and `state` and builds the kernel for the optimizer `config`.
    ///
    /// # Errors
    /// [`GpuError::State`] when `state` does not belong to this optimizer or has another length;
    /// [`GpuError::TooLarge`] past the device's buffer limit; [`GpuError::Shader`].
    pub async fn new(
        gpu: &Gpu,
        config: &OptimizerConfig,
        param: &[f32],
        state: &ParamState,
        slots: u32,
    ) -> Result<Self, GpuError> {
        Self::build(gpu, config, Layout::TENSOR, param, state, slots).await
    }

    /// Uploads many independent 2-D problems, `points` = (x0, y0, x1, y1, …), each stepped by its
    /// own optimizer of `configs` (one per point: for example a grid of learning rates) in one
    /// dispatch. Every config must need the same kernel and state buffers (one optimizer,
    /// different hyperparameters); `state` covers all points. Each step's scalars are written
    /// point by point ([`write_steps`](Self::write_steps)).
    ///
    /// # Errors
    /// [`GpuError::MixedOptimizers`] when the configs need different kernels or state;
    /// [`GpuError::State`] when `points` is not two values per config or `state` does not fit;
    /// as [`new`](Self::new) otherwise.
    pub async fn per_problem(
        gpu: &Gpu,
        configs: &[OptimizerConfig],
        points: &[f32],
        state: &ParamState,
        slots: u32,
    ) -> Result<Self, GpuError> {
        let Some(first) = configs.first() else {
            return Err(GpuError::State(StateError::LengthMismatch {
                buffer: "optimizers (one per point)",
                expected: points.len() / 2,
                found: 0,
            }));
        };
        let shape = first.init_state(0);
        for (index, config) in configs.iter().enumerate() {
            if kernel_for(config) != kernel_for(first) || config.init_state(0) != shape {
                let describe = |c: &OptimizerConfig| {
                    format!("{} ({} state)", c.kind(), c.init_state(0).name())
                };
                return Err(GpuError::MixedOptimizers {
                    index,
                    expected: describe(first),
                    found: describe(config),
                });
            }
        }
        if points.len() != 2 * configs.len() {
            return Err(GpuError::State(StateError::LengthMismatch {
                buffer: "points (two values per optimizer)",
                expected: 2 * configs.len(),
                found: points.len(),
            }));
        }
        let layout = Layout {
            width: Width::Pair,
            scalars: Scalars::PerIndex,
            blocks: configs.len(),
        };
        Self::build(gpu, first, layout, points, state, slots).await
    }

    async fn build(
        gpu: &Gpu,
        config: &OptimizerConfig,
        layout: Layout,
        param: &[f32],
        state: &ParamState,
        slots: u32,
    ) -> Result<Self, GpuError> {
        let expected = config.init_state(0);
        if expected.name() != state.name() {
            return Err(GpuError::State(StateError::WrongKind {
                expected: expected.name(),
                found: state.name(),
            }));
        }
        let kernel = kernel_for(config);
        let len = param.len();
        gpu.check_size("the parameter tensor", std::mem::size_of_val(param) as u64)?;
        let buffers = state.buffers();
        for (name, values) in &buffers {
            if values.len() != len {
                return Err(GpuError::State(StateError::LengthMismatch {
                    buffer: name,
                    expected: len,
                    found: values.len(),
                }));
            }
        }
        let pipeline = Pipeline::new(gpu, kernel.shader(), layout.width, layout.scalars).await?;
        let lanes = layout.width.lanes();
        let padded = len.next_multiple_of(lanes).max(lanes);
        // `size` f32s: the values, then zeros up to whole vectors.
        let storage = |label: &str, values: &[f32], size: usize| {
            let mut contents = values.to_vec();
            contents.resize(size, 0.0);
            wgpu::util::DeviceExt::create_buffer_init(
                &gpu.device,
                &wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents: bytemuck::cast_slice(&contents),
                    usage: wgpu::BufferUsages::STORAGE
                        | wgpu::BufferUsages::COPY_SRC
                        | wgpu::BufferUsages::COPY_DST,
                },
            )
        };
        let param_buffer = storage("param", param, padded);
        let grad = storage("grad", &[], padded);
        let state_bindings = (kernel.shader().storage_bindings - 2) as usize;
        let state_gpu: Vec<wgpu::Buffer> = (0..state_bindings)
            .map(|i| match buffers.get(i) {
                Some((name, values)) => storage(name, values, padded),
                // A buffer the variant does not use: one vector of zeros.
                None => storage("placeholder", &[], lanes),
            })
            .collect();
        let scalars = ScalarSlots::new(
            gpu,
            kernel.shader().file,
            layout.scalars,
            slots,
            layout.blocks,
            block_size(kernel),
        )?;
        let mut entries: Vec<wgpu::BindGroupEntry> = [&param_buffer, &grad]
            .into_iter()
            .chain(&state_gpu)
            .zip(0..)
            .map(|(buffer, binding)| wgpu::BindGroupEntry {
                binding,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        entries.push(wgpu::BindGroupEntry {
            binding: kernel.shader().storage_bindings,
            resource: scalars.binding(),
        });
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.shader().file),
            layout: &pipeline.layout,
            entries: &entries,
        });
        Ok(Self {
            pipeline,
            scalars,
            layout,
            len,
            param: param_buffer,
            grad,
            state: state_gpu,
            state_shape: state.with_buffers([]),
            bind_group,
        })
    }

    /// Elements in the parameter tensor.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the parameter tensor is empty.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The parameter buffer (`f32`, read-write storage), for kernels that compute gradients.
    pub const fn param_buffer(&self) -> &wgpu::Buffer {
        &self.param
    }

    /// The gradient buffer (`f32`, read-write storage), which the step reads.
    pub const fn grad_buffer(&self) -> &wgpu::Buffer {
        &self.grad
    }

    /// How many steps fit in one submission.
    pub const fn slots(&self) -> u32 {
        self.scalars.slots()
    }

    /// Uploads a gradient; it takes effect at the next submission.
    ///
    /// # Errors
    /// [`GpuError::State`] when its length differs from the parameter's.
    pub fn write_grad(&self, gpu: &Gpu, grad: &[f32]) -> Result<(), GpuError> {
        if grad.len() != self.len {
            return Err(GpuError::State(StateError::LengthMismatch {
                buffer: "grad",
                expected: self.len,
                found: grad.len(),
            }));
        }
        gpu.queue
            .write_buffer(&self.grad, 0, bytemuck::cast_slice(grad));
        Ok(())
    }

    /// Writes the scalars of `steps` into slots 0, 1, …: one step per slot, or for a stepper made
    /// by [`per_problem`](Self::per_problem) one per problem per slot (problem by problem), for at
    /// most [`slots`](Self::slots) slots.
    pub fn write_steps(&self, gpu: &Gpu, steps: &[Step]) {
        let blocks = self.layout.blocks;
        debug_assert!(
            steps.len().is_multiple_of(blocks)
                && steps.len() / blocks <= self.scalars.slots() as usize,
            "whole steps, no more than the slots"
        );
        let slots: Vec<Vec<u8>> = steps
            .chunks(blocks)
            .map(|slot| {
                slot.iter()
                    .flat_map(|s| s.scalars.as_bytes())
                    .copied()
                    .collect()
            })
            .collect();
        self.scalars.write(gpu, slots.iter().map(Vec::as_slice));
    }

    /// Records the step whose scalars are in `slot` into a compute pass.
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, slot: u32) {
        let (x, y) = workgroups(self.len.div_ceil(self.layout.width.lanes()));
        pass.set_pipeline(&self.pipeline.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[self.scalars.offset(slot)]);
        pass.dispatch_workgroups(x, y, 1);
    }

    /// One step of a stepper made by [`new`](Self::new) (one optimizer) with a gradient from the
    /// host: upload, dispatch, submit.
    ///
    /// # Errors
    /// As [`write_grad`](Self::write_grad).
    pub fn step(&self, gpu: &Gpu, step: &Step, grad: &[f32]) -> Result<(), GpuError> {
        self.write_grad(gpu, grad)?;
        self.write_steps(gpu, std::slice::from_ref(step));
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("step"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            self.encode(&mut pass, 0);
        }
        gpu.queue.submit([encoder.finish()]);
        Ok(())
    }

    /// Reads the parameter back.
    ///
    /// # Errors
    /// [`GpuError::Readback`].
    pub async fn read_param(&self, gpu: &Gpu) -> Result<Vec<f32>, GpuError> {
        let mut values = gpu.read_f32("param", &self.param).await?;
        values.truncate(self.len);
        Ok(values)
    }

    /// Reads the optimizer state back, in the same form as the CPU path's.
    ///
    /// # Errors
    /// [`GpuError::Readback`].
    pub async fn read_state(&self, gpu: &Gpu) -> Result<ParamState, GpuError> {
        let mut read = Vec::with_capacity(self.state.len());
        for buffer in &self.state {
            let mut values = gpu.read_f32("optimizer state", buffer).await?;
            values.truncate(self.len);
            read.push(values);
        }
        Ok(self.state_shape.with_buffers(read))
    }
}
