//! The WGSL shaders of `shaders/`, the optimizer kernels among them, and their compute pipelines.
//!
//! [`Shader`], [`Pipeline`], [`ScalarSlots`] and [`workgroups`] are public so that crates above
//! build their own kernels on the same conventions (the teaching landscape's `functions.wgsl`).

use crate::{Gpu, GpuError};

/// Invocations per workgroup; `WORKGROUP_SIZE` in `shaders/common.wgsl`.
pub const WORKGROUP_SIZE: u32 = 256;

/// Each dispatch dimension holds at most this many workgroups (WebGPU's default limit).
const MAX_WORKGROUPS_PER_DIMENSION: u32 = 65_535;

/// A compute shader of `shaders/`: a WGSL file with a `main` entry point, built after
/// `common.wgsl` (its element type `T`, `element_index`, the shared moment updates). It binds
/// read-write storage buffers at 0.. and its scalar block after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shader {
    /// The file name under `shaders/`; labels and errors name it.
    pub file: &'static str,
    /// The file's own text.
    pub body: &'static str,
    /// The WGSL struct of its scalar block (a `#[repr(C)]` host struct of the same layout).
    pub scalar_struct: &'static str,
    /// Number of storage buffers (bindings 0..); the scalar block follows them.
    pub storage_bindings: u32,
}

/// One optimizer kernel of `shaders/`.
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
    pub const ALL: [Self; 4] = [Self::Sgd, Self::Adam, Self::AdaBound, Self::RAdam];

    /// The kernel's shader.
    pub const fn shader(self) -> Shader {
        match self {
            Self::Sgd => Shader {
                file: "sgd.wgsl",
                body: include_str!("../../../shaders/sgd.wgsl"),
                scalar_struct: "SgdScalars",
                storage_bindings: 3,
            },
            Self::Adam => Shader {
                file: "adam.wgsl",
                body: include_str!("../../../shaders/adam.wgsl"),
                scalar_struct: "AdamScalars",
                storage_bindings: 5,
            },
            Self::AdaBound => Shader {
                file: "adabound.wgsl",
                body: include_str!("../../../shaders/adabound.wgsl"),
                scalar_struct: "AdaBoundScalars",
                storage_bindings: 5,
            },
            Self::RAdam => Shader {
                file: "radam.wgsl",
                body: include_str!("../../../shaders/radam.wgsl"),
                scalar_struct: "RAdamScalars",
                storage_bindings: 4,
            },
        }
    }
}

impl Shader {
    /// The complete WGSL source for `width` and `scalars`: the element type, `common.wgsl`, the
    /// file's text, then the binding of its scalar block and the `scalars(i)` that reads it.
    pub fn source(self, width: Width, scalars: Scalars) -> String {
        let (binding, block) = (self.storage_bindings, self.scalar_struct);
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
            self.body
        )
    }
}

/// A shader's pipeline and the layout of its bind group: bindings 0.. are read-write storage
/// buffers, the last one is the scalar block, read at a dynamic offset (one slot per step).
#[derive(Debug)]
pub struct Pipeline {
    /// The compiled pipeline.
    pub pipeline: wgpu::ComputePipeline,
    /// The layout its bind groups follow.
    pub layout: wgpu::BindGroupLayout,
}

impl Pipeline {
    /// Compiles `shader` at `width` on `gpu`.
    ///
    /// # Errors
    /// [`GpuError::Shader`], naming the file, when the device refuses the shader.
    pub async fn new(
        gpu: &Gpu,
        shader: Shader,
        width: Width,
        scalars: Scalars,
    ) -> Result<Self, GpuError> {
        let device = &gpu.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(shader.file),
            source: wgpu::ShaderSource::Wgsl(shader.source(width, scalars).into()),
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
        let mut entries: Vec<_> = (0..shader.storage_bindings)
            .map(|binding| entry(binding, storage, false))
            .collect();
        entries.push(entry(shader.storage_bindings, scalars.binding_type(), true));
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(shader.file),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(shader.file),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(shader.file),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions::default(),
            cache: None,
        });
        if let Some(error) = scope.pop().await {
            return Err(GpuError::Shader {
                shader: shader.file,
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
pub fn workgroups(invocations: usize) -> (u32, u32) {
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
pub struct ScalarSlots {
    buffer: wgpu::Buffer,
    /// Bytes of one step's blocks (the binding's size).
    slot_size: u64,
    /// Bytes from one slot to the next.
    stride: u64,
    slots: u32,
}

impl ScalarSlots {
    /// Room for `slots` steps of `blocks` blocks of `block_size` bytes each.
    ///
    /// # Errors
    /// [`GpuError::TooLarge`] past the device's binding or buffer limits.
    pub fn new(
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
    pub fn write<'a>(&self, gpu: &Gpu, steps: impl IntoIterator<Item = &'a [u8]>) {
        for (slot, bytes) in steps.into_iter().enumerate() {
            gpu.queue
                .write_buffer(&self.buffer, slot as u64 * self.stride, bytes);
        }
    }

    /// Steps one submission can hold.
    pub const fn slots(&self) -> u32 {
        self.slots
    }

    /// The dynamic offset of `slot`.
    pub fn offset(&self, slot: u32) -> u32 {
        // stride × slots is a buffer size, which the device limits to far below u32::MAX for
        // buffers bound with dynamic offsets.
        (u64::from(slot) * self.stride) as u32
    }

    /// The binding of one slot (the shader sees one step's blocks).
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffer,
            offset: 0,
            size: wgpu::BufferSize::new(self.slot_size),
        })
    }
}
