//! The report's plots. Each configured run is a line in its colour and a pattern of its own: the
//! mean over its seeds, with the range over the seeds as a band behind it.

use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use stepwise_engine::output::{Results, RunResult};
use stepwise_engine::{RunHistory, Smoothing};

use crate::commands::Error;

/// The plots, by file stem.
pub const PLOTS: [&str; 7] = [
    "loss",
    "loss_time",
    "test_accuracy",
    "accuracy_time",
    "lr",
    "step_size",
    "update_ratio",
];
/// Size of a plot in SVG pixels; its PNG is drawn at [`PNG_SCALE`] times that, for screens and
/// print that show twice the pixels.
pub const SIZE: (u32, u32) = (960, 540);
const PNG_SCALE: u32 = 2;
/// Shipped with the binary, so that plots render the same on machines without fonts.
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// A plot rendered: its name, its SVG and its PNG.
pub type Rendered = (&'static str, String, Vec<u8>);

/// A series of (x, y) points.
type Points = Vec<(f64, f64)>;

/// Every plot of `results` (with `histories`, in the order of `results.runs`).
pub fn render(results: &Results, histories: &[RunHistory]) -> Result<Vec<Rendered>, Error> {
    register_font()?;
    let groups = Group::all(results, histories);
    PLOTS
        .iter()
        .map(|&name| {
            let mut svg = String::new();
            plot(
                name,
                SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(),
                results,
                &groups,
                Pen(1),
            )?;
            let (width, height) = (SIZE.0 * PNG_SCALE, SIZE.1 * PNG_SCALE);
            let mut pixels = vec![0_u8; (width * height * 3) as usize];
            let bitmap = BitMapBackend::with_buffer(&mut pixels, (width, height));
            plot(
                name,
                bitmap.into_drawing_area(),
                results,
                &groups,
                Pen(PNG_SCALE),
            )?;
            let mut png = std::io::Cursor::new(Vec::new());
            image::RgbImage::from_raw(width, height, pixels)
                .ok_or_else(|| Error::Failed("plot buffer has the wrong size".into()))?
                .write_to(&mut png, image::ImageFormat::Png)
                .map_err(|err| Error::Failed(format!("{name}.png: {err}")))?;
            Ok((name, svg, png.into_inner()))
        })
        .collect()
}

pub(super) fn register_font() -> Result<(), Error> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| Error::Failed("the bundled plot font does not load".into()));
    });
    result
}

/// Sizes on a canvas drawn at a scale: fonts, margins, lines and markers grow with it.
#[derive(Clone, Copy)]
pub(super) struct Pen(pub u32);

impl Pen {
    pub(super) const fn px(self, pixels: u32) -> u32 {
        pixels * self.0
    }

    pub(super) fn font(self, size: u32) -> (&'static str, f64) {
        (FAMILY, f64::from(self.px(size)))
    }
}

/// One configured run over its seeds.
pub(super) struct Group<'a> {
    name: &'a str,
    /// Its trained runs, one per seed, with their step histories when there are any.
    seeds: Vec<(&'a RunResult, Option<&'a RunHistory>)>,
}

impl<'a> Group<'a> {
    /// The configured runs of `results`, in the order they were configured.
    pub(super) fn all(results: &'a Results, histories: &'a [RunHistory]) -> Vec<Self> {
        results
            .groups()
            .into_iter()
            .map(|runs| Self {
                name: &results.runs[runs[0]].name,
                seeds: runs
                    .into_iter()
                    .map(|r| (&results.runs[r], histories.get(r)))
                    .collect(),
            })
            .collect()
    }

    fn histories(&self) -> impl Iterator<Item = &'a RunHistory> + '_ {
        self.seeds.iter().filter_map(|(_, history)| *history)
    }
}

/// "mean over 3 seeds, band: their range", or nothing at one seed.
fn seeds_caption(results: &Results) -> String {
    match results.seeds.len() {
        0 | 1 => String::new(),
        n => format!("; mean of {n} seeds, band: their range"),
    }
}

fn color(group: usize) -> RGBColor {
    let c = colorous::CATEGORY10[group % colorous::CATEGORY10.len()];
    RGBColor(c.r, c.g, c.b)
}

