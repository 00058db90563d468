//! `stepwise basin`: where an optimizer ends from every start point of a grid, as a PNG coloured by
//! the final loss or as CSV.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use stepwise_gpu::{BasinGrid, BasinMap, Compute};
use stepwise_optim::{LrSchedule, Optimizer, OptimizerSpec, TestFunction};

use super::{Device, Error, format_f32, parse_pair};

/// Runs an optimizer from every pixel of a grid of start points and maps the final loss.
///
/// The PNG colours each pixel by the loss where its trajectory ended (viridis on asinh(loss):
/// dark is low); diverged trajectories are red. The CSV has one row per pixel, top row first:
/// x0,y0 (the start), x,y (the end) and loss.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct BasinArgs {
    /// Test function.
    #[arg(long)]
    function: TestFunction,
    #[command(flatten)]
    optimizer: OptimizerSpec,
    /// Range of start x, as MIN,MAX (for example --x-range=-2,2).
    #[arg(long, value_parser = parse_pair, allow_hyphen_values = true)]
    x_range: [f32; 2],
    /// Range of start y, as MIN,MAX.
    #[arg(long, value_parser = parse_pair, allow_hyphen_values = true)]
    y_range: [f32; 2],
    /// Pixels per side of the square map (1 to 4096).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    resolution: u32,
    /// Optimizer steps from every start point.
    #[arg(long)]
    steps: u64,
    /// Output file: `.png` (the map) or `.csv` (one row per pixel).
    #[arg(long)]
    out: PathBuf,
    /// Where the trajectories run: all at once on the GPU, or on the CPU reference.
    #[arg(long, value_enum, default_value_t = Device::Gpu)]
    device: Device,
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

fn check_range(flag: &str, [lo, hi]: [f32; 2]) -> Result<(f32, f32), Error> {
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
    let format = format_of(&args.out)?;
    let grid = BasinGrid {
        x_range: check_range("--x-range", args.x_range)?,
        y_range: check_range("--y-range", args.y_range)?,
        resolution: args.resolution,
    };
    let config = args
        .optimizer
        .resolve()
        .map_err(|err| Error::Usage(err.to_string()))?;
    let optimizer = Optimizer::new(config, LrSchedule::Constant)
        .map_err(|err| Error::Usage(err.to_string()))?;
    let gpu = match args.device {
        Device::Gpu => Some(super::open_gpu()?),
        Device::Cpu => None,
    };
    let compute = gpu.as_ref().map_or(Compute::Cpu, Compute::Gpu);
    let map = pollster::block_on(BasinMap::compute(
        compute,
        args.function,
        &optimizer,
        grid,
        args.steps,
    ))
    .map_err(|err| Error::Failed(err.to_string()))?;

    // Write beside the target and rename, so that a failure never leaves half a file behind.
    let partial = args.out.with_extension("partial");
    let written = match format {
        Format::Png => write_png(&map, &partial),
        Format::Csv => write_csv(&map, &partial),
    };
    let result = written.and_then(|()| std::fs::rename(&partial, &args.out));
    if let Err(err) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(Error::Failed(format!(
            "cannot write {}: {err}",
            args.out.display()
        )));
    }
    let diverged = map.finals.iter().filter(|p| !p.loss.is_finite()).count();
    eprintln!(
        "wrote {} ({n}x{n} start points, {} steps each, {diverged} diverged)",
        args.out.display(),
        args.steps,
        n = args.resolution
    );
    Ok(())
}

fn write_png(map: &BasinMap, path: &Path) -> std::io::Result<()> {
    let n = map.grid.resolution;
    let image = image::RgbaImage::from_raw(n, n, map.rgba())
        .ok_or_else(|| std::io::Error::other("pixel count does not match the resolution"))?;
    image
        .save_with_format(path, image::ImageFormat::Png)
        .map_err(std::io::Error::other)
}

fn write_csv(map: &BasinMap, path: &Path) -> std::io::Result<()> {
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
