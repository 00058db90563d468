//! `stepwise sweep`: an experiment and axes expanded into cells (`plan`), the cells run one at a
//! time or a pool of processes at a time (`run`), followed (`status`) and merged into one report
//! (`report`). A cell is a complete experiment of one run at one seed in its own folder, so the
//! engines users already run — Slurm job arrays, Kubernetes indexed Jobs — can run them anywhere
//! (`plan --slurm`, `plan --kubernetes` write what they need).

mod scripts;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use clap::{Args, Subcommand};
use stepwise_engine::DeviceChoice;
use stepwise_engine::findings;
use stepwise_engine::sweep::{CellState, SweepPlan};

use super::Error;
use super::compare::{self, CompareArgs};
use crate::report;

/// Sweeps over optimizers, hyperparameters and seeds, run anywhere and merged into one report.
#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Expand a sweep file into cells, each a complete experiment (one run at one seed) in its own
    /// folder, and say how many; with --slurm or --kubernetes, also what runs them on a cluster.
    ///
    /// Example: stepwise sweep plan my-sweep.toml --out sweeps/lr --slurm --time 02:00:00 --gpus 1
    Plan(PlanArgs),
    /// Run one cell (--cell N: what a Slurm array task or a Kubernetes pod runs) or every cell not
    /// yet done, N processes at a time (--jobs N). A cell stopped or killed resumes from its
    /// checkpoint when run again; a finished one is left as it is.
    ///
    /// Example: stepwise sweep run sweeps/lr --jobs 2 --device gpu:0,gpu:1
    Run(RunArgs),
    /// Which cells are done, running, stopped (resumable), failed or pending.
    ///
    /// Example: stepwise sweep status sweeps/lr
    Status(FolderArgs),
    /// Merge every finished cell into one report (report.md, results.json, the plots) in the
    /// sweep folder; it lists the cells still missing.
    ///
    /// Example: stepwise sweep report sweeps/lr
    Report(FolderArgs),
}

/// `sweep plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The sweep file: an experiment (as for `compare --config`) with a [sweep] table of axes.
    file: PathBuf,
    /// The sweep folder to write.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Replace the plan of another sweep in DIR (its cells' results stay until replanned cells
    /// overwrite them).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    cluster: scripts::ClusterArgs,
}

/// `sweep run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The sweep folder `sweep plan` wrote.
    dir: PathBuf,
    /// Run this cell (from 0).
    #[arg(
        long,
        value_name = "N",
        required_unless_present = "jobs",
        conflicts_with = "jobs"
    )]
    cell: Option<usize>,
    /// Run every cell not yet done, N processes at a time.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    jobs: Option<u32>,
    /// Where to train (as compare's --device). With --jobs and several devices, each cell trains
    /// on one of them: the one with the fewest cells running.
    #[arg(long, value_name = "DEVICES", value_delimiter = ',')]
    device: Option<Vec<DeviceChoice>>,
    /// CIFAR-10 folder [default: the platform cache folder's stepwise/cifar10].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// A sweep folder.
#[derive(Debug, Args)]
pub struct FolderArgs {
    /// The sweep folder `sweep plan` wrote.
    dir: PathBuf,
}

/// Runs the command.
pub fn run(command: &SweepCommand) -> Result<(), Error> {
    match command {
        SweepCommand::Plan(args) => plan(args),
        SweepCommand::Run(args) => match args.cell {
            Some(cell) => run_cell(args, cell),
            None => run_pool(args),
        },
        SweepCommand::Status(args) => status(&args.dir),
        SweepCommand::Report(args) => merge_report(&args.dir),
    }
}

fn plan(args: &PlanArgs) -> Result<(), Error> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|err| Error::Usage(format!("{}: {err}", args.file.display())))?;
    let plan = SweepPlan::expand(&text, &args.file.display().to_string())
        .map_err(|err| Error::Usage(err.to_string()))?;
    if args.out.join(stepwise_engine::sweep::PLAN_FILE).exists() && !args.force {
        return Err(Error::Usage(format!(
            "{} holds another sweep's plan; choose another folder, or replace it with --force",
            args.out.display()
        )));
    }
    plan.write(&args.out)
        .map_err(|err| Error::Failed(err.to_string()))?;
    // Every run is at every seed of the plan's `seeds` axis.
    let seeds = plan
        .axes
        .iter()
        .find(|(axis, _)| axis == "seeds")
        .map_or(1, |(_, values)| values.len());
    let runs = plan.cells.len() / seeds.max(1);
    println!(
        "{} cells ({runs} runs x {seeds} seeds) in {}",
        plan.cells.len(),
        args.out.display()
    );
    for (axis, values) in &plan.axes {
        let values: Vec<String> = values.iter().map(ToString::to_string).collect();
        println!("  {axis}: {}", values.join(", "));
    }
    scripts::write(&args.cluster, &args.out, plan.cells.len())?;
    println!(
        "run them here with: stepwise sweep run {} --jobs N",
        args.out.display()
    );
    Ok(())
}