fn plot_error<E: std::fmt::Display>(name: &str) -> impl Fn(E) -> Error + '_ {
    move |err| Error::Failed(format!("plot {name}: {err}"))
}

pub(super) fn plot<DB: DrawingBackend>(
    name: &str,
    area: DrawingArea<DB, Shift>,
    results: &Results,
    groups: &[Group<'_>],
    pen: Pen,
) -> Result<(), Error> {
    let fail = plot_error(name);
    area.fill(&WHITE).map_err(&fail)?;
    match name {
        "loss" => loss_plot(&area, results, groups, Along::Steps, pen),
        "loss_time" => loss_plot(&area, results, groups, Along::Seconds, pen),
        "test_accuracy" => accuracy_plot(&area, results, groups, Along::Steps, pen),
        "accuracy_time" => accuracy_plot(&area, results, groups, Along::Seconds, pen),
        "lr" => lr_plot(&area, groups, pen),
        "step_size" => internals_plot(&area, results, groups, Internal::StepSize, pen),
        _ => internals_plot(&area, results, groups, Internal::UpdateRatio, pen),
    }
    .map_err(&fail)?;
    area.present().map_err(&fail)
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;
type Chart<'a, DB, Y> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>;

/// What a plot's x axis counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Along {
    /// Optimizer steps, or for accuracy whole epochs.
    Steps,
    /// Each run's own training seconds, evaluation excluded (wall-clock time of training).
    Seconds,
}

/// At each index, over the seeds' series that reach it and have a finite value there:
/// (mean x, mean y, lowest y, highest y).
fn across_seeds(series: &[Vec<(f64, f64)>]) -> Vec<(f64, f64, f64, f64)> {
    let longest = series.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .filter_map(|i| {
            let points: Vec<(f64, f64)> = series
                .iter()
                .filter_map(|s| s.get(i).copied())
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            if points.is_empty() {
                return None;
            }
            let n = points.len() as f64;
            let x = points.iter().map(|p| p.0).sum::<f64>() / n;
            let y = points.iter().map(|p| p.1).sum::<f64>() / n;
            let low = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let high = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
            Some((x, y, low, high))
        })
        .collect()
}

/// Group `g`'s mean line (labelled with `name` in the legend) and, over several seeds, its band.
fn draw_group<'a, DB, Y>(
    chart: &mut Chart<'a, DB, Y>,
    points: &[(f64, f64, f64, f64)],
    g: usize,
    name: &str,
    pen: Pen,
) -> DrawResult<DB>
where
    DB: DrawingBackend + 'a,
    Y: Ranged<ValueType = f64>,
{
    if points.iter().any(|p| p.3 > p.2) {
        let outline: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (p.0, p.3))
            .chain(points.iter().rev().map(|p| (p.0, p.2)))
            .collect();
        chart.draw_series(std::iter::once(Polygon::new(
            outline,
            color(g).mix(0.15).filled(),
        )))?;
    }
    let line = points.iter().map(|p| (p.0, p.1)).collect();
    run_line(chart, line, g, name, pen)
}

/// Group `g`'s line in its colour and a pattern of its own (solid, dashed, dotted, in turn), so
/// that runs whose lines lie on each other (Adam and an AdamW whose decay rounds away) stay
/// visible.
fn run_line<'a, DB, Y>(
    chart: &mut Chart<'a, DB, Y>,
    points: Vec<(f64, f64)>,
    g: usize,
    name: &str,
    pen: Pen,
) -> DrawResult<DB>
where
    DB: DrawingBackend + 'a,
    Y: Ranged<ValueType = f64>,
{
    let style = color(g).stroke_width(pen.px(2));
    let series = match pattern(g, pen) {
        (_, 0) => chart.draw_series(LineSeries::new(points, style))?,
        (dash, gap) => chart.draw_series(DashedLineSeries::new(points, dash, gap, style))?,
    };
    series.label(name).legend(legend_mark(g, pen));
    Ok(())
}

