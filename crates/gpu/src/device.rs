//! The GPU: adapter selection, device creation, and reading buffers back.

use std::fmt;

use futures_channel::oneshot;
use thiserror::Error;

/// A wgpu device and queue, with a description of the adapter behind them.
///
/// Built once and shared; every pipeline and buffer of this crate lives on it.
#[derive(Clone, Debug)]
pub struct Gpu {
    /// The device that owns pipelines and buffers.
    pub device: wgpu::Device,
    /// The queue that runs command buffers and buffer writes, in order.
    pub queue: wgpu::Queue,
    /// What the adapter is (name, backend, driver), for reports and logs.
    pub adapter: AdapterSummary,
}

/// What the chosen adapter is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The adapter's name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// The backend, e.g. "vulkan".
    pub backend: String,
    /// The kind of device: discrete, integrated, virtual, CPU or other.
    pub device_type: String,
    /// The driver and its version, when the backend reports them.
    pub driver: String,
}

impl AdapterSummary {
    /// What `adapter` says of itself.
    pub fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        // Browsers do not name their WebGPU adapters (fingerprinting); say what it is instead.
        let name = match (info.name.is_empty(), info.backend) {
            (false, _) => info.name,
            (true, wgpu::Backend::BrowserWebGpu) => "the browser's WebGPU adapter".into(),
            (true, _) => "an unnamed adapter".into(),
        };
        Self {
            name,
            backend: format!("{:?}", info.backend).to_lowercase(),
            device_type: format!("{:?}", info.device_type).to_lowercase(),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
        }
    }

    /// Whether the adapter renders on the CPU (lavapipe, SwiftShader, WARP): slower for training
    /// than burn's CPU backend.
    pub fn is_software(&self) -> bool {
        self.device_type == "cpu"
    }
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {}", self.name, self.backend, self.device_type)?;
        if !self.driver.is_empty() {
            write!(f, ", {}", self.driver)?;
        }
        f.write_str(")")
    }
}

/// What went wrong on the GPU side.
#[derive(Debug, Error)]
pub enum GpuError {
    /// No adapter at all: nothing to run on.
    #[error(
        "no GPU adapter found (backends tried: {backends}; wgpu says: {detail}). Install a GPU driver; on headless Linux, Mesa's software Vulkan driver works: apt-get install mesa-vulkan-drivers libvulkan1"
    )]
    NoAdapter {
        /// The backends wgpu was allowed to try (WGPU_BACKEND narrows them).
        backends: String,
        /// wgpu's own explanation.
        detail: String,
    },
    /// The adapter refused to create a device.
    #[error("the GPU adapter {adapter} could not create a device: {source}")]
    Device {
        /// The adapter.
        adapter: String,
        /// wgpu's reason.
        source: wgpu::RequestDeviceError,
    },
    /// A shader failed to compile or its pipeline failed to build.
    #[error("shader {shader}: {message}")]
    Shader {
        /// The shader's file name under `shaders/`.
        shader: &'static str,
        /// The compiler's or validator's message.
        message: String,
    },
    /// A buffer larger than the device allows.
    #[error("{what} needs {bytes} bytes, more than this GPU allows in one buffer ({limit} bytes)")]
    TooLarge {
        /// What the buffer is for.
        what: &'static str,
        /// The size asked for.
        bytes: u64,
        /// The device limit.
        limit: u64,
    },
    /// Problems stepped in one dispatch whose optimizers need different kernels or state.
    #[error(
        "optimizer {index} is {found}, but problems stepped together need one kind of optimizer and state: the first is {expected}"
    )]
    MixedOptimizers {
        /// The first optimizer that differs from the first one.
        index: usize,
        /// The first optimizer.
        expected: String,
        /// The one that differs.
        found: String,
    },
    /// State or gradient that does not fit the parameter or the optimizer.
    #[error(transparent)]
    State(#[from] stepwise_optim::StateError),
    /// Reading results back from the GPU failed.
    #[error("reading {what} back from the GPU failed: {message}")]
    Readback {
        /// What was being read.
        what: &'static str,
        /// Why.
        message: String,
    },
}

