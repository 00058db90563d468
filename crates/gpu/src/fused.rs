//! One parameter tensor and its optimizer state in GPU buffers, stepped by a fused kernel.

use std::mem::size_of;

use stepwise_optim::{
    AdaBoundScalars, AdamScalars, OptimizerConfig, ParamState, RAdamScalars, SgdScalars,
    StateError, Step,
};

use crate::kernels::{Kernel, Pipeline, UniformSlots, Width, workgroups};
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

/// Size of the kernel's uniform block (the optimizer crate's scalar struct).
const fn uniform_size(kernel: Kernel) -> u64 {
    (match kernel {
        Kernel::Sgd => size_of::<SgdScalars>(),
        Kernel::Adam => size_of::<AdamScalars>(),
        Kernel::AdaBound => size_of::<AdaBoundScalars>(),
        Kernel::RAdam => size_of::<RAdamScalars>(),
        Kernel::Functions => size_of::<crate::landscape::Evaluation>(),
    }) as u64
}

/// How many `f32`s each invocation updates on plain wgpu buffers: whole `vec4`s, since the buffers
/// are ours to pad (llvmpipe needs 16-byte accesses for bandwidth; GPUs do not mind).
const WIDTH: Width = Width::Vec4;

/// A parameter tensor, its gradient and its optimizer state on the GPU, with the fused kernel that
/// updates them in one pass per step. Buffers are padded with zeros to whole vectors; the padding
/// never reaches the caller.
///
/// The per-step scalars come from `Optimizer::begin_step` on the host, as for the CPU path, and
/// are written into uniform slots: up to `slots` steps can be encoded into one submission.
#[derive(Debug)]
pub struct FusedStepper {
    pipeline: Pipeline,
    uniforms: UniformSlots,
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
        let pipeline = Pipeline::new(gpu, kernel, WIDTH).await?;
        let padded = len.next_multiple_of(WIDTH.lanes()).max(WIDTH.lanes());
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
        let bindings = (kernel.storage_bindings() - 2) as usize;
        let state_gpu: Vec<wgpu::Buffer> = (0..bindings)
            .map(|i| match buffers.get(i) {
                Some((name, values)) => storage(name, values, padded),
                // A buffer the variant does not use: one vector of zeros.
                None => storage("placeholder", &[], WIDTH.lanes()),
            })
            .collect();
        let uniforms = UniformSlots::new(gpu, kernel.file(), slots, uniform_size(kernel));
        let mut entries = vec![
            wgpu::BindGroupEntry {
                binding: 0,
                resource: uniforms.binding(uniform_size(kernel)),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: param_buffer.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: grad.as_entire_binding(),
            },
        ];
        entries.extend(
            state_gpu
                .iter()
                .zip(3..)
                .map(|(buffer, binding)| wgpu::BindGroupEntry {
                    binding,
                    resource: buffer.as_entire_binding(),
                }),
        );
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.file()),
            layout: &pipeline.layout,
            entries: &entries,
        });
        Ok(Self {
            pipeline,
            uniforms,
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
        self.uniforms.slots
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

    /// Writes the scalars of `steps` into slots 0, 1, … (at most [`slots`](Self::slots) of them).
    pub fn write_steps(&self, gpu: &Gpu, steps: &[Step]) {
        debug_assert!(
            steps.len() <= self.uniforms.slots as usize,
            "more steps than slots"
        );
        self.uniforms
            .write(gpu, steps.iter().map(|s| s.scalars.as_bytes()));
    }

    /// Records the step whose scalars are in `slot` into a compute pass.
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, slot: u32) {
        let (x, y) = workgroups(self.len.div_ceil(WIDTH.lanes()));
        pass.set_pipeline(&self.pipeline.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[self.uniforms.offset(slot)]);
        pass.dispatch_workgroups(x, y, 1);
    }

    /// One step with a gradient from the host: upload, dispatch, submit.
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