/// Group `g`'s line pattern as (dash, gap) in pixels: solid, dashed, dotted, in turn.
fn pattern(g: usize, pen: Pen) -> (i32, i32) {
    let scale = pen.0 as i32;
    match g % 3 {
        0 => (i32::MAX, 0),
        1 => (10 * scale, 6 * scale),
        _ => (3 * scale, 4 * scale),
    }
}

/// A group's mark in the legend: a short line in its colour and pattern.
fn legend_mark(
    g: usize,
    pen: Pen,
) -> impl Fn((i32, i32)) -> DashedPathElement<std::vec::IntoIter<(i32, i32)>, i32> {
    move |(x, y)| {
        let (dash, gap) = pattern(g, pen);
        DashedPathElement::new(
            vec![(x, y), (x + 24 * pen.0 as i32, y)],
            dash,
            gap,
            color(g).stroke_width(pen.px(2)),
        )
    }
}

fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    pen: Pen,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .legend_area_size(pen.px(30))
        .label_font(pen.font(14))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
}

/// A chart with the report's caption, margins and label areas, at `pen`'s scale.
fn chart<'a, DB, Y>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x: std::ops::Range<f64>,
    y: Y,
    pen: Pen,
) -> Result<Chart<'a, DB, Y::CoordDescType>, DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    ChartBuilder::on(area)
        .caption(caption, pen.font(22))
        .margin(pen.px(12))
        .x_label_area_size(pen.px(44))
        .y_label_area_size(pen.px(72))
        .build_cartesian_2d(x, y)
}

/// Training seconds at each recorded step of a run: an epoch's seconds spread evenly over its
/// steps (the engine times epochs, not steps). Steps of an epoch not completed have none.
fn step_seconds(run: &RunResult, history: &RunHistory) -> Vec<f64> {
    let mut seconds = Vec::with_capacity(history.steps.len());
    let mut before = 0.0;
    for epoch in &run.epochs {
        let steps = history
            .steps
            .iter()
            .filter(|s| s.epoch == epoch.epoch)
            .count()
            .max(1);
        seconds.extend((1..=steps).map(|i| before + epoch.seconds * i as f64 / steps as f64));
        before += epoch.seconds;
    }
    seconds.truncate(history.steps.len());
    seconds
}

