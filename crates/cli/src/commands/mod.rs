//! One module per subcommand; each parses its own flags and returns an [`Error`].

pub mod basin;
pub mod compare;
pub mod data;
pub mod model;
pub mod presets;
pub mod progress;
pub mod sweep;
pub mod trace;

use clap::ValueEnum;
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

/// Where optimizer steps run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Device {
    /// The pure-Rust reference implementation.
    Cpu,
    /// The fused WGSL kernels, on the best GPU adapter wgpu finds.
    Gpu,
}

/// Opens the GPU and says which adapter runs the work (on stderr, so that output stays clean).
pub fn open_gpu() -> Result<Gpu, Error> {
    let gpu = Gpu::new_blocking().map_err(|err| Error::Failed(err.to_string()))?;
    eprintln!("GPU: {}", gpu.adapter);
    Ok(gpu)
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
