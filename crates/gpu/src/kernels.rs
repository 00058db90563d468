//! The WGSL kernels of `shaders/`, and their compute pipelines.

use crate::{Gpu, GpuError};

/// Invocations per workgroup; `WORKGROUP_SIZE` in `shaders/common.wgsl`.
pub const WORKGROUP_SIZE: u32 = 256;

/// Each dispatch dimension holds at most this many workgroups (WebGPU's default limit).
const MAX_WORKGROUPS_PER_DIMENSION: u32 = 65_535;

/// One kernel of `shaders/`: a WGSL file, prefixed with `common.wgsl` when built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `sgd.wgsl`: SGD with momentum, dampening, Nesterov, L2.
    Sgd,
    /// `adam.wgsl`: Adam and AdamW, AMSGrad.
    Adam,
    /// `adabound.wgsl`: AdaBound and AdaBoundW, AMSBound.
    AdaBound,
    /// `radam.wgsl`: RAdam.
    RAdam,
    /// `functions.wgsl`: values and gradients of the 2-D test functions.
    Functions,
}

const COMMON: &str = include_str!("../../../shaders/common.wgsl");

/// How many consecutive `f32`s one invocation of an optimizer kernel updates: the type `T` of
/// `shaders/common.wgsl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    /// One `f32` (`alias T = f32`): any length.
    Scalar,
    /// Two `f32`s as a `vec2<f32>` (`alias T = vec2<f32>`): one 2-D problem (x, y) per
    /// invocation, for problems with their own scalars ([`Scalars::PerIndex`]).
    Pair,
    /// Four `f32`s as a `vec4<f32>` (`alias T = vec4<f32>`): 16-byte loads and stores, which
    /// software rasterizers such as llvmpipe need for bandwidth; lengths must be multiples of 4.
    Vec4,
}

impl Width {
    /// Every width.
    pub const ALL: [Self; 3] = [Self::Scalar, Self::Pair, Self::Vec4];

    /// `f32`s per invocation.
    pub const fn lanes(self) -> usize {
        match self {
            Self::Scalar => 1,
            Self::Pair => 2,
            Self::Vec4 => 4,
        }
    }

    const fn alias(self) -> &'static str {
        match self {
            Self::Scalar => "alias T = f32;",
            Self::Pair => "alias T = vec2<f32>;",
            Self::Vec4 => "alias T = vec4<f32>;",
        }
    }
}

/// Where a kernel reads its per-step scalar block (`scalars(i)` in the shaders), bound after the
/// storage buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scalars {
    /// One block for every index: a uniform buffer (a tensor's step; burn's launches bind their
    /// metadata block here).
    Shared,
    /// One block per index of `T`, from a read-only storage array: independent problems, each with
    /// its own hyperparameters, in one dispatch.
    PerIndex,
}

impl Scalars {
    /// Both placements.
    pub const ALL: [Self; 2] = [Self::Shared, Self::PerIndex];
}

impl Kernel {
    /// Every kernel.
    pub const ALL: [Self; 5] = [
        Self::Sgd,
        Self::Adam,
        Self::AdaBound,
        Self::RAdam,
        Self::Functions,
    ];

    /// The file name under `shaders/`.
    pub const fn file(self) -> &'static str {
        match self {
            Self::Sgd => "sgd.wgsl",
            Self::Adam => "adam.wgsl",
            Self::AdaBound => "adabound.wgsl",
            Self::RAdam => "radam.wgsl",
            Self::Functions => "functions.wgsl",
        }
    }

    /// The WGSL struct of the kernel's scalar block (the optimizer crate's `#[repr(C)]` struct of
    /// the same name).
    pub const fn scalar_struct(self) -> &'static str {
        match self {
            Self::Sgd => "SgdScalars",
            Self::Adam => "AdamScalars",
            Self::AdaBound => "AdaBoundScalars",
            Self::RAdam => "RAdamScalars",
            Self::Functions => "Evaluation",
        }
    }

    /// The file's own text.
    const fn body(self) -> &'static str {
        match self {
            Self::Sgd => include_str!("../../../shaders/sgd.wgsl"),
            Self::Adam => include_str!("../../../shaders/adam.wgsl"),
            Self::AdaBound => include_str!("../../../shaders/adabound.wgsl"),
            Self::RAdam => include_str!("../../../shaders/radam.wgsl"),
            Self::Functions => include_str!("../../../shaders/functions.wgsl"),
        }
    }

    /// The complete WGSL source for `width` and `scalars`: the element type, `common.wgsl`, the
    /// kernel's file, then the binding of its scalar block and the `scalars(i)` that reads it.
    /// (`functions.wgsl` works on single coordinates whatever the width.)
    pub fn source(self, width: Width, scalars: Scalars) -> String {
        let (binding, block) = (self.storage_bindings(), self.scalar_struct());
        let declaration = match scalars {
            Scalars::Shared => format!(
                "@group(0) @binding({binding}) var<uniform> shared_scalars: {block};\n\
                 fn scalars(i: u32) -> {block} {{ return shared_scalars; }}"
            ),
            Scalars::PerIndex => format!(
                "@group(0) @binding({binding}) var<storage, read> indexed_scalars: array<{block}>;\n\
                 fn scalars(i: u32) -> {block} {{ return indexed_scalars[i]; }}"
            ),
        };
        format!(
            "{}\n{COMMON}\n{}\n{declaration}\n",
            width.alias(),
            self.body()
        )
    }

    /// Number of storage buffers (bindings 0..), in binding order; the scalar block follows them.
    pub const fn storage_bindings(self) -> u32 {
        match self {
            Self::Sgd | Self::Functions => 3,
            Self::Adam | Self::AdaBound => 5,
            Self::RAdam => 4,
        }
    }
}

