//! Where an experiment trains: the user's choice, and the rule that turns it into a [`Compute`]
//! given the GPU adapter found, with the reason said the same way by every front-end.

use std::fmt;

use serde::{Deserialize, Serialize};
use stepwise_gpu::AdapterSummary;

use crate::Compute;

/// Where the user wants to train.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum DeviceChoice {
    /// A hardware GPU if there is one, else the CPU.
    #[default]
    Auto,
    /// burn's CPU backend with the reference optimizers.
    Cpu,
    /// burn-wgpu on the default adapter (software ones included) with the fused kernels.
    Gpu,
}

/// Why training runs where it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The user chose the CPU.
    CpuChosen,
    /// The user chose the GPU: this adapter.
    GpuChosen(AdapterSummary),
    /// *auto* found a hardware GPU: this adapter.
    Hardware(AdapterSummary),
    /// *auto* found only a software renderer (slower than burn's CPU backend).
    SoftwareOnly(AdapterSummary),
    /// *auto* found no adapter.
    NoAdapter,
}

/// The GPU was chosen but none was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the GPU was chosen, but no GPU adapter was found; choose the CPU")]
pub struct NoGpu;

impl DeviceChoice {
    /// `auto`, `cpu` or `gpu`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
        }
    }

    /// Where to train given `adapter`, the GPU adapter found (if any), and why. *auto* skips a software
    /// adapter: lavapipe or SwiftShader trains ~7x slower than burn's CPU backend
    /// (docs/PERFORMANCE.md).
    ///
    /// # Errors
    /// [`NoGpu`] when the GPU was chosen and there is none.
    pub fn resolve(self, adapter: Option<&AdapterSummary>) -> Result<(Compute, Reason), NoGpu> {
        match (self, adapter.cloned()) {
            (Self::Cpu, _) => Ok((Compute::Cpu, Reason::CpuChosen)),
            (Self::Gpu, Some(adapter)) => Ok((Compute::Gpu, Reason::GpuChosen(adapter))),
            (Self::Gpu, None) => Err(NoGpu),
            (Self::Auto, Some(adapter)) if !adapter.is_software() => {
                Ok((Compute::Gpu, Reason::Hardware(adapter)))
            }
            (Self::Auto, Some(adapter)) => Ok((Compute::Cpu, Reason::SoftwareOnly(adapter))),
            (Self::Auto, None) => Ok((Compute::Cpu, Reason::NoAdapter)),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CpuChosen => f.write_str("CPU (chosen)"),
            Self::GpuChosen(adapter) | Self::Hardware(adapter) => write!(f, "GPU: {adapter}"),
            Self::SoftwareOnly(adapter) => write!(
                f,
                "CPU (the only GPU adapter, {adapter}, is a software renderer, slower than the \
                 CPU backend; choosing the GPU uses it anyway)"
            ),
            Self::NoAdapter => f.write_str("CPU (no GPU adapter found)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(device_type: &str) -> AdapterSummary {
        AdapterSummary {
            name: "an adapter".into(),
            backend: "vulkan".into(),
            device_type: device_type.into(),
            driver: String::new(),
        }
    }

    #[test]
    fn auto_skips_a_software_adapter_that_the_gpu_choice_takes() {
        let (lavapipe, card) = (adapter("cpu"), adapter("discretegpu"));
        assert_eq!(
            DeviceChoice::Auto.resolve(Some(&card)),
            Ok((Compute::Gpu, Reason::Hardware(card.clone())))
        );
        assert_eq!(
            DeviceChoice::Auto.resolve(Some(&lavapipe)),
            Ok((Compute::Cpu, Reason::SoftwareOnly(lavapipe.clone())))
        );
        assert_eq!(
            DeviceChoice::Gpu.resolve(Some(&lavapipe)),
            Ok((Compute::Gpu, Reason::GpuChosen(lavapipe.clone())))
        );
        assert_eq!(
            DeviceChoice::Cpu.resolve(Some(&card)),
            Ok((Compute::Cpu, Reason::CpuChosen))
        );
        assert_eq!(
            Reason::SoftwareOnly(lavapipe).to_string(),
            "CPU (the only GPU adapter, an adapter (vulkan, cpu), is a software renderer, slower \
             than the CPU backend; choosing the GPU uses it anyway)"
        );
    }

    #[test]
    fn auto_takes_the_cpu_without_a_gpu_and_cpu_needs_none() {
        assert_eq!(
            DeviceChoice::Auto.resolve(None),
            Ok((Compute::Cpu, Reason::NoAdapter))
        );
        assert_eq!(
            DeviceChoice::Cpu.resolve(None),
            Ok((Compute::Cpu, Reason::CpuChosen))
        );
        assert_eq!(DeviceChoice::Gpu.resolve(None), Err(NoGpu));
        assert_eq!(Reason::NoAdapter.to_string(), "CPU (no GPU adapter found)");
    }
}
