//! `stepwise trace`: an optimizer's trajectory on a 2-D test function, as CSV on stdout.

use std::io::{BufWriter, Write};

use clap::{Args, ValueEnum};
use stepwise_optim::{LrSchedule, Optimizer, OptimizerSpec, TestFunction, trace};

use super::{Error, format_f32};

/// Runs an optimizer on a 2-D test function and prints its trajectory as CSV (step,x,y,loss).
///
/// Every hyperparameter defaults to the reference implementation's default for the chosen
/// optimizer (torch.optim; Luolc's AdaBound). Row 0 is the start point; row k is the point after k
/// steps and the loss there.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct TraceArgs {
    /// Test function.
    #[arg(long)]
    function: TestFunction,
    #[command(flatten)]
    optimizer: OptimizerSpec,
    /// Start point, as X,Y (for example --start=-1.5,2).
    #[arg(long, value_parser = parse_point, allow_hyphen_values = true)]
    start: Point,
    /// Number of optimizer steps.
    #[arg(long)]
    steps: u64,
    /// Where the optimizer runs.
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    device: Device,
}

/// The device an optimizer step runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Device {
    /// The pure-Rust reference implementation.
    Cpu,
}

/// A finite point of the plane.
#[derive(Clone, Copy, Debug)]
struct Point([f32; 2]);

fn parse_point(text: &str) -> Result<Point, String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [x, y] = parts.as_slice() else {
        return Err(format!(
            "expected X,Y (two numbers separated by a comma), got '{text}'"
        ));
    };
    let coordinate = |s: &str| match s.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("coordinate '{s}' is not finite")),
        Err(_) => Err(format!("coordinate '{s}' is not a number")),
    };
    Ok(Point([coordinate(x)?, coordinate(y)?]))
}

/// Runs the command.
pub fn run(args: &TraceArgs) -> Result<(), Error> {
    let config = args
        .optimizer
        .resolve()
        .map_err(|err| Error::Usage(err.to_string()))?;
    let mut optimizer = Optimizer::new(config, LrSchedule::Constant)
        .map_err(|err| Error::Usage(err.to_string()))?;
    match args.device {
        Device::Cpu => {}
    }
    let points = trace(args.function, &mut optimizer, args.start.0, args.steps)
        .map_err(|err| Error::Io(std::io::Error::other(err)))?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    writeln!(out, "step,x,y,loss")?;
    for p in points {
        writeln!(
            out,
            "{},{},{},{}",
            p.step,
            format_f32(p.x),
            format_f32(p.y),
            format_f32(p.loss)
        )?;
    }
    out.flush()?;
    Ok(())
}
