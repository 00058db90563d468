//! `stepwise basin`: where an optimizer ends from every start point of a grid; `stepwise hypermap`:
//! where it ends from one start at every setting of a grid of learning rates × beta1 (momentum for
//! SGD). Both write a PNG coloured by the final loss, or CSV.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use stepwise_landscape::{BasinGrid, BasinMap, HyperGrid, HyperMap};
use stepwise_optim::{Hyperparameter, LrSchedule, Optimizer, OptimizerSpec, TestFunction};

use stepwise_engine::DeviceChoice;

use super::{Error, format_f32, parse_pair};
use crate::report::{Axis, MapFigure, Mark, Shape, format_loss};

/// Runs an optimizer from every pixel of a grid of start points and maps the final loss.
///
/// The PNG is a figure: the map in the function's coordinates, each cell coloured by the loss
/// where the trajectory from its centre ended (viridis on asinh(loss): dark is low, with a colour
/// bar), diverged trajectories red, the best start, the function's minimum and its classic start
/// marked. The CSV has one row per cell, top row first: x0,y0 (the start), x,y (the end) and
/// loss.
///
/// Example: stepwise basin --function rosenbrock --optimizer adam --lr 0.01 --x-range=-2,2
/// --y-range=-1,3 --out basin.png
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct BasinArgs {
    /// Test function.
    #[arg(long)]
    function: TestFunction,
    #[command(flatten)]
    optimizer: OptimizerSpec,
    /// Range of start x, as MIN,MAX (for example --x-range=-2,2).
    #[arg(long, value_parser = parse_pair::<f32>, allow_hyphen_values = true)]
    x_range: [f32; 2],
    /// Range of start y, as MIN,MAX.
    #[arg(long, value_parser = parse_pair::<f32>, allow_hyphen_values = true)]
    y_range: [f32; 2],
    #[command(flatten)]
    map: MapArgs,
}

/// What both maps take: their size, the steps of every run, the output and the device.
#[derive(Debug, Args)]
struct MapArgs {
    /// Cells (pixels) per side of the square map (1 to 4096).
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=4096))]
    resolution: u32,
    /// Optimizer steps of every run.
    #[arg(long, default_value_t = 500)]
    steps: u64,
    /// Output file: `.png` (the map) or `.csv` (one row per cell).
    #[arg(long)]
    out: PathBuf,
    /// Where the runs go: auto (a hardware GPU, else the CPU), gpu (all at once, one dispatch per
    /// step, software adapters included) or cpu (the reference).
    #[arg(long, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
}

/// Runs an optimizer from one start point at every setting of a grid and maps the final loss.
///
/// Columns are learning rates spaced evenly in log10 across --lr-range (left to right), rows beta1
/// (momentum for SGD) across --second-range (top row largest); every other hyperparameter is as
/// given. The PNG is a figure with the learning rate (log scale) and beta1 or momentum as its
/// axes, each cell coloured by the loss where its run ended, as `basin` does (invalid settings and
/// diverged runs red), and the best setting marked. The CSV has one row per cell, top row first:
/// lr, beta1 or momentum, and loss.
///
/// Example: stepwise hypermap --function rosenbrock --optimizer adam --start=-1.5,2 --out lr.png
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct HypermapArgs {
    /// Test function.
    #[arg(long)]
    function: TestFunction,
    #[command(flatten)]
    optimizer: OptimizerSpec,
    /// Start point of every run, as X,Y.
    #[arg(long, value_parser = parse_pair::<f32>, allow_hyphen_values = true)]
    start: [f32; 2],
    /// Learning rates, as MIN,MAX (positive; spaced evenly in log10).
    #[arg(long, value_parser = parse_pair::<f64>, default_value = "1e-4,1")]
    lr_range: [f64; 2],
    /// beta1 (momentum for SGD), as MIN,MAX.
    #[arg(long, value_parser = parse_pair::<f64>, default_value = "0,0.99")]
    second_range: [f64; 2],
    #[command(flatten)]
    map: MapArgs,
}

/// The output formats, by file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Png,
    Csv,
}

fn format_of(path: &Path) -> Result<Format, Error> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("png") => Ok(Format::Png),
        Some("csv") => Ok(Format::Csv),
        _ => Err(Error::Usage(format!(
            "--out {}: the file name must end in .png or .csv",
            path.display()
        ))),
    }
}

