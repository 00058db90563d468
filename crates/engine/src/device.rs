//! Where an experiment trains: the user's choice of devices, the rule that turns it into a
//! [`Placement`] given the GPU adapters found (with the reason said the same way by every
//! front-end), and the burn device behind each [`Compute`].

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, DeviceKind};
use serde::{Deserialize, Serialize};
use stepwise_gpu::AdapterSummary;

/// Where the user wants to train: an entry of a configuration's `devices` or of `--device`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum DeviceChoice {
    /// Every hardware GPU adapter ([`place`]; the default adapter alone through
    /// [`DeviceChoice::resolve`]), else the CPU.
    #[default]
    Auto,
    /// burn's CPU backend with the reference optimizers.
    Cpu,
    /// burn-wgpu on the default adapter (software ones included) with the fused kernels.
    Gpu,
    /// `gpu:N`: burn-wgpu on the adapter listed N-th (from 0) on this machine.
    Listed(u16),
}

/// A GPU adapter burn-wgpu trains on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Adapter {
    /// The one wgpu prefers (a high-performance one first).
    Default,
    /// The one listed N-th (from 0) by [`stepwise_gpu::Gpu::list_adapters`].
    Listed(u16),
}

/// Where runs compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Compute {
    /// burn's CPU backend (flex), with Stepwise's reference optimizers.
    Cpu,
    /// burn-wgpu on an adapter, with the fused WGSL optimizers.
    Gpu(Adapter),
}

/// The devices an experiment's runs are dealt over: run `r` trains on the `r % len`-th, so that
/// every device has work in every round. Written as the devices joined by commas (`cpu,gpu:1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Placement(Vec<Compute>);

/// Why training runs where it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The user chose the CPU.
    CpuChosen,
    /// The user chose the GPU: this adapter.
    GpuChosen(AdapterSummary),
    /// The user chose the adapter listed N-th: this one.
    ListedChosen(u16, AdapterSummary),
    /// *auto* found a hardware GPU: this adapter.
    Hardware(AdapterSummary),
    /// *auto* found several hardware GPUs: this one, listed N-th.
    HardwareListed(u16, AdapterSummary),
    /// *auto* found only a software renderer (slower than burn's CPU backend).
    SoftwareOnly(AdapterSummary),
    /// *auto* found no adapter.
    NoAdapter,
}

/// A choice of devices that cannot be met.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The GPU was chosen but none was found.
    #[error("the GPU was chosen, but no GPU adapter was found; choose the CPU")]
    NoGpu,
    /// `gpu:N` names an adapter the machine does not have.
    #[error("gpu:{index}: this machine lists {count} GPU adapter(s){listed}")]
    NoSuchAdapter {
        /// The index asked for.
        index: u16,
        /// How many there are.
        count: usize,
        /// The adapters, for the message.
        listed: String,
    },
    /// `gpu:N` where only the default adapter is known (a caller without the list).
    #[error(
        "gpu:{0}: a listed adapter is chosen with the machine's adapter list; here choose auto, cpu or gpu"
    )]
    NeedsList(u16),
    /// The same device twice: its runs would only wait for each other.
    #[error("{0} is listed twice in the devices")]
    Repeated(Compute),
    /// No device at all.
    #[error("the devices list is empty; name at least one (auto, cpu, gpu or gpu:N)")]
    Empty,
}

impl DeviceChoice {
    /// Where to train given `adapter`, the default GPU adapter found (if any), and why. *auto*
    /// skips a software adapter: lavapipe or SwiftShader trains ~7x slower than burn's CPU backend
    /// (docs/PERFORMANCE.md). A listed adapter (`gpu:N`) needs the list: see [`place`].
    ///
    /// # Errors
    /// [`DeviceError::NoGpu`] when the GPU was chosen and there is none.
    pub fn resolve(
        self,
        adapter: Option<&AdapterSummary>,
    ) -> Result<(Compute, Reason), DeviceError> {
        match (self, adapter.cloned()) {
            (Self::Cpu, _) => Ok((Compute::Cpu, Reason::CpuChosen)),
            (Self::Gpu, Some(adapter)) => Ok((Compute::GPU, Reason::GpuChosen(adapter))),
            (Self::Gpu, None) => Err(DeviceError::NoGpu),
            (Self::Auto, Some(adapter)) if !adapter.is_software() => {
                Ok((Compute::GPU, Reason::Hardware(adapter)))
            }
            (Self::Auto, Some(adapter)) => Ok((Compute::Cpu, Reason::SoftwareOnly(adapter))),
            (Self::Auto, None) => Ok((Compute::Cpu, Reason::NoAdapter)),
            (Self::Listed(index), _) => Err(DeviceError::NeedsList(index)),
        }
    }
}