impl Gpu {
    /// Opens the best adapter (high-performance preference; `WGPU_BACKEND` and
    /// `WGPU_ADAPTER_NAME` narrow the choice) and creates a device with its full limits.
    ///
    /// # Errors
    /// [`GpuError::NoAdapter`] with installation advice, or [`GpuError::Device`].
    pub async fn new() -> Result<Self, GpuError> {
        let allowed = wgpu::InstanceDescriptor::new_without_display_handle_from_env().backends;
        // GL last, and only where no other API has an adapter: probing it opens EGL, whose
        // Wayland client prints an error on every headless machine.
        let gl = wgpu::Backends::GL;
        let tries = if cfg!(target_arch = "wasm32") || !allowed.contains(gl) || allowed == gl {
            vec![allowed]
        } else {
            vec![allowed - gl, gl]
        };
        let mut failure = String::new();
        for backends in tries {
            let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
                backends,
                ..wgpu::InstanceDescriptor::new_without_display_handle_from_env()
            });
            let found = match wgpu::util::initialize_adapter_from_env(&instance, None).await {
                Ok(adapter) => Ok(adapter),
                Err(_) => {
                    instance
                        .request_adapter(&wgpu::RequestAdapterOptions {
                            power_preference: wgpu::PowerPreference::HighPerformance,
                            ..Default::default()
                        })
                        .await
                }
            };
            match found {
                Ok(adapter) => return Self::open(adapter).await,
                Err(err) => failure = err.to_string(),
            }
        }
        Err(GpuError::NoAdapter {
            backends: format!("{allowed:?}"),
            detail: failure,
        })
    }

    /// A device with the adapter's full limits.
    async fn open(adapter: wgpu::Adapter) -> Result<Self, GpuError> {
        let summary = AdapterSummary::of(&adapter);
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("stepwise"),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|source| GpuError::Device {
                adapter: summary.to_string(),
                source,
            })?;
        Ok(Self {
            device,
            queue,
            adapter: summary,
        })
    }

    /// A device someone else created (burn's runtime, or the app's renderer), to run this crate's
    /// kernels beside their work on the same queue.
    pub fn adopt(adapter: &wgpu::Adapter, device: wgpu::Device, queue: wgpu::Queue) -> Self {
        Self {
            device,
            queue,
            adapter: AdapterSummary::of(adapter),
        }
    }

    /// Every adapter of the graphics API burn trains on, in the order that API lists them: the
    /// first of Vulkan, Metal, DX12 and GL with a hardware adapter, else the first with any
    /// (burn-wgpu settles on its API by the same rule, and addresses adapters in this order).
    /// `WGPU_BACKEND` narrows the APIs tried. Native only: a browser offers one adapter. Probed
    /// once per process (an instance per API; the adapters do not change while it runs).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn list_adapters() -> Vec<AdapterSummary> {
        static LISTED: std::sync::OnceLock<Vec<AdapterSummary>> = std::sync::OnceLock::new();
        LISTED.get_or_init(Self::probe_adapters).clone()
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn probe_adapters() -> Vec<AdapterSummary> {
        let allowed = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
        let mut software_only = Vec::new();
        for api in [
            wgpu::Backends::VULKAN,
            wgpu::Backends::METAL,
            wgpu::Backends::DX12,
            wgpu::Backends::GL,
        ] {
            if !allowed.contains(api) {
                continue;
            }
            // One API per instance, so that a machine with Vulkan never probes GL (and EGL).
            let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
                backends: api,
                ..wgpu::InstanceDescriptor::new_without_display_handle()
            });
            let adapters: Vec<AdapterSummary> =
                pollster::block_on(instance.enumerate_adapters(api))
                    .iter()
                    .map(AdapterSummary::of)
                    .collect();
            if adapters.iter().any(|adapter| !adapter.is_software()) {
                return adapters;
            }
            if software_only.is_empty() {
                software_only = adapters;
            }
        }
        software_only
    }

    /// [`Gpu::new`], blocking the calling thread (native only; the web awaits `new`).
    ///
    /// # Errors
    /// As [`Gpu::new`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking() -> Result<Self, GpuError> {
        pollster::block_on(Self::new())
    }

    /// Checks that a buffer of `bytes` fits this device's storage-binding limit.
    ///
    /// # Errors
    /// [`GpuError::TooLarge`], naming `what`.
    pub fn check_size(&self, what: &'static str, bytes: u64) -> Result<(), GpuError> {
        let limits = self.device.limits();
        let limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        if bytes > limit {
            return Err(GpuError::TooLarge { what, bytes, limit });
        }
        Ok(())
    }

    /// Copies `buffer` (which must allow `COPY_SRC`) into host memory as `f32`s.
    ///
    /// On native targets this waits for the GPU; on the web it yields to the browser until the
    /// mapping completes (never a blocking readback).
    ///
    /// # Errors
    /// [`GpuError::Readback`] when mapping fails.
    pub async fn read_f32(
        &self,
        what: &'static str,
        buffer: &wgpu::Buffer,
    ) -> Result<Vec<f32>, GpuError> {
        let size = buffer.size();
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("stepwise readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("readback"),
            });
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, size);
        self.queue.submit([encoder.finish()]);
        let (sender, receiver) = oneshot::channel();
        staging
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |result| {
                // The receiver only disappears if the caller gave up waiting.
                let _ = sender.send(result);
            });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|err| GpuError::Readback {
                what,
                message: err.to_string(),
            })?;
        let mapped = receiver.await.map_err(|_| GpuError::Readback {
            what,
            message: "the device was lost before the copy finished".into(),
        })?;
        mapped.map_err(|err| GpuError::Readback {
            what,
            message: err.to_string(),
        })?;
        let values = {
            let view = staging
                .slice(..)
                .get_mapped_range()
                .map_err(|err| GpuError::Readback {
                    what,
                    message: err.to_string(),
                })?;
            bytemuck::cast_slice::<u8, f32>(&view).to_vec()
        };
        staging.unmap();
        Ok(values)
    }
}
