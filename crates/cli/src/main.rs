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

/// Stepwise: which optimizer should I use, and why does it behave as it does?
#[derive(Debug, Parser)]
#[command(name = "stepwise", version, propagate_version = true)]
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
    #[command(subcommand)]
    Model(commands::model::ModelCommand),
    /// Obtain and inspect CIFAR-10.
    #[command(subcommand)]
    Data(commands::data::DataCommand),
    /// Sweeps over optimizers, hyperparameters and seeds: plan cells, run them here or on a
    /// cluster (Slurm, Kubernetes), follow them, merge them into one report.
    #[command(subcommand)]
    Sweep(commands::sweep::SweepCommand),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version.
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => return usage_error(&first_paragraph(&err.to_string())),
    };
    let result = match cli.command {
        Command::Compare(args) => commands::compare::run(&args),
        Command::Trace(args) => commands::trace::run(&args),
        Command::Basin(args) => commands::basin::run(&args),
        Command::Hypermap(args) => commands::basin::run_hypermap(&args),
        Command::Model(command) => commands::model::run(&command),
        Command::Data(command) => commands::data::run(&command),
        Command::Sweep(command) => commands::sweep::run(&command),
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
    }
}

fn usage_error(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "{message}");
    ExitCode::from(EXIT_USAGE)
}

/// clap's message up to its first blank line, on one line (it adds usage and tips after that).
fn first_paragraph(message: &str) -> String {
    message
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}