/// The devices `choices` name, each with why, given `default`, the GPU adapter wgpu prefers (if
/// any), and `listed`, every adapter this machine lists: *auto* spreads over every hardware
/// adapter where there are several, and is [`DeviceChoice::resolve`] otherwise.
///
/// # Errors
/// [`DeviceError`]: a GPU or listed adapter that is not there, a device named twice, no device.
pub fn place(
    choices: &[DeviceChoice],
    default: Option<&AdapterSummary>,
    listed: &[AdapterSummary],
) -> Result<(Placement, Vec<Reason>), DeviceError> {
    let mut placed: Vec<(Compute, Reason)> = Vec::new();
    let hardware: Vec<(u16, &AdapterSummary)> = (0..)
        .zip(listed)
        .filter(|(_, adapter)| !adapter.is_software())
        .collect();
    for &choice in choices {
        let found = match choice {
            DeviceChoice::Listed(index) => {
                let adapter = listed
                    .get(usize::from(index))
                    .ok_or_else(|| no_such_adapter(index, listed))?;
                vec![(
                    Compute::Gpu(Adapter::Listed(index)),
                    Reason::ListedChosen(index, adapter.clone()),
                )]
            }
            DeviceChoice::Auto if hardware.len() > 1 => hardware
                .iter()
                .map(|&(index, adapter)| {
                    (
                        Compute::Gpu(Adapter::Listed(index)),
                        Reason::HardwareListed(index, adapter.clone()),
                    )
                })
                .collect(),
            _ => vec![choice.resolve(default)?],
        };
        for (compute, reason) in found {
            if placed.iter().any(|(c, _)| *c == compute) {
                return Err(DeviceError::Repeated(compute));
            }
            placed.push((compute, reason));
        }
    }
    if placed.is_empty() {
        return Err(DeviceError::Empty);
    }
    let (computes, reasons) = placed.into_iter().unzip();
    Ok((Placement(computes), reasons))
}

fn no_such_adapter(index: u16, listed: &[AdapterSummary]) -> DeviceError {
    let listed = listed
        .iter()
        .enumerate()
        .map(|(n, adapter)| format!("gpu:{n} {adapter}"))
        .collect::<Vec<_>>();
    DeviceError::NoSuchAdapter {
        index,
        count: listed.len(),
        listed: if listed.is_empty() {
            String::new()
        } else {
            format!(": {}", listed.join("; "))
        },
    }
}

impl Compute {
    /// The default GPU adapter.
    pub const GPU: Self = Self::Gpu(Adapter::Default);

    /// The burn device (without autodiff).
    pub fn device(self) -> Device {
        match self {
            Self::Cpu => Device::flex(),
            Self::Gpu(adapter) => Device::wgpu(adapter.kind()),
        }
    }

    /// Whether it is a GPU.
    pub const fn is_gpu(self) -> bool {
        matches!(self, Self::Gpu(_))
    }
}

impl Adapter {
    /// How burn-wgpu addresses it: the n-th adapter of its kind.
    fn kind(self) -> DeviceKind {
        match self {
            Self::Default => DeviceKind::DefaultDevice,
            Self::Listed(index) => listed_kind(usize::from(index)),
        }
    }
}

/// burn's address of the adapter listed `index`-th.
#[cfg(not(target_arch = "wasm32"))]
fn listed_kind(index: usize) -> DeviceKind {
    let listed = stepwise_gpu::Gpu::list_adapters();
    let Some(adapter) = listed.get(index) else {
        // `place` checked the index against the same list.
        return DeviceKind::DefaultDevice;
    };
    let nth = listed[..index]
        .iter()
        .filter(|other| other.device_type == adapter.device_type)
        .count();
    match adapter.device_type.as_str() {
        "discretegpu" => DeviceKind::DiscreteGpu(nth),
        "integratedgpu" => DeviceKind::IntegratedGpu(nth),
        "virtualgpu" => DeviceKind::VirtualGpu(nth),
        "cpu" => DeviceKind::Cpu,
        _ => DeviceKind::DefaultDevice,
    }
}

/// A browser offers one adapter: `place` refuses `gpu:N` there (it lists none).
#[cfg(target_arch = "wasm32")]
fn listed_kind(_index: usize) -> DeviceKind {
    DeviceKind::DefaultDevice
}

impl Placement {
    /// The devices, in the order runs are dealt over them.
    pub fn devices(&self) -> &[Compute] {
        &self.0
    }

    /// The index, in [`devices`](Self::devices), of the device run `run` trains on: runs are dealt
    /// over the devices in turn.
    pub fn index_of(&self, run: usize) -> usize {
        run % self.0.len()
    }

    /// Where run `run` trains.
    pub fn of_run(&self, run: usize) -> Compute {
        self.0[self.index_of(run)]
    }

    /// Whether any run trains on a GPU.
    pub fn uses_gpu(&self) -> bool {
        self.0.iter().any(|compute| compute.is_gpu())
    }
}

impl From<Compute> for Placement {
    fn from(compute: Compute) -> Self {
        Self(vec![compute])
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Cpu => f.write_str("cpu"),
            Self::Gpu => f.write_str("gpu"),
            Self::Listed(index) => write!(f, "gpu:{index}"),
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        // Any case: settings saved before devices were written in lower case say `Auto`.
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "gpu" => Ok(Self::Gpu),
            other => other
                .strip_prefix("gpu:")
                .and_then(|index| index.parse().ok())
                .map(Self::Listed)
                .ok_or_else(|| {
                    format!(
                        "'{other}' is not a device: auto, cpu, gpu, or gpu:N for the adapter \
                         listed N-th"
                    )
                }),
        }
    }
}