/// The plan of `dir`, or a usage error saying how to make one.
fn read_plan(dir: &Path) -> Result<SweepPlan, Error> {
    SweepPlan::read(dir).map_err(|err| {
        Error::Usage(format!(
            "{err} (a sweep folder is what `stepwise sweep plan FILE --out DIR` writes)"
        ))
    })
}

fn run_cell(args: &RunArgs, cell: usize) -> Result<(), Error> {
    let plan = read_plan(&args.dir)?;
    if cell >= plan.cells.len() {
        return Err(Error::Usage(format!(
            "--cell {cell}: the sweep in {} has cells 0 to {}",
            args.dir.display(),
            plan.cells.len().saturating_sub(1)
        )));
    }
    let dir = SweepPlan::cell_dir(&args.dir, cell);
    let state = SweepPlan::state(&args.dir, cell);
    if state == CellState::Done {
        eprintln!("cell {cell} is done: {}", dir.display());
        return Ok(());
    }
    eprintln!(
        "cell {cell} of {}: {} at seed {} ({})",
        plan.cells.len(),
        plan.cells[cell].run,
        plan.cells[cell].seed,
        if state == CellState::Stopped {
            "resuming from its checkpoint"
        } else {
            "from the start"
        }
    );
    let resume = state == CellState::Stopped;
    let again = format!(
        "stepwise sweep run {} --cell {cell} (or the cluster's job again)",
        args.dir.display()
    );
    compare::run(&CompareArgs::cell(
        &dir,
        resume,
        args.device.clone(),
        args.data_dir.clone(),
        again,
    ))
}

/// Runs every cell not yet done, `--jobs` child processes at a time, each cell's output in its
/// folder's `output.txt`.
fn run_pool(args: &RunArgs) -> Result<(), Error> {
    let plan = read_plan(&args.dir)?;
    let jobs = args.jobs.unwrap_or(1) as usize;
    let exe = std::env::current_exe()
        .map_err(|err| Error::Failed(format!("cannot find this program's path: {err}")))?;
    let mut waiting: Vec<usize> = plan
        .cells
        .iter()
        .map(|c| c.index)
        .filter(|&i| SweepPlan::state(&args.dir, i) != CellState::Done)
        .rev()
        .collect();
    eprintln!(
        "{} of {} cells to run, {jobs} at a time",
        waiting.len(),
        plan.cells.len()
    );
    // Each cell on one device of several, or every cell on the devices asked for.
    let slots: Vec<Option<Vec<DeviceChoice>>> = match &args.device {
        Some(devices) if devices.len() > 1 => devices.iter().map(|&d| Some(vec![d])).collect(),
        devices => vec![devices.clone()],
    };
    // A signal to the pool (Ctrl-C, a scheduler's SIGTERM) is passed on to the cells running,
    // which stop at their next step with their checkpoints, and no cell starts after it; a second
    // one, passed on too, ends them at once. Cells are process groups of their own, so that a
    // terminal's Ctrl-C reaches them once, through the pool.
    let signals = Arc::new(AtomicU32::new(0));
    {
        let signals = Arc::clone(&signals);
        ctrlc::set_handler(move || {
            signals.fetch_add(1, Ordering::SeqCst);
        })
        .map_err(|err| Error::Failed(format!("cannot handle Ctrl-C and SIGTERM: {err}")))?;
    }
    let mut forwarded = 0;
    let mut running: Vec<(usize, usize, Child)> = Vec::new();
    let mut failed: Vec<(usize, String)> = Vec::new();
    loop {
        let received = signals.load(Ordering::SeqCst);
        if received > forwarded {
            forwarded = received;
            waiting.clear();
            for (cell, _, child) in &running {
                eprintln!("cell {cell}: stopping");
                terminate(child);
            }
        }
        while running.len() < jobs
            && let Some(cell) = waiting.pop()
        {
            let slot = (0..slots.len())
                .min_by_key(|&slot| running.iter().filter(|(_, s, _)| *s == slot).count())
                .unwrap_or(0);
            let child = spawn_cell(&exe, args, cell, slots[slot].as_deref())?;
            running.push((cell, slot, child));
        }
        if running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        let mut still = Vec::with_capacity(running.len());
        for (cell, slot, mut child) in running {
            match child.try_wait() {
                Ok(None) => still.push((cell, slot, child)),
                Ok(Some(status)) if status.success() => eprintln!("cell {cell}: done"),
                Ok(Some(status)) => {
                    let log = SweepPlan::cell_dir(&args.dir, cell).join(OUTPUT_FILE);
                    eprintln!("cell {cell}: {status}; see {}", log.display());
                    failed.push((cell, status.to_string()));
                }
                Err(err) => failed.push((cell, err.to_string())),
            }
        }
        running = still;
    }
    // In cell order, whichever ended first.
    failed.sort_by_key(|(cell, _)| *cell);
    let cells: Vec<String> = failed.iter().map(|(cell, _)| cell.to_string()).collect();
    if forwarded > 0 {
        Err(Error::Stopped(format!(
            "stopped on request; cells {} did not finish (and cells not started were left): run \
             the sweep again to resume them",
            cells.join(", ")
        )))
    } else if failed.is_empty() {
        eprintln!(
            "every cell is done; merge them with: stepwise sweep report {}",
            args.dir.display()
        );
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "cells {} did not finish; run the sweep again to resume them",
            cells.join(", ")
        )))
    }
}