/// The end of a per-step x axis: the longest run's step count.
fn step_axis_end(groups: &[Group<'_>]) -> f64 {
    groups
        .iter()
        .flat_map(Group::histories)
        .map(|h| h.steps.len())
        .max()
        .unwrap_or(1)
        .max(2) as f64
}

fn loss_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    results: &Results,
    groups: &[Group<'_>],
    along: Along,
    pen: Pen,
) -> DrawResult<DB> {
    // The top is set by the runs' starting losses, so that a diverging run does not flatten the
    // others; where it leaves the plot is marked.
    let top = f64::from(
        groups
            .iter()
            .flat_map(Group::histories)
            .filter_map(|h| h.steps.first().map(|s| s.loss))
            .filter(|l| l.is_finite())
            .fold(1.0_f32, f32::max)
            * 1.5,
    );
    let clip = |y: f64| if y.is_finite() { y.min(top) } else { top };
    // Per group, per seed: (x, raw loss) and (x, smoothed loss) at each step.
    let series: Vec<Vec<(Points, Points)>> = groups
        .iter()
        .map(|group| {
            group
                .seeds
                .iter()
                .filter_map(|(run, history)| {
                    let history = (*history)?;
                    let xs: Vec<f64> = match along {
                        Along::Steps => history.steps.iter().map(|s| s.step as f64).collect(),
                        Along::Seconds => step_seconds(run, history),
                    };
                    let mut smoothing = Smoothing::new(Smoothing::REPORT);
                    let (raw, smoothed) = history
                        .steps
                        .iter()
                        .zip(xs)
                        .map(|(s, x)| {
                            let loss = f64::from(s.loss);
                            let smoothed = smoothing.push(loss).map_or(f64::NAN, clip);
                            ((x, clip(loss)), (x, smoothed))
                        })
                        .unzip();
                    Some((raw, smoothed))
                })
                .collect()
        })
        .collect();
    let end = match along {
        Along::Steps => step_axis_end(groups),
        Along::Seconds => {
            series
                .iter()
                .flatten()
                .filter_map(|(raw, _)| raw.last().map(|p| p.0))
                .fold(1.0_f64, f64::max)
                * 1.02
        }
    };
    let (what, x_desc) = match along {
        Along::Steps => ("per step", "step"),
        Along::Seconds => (
            "against training time",
            "training seconds (evaluation excluded)",
        ),
    };
    let caption = format!(
        "Training loss {what} (smoothed, weight {}; raw faint{})",
        Smoothing::REPORT,
        seeds_caption(results)
    );
    // The bottom is fitted to the lowest loss drawn (raw or smoothed), less a margin, so that the
    // runs' differences fill the plot rather than a band near the top.
    let lowest = series
        .iter()
        .flatten()
        .flat_map(|(raw, smoothed)| raw.iter().chain(smoothed))
        .map(|p| p.1)
        .filter(|y| y.is_finite())
        .fold(top, f64::min);
    let bottom = (lowest - 0.05 * (top - lowest)).max(0.0);
    let mut chart = chart(area, &caption, 0.0..end, bottom..top, pen)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("cross-entropy")
        .label_style(pen.font(14))
        .draw()?;
    for (g, seeds) in series.iter().enumerate() {
        let raw: Vec<Vec<(f64, f64)>> = seeds.iter().map(|(raw, _)| raw.clone()).collect();
        let raw = across_seeds(&raw).into_iter().map(|p| (p.0, p.1));
        chart.draw_series(LineSeries::new(
            raw,
            color(g).mix(0.25).stroke_width(pen.px(1)),
        ))?;
    }
    for (g, (group, seeds)) in groups.iter().zip(&series).enumerate() {
        let smoothed: Vec<Vec<(f64, f64)>> = seeds.iter().map(|(_, s)| s.clone()).collect();
        draw_group(&mut chart, &across_seeds(&smoothed), g, group.name, pen)?;
        // A cross where a seed diverged, at the top.
        for ((run, _), (raw, _)) in group.seeds.iter().zip(seeds) {
            let Some(step) = run.diverged_at_step else {
                continue;
            };
            let x = match along {
                Along::Steps => Some(step as f64),
                Along::Seconds => raw.last().map(|p| p.0),
            };
            if let Some(x) = x {
                chart.draw_series(std::iter::once(Cross::new(
                    (x, top),
                    pen.px(8) as i32,
                    color(g).stroke_width(pen.px(3)),
                )))?;
            }
        }
    }
    legend(&mut chart, pen)
}

fn accuracy_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    results: &Results,
    groups: &[Group<'_>],
    along: Along,
    pen: Pen,
) -> DrawResult<DB> {
    // Fitted to the accuracies reached, in steps of 5 points, rather than 0 to 100%.
    let accuracies = results
        .runs
        .iter()
        .flat_map(|run| &run.epochs)
        .map(|e| 100.0 * f64::from(e.test_accuracy))
        .filter(|a| a.is_finite());
    let (low, high) = accuracies.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), a| {
        (lo.min(a), hi.max(a))
    });
    let (low, high) = if low.is_finite() {
        (
            (5.0 * ((low - 1.0) / 5.0).floor()).max(0.0),
            (5.0 * ((high + 1.0) / 5.0).ceil()).min(100.0),
        )
    } else {
        (0.0, 100.0)
    };
    // A run's points: (epoch or its training seconds so far, accuracy in %).
    let points = |run: &RunResult| -> Vec<(f64, f64)> {
        let mut seconds = 0.0;
        run.epochs
            .iter()
            .map(|e| {
                seconds += e.seconds;
                let x = match along {
                    Along::Steps => f64::from(e.epoch),
                    Along::Seconds => seconds,
                };
                (x, 100.0 * f64::from(e.test_accuracy))
            })
            .collect()
    };
    let bands: Vec<Vec<(f64, f64, f64, f64)>> = groups
        .iter()
        .map(|group| {
            let seeds: Vec<Vec<(f64, f64)>> =
                group.seeds.iter().map(|(run, _)| points(run)).collect();
            across_seeds(&seeds)
        })
        .collect();
    let epochs = results.epochs.max(1);
    let (caption, x_desc, x_range) = match along {
        Along::Steps => (
            "Test accuracy per epoch",
            "epoch",
            0.75..f64::from(epochs) + 0.25,
        ),
        Along::Seconds => {
            let longest = results
                .runs
                .iter()
                .filter_map(|run| points(run).last().map(|p| p.0))
                .fold(1.0_f64, f64::max);
            (
                "Test accuracy against training time",
                "training seconds (evaluation excluded)",
                0.0..longest * 1.05,
            )
        }
    };
    let caption = format!("{caption}{}", seeds_caption(results));
    let mut chart = chart(area, &caption, x_range, low..high, pen)?;
    let mut mesh = chart.configure_mesh();
    if along == Along::Steps {
        // Epochs are whole: ticks between them are left unlabelled.
        mesh.x_labels(epochs as usize).x_label_formatter(&|v| {
            if (v - v.round()).abs() < 1e-6 {
                format!("{}", v.round())
            } else {
                String::new()
            }
        });
    }
    mesh.x_desc(x_desc)
        .y_desc("test accuracy (%)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(pen.font(14))
        .draw()?;
    for (g, (group, band)) in groups.iter().zip(&bands).enumerate() {
        draw_group(&mut chart, band, g, group.name, pen)?;
        // A marker of its own per run, so that runs on the same points stay apart.
        let style = color(g).filled();
        let means = band.iter().map(|p| (p.0, p.1));
        match g % 3 {
            0 => chart.draw_series(means.map(|p| Circle::new(p, pen.px(4), style)))?,
            1 => chart.draw_series(means.map(|p| TriangleMarker::new(p, pen.px(6), style)))?,
            _ => chart.draw_series(
                means.map(|p| Cross::new(p, pen.px(5), color(g).stroke_width(pen.px(2)))),
            )?,
        };
    }
    legend(&mut chart, pen)
}

