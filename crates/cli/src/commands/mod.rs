//! One module per subcommand; each parses its own flags and returns an [`Error`].

pub mod basin;
pub mod compare;
pub mod data;
pub mod model;
pub mod presets;
pub mod progress;
pub mod sweep;
pub mod trace;

use stepwise_engine::DeviceChoice;
use stepwise_gpu::Gpu;

/// Why a command failed; decides the exit status.
#[derive(Debug)]
pub enum Error {
    /// Invalid input (exit status 2), with a one-line message.
    Usage(String),
    /// The work itself failed, e.g. no GPU (exit status 1), with a one-line message.
    Failed(String),
    /// Reading or writing failed (exit status 1).
    Io(std::io::Error),
    /// Stopped early on request (Ctrl-C, SIGTERM, SIGHUP), everything so far written: exit
    /// status 75 (`EX_TEMPFAIL`: try again, here with `--resume`), with what to do next.
    Stopped(String),
    /// Ran to its end, but what it computed went non-finite (exit status 3), saying where.
    Diverged(String),
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Self::Io(err)
    }
}

/// The adapter wgpu prefers, opened where `choices` may train on a GPU: required (its error says
/// what is missing and how to install it) where one is `gpu`, none where all are `cpu`, else if
/// there is one.
pub fn default_gpu(choices: &[DeviceChoice]) -> Result<Option<Gpu>, Error> {
    if choices.contains(&DeviceChoice::Gpu) {
        Gpu::new_blocking()
            .map(Some)
            .map_err(|err| Error::Failed(err.to_string()))
    } else if choices.iter().all(|&choice| choice == DeviceChoice::Cpu) {
        Ok(None)
    } else {
        Ok(Gpu::new_blocking().ok())
    }
}

/// Where the 2-D commands (`trace`, `basin`, `hypermap`) run: the GPU (the fused kernels on the
/// adapter wgpu prefers) or none (the CPU reference), by the engine's rule for `choice` (*auto*: a
/// hardware GPU, else the CPU), said on stderr as `compare` says it, so that output stays clean.
pub fn landscape_gpu(choice: DeviceChoice) -> Result<Option<Gpu>, Error> {
    if let DeviceChoice::Listed(_) = choice {
        return Err(Error::Usage(format!(
            "--device {choice}: this command runs on one adapter, the one wgpu prefers; choose \
             auto, cpu or gpu"
        )));
    }
    let gpu = default_gpu(&[choice])?;
    let (compute, reason) = choice
        .resolve(gpu.as_ref().map(|gpu| &gpu.adapter))
        .map_err(|err| Error::Failed(err.to_string()))?;
    eprintln!("device: {reason}");
    Ok(gpu.filter(|_| compute.is_gpu()))
}

/// Parses `A,B` into two finite numbers.
pub fn parse_pair<T: std::str::FromStr + Copy + Into<f64>>(text: &str) -> Result<[T; 2], String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [a, b] = parts.as_slice() else {
        return Err(format!(
            "expected two numbers separated by a comma, got '{text}'"
        ));
    };
    let number = |s: &str| match s.parse::<T>() {
        Ok(v) if v.into().is_finite() => Ok(v),
        Ok(_) => Err(format!("'{s}' is not finite")),
        Err(_) => Err(format!("'{s}' is not a number")),
    };
    Ok([number(a)?, number(b)?])
}

/// Formats an `f32` for CSV: shortest round-trip digits, with an exponent only for very small or
/// very large magnitudes (where plain notation would run to dozens of digits).
pub fn format_f32(value: f32) -> String {
    let magnitude = value.abs();
    if value == 0.0 || !value.is_finite() || (1e-4..1e7).contains(&magnitude) {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}
