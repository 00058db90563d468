//! `stepwise`: headless runs of Stepwise from the command line.

mod commands;
mod report;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status for invalid input (flags, values, configuration), as clap uses.
const EXIT_USAGE: u8 = 2;
/// Exit status of an experiment stopped early on request, resumable: sysexits' `EX_TEMPFAIL`, so
/// that a script or a job scheduler tells it from a finished one (0) and from a failure (1).
const EXIT_STOPPED: u8 = 75;
/// Exit status of a computation that ran to its end but went non-finite (`trace`'s divergence).
const EXIT_DIVERGED: u8 = 3;

/// Stepwise: which optimizer should I use, and why does it behave as it does?
#[derive(Debug, Parser)]
#[command(
    name = "stepwise",
    version,
    propagate_version = true,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Compare(commands::compare::CompareArgs),
    Trace(commands::trace::TraceArgs),
    Basin(commands::basin::BasinArgs),
    Hypermap(commands::basin::HypermapArgs),
    /// Inspect the networks Stepwise trains.
    #[command(subcommand, arg_required_else_help = true)]
    Model(commands::model::ModelCommand),
    /// Obtain and inspect CIFAR-10.
    #[command(subcommand, arg_required_else_help = true)]
    Data(commands::data::DataCommand),
    /// List the shipped experiments (the study's three), or print one as TOML.
    ///
    /// Example: stepwise presets show seed-optimizers > my-experiment.toml
    Presets(commands::presets::PresetsArgs),
    /// Sweeps over optimizers, hyperparameters and seeds: plan cells, run them here or on a
    /// cluster (Slurm, Kubernetes), follow them, merge them into one report.
    #[command(subcommand, arg_required_else_help = true)]
    Sweep(commands::sweep::SweepCommand),
}

fn main() -> ExitCode {
    quiet_headless_vulkan();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap's own words: help for a bare command, "a similar ... exists" for a misspelling,
            // and its exit status (0 for --help and --version, 2 otherwise).
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(EXIT_USAGE));
        }
    };
    let result = match cli.command {
        Command::Compare(args) => commands::compare::run(&args),
        Command::Trace(args) => commands::trace::run(&args),
        Command::Basin(args) => commands::basin::run(&args),
        Command::Hypermap(args) => commands::basin::run_hypermap(&args),
        Command::Model(command) => commands::model::run(&command),
        Command::Data(command) => commands::data::run(&command),
        Command::Sweep(command) => commands::sweep::run(&command),
        Command::Presets(args) => commands::presets::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(commands::Error::Usage(message)) => usage_error(&format!("error: {message}")),
        Err(commands::Error::Io(err)) if err.kind() == std::io::ErrorKind::BrokenPipe => {
            // The reader went away (`stepwise trace ... | head`): not a failure.
            ExitCode::SUCCESS
        }
        Err(commands::Error::Failed(message)) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::FAILURE
        }
        Err(commands::Error::Io(err)) => {
            let _ = writeln!(std::io::stderr(), "error: {err}");
            ExitCode::FAILURE
        }
        Err(commands::Error::Stopped(message)) => {
            let _ = writeln!(std::io::stderr(), "{message}");
            ExitCode::from(EXIT_STOPPED)
        }
        Err(commands::Error::Diverged(message)) => {
            let _ = writeln!(std::io::stderr(), "{message}");
            ExitCode::from(EXIT_DIVERGED)
        }
    }
}

/// Mesa's Vulkan device-select layer asks the Wayland compositor which GPU is the default one, and
/// without a session (no `XDG_RUNTIME_DIR`: a server, a container, a batch job) libwayland prints
/// `error: XDG_RUNTIME_DIR is invalid or not set` for every Vulkan instance, which reads as a
/// failure. There is no compositor to ask there, so the layer is skipped (`NODEVICE_SELECT`, its
/// own switch), unless the user has set that switch either way.
fn quiet_headless_vulkan() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none()
        && std::env::var_os("NODEVICE_SELECT").is_none()
    {
        // SAFETY: the first thing `main` does, before any thread exists to read the environment.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("NODEVICE_SELECT", "1");
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "{message}");
    ExitCode::from(EXIT_USAGE)
}