fn check_range<T: PartialOrd + std::fmt::Display + Copy>(
    flag: &str,
    [lo, hi]: [T; 2],
) -> Result<(T, T), Error> {
    if lo < hi {
        Ok((lo, hi))
    } else {
        Err(Error::Usage(format!(
            "{flag}: MIN must be below MAX, got {lo},{hi}"
        )))
    }
}

/// Runs the command.
pub fn run(args: &BasinArgs) -> Result<(), Error> {
    let format = format_of(&args.map.out)?;
    let grid = BasinGrid {
        x_range: check_range("--x-range", args.x_range)?,
        y_range: check_range("--y-range", args.y_range)?,
        resolution: args.map.resolution,
    };
    let config = args
        .optimizer
        .resolve()
        .map_err(|err| Error::Usage(err.to_string()))?;
    let optimizer = Optimizer::new(config, LrSchedule::Constant {})
        .map_err(|err| Error::Usage(err.to_string()))?;
    let gpu = super::landscape_gpu(args.map.device)?;
    let map = pollster::block_on(BasinMap::compute(
        gpu.as_ref(),
        args.function,
        &optimizer,
        grid,
        args.map.steps,
    ))
    .map_err(|err| Error::Failed(err.to_string()))?;
    match format {
        Format::Png => {
            let png = basin_figure(args, &map).png()?;
            write(&args.map.out, |partial| std::fs::write(partial, &png))?;
        }
        Format::Csv => write(&args.map.out, |partial| write_basin_csv(&map, partial))?,
    }
    let diverged = map.finals.iter().filter(|p| !p.loss.is_finite()).count();
    eprintln!(
        "wrote {} ({n}x{n} start points, {} steps each, {diverged} diverged)",
        args.map.out.display(),
        args.map.steps,
        n = args.map.resolution
    );
    Ok(())
}

/// Runs `stepwise hypermap`.
pub fn run_hypermap(args: &HypermapArgs) -> Result<(), Error> {
    let format = format_of(&args.map.out)?;
    let (lr_lo, lr_hi) = check_range("--lr-range", args.lr_range)?;
    if lr_lo <= 0.0 {
        return Err(Error::Usage(format!(
            "--lr-range: learning rates must be positive (they are spaced in log10), got {lr_lo}"
        )));
    }
    let second = args.optimizer.optimizer.momentum_like();
    let set = args.optimizer.set_hyperparameters();
    if let Some((flag, range)) = [(Hyperparameter::Lr, "lr-range"), (second, "second-range")]
        .into_iter()
        .find(|(flag, _)| set.contains(flag))
    {
        return Err(Error::Usage(format!(
            "--{flag} is an axis of the map: give its range with --{range} instead"
        )));
    }
    let grid = HyperGrid {
        lr_log10: (lr_lo.log10(), lr_hi.log10()),
        second: check_range("--second-range", args.second_range)?,
        resolution: args.map.resolution,
    };
    // The other hyperparameters must be valid on their own: checked at the range's first corner.
    let mut corner = args.optimizer.clone();
    corner.lr = Some(lr_lo);
    corner
        .resolve()
        .map_err(|err| Error::Usage(err.to_string()))?;
    let gpu = super::landscape_gpu(args.map.device)?;
    let map = pollster::block_on(HyperMap::compute(
        gpu.as_ref(),
        args.function,
        &args.optimizer,
        args.start,
        grid,
        args.map.steps,
    ))
    .map_err(|err| Error::Failed(err.to_string()))?;
    match format {
        Format::Png => {
            let png = hyper_figure(args, &map, second).png()?;
            write(&args.map.out, |partial| std::fs::write(partial, &png))?;
        }
        Format::Csv => write(&args.map.out, |partial| {
            write_hypermap_csv(&map, second, partial)
        })?,
    }
    let diverged = map.losses.iter().filter(|l| !l.is_finite()).count();
    eprintln!(
        "wrote {} ({n}x{n} settings of lr x {second}, {} steps each, {diverged} diverged or invalid)",
        args.map.out.display(),
        args.map.steps,
        n = args.map.resolution
    );
    Ok(())
}