impl fmt::Display for Compute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Gpu(Adapter::Default) => f.write_str("gpu"),
            Self::Gpu(Adapter::Listed(index)) => write!(f, "gpu:{index}"),
        }
    }
}

impl FromStr for Compute {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.parse::<DeviceChoice>()? {
            DeviceChoice::Cpu => Ok(Self::Cpu),
            DeviceChoice::Gpu => Ok(Self::GPU),
            DeviceChoice::Listed(index) => Ok(Self::Gpu(Adapter::Listed(index))),
            DeviceChoice::Auto => Err("'auto' is a choice, not a device".into()),
        }
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.0.iter().map(Compute::to_string).collect();
        f.write_str(&names.join(","))
    }
}

impl FromStr for Placement {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let devices = text
            .split(',')
            .map(str::parse)
            .collect::<Result<Vec<Compute>, _>>()?;
        if devices.is_empty() {
            return Err(DeviceError::Empty.to_string());
        }
        Ok(Self(devices))
    }
}

macro_rules! text_serde {
    ($($type:ty),*) => {$(
        impl From<$type> for String {
            fn from(value: $type) -> Self {
                value.to_string()
            }
        }

        impl TryFrom<String> for $type {
            type Error = String;

            fn try_from(text: String) -> Result<Self, String> {
                text.parse()
            }
        }
    )*};
}
text_serde!(DeviceChoice, Compute, Placement);

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CpuChosen => f.write_str("CPU (chosen)"),
            Self::GpuChosen(adapter) | Self::Hardware(adapter) => write!(f, "GPU: {adapter}"),
            Self::ListedChosen(index, adapter) | Self::HardwareListed(index, adapter) => {
                write!(f, "GPU {index}: {adapter}")
            }
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
            Ok((Compute::GPU, Reason::Hardware(card.clone())))
        );
        assert_eq!(
            DeviceChoice::Auto.resolve(Some(&lavapipe)),
            Ok((Compute::Cpu, Reason::SoftwareOnly(lavapipe.clone())))
        );
        assert_eq!(
            DeviceChoice::Gpu.resolve(Some(&lavapipe)),
            Ok((Compute::GPU, Reason::GpuChosen(lavapipe.clone())))
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
        assert_eq!(DeviceChoice::Gpu.resolve(None), Err(DeviceError::NoGpu));
        assert_eq!(Reason::NoAdapter.to_string(), "CPU (no GPU adapter found)");
    }

    #[test]
    fn auto_spreads_over_every_hardware_adapter_and_listed_ones_are_checked() {
        let listed = [
            adapter("discretegpu"),
            adapter("cpu"),
            adapter("discretegpu"),
        ];
        let (placement, reasons) = place(&[DeviceChoice::Auto], Some(&listed[0]), &listed).unwrap();
        assert_eq!(placement.to_string(), "gpu:0,gpu:2");
        assert_eq!(
            reasons[1].to_string(),
            "GPU 2: an adapter (vulkan, discretegpu)"
        );
        // One hardware adapter: the default one, as before there were lists.
        let (placement, _) = place(&[DeviceChoice::Auto], Some(&listed[0]), &listed[..2]).unwrap();
        assert_eq!(placement.devices(), [Compute::GPU]);
        let (placement, _) =
            place(&[DeviceChoice::Cpu, DeviceChoice::Listed(1)], None, &listed).unwrap();
        assert_eq!(placement.to_string(), "cpu,gpu:1");
        assert_eq!(
            (placement.of_run(0), placement.of_run(3)),
            (Compute::Cpu, Compute::Gpu(Adapter::Listed(1)))
        );
        let err = place(&[DeviceChoice::Listed(3)], None, &listed[..1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "gpu:3: this machine lists 1 GPU adapter(s): gpu:0 an adapter (vulkan, discretegpu)"
        );
        assert_eq!(
            place(&[DeviceChoice::Cpu, DeviceChoice::Cpu], None, &[]),
            Err(DeviceError::Repeated(Compute::Cpu))
        );
        assert_eq!(place(&[], None, &[]), Err(DeviceError::Empty));
    }

    #[test]
    fn devices_read_back_as_written() {
        for text in ["cpu", "gpu", "gpu:3", "cpu,gpu:0,gpu:1"] {
            let placement: Placement = text.parse().unwrap();
            assert_eq!(placement.to_string(), text);
        }
        assert_eq!("gpu:1".parse(), Ok(DeviceChoice::Listed(1)));
        // As settings and links wrote them before devices were written in lower case.
        assert_eq!("Gpu".parse(), Ok(DeviceChoice::Gpu));
        assert_eq!(
            "tpu".parse::<DeviceChoice>().unwrap_err(),
            "'tpu' is not a device: auto, cpu, gpu, or gpu:N for the adapter listed N-th"
        );
        assert!("auto".parse::<Compute>().is_err());
        let json = serde_json::to_string(&Placement::from(Compute::Cpu)).unwrap();
        assert_eq!(json, "\"cpu\"");
    }
}