fn lr_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    groups: &[Group<'_>],
    pen: Pen,
) -> DrawResult<DB> {
    let steps = step_axis_end(groups);
    // The schedule is the same at every seed: the first seed's.
    let firsts: Vec<Option<&RunHistory>> = groups.iter().map(|g| g.histories().next()).collect();
    let lrs = firsts
        .iter()
        .flatten()
        .flat_map(|h| h.steps.iter().map(|s| s.lr))
        .filter(|lr| *lr > 0.0);
    let (low, high) = lrs.fold((f64::INFINITY, 0.0_f64), |(lo, hi), lr| {
        (lo.min(lr), hi.max(lr))
    });
    let (low, high) = if low.is_finite() {
        (low / 2.0, high * 2.0)
    } else {
        (1e-4, 1.0)
    };
    let mut chart = chart(
        area,
        "Learning rate per step",
        0.0..steps,
        (low..high).log_scale(),
        pen,
    )?;
    chart
        .configure_mesh()
        .x_desc("step")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("learning rate")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(pen.font(14))
        .draw()?;
    for (g, (group, history)) in groups.iter().zip(&firsts).enumerate() {
        let points = history.map_or_else(Vec::new, |h| {
            h.steps.iter().map(|s| (s.step as f64, s.lr)).collect()
        });
        run_line(&mut chart, points, g, group.name, pen)?;
    }
    legend(&mut chart, pen)
}

/// What an internals plot shows per step.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Internal {
    /// The median per-element learning rate the optimizer applied; AdaBound's bounds; where
    /// RAdam's rectified steps begin.
    StepSize,
    /// ‖Δθ‖ / ‖θ‖: how far each step moved the weights, relatively.
    UpdateRatio,
}

