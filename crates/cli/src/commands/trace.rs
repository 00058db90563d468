//! `stepwise trace`: an optimizer's trajectory on a 2-D test function, as CSV (stdout, or --out).

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use stepwise_landscape::{Optimizers, Record, trajectories};
use stepwise_optim::{LrSchedule, Optimizer, OptimizerSpec, TestFunction, TracePoint, trajectory};

use stepwise_engine::DeviceChoice;

use super::{Error, format_f32, parse_pair};

/// Runs an optimizer on a 2-D test function and prints its trajectory as CSV (step,x,y,loss).
///
/// Every hyperparameter defaults to the reference implementation's default for the chosen
/// optimizer (torch.optim; Luolc's AdaBound). Row 0 is the start point; row k is the point after k
/// steps and the loss there. A trajectory that becomes NaN or infinite is written to its end, and
/// the command then says at which step it diverged and exits with status 3.
///
/// Example: stepwise trace --function rosenbrock --optimizer adam --lr 0.01 --start=-1.5,2 --steps 500
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct TraceArgs {
    /// Test function.
    #[arg(long)]
    function: TestFunction,
    #[command(flatten)]
    optimizer: OptimizerSpec,
    /// Start point, as X,Y (for example --start=-1.5,2).
    #[arg(long, value_parser = parse_pair::<f32>, allow_hyphen_values = true)]
    start: [f32; 2],
    /// Number of optimizer steps.
    #[arg(long)]
    steps: u64,
    /// Where the optimizer runs: auto (a hardware GPU, else the CPU), cpu (the reference) or gpu
    /// (the fused WGSL kernels, software adapters included).
    #[arg(long, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
    /// Write the CSV to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs the command. On the CPU each row is written as it is computed (memory stays the same
/// whatever `--steps` is, and a reader such as `head` gets the first rows at once); on the GPU the
/// whole trajectory is one dispatch per step into a device buffer, refused up front when it would
/// not fit.
pub fn run(args: &TraceArgs) -> Result<(), Error> {
    let config = args
        .optimizer
        .resolve()
        .map_err(|err| Error::Usage(err.to_string()))?;
    let mut optimizer = Optimizer::new(config, LrSchedule::Constant {})
        .map_err(|err| Error::Usage(err.to_string()))?;
    // The device first: a missing GPU leaves no empty --out file behind.
    let gpu = super::landscape_gpu(args.device)?;
    let out: (Box<dyn Write>, String) = match &args.out {
        None => (Box::new(std::io::stdout().lock()), "stdout".into()),
        Some(path) => (
            Box::new(
                std::fs::File::create(path)
                    .map_err(|err| Error::Failed(format!("{}: {err}", path.display())))?,
            ),
            path.display().to_string(),
        ),
    };
    let diverged = match gpu {
        None => {
            let points = trajectory(args.function, &mut optimizer, args.start).through(args.steps);
            write_csv(
                out,
                points.map(|point| point.map_err(|err| Error::Failed(err.to_string()))),
            )
        }
        Some(gpu) => {
            let starts = [args.start];
            let run = trajectories(
                &gpu,
                args.function,
                Optimizers::Shared(&optimizer),
                &starts,
                args.steps,
                Record::EveryStep,
            );
            let computed = pollster::block_on(run).map_err(|err| Error::Failed(err.to_string()))?;
            write_csv(out, computed.trajectory(0).into_iter().map(Ok))
        }
    }?;
    match diverged {
        None => Ok(()),
        Some(p) => Err(Error::Diverged(format!(
            "the trajectory diverged: non-finite at step {} (x {}, y {}, loss {}); every step is \
             written",
            p.step,
            format_f32(p.x),
            format_f32(p.y),
            format_f32(p.loss)
        ))),
    }
}

/// Writes `points` as CSV to `out` (named `.1` in errors), one row as each arrives, and returns the
/// first point that is not finite, if any.
fn write_csv(
    (out, name): (Box<dyn Write>, String),
    points: impl Iterator<Item = Result<TracePoint, Error>>,
) -> Result<Option<TracePoint>, Error> {
    let write_error = |err: std::io::Error| written_error(&name, err);
    let mut out = BufWriter::new(out);
    let mut diverged = None;
    writeln!(out, "step,x,y,loss").map_err(write_error)?;
    for point in points {
        let p = point?;
        if diverged.is_none() && ![p.x, p.y, p.loss].iter().all(|v| v.is_finite()) {
            diverged = Some(p);
        }
        writeln!(
            out,
            "{},{},{},{}",
            p.step,
            format_f32(p.x),
            format_f32(p.y),
            format_f32(p.loss)
        )
        .map_err(write_error)?;
    }
    out.flush().map_err(write_error)?;
    Ok(diverged)
}

/// A failed write to `name` (stdout or the file), named as such; a reader that went away stays a
/// broken pipe (not a failure: `stepwise trace ... | head`).
fn written_error(name: &str, err: std::io::Error) -> Error {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        Error::Io(err)
    } else {
        Error::Failed(format!("writing to {name}: {err}"))
    }
}