/// A kernel's pipeline and the layout of its bind group: bindings 0.. are read-write storage
/// buffers, the last one is the scalar block, read at a dynamic offset (one slot per step).
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

impl Pipeline {
    /// Compiles `kernel` at `width` on `gpu`; errors name the shader file.
    pub(crate) async fn new(
        gpu: &Gpu,
        kernel: Kernel,
        width: Width,
        scalars: Scalars,
    ) -> Result<Self, GpuError> {
        let device = &gpu.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(kernel.file()),
            source: wgpu::ShaderSource::Wgsl(kernel.source(width, scalars).into()),
        });
        let entry = |binding, ty, has_dynamic_offset| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty,
                has_dynamic_offset,
                min_binding_size: None,
            },
            count: None,
        };
        let storage = wgpu::BufferBindingType::Storage { read_only: false };
        let mut entries: Vec<_> = (0..kernel.storage_bindings())
            .map(|binding| entry(binding, storage, false))
            .collect();
        entries.push(entry(
            kernel.storage_bindings(),
            scalars.binding_type(),
            true,
        ));
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(kernel.file()),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(kernel.file()),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.file()),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions::default(),
            cache: None,
        });
        if let Some(error) = scope.pop().await {
            return Err(GpuError::Shader {
                shader: kernel.file(),
                message: error.to_string(),
            });
        }
        Ok(Self { pipeline, layout })
    }
}

impl Scalars {
    const fn binding_type(self) -> wgpu::BufferBindingType {
        match self {
            Self::Shared => wgpu::BufferBindingType::Uniform,
            Self::PerIndex => wgpu::BufferBindingType::Storage { read_only: true },
        }
    }
}

/// Workgroup counts `(x, y)` that cover `invocations`, folding into rows past the per-dimension
/// limit (the kernels undo the fold in `element_index`).
pub(crate) fn workgroups(invocations: usize) -> (u32, u32) {
    let groups = invocations.div_ceil(WORKGROUP_SIZE as usize).max(1);
    let x = groups.min(MAX_WORKGROUPS_PER_DIMENSION as usize);
    let y = groups.div_ceil(x);
    // Buffer limits keep `groups` far below u32::MAX.
    (x as u32, y as u32)
}

/// A buffer of per-step scalar blocks: each slot holds one step's blocks (one, or one per index
/// for [`Scalars::PerIndex`]) at an aligned offset, bound at a dynamic offset so that many steps
/// can be encoded into one submission.
#[derive(Debug)]
pub(crate) struct ScalarSlots {
    pub buffer: wgpu::Buffer,
    /// Bytes of one step's blocks (the binding's size).
    pub slot_size: u64,
    /// Bytes from one slot to the next.
    pub stride: u64,
    pub slots: u32,
}

impl ScalarSlots {
    /// Room for `slots` steps of `blocks` blocks of `block_size` bytes each.
    pub(crate) fn new(
        gpu: &Gpu,
        label: &str,
        scalars: Scalars,
        slots: u32,
        blocks: usize,
        block_size: u64,
    ) -> Result<Self, GpuError> {
        let limits = gpu.device.limits();
        let (alignment, usage, binding_limit) = match scalars {
            Scalars::Shared => (
                limits.min_uniform_buffer_offset_alignment,
                wgpu::BufferUsages::UNIFORM,
                limits.max_uniform_buffer_binding_size,
            ),
            Scalars::PerIndex => (
                limits.min_storage_buffer_offset_alignment,
                wgpu::BufferUsages::STORAGE,
                limits.max_storage_buffer_binding_size,
            ),
        };
        let slot_size = block_size * blocks.max(1) as u64;
        if slot_size > binding_limit {
            return Err(GpuError::TooLarge {
                what: "one step's scalar blocks",
                bytes: slot_size,
                limit: binding_limit,
            });
        }
        let stride = slot_size.next_multiple_of(u64::from(alignment));
        let size = stride * u64::from(slots.max(1));
        gpu.check_size("the scalar blocks of a submission", size)?;
        let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: usage | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Self {
            buffer,
            slot_size,
            stride,
            slots,
        })
    }

    /// Writes each step's blocks into slots 0, 1, …; takes effect at the next submission.
    pub(crate) fn write<'a>(&self, gpu: &Gpu, steps: impl IntoIterator<Item = &'a [u8]>) {
        for (slot, bytes) in steps.into_iter().enumerate() {
            gpu.queue
                .write_buffer(&self.buffer, slot as u64 * self.stride, bytes);
        }
    }

    /// The dynamic offset of `slot`.
    pub(crate) fn offset(&self, slot: u32) -> u32 {
        // stride × slots is a buffer size, which the device limits to far below u32::MAX for
        // buffers bound with dynamic offsets.
        (u64::from(slot) * self.stride) as u32
    }

    /// The binding of one slot (the shader sees one step's blocks).
    pub(crate) fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffer,
            offset: 0,
            size: wgpu::BufferSize::new(self.slot_size),
        })
    }
}