/// Where `run --jobs` sends each cell's terminal output.
const OUTPUT_FILE: &str = "output.txt";

fn spawn_cell(
    exe: &Path,
    args: &RunArgs,
    cell: usize,
    devices: Option<&[DeviceChoice]>,
) -> Result<Child, Error> {
    let dir = SweepPlan::cell_dir(&args.dir, cell);
    std::fs::create_dir_all(&dir)
        .map_err(|err| Error::Failed(format!("{}: {err}", dir.display())))?;
    let log = dir.join(OUTPUT_FILE);
    let output = std::fs::File::create(&log)
        .map_err(|err| Error::Failed(format!("{}: {err}", log.display())))?;
    let errors = output
        .try_clone()
        .map_err(|err| Error::Failed(format!("{}: {err}", log.display())))?;
    let mut command = Command::new(exe);
    command
        .arg("sweep")
        .arg("run")
        .arg(&args.dir)
        .args(["--cell", &cell.to_string()])
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(errors);
    if let Some(devices) = devices {
        command.arg("--device").arg(join(devices));
    }
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    if let Some(data) = &args.data_dir {
        command.arg("--data-dir").arg(data);
    }
    command
        .spawn()
        .map_err(|err| Error::Failed(format!("cannot start cell {cell}: {err}")))
}

/// Asks a cell to stop, as a scheduler would: SIGTERM.
#[cfg(unix)]
fn terminate(child: &Child) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    if let Ok(pid) = i32::try_from(child.id()) {
        // A cell that has just ended is no one to tell.
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
}

/// Elsewhere the console's Ctrl-C reaches every process attached to it, the cells included.
#[cfg(not(unix))]
fn terminate(_: &Child) {}

/// Devices as `--device` takes them.
pub(super) fn join(devices: &[DeviceChoice]) -> String {
    let names: Vec<String> = devices.iter().map(DeviceChoice::to_string).collect();
    names.join(",")
}

fn status(dir: &Path) -> Result<(), Error> {
    let plan = read_plan(dir)?;
    let mut counts = std::collections::BTreeMap::new();
    println!("{:>5}  {:<8}  {:>6}  run", "cell", "state", "seed");
    for cell in &plan.cells {
        let state = SweepPlan::state(dir, cell.index);
        *counts.entry(state.name()).or_insert(0) += 1;
        println!(
            "{:>5}  {:<8}  {:>6}  {}",
            cell.index,
            state.name(),
            cell.seed,
            cell.run
        );
    }
    let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    println!("{} cells: {}", plan.cells.len(), counts.join(", "));
    Ok(())
}

fn merge_report(dir: &Path) -> Result<(), Error> {
    let plan = read_plan(dir)?;
    let merged = plan
        .merge(dir)
        .map_err(|err| Error::Failed(err.to_string()))?;
    let (Some(mut results), Some(config)) = (merged.results, merged.config) else {
        return Err(Error::Failed(format!(
            "no cell of {} has finished yet; run them with: stepwise sweep run {} --jobs N",
            dir.display(),
            dir.display()
        )));
    };
    if !merged.missing.is_empty() {
        let cells: Vec<String> = merged.missing.iter().map(ToString::to_string).collect();
        results.description = format!(
            "{}; cells missing (not finished): {}",
            results.description,
            cells.join(", ")
        );
    }
    // The notes need every run at every seed; with cells missing, they speak of what is there.
    let statuses: Vec<_> = results.runs.iter().map(|r| r.run_status()).collect();
    let notes = if merged.missing.is_empty() {
        findings::notes(&config, &merged.histories, &statuses)
    } else {
        Vec::new()
    };
    results
        .write(&dir.join(stepwise_engine::output::RESULTS_FILE))
        .map_err(|err| Error::Failed(err.to_string()))?;
    report::write(dir, &results, &merged.histories, &notes)?;
    print!("{}", report::summary(&results));
    if !merged.missing.is_empty() {
        eprintln!(
            "{} of {} cells missing from the report: {}",
            merged.missing.len(),
            plan.cells.len(),
            merged
                .missing
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    eprintln!("report: {}", dir.join(report::REPORT_FILE).display());
    Ok(())
}