/// Writes `path` through `fill`, beside the target and then renamed, so that a failure never
/// leaves half a file behind.
fn write(path: &Path, fill: impl FnOnce(&Path) -> std::io::Result<()>) -> Result<(), Error> {
    let partial = path.with_extension("partial");
    let result = fill(&partial).and_then(|()| std::fs::rename(&partial, path));
    if let Err(err) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(Error::Failed(format!(
            "cannot write {}: {err}",
            path.display()
        )));
    }
    Ok(())
}

/// The cell with the lowest finite loss, if any.
fn best(losses: impl Iterator<Item = f32>) -> Option<(usize, f32)> {
    losses
        .enumerate()
        .filter(|(_, loss)| loss.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

fn basin_figure(args: &BasinArgs, map: &BasinMap) -> MapFigure {
    let (x_range, y_range) = (map.grid.x_range, map.grid.y_range);
    let inside = |[x, y]: [f32; 2]| {
        (x_range.0..=x_range.1).contains(&x) && (y_range.0..=y_range.1).contains(&y)
    };
    let at = |[x, y]: [f32; 2]| (f64::from(x), f64::from(y));
    let mut marks = Vec::new();
    if let Some((cell, loss)) = best(map.finals.iter().map(|p| p.loss)) {
        marks.push(Mark {
            at: at(map.starts[cell]),
            label: format!("best start (loss {})", format_loss(f64::from(loss))),
            shape: Shape::Best,
        });
    }
    if let Some(minimum) = args.function.minimum().filter(|&m| inside(m)) {
        marks.push(Mark {
            at: at(minimum),
            label: "minimum".into(),
            shape: Shape::Minimum,
        });
    }
    let start = args.function.classic_start();
    if inside(start) {
        marks.push(Mark {
            at: at(start),
            label: "classic start".into(),
            shape: Shape::Start,
        });
    }
    let axis = |label: &str, (lo, hi): (f32, f32)| Axis {
        label: label.into(),
        range: (f64::from(lo), f64::from(hi)),
        log10: false,
    };
    MapFigure {
        title: format!(
            "Final loss of {} on {} after {} steps, by start point",
            args.optimizer.label(),
            args.function.name(),
            args.map.steps
        ),
        x: axis("x (start)", x_range),
        y: axis("y (start)", y_range),
        resolution: map.grid.resolution,
        rgba: map.rgba(),
        scale: map.scale(),
        marks,
    }
}

fn write_hypermap_csv(map: &HyperMap, second: Hyperparameter, path: &Path) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "lr,{second},loss")?;
    for ((lr, value), loss) in map.grid.settings().into_iter().zip(&map.losses) {
        writeln!(out, "{lr},{value},{}", format_f32(*loss))?;
    }
    out.flush()
}

fn write_basin_csv(map: &BasinMap, path: &Path) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "x0,y0,x,y,loss")?;
    for (start, end) in map.starts.iter().zip(&map.finals) {
        writeln!(
            out,
            "{},{},{},{},{}",
            format_f32(start[0]),
            format_f32(start[1]),
            format_f32(end.x),
            format_f32(end.y),
            format_f32(end.loss)
        )?;
    }
    out.flush()
}

fn hyper_figure(args: &HypermapArgs, map: &HyperMap, second: Hyperparameter) -> MapFigure {
    let grid = map.grid;
    let mut marks = Vec::new();
    if let Some((cell, loss)) = best(map.losses.iter().copied()) {
        let (lr, value) = grid.settings()[cell];
        marks.push(Mark {
            at: (lr.log10(), value),
            label: format!(
                "best: lr {lr:.2e}, {second} {value:.3} (loss {})",
                format_loss(f64::from(loss))
            ),
            shape: Shape::Best,
        });
    }
    let [x, y] = args.start;
    MapFigure {
        title: format!(
            "Final loss of {} on {} from ({}, {}) after {} steps",
            HyperGrid::unswept(&args.optimizer).label(),
            args.function.name(),
            format_f32(x),
            format_f32(y),
            args.map.steps
        ),
        x: Axis {
            label: "learning rate (log scale)".into(),
            range: grid.lr_log10,
            log10: true,
        },
        y: Axis {
            label: second.to_string(),
            range: grid.second,
            log10: false,
        },
        resolution: grid.resolution,
        rgba: map.rgba(),
        scale: map.scale(),
        marks,
    }
}