fn internals_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    results: &Results,
    groups: &[Group<'_>],
    internal: Internal,
    pen: Pen,
) -> DrawResult<DB> {
    let value = |s: &stepwise_engine::StepMetrics| match internal {
        Internal::StepSize => s.step_size.map(|spread| f64::from(spread.median)),
        Internal::UpdateRatio => s.update_ratio.map(f64::from),
    };
    let bands: Vec<Vec<(f64, f64, f64, f64)>> = groups
        .iter()
        .map(|group| {
            let seeds: Vec<Vec<(f64, f64)>> = group
                .histories()
                .map(|h| {
                    h.steps
                        .iter()
                        .filter_map(|s| Some((s.step as f64, value(s)?)))
                        .filter(|(_, v)| *v > 0.0)
                        .collect()
                })
                .collect();
            across_seeds(&seeds)
        })
        .collect();
    // AdaBound's bounds, from each group's first seed (the same formula at every seed).
    let bounds: Vec<Vec<(f64, f64, f64)>> = groups
        .iter()
        .map(|group| {
            group.histories().next().map_or_else(Vec::new, |h| {
                h.steps
                    .iter()
                    .filter_map(|s| {
                        let (lower, upper) = s.bounds?;
                        Some((s.step as f64, f64::from(lower), f64::from(upper)))
                    })
                    .collect()
            })
        })
        .collect();
    let shown = bands
        .iter()
        .flatten()
        .flat_map(|p| [p.2, p.3])
        .chain(
            (internal == Internal::StepSize)
                .then(|| bounds.iter().flatten().flat_map(|b| [b.1, b.2]))
                .into_iter()
                .flatten(),
        )
        .filter(|v| v.is_finite() && *v > 0.0);
    let (low, high) = shown.fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (low, high) = if low.is_finite() {
        (low / 2.0, high * 2.0)
    } else {
        (1e-6, 1.0)
    };
    let (caption, y_desc) = match internal {
        Internal::StepSize => (
            "Effective step size per step (median over the weights)",
            "per-element learning rate",
        ),
        Internal::UpdateRatio => ("Update/weight ratio per step", "|update| / |weights|"),
    };
    let caption = format!("{caption}{}", seeds_caption(results));
    let mut chart = chart(
        area,
        &caption,
        0.0..step_axis_end(groups),
        (low..high).log_scale(),
        pen,
    )?;
    chart
        .configure_mesh()
        .x_desc("step")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc(y_desc)
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(pen.font(11))
        .draw()?;
    for (g, (group, band)) in groups.iter().zip(&bands).enumerate() {
        draw_group(&mut chart, band, g, group.name, pen)?;
        if internal != Internal::StepSize {
            continue;
        }
        let thin = color(g).mix(0.7).stroke_width(pen.px(1));
        let clamp = |v: f64| v.clamp(low, high);
        for side in [1, 2] {
            let line = bounds[g].iter().map(|b| {
                let v = if side == 1 { b.1 } else { b.2 };
                (b.0, clamp(v))
            });
            chart.draw_series(LineSeries::new(line, thin))?;
        }
        let rectified = group.histories().next().and_then(|h| {
            h.steps
                .iter()
                .find(|s| s.rectification.is_some_and(|r| r > 0.0))
        });
        if let Some(first) = rectified {
            let x = first.step as f64;
            chart.draw_series(LineSeries::new([(x, low), (x, high)], thin))?;
        }
    }
    legend(&mut chart, pen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{results, svg_labels};

    /// Plot `name` of `results` (with `histories`) as SVG.
    fn render_svg(name: &str, results: &Results, histories: &[RunHistory]) -> String {
        let mut svg = String::new();
        plot(
            name,
            SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(),
            results,
            &Group::all(results, histories),
            Pen(1),
        )
        .expect("plot");
        svg
    }

    /// The accuracy plot's axes fit what was reached: 20-35% over three whole epochs, not 0-100%
    /// over 0-4; each run has a line pattern and a marker of its own.
    #[test]
    fn the_accuracy_plot_fits_its_axes_to_the_data() {
        register_font().expect("font");
        let mut results = results(&[
            ("adam", serde_json::json!({"lr": 0.001}), Some(0.33), None),
            ("adamw", serde_json::json!({"lr": 0.001}), Some(0.33), None),
        ]);
        results.epochs = 3;
        let epochs: Vec<serde_json::Value> = [0.21, 0.29, 0.33]
            .iter()
            .enumerate()
            .map(|(i, accuracy)| {
                serde_json::json!({"epoch": i + 1, "train_loss": 2.0, "train_accuracy": 0.3,
                    "test_loss": 2.0, "test_accuracy": accuracy, "seconds": 1.0,
                    "eval_seconds": 0.1, "images_per_second": 100.0})
            })
            .collect();
        for run in &mut results.runs {
            run.epochs =
                serde_json::from_value(serde_json::Value::Array(epochs.clone())).expect("epochs");
        }
        let svg = render_svg("test_accuracy", &results, &[]);
        let labels = svg_labels(&svg, false);
        let numbers: Vec<f64> = labels.iter().filter_map(|t| t.parse().ok()).collect();
        for epoch in ["1", "2", "3"] {
            assert!(
                labels.contains(&epoch),
                "epoch {epoch} labelled: {labels:?}"
            );
        }
        assert!(
            numbers
                .iter()
                .all(|n| (15.0..=35.0).contains(n) || (1.0..=3.0).contains(n)),
            "every tick within the data's range: {labels:?}"
        );
        assert!(
            numbers.iter().all(|n| n.fract() == 0.0),
            "whole ticks: {labels:?}"
        );
        assert!(!labels.contains(&"100"), "{labels:?}");
        // Circles for the first run, triangles (polygons) for the second.
        assert!(
            svg.contains("<circle") && svg.contains("<polygon"),
            "markers"
        );

        // Against training time: each run's own seconds, three epochs of one second.
        let svg = render_svg("accuracy_time", &results, &[]);
        assert!(svg.contains("Test accuracy against training time"));
        let seconds: Vec<f64> = svg_labels(&svg, false)
            .iter()
            .filter_map(|label| label.parse::<f64>().ok())
            .filter(|v| *v < 15.0)
            .collect();
        assert!(
            seconds.iter().all(|s| (0.0..=3.15).contains(s)) && seconds.contains(&3.0),
            "the time axis ends at the longest run's 3 s: {seconds:?}"
        );
    }

    /// The loss plot's y axis fits the losses drawn (1.8 to 2.3 here, the top at 1.5 times the
    /// first loss), not 0 to the top; at two seeds its title says it shows their mean and range.
    #[test]
    fn the_loss_plot_fits_its_axis_to_the_losses() {
        register_font().expect("font");
        let mut results = results(&[
            ("adam", serde_json::json!({"lr": 0.001}), Some(0.3), None),
            ("sgd", serde_json::json!({"lr": 0.01}), Some(0.3), None),
        ]);
        // The same two runs at a second seed.
        let second: Vec<_> = results
            .runs
            .iter()
            .map(|run| stepwise_engine::output::RunResult {
                seed: 1,
                ..run.clone()
            })
            .collect();
        results.runs.extend(second);
        results.seeds = vec![0, 1];
        let history = |offset: f32| stepwise_engine::RunHistory {
            steps: (1..=20_u16)
                .map(|t| stepwise_engine::StepMetrics {
                    step: u64::from(t),
                    epoch: 1,
                    loss: 2.3 - 0.025 * f32::from(t) + offset,
                    lr: 1e-3,
                    grad_norm: None,
                    update_ratio: None,
                    weight_norm: None,
                    step_size: None,
                    bounds: None,
                    rectification: None,
                })
                .collect(),
            epochs: Vec::new(),
        };
        let histories = [history(0.0), history(0.05), history(0.01), history(0.04)];
        let svg = render_svg("loss", &results, &histories);
        assert!(svg.contains("mean of 2 seeds, band: their range"), "title");
        let ticks: Vec<f64> = svg_labels(&svg, true)
            .iter()
            .filter_map(|label| label.parse::<f64>().ok())
            .collect();
        assert!(!ticks.is_empty(), "y ticks found");
        assert!(
            ticks.iter().all(|v| (1.7..=3.6).contains(v)),
            "loss ticks within the data's range: {ticks:?}"
        );
        // Two bands (one per run) drawn as polygons behind the lines.
        assert!(svg.matches("<polygon").count() >= 2, "bands");
    }
}
