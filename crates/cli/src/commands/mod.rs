//! One module per subcommand; each parses its own flags and returns an [`Error`].

pub mod trace;

/// Why a command failed; decides the exit status.
#[derive(Debug)]
pub enum Error {
    /// Invalid input (exit status 2), with a one-line message.
    Usage(String),
    /// Reading or writing failed (exit status 1).
    Io(std::io::Error),
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Self::Io(err)
    }
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
