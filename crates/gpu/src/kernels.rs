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
    /// Four `f32`s as a `vec4<f32>` (`alias T = vec4<f32>`): 16-byte loads and stores, which
    /// software rasterizers such as llvmpipe need for bandwidth; lengths must be multiples of 4.
    Vec4,
}

impl Width {
    /// `f32`s per invocation.
    pub const fn lanes(self) -> usize {
        match self {
            Self::Scalar => 1,
            Self::Vec4 => 4,
        }
    }

    const fn alias(self) -> &'static str {
        match self {
            Self::Scalar => "alias T = f32;",
            Self::Vec4 => "alias T = vec4<f32>;",
        }
    }
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

    /// The complete WGSL source for `width`: the element type, `common.wgsl`, the kernel's file.
    /// (`functions.wgsl` works on single coordinates whatever the width.)
    pub fn source(self, width: Width) -> String {
        format!("{}\n{COMMON}\n{}", width.alias(), self.body())
    }

    /// Number of storage buffers after the uniform (binding 0), in binding order.
    pub(crate) const fn storage_bindings(self) -> u32 {
        match self {
            Self::Sgd | Self::Functions => 3,
            Self::Adam | Self::AdaBound => 5,
            Self::RAdam => 4,
        }
    }
}

/// A kernel's pipeline and the layout of its bind group: binding 0 is a uniform block read at a
/// dynamic offset (one slot per step), bindings 1.. are read-write storage buffers.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

impl Pipeline {
    /// Compiles `kernel` at `width` on `gpu`; errors name the shader file.
    pub(crate) async fn new(gpu: &Gpu, kernel: Kernel, width: Width) -> Result<Self, GpuError> {
        let device = &gpu.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(kernel.file()),
            source: wgpu::ShaderSource::Wgsl(kernel.source(width).into()),
        });
        let storage = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only: false },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let mut entries = vec![wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: true,
                min_binding_size: None,
            },
            count: None,
        }];
        entries.extend((1..=kernel.storage_bindings()).map(storage));
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

/// Workgroup counts `(x, y)` that cover `invocations`, folding into rows past the per-dimension
/// limit (the kernels undo the fold in `element_index`).
pub(crate) fn workgroups(invocations: usize) -> (u32, u32) {
    let groups = invocations.div_ceil(WORKGROUP_SIZE as usize).max(1);
    let x = groups.min(MAX_WORKGROUPS_PER_DIMENSION as usize);
    let y = groups.div_ceil(x);
    // Buffer limits keep `groups` far below u32::MAX.
    (x as u32, y as u32)
}

/// A buffer of per-step uniform blocks, one per 256-byte-aligned slot, read at dynamic offsets so
/// that many steps can be encoded into one submission.
#[derive(Debug)]
pub(crate) struct UniformSlots {
    pub buffer: wgpu::Buffer,
    pub stride: u64,
    pub slots: u32,
}

impl UniformSlots {
    /// Room for `slots` blocks of at most `block_size` bytes.
    pub(crate) fn new(gpu: &Gpu, label: &str, slots: u32, block_size: u64) -> Self {
        let alignment = u64::from(gpu.device.limits().min_uniform_buffer_offset_alignment);
        let stride = block_size.div_ceil(alignment) * alignment;
        let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: stride * u64::from(slots.max(1)),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self {
            buffer,
            stride,
            slots,
        }
    }

    /// Writes `blocks` into slots 0, 1, …; takes effect at the next submission.
    pub(crate) fn write<'a>(&self, gpu: &Gpu, blocks: impl IntoIterator<Item = &'a [u8]>) {
        for (slot, bytes) in blocks.into_iter().enumerate() {
            gpu.queue
                .write_buffer(&self.buffer, slot as u64 * self.stride, bytes);
        }
    }

    /// The dynamic offset of `slot`.
    pub(crate) fn offset(&self, slot: u32) -> u32 {
        // stride × slots is a buffer size, which the device limits to far below u32::MAX for
        // uniform buffers.
        (u64::from(slot) * self.stride) as u32
    }

    /// The binding of one slot (the shader sees one block).
    pub(crate) fn binding(&self, block_size: u64) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffer,
            offset: 0,
            size: wgpu::BufferSize::new(block_size),
        })
    }
}
