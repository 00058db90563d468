//! The human side of a comparison's results: plots (PNG and SVG, with plotters) and `report.md`, a
//! ranking like the study's with the plots embedded.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use stepwise_engine::findings::Note;
use stepwise_engine::output::{Results, RunResult, Sweep};
use stepwise_engine::stats::{
    CONFIDENCE, accuracy_difference_margin, accuracy_standard_error, groups_within_noise,
};
use stepwise_engine::{RunHistory, Smoothing};

use crate::commands::Error;

/// The report's file name.
pub const REPORT_FILE: &str = "report.md";
/// The engine's log.
pub const LOG_FILE: &str = "log.txt";

/// The plots, by file stem.
const PLOTS: [&str; 4] = ["loss", "test_accuracy", "accuracy_time", "lr"];
const SIZE: (u32, u32) = (960, 540);
/// Shipped with the binary, so that plots render the same on machines without fonts.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Writes the plots and `report.md` into `dir`, each file whole or not at all.
pub fn write(
    dir: &Path,
    results: &Results,
    histories: &[RunHistory],
    notes: &[Note],
) -> Result<(), Error> {
    register_font()?;
    let save = |file: String, bytes: &[u8]| {
        stepwise_engine::output::write_atomically(&dir.join(file), bytes)
            .map_err(|err| Error::Failed(err.to_string()))
    };
    for name in PLOTS {
        let mut svg = String::new();
        plot(
            name,
            SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(),
            results,
            histories,
        )?;
        save(format!("{name}.svg"), svg.as_bytes())?;
        let mut pixels = vec![0_u8; (SIZE.0 * SIZE.1 * 3) as usize];
        let bitmap = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        plot(name, bitmap, results, histories)?;
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_raw(SIZE.0, SIZE.1, pixels)
            .ok_or_else(|| Error::Failed("plot buffer has the wrong size".into()))?
            .write_to(&mut png, image::ImageFormat::Png)
            .map_err(|err| Error::Failed(format!("{name}.png: {err}")))?;
        save(format!("{name}.png"), png.get_ref())?;
    }
    save(REPORT_FILE.into(), markdown(results, notes).as_bytes())
}

/// Removes the plots a previous experiment left in `dir`.
pub fn remove_plots(dir: &Path) -> std::io::Result<()> {
    for name in PLOTS {
        for ext in ["png", "svg"] {
            let path = dir.join(format!("{name}.{ext}"));
            if path.exists() {
                std::fs::remove_file(path)?;
            }
        }
    }
    let log = dir.join(LOG_FILE);
    if log.exists() {
        std::fs::remove_file(log)?;
    }
    Ok(())
}

fn register_font() -> Result<(), Error> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| Error::Failed("the bundled plot font does not load".into()));
    });
    result
}

fn color(run: usize) -> RGBColor {
    let c = colorous::CATEGORY10[run % colorous::CATEGORY10.len()];
    RGBColor(c.r, c.g, c.b)
}

fn plot_error<E: std::fmt::Display>(name: &str) -> impl Fn(E) -> Error + '_ {
    move |err| Error::Failed(format!("plot {name}: {err}"))
}

fn plot<DB: DrawingBackend>(
    name: &str,
    area: DrawingArea<DB, Shift>,
    results: &Results,
    histories: &[RunHistory],
) -> Result<(), Error> {
    let fail = plot_error(name);
    area.fill(&WHITE).map_err(&fail)?;
    match name {
        "loss" => loss_plot(&area, results, histories).map_err(&fail)?,
        "test_accuracy" => accuracy_plot(&area, results, Along::Epochs).map_err(&fail)?,
        "accuracy_time" => accuracy_plot(&area, results, Along::Seconds).map_err(&fail)?,
        _ => lr_plot(&area, results, histories).map_err(&fail)?,
    }
    area.present().map_err(&fail)
}

/// The end of a per-step x axis: the longest run's step count.
fn step_axis_end(histories: &[RunHistory]) -> f64 {
    histories
        .iter()
        .map(|h| h.steps.len())
        .max()
        .unwrap_or(1)
        .max(2) as f64
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn loss_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    results: &Results,
    histories: &[RunHistory],
) -> DrawResult<DB> {
    let steps = step_axis_end(histories);
    // The top is set by the runs' starting losses, so that a diverging run does not flatten the
    // others; where it leaves the plot is marked.
    let top = histories
        .iter()
        .filter_map(|h| h.steps.first().map(|s| s.loss))
        .filter(|l| l.is_finite())
        .fold(1.0_f32, f32::max)
        * 1.5;
    let caption = format!(
        "Training loss per step (smoothed, weight {}; raw values faint)",
        Smoothing::REPORT
    );
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FAMILY, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..steps, 0.0..f64::from(top))?;
    chart
        .configure_mesh()
        .x_desc("step")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("cross-entropy")
        .label_style((FAMILY, 14))
        .draw()?;
    let clip = |y: f64| {
        if y.is_finite() {
            y.min(f64::from(top))
        } else {
            f64::from(top)
        }
    };
    for (r, history) in histories.iter().enumerate() {
        let raw = history
            .steps
            .iter()
            .map(|s| (s.step as f64, clip(f64::from(s.loss))));
        chart.draw_series(LineSeries::new(raw, color(r).mix(0.25).stroke_width(1)))?;
    }
    for (r, (run, history)) in results.runs.iter().zip(histories).enumerate() {
        let mut smoothing = Smoothing::new(Smoothing::REPORT);
        let points: Vec<(f64, f64)> = history
            .steps
            .iter()
            .map(|s| {
                let smoothed = smoothing.push(f64::from(s.loss));
                (s.step as f64, smoothed.unwrap_or(f64::NAN))
            })
            .collect();
        let clipped = points.into_iter().map(|(x, y)| (x, clip(y))).collect();
        run_line(&mut chart, clipped, r, &run.name)?;
        if let Some(step) = run.diverged_at_step {
            chart.draw_series(std::iter::once(Cross::new(
                (step as f64, f64::from(top)),
                8,
                color(r).stroke_width(3),
            )))?;
        }
    }
    legend(&mut chart)
}

/// What an accuracy plot's x axis counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Along {
    /// Whole epochs.
    Epochs,
    /// Each run's own training seconds, evaluation excluded: time to accuracy.
    Seconds,
}

fn accuracy_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    results: &Results,
    along: Along,
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
    // Each run's points: (epoch or its training seconds so far, accuracy in %).
    let points = |run: &RunResult| -> Vec<(f64, f64)> {
        let mut seconds = 0.0;
        run.epochs
            .iter()
            .map(|e| {
                seconds += e.seconds;
                let x = match along {
                    Along::Epochs => f64::from(e.epoch),
                    Along::Seconds => seconds,
                };
                (x, 100.0 * f64::from(e.test_accuracy))
            })
            .collect()
    };
    let epochs = results.epochs.max(1);
    let (caption, x_desc, x_range) = match along {
        Along::Epochs => (
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
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FAMILY, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(x_range, low..high)?;
    let mut mesh = chart.configure_mesh();
    if along == Along::Epochs {
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
        .label_style((FAMILY, 14))
        .draw()?;
    for (r, run) in results.runs.iter().enumerate() {
        let points = points(run);
        run_line(&mut chart, points.clone(), r, &run.name)?;
        // A marker of its own per run, so that runs on the same points stay apart.
        let style = color(r).filled();
        match r % 3 {
            0 => chart.draw_series(points.into_iter().map(|p| Circle::new(p, 4, style)))?,
            1 => chart.draw_series(points.into_iter().map(|p| TriangleMarker::new(p, 6, style)))?,
            _ => chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Cross::new(p, 5, color(r).stroke_width(2))),
            )?,
        };
    }
    legend(&mut chart)
}

/// Run `r`'s line in its colour and a pattern of its own (solid, dashed, dotted, in turn), so that
/// runs whose lines lie on each other (Adam and an AdamW whose decay rounds away) stay visible.
fn run_line<'a, DB, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    points: Vec<(f64, f64)>,
    r: usize,
    name: &str,
) -> DrawResult<DB>
where
    DB: DrawingBackend + 'a,
    Y: Ranged<ValueType = f64>,
{
    let style = color(r).stroke_width(2);
    let series = match pattern(r) {
        (_, 0) => chart.draw_series(LineSeries::new(points, style))?,
        (dash, gap) => chart.draw_series(DashedLineSeries::new(points, dash, gap, style))?,
    };
    series.label(name).legend(legend_mark(r));
    Ok(())
}

fn lr_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    results: &Results,
    histories: &[RunHistory],
) -> DrawResult<DB> {
    let steps = step_axis_end(histories);
    let lrs = histories
        .iter()
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
    let mut chart = ChartBuilder::on(area)
        .caption("Learning rate per step", (FAMILY, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..steps, (low..high).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("step")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("learning rate")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style((FAMILY, 14))
        .draw()?;
    for (r, (run, history)) in results.runs.iter().zip(histories).enumerate() {
        let points = history
            .steps
            .iter()
            .map(|s| (s.step as f64, s.lr))
            .collect();
        run_line(&mut chart, points, r, &run.name)?;
    }
    legend(&mut chart)
}

/// Run `r`'s line pattern as (dash, gap) in pixels: solid, dashed, dotted, in turn.
const fn pattern(r: usize) -> (i32, i32) {
    match r % 3 {
        0 => (i32::MAX, 0),
        1 => (10, 6),
        _ => (3, 4),
    }
}

/// A run's mark in the legend: a short line in its colour and pattern.
fn legend_mark(
    run: usize,
) -> impl Fn((i32, i32)) -> DashedPathElement<std::vec::IntoIter<(i32, i32)>, i32> {
    move |(x, y)| {
        let (dash, gap) = pattern(run);
        DashedPathElement::new(
            vec![(x, y), (x + 24, y)],
            dash,
            gap,
            color(run).stroke_width(2),
        )
    }
}

fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 14))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
}

/// Share of the best accuracy any run reached that counts as "converged" in the ranking.
const CONVERGENCE_SHARE: f32 = 0.9;

fn markdown(results: &Results, notes: &[Note]) -> String {
    let mut md = String::new();
    let title = results.preset.as_deref().unwrap_or("experiment");
    let scale = if results.quick { " (quick scale)" } else { "" };
    let _ = writeln!(md, "# Stepwise comparison: {title}{scale}\n");
    if !results.description.is_empty() {
        let _ = writeln!(md, "{}\n", results.description);
    }
    let _ = writeln!(md, "| setting | value |\n|---|---|");
    let _ = writeln!(md, "| model | {} |", results.model);
    let _ = writeln!(
        md,
        "| data | {}: {} training, {} test images |",
        results.data, results.train_images, results.test_images
    );
    let _ = writeln!(md, "| device | {} |", results.device.name());
    let _ = writeln!(
        md,
        "| epochs | {} of {} |",
        results.epochs_completed, results.epochs
    );
    let _ = writeln!(md, "| batch size | {} |", results.batch_size);
    let _ = writeln!(
        md,
        "| same initial weights and batch order | yes (one seed for every run) |\n"
    );

    let best_overall = results
        .runs
        .iter()
        .filter_map(|r| r.best_test_accuracy)
        .fold(0.0_f32, f32::max);
    let threshold = CONVERGENCE_SHARE * best_overall;
    let _ = writeln!(md, "## Ranking\n");
    let _ = writeln!(
        md,
        "Ranked by best test accuracy; diverged runs last. *Epochs to {:.1}%*: the first epoch at \
         which a run reached {:.0}% of the best accuracy any run reached (speed of convergence). \
         *Stability*: whether the run's loss stayed finite and below the divergence threshold.\n",
        100.0 * threshold,
        100.0 * CONVERGENCE_SHARE
    );
    let _ = writeln!(
        md,
        "| rank | run | optimizer | best test acc (epoch) | final test acc | epochs to {:.1}% | stability | train img/s |",
        100.0 * threshold
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    for (rank, run) in ranked(results).into_iter().enumerate() {
        let percent = |v: Option<f32>| v.map_or("–".into(), |v| format!("{:.2}%", 100.0 * v));
        let best = match (run.best_test_accuracy, run.best_epoch) {
            (Some(acc), Some(epoch)) => format!("{:.2}% ({epoch})", 100.0 * acc),
            _ => "–".into(),
        };
        let reached = run
            .epochs
            .iter()
            .find(|e| best_overall > 0.0 && e.test_accuracy >= threshold)
            .map_or("not reached".into(), |e| e.epoch.to_string());
        let stability = match (run.diverged_at_step, run.diverged_loss) {
            (Some(step), Some(loss)) if loss.is_finite() => {
                format!("diverged at step {step} (loss {loss:.3e})")
            }
            (Some(step), Some(loss)) => format!("diverged at step {step} (loss {loss})"),
            (Some(step), None) => format!("diverged at step {step}"),
            _ if run.status == "finished" => "stable".into(),
            _ => "stopped early".into(),
        };
        let speed = if run.epochs.is_empty() {
            "–".into()
        } else {
            let mean = run.epochs.iter().map(|e| e.images_per_second).sum::<f64>()
                / run.epochs.len() as f64;
            format!("{mean:.0}")
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {best} | {} | {reached} | {stability} | {speed} |",
            rank + 1,
            run.name,
            run.optimizer,
            percent(run.final_test_accuracy)
        );
    }
    let _ = write!(md, "{}", noise(results));
    if let Some(sweep) = sweep_table(results) {
        let _ = write!(md, "\n{sweep}");
    }
    if !notes.is_empty() {
        let _ = writeln!(md, "\n## What the data shows\n");
        for note in notes {
            let _ = writeln!(md, "- {}", note.text);
        }
    }
    let _ = writeln!(md, "\n## Epochs\n");
    for run in &results.runs {
        let _ = writeln!(md, "**{}**\n", run.name);
        let _ = writeln!(
            md,
            "| epoch | train loss | train acc | test loss | test acc | seconds |\n|---|---|---|---|---|---|"
        );
        for e in &run.epochs {
            let _ = writeln!(
                md,
                "| {} | {:.4} | {:.2}% | {:.4} | {:.2}% | {:.1} |",
                e.epoch,
                e.train_loss,
                100.0 * e.train_accuracy,
                e.test_loss,
                100.0 * e.test_accuracy,
                e.seconds
            );
        }
        if run.epochs.is_empty() {
            let _ = writeln!(md, "| – | no epoch completed | | | | |");
        }
        md.push('\n');
    }
    let _ = writeln!(md, "## Plots\n");
    let _ = writeln!(md, "![Training loss per step](loss.png)\n");
    let _ = writeln!(
        md,
        "Smoothed (moving average, weight {}); a cross marks where a run diverged.\n",
        Smoothing::REPORT
    );
    let _ = writeln!(md, "![Test accuracy per epoch](test_accuracy.png)\n");
    let _ = writeln!(
        md,
        "![Test accuracy against training time](accuracy_time.png)\n\nTime to accuracy: each \
         run's own training seconds, evaluation excluded (runs that stepped side by side share \
         their time equally).\n"
    );
    let _ = writeln!(md, "![Learning rate per step](lr.png)\n");
    let _ = writeln!(
        md,
        "## Files\n\n`config.toml` (the resolved configuration; `stepwise compare --config config.toml` \
         repeats the experiment), `metrics.csv` (every step and epoch of every run), `results.json`, \
         the plots as PNG and SVG, `checkpoint.safetensors` (`stepwise compare --resume` continues \
         from it) and `log.txt`."
    );
    md
}

/// The results in a few lines for the terminal: each run's best and final accuracy and stability,
/// then, for a sweep, its grid.
pub fn summary(results: &Results) -> String {
    let mut text = format!(
        "{:<28} {:>10} {:>10} {:>12}\n",
        "run", "best acc", "final acc", "stability"
    );
    let percent = |v: Option<f32>| v.map_or("-".into(), |v| format!("{:.2}%", 100.0 * v));
    for run in &results.runs {
        let stability = match run.diverged_at_step {
            Some(step) => format!("diverged@{step}"),
            None => run.status.clone(),
        };
        let _ = writeln!(
            text,
            "{:<28} {:>10} {:>10} {:>12}",
            run.name,
            percent(run.best_test_accuracy),
            percent(run.final_test_accuracy),
            stability
        );
    }
    if let Some(sweep) = Sweep::of_results(results) {
        let _ = write!(text, "\nbest acc by {:<16}", sweep.hyperparameter);
        for value in &sweep.values {
            let _ = write!(text, " {value:>12}");
        }
        text.push('\n');
        for (optimizer, cells) in &sweep.rows {
            let _ = write!(text, "{:<28}", optimizer.name());
            for cell in cells {
                let cell = cell.map_or_else(
                    || "-".to_owned(),
                    |r| {
                        let run = &results.runs[r];
                        run.diverged_at_step.map_or_else(
                            || percent(run.best_test_accuracy),
                            |step| format!("diverged@{step}"),
                        )
                    },
                );
                let _ = write!(text, " {cell:>12}");
            }
            text.push('\n');
        }
    }
    text
}

/// The study's sweeps (its experiments 2 and 3) as a grid ([`Sweep`]): best test accuracy, or
/// where the run diverged, by optimizer (rows) and the swept hyperparameter's value (columns).
/// `None` when the runs form no sweep.
fn sweep_table(results: &Results) -> Option<String> {
    let sweep = Sweep::of_results(results)?;
    let name = &sweep.hyperparameter;
    let mut md = format!(
        "## Sensitivity to {name}\n\nBest test accuracy of each optimizer at each {name} (its \
         other hyperparameters are the same in a row); a diverged run shows where it diverged.\n\n\
         | optimizer |"
    );
    for v in &sweep.values {
        let _ = write!(md, " {name} {v} |");
    }
    let _ = writeln!(md, "\n|---|{}", "---|".repeat(sweep.values.len()));
    for (optimizer, cells) in &sweep.rows {
        let _ = write!(md, "| {optimizer} |");
        for cell in cells {
            let cell = cell
                .and_then(|r| {
                    let run = &results.runs[r];
                    Sweep::cell(run.best_test_accuracy, run.diverged_at_step)
                })
                .unwrap_or_else(|| "–".into());
            let _ = write!(md, " {cell} |");
        }
        md.push('\n');
    }
    Some(md)
}

/// Runs that did not diverge by best accuracy (descending), then diverged ones, latest first.
/// What the ranking can and cannot tell, at one seed: the runs whose best accuracies are within
/// the test set's noise of each other, in words.
fn noise(results: &Results) -> String {
    let ranked: Vec<&RunResult> = ranked(results)
        .into_iter()
        .filter(|r| r.diverged_at_step.is_none() && r.best_test_accuracy.is_some())
        .collect();
    let accuracies: Vec<f64> = ranked
        .iter()
        .filter_map(|r| r.best_test_accuracy.map(f64::from))
        .collect();
    if accuracies.len() < 2 {
        return String::new();
    }
    let images = results.test_images;
    let margin = |a: f64, b: f64| 100.0 * accuracy_difference_margin(a, b, images, CONFIDENCE);
    let mut text = format!(
        "\nOne seed: each accuracy is known to ±{:.1} points (one standard error on {images} test \
         images), a difference between two to about ±{:.1} ({:.0}% confidence).\n\n",
        100.0 * accuracy_standard_error(accuracies[0], images),
        margin(accuracies[0], accuracies[0]),
        100.0 * CONFIDENCE
    );
    let groups = groups_within_noise(&accuracies, images, CONFIDENCE);
    let tied: Vec<_> = groups.iter().filter(|g| g.len() > 1).collect();
    if tied.is_empty() {
        text.push_str("Every gap in the ranking is larger than that.\n");
    }
    for group in tied {
        let names: Vec<&str> = ranked[group.clone()]
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        let (last, rest) = names.split_last().unwrap_or((&"", &[]));
        let _ = writeln!(
            text,
            "- {} and {last}: no difference that {images} test images and one seed can show.",
            rest.join(", ")
        );
    }
    text
}

fn ranked(results: &Results) -> Vec<&RunResult> {
    let mut runs: Vec<&RunResult> = results.runs.iter().collect();
    runs.sort_by(|a, b| {
        let key = |r: &RunResult| {
            (
                r.diverged_at_step.is_some(),
                r.best_test_accuracy.unwrap_or(-1.0),
            )
        };
        let (a_diverged, a_best) = key(a);
        let (b_diverged, b_best) = key(b);
        a_diverged
            .cmp(&b_diverged)
            .then(b.diverged_at_step.cmp(&a.diverged_at_step))
            .then(b_best.total_cmp(&a_best))
    });
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results of `runs`, each `(optimizer, hyperparameters, best accuracy, diverged at)`.
    fn results(runs: &[(&str, serde_json::Value, Option<f32>, Option<u64>)]) -> Results {
        let runs: Vec<serde_json::Value> = runs
            .iter()
            .map(|(optimizer, hyperparameters, best, diverged)| {
                serde_json::json!({
                    "name": format!("{optimizer} {hyperparameters}"),
                    "optimizer": optimizer,
                    "hyperparameters": hyperparameters,
                    "status": if diverged.is_some() { "diverged" } else { "finished" },
                    "diverged_at_step": diverged,
                    "steps": 10,
                    "best_test_accuracy": best,
                    "best_epoch": best.map(|_| 1),
                    "final_test_accuracy": best,
                    "epochs": [],
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "quick": true,
            "description": "",
            "model": "resnet8",
            "device": "cpu",
            "data": "shipped sample",
            "train_images": 10,
            "test_images": 10,
            "batch_size": 2,
            "epochs": 1,
            "epochs_completed": 1,
            "runs": runs,
        }))
        .expect("results")
    }

    #[test]
    fn a_learning_rate_sweep_is_a_grid_with_divergence_in_place() {
        let adam = |lr: f64| serde_json::json!({"lr": lr, "beta1": 0.9});
        let sweep = results(&[
            ("adam", adam(0.001), Some(0.3), None),
            ("adam", adam(0.1), Some(0.1), Some(40)),
            ("radam", adam(0.001), Some(0.32), None),
            ("radam", adam(0.01), None, Some(3)),
        ]);
        assert_eq!(
            sweep_table(&sweep).expect("a sweep"),
            "## Sensitivity to lr\n\nBest test accuracy of each optimizer at each lr (its other \
             hyperparameters are the same in a row); a diverged run shows where it diverged.\n\n\
             | optimizer | lr 0.001 | lr 0.01 | lr 0.1 |\n\
             |---|---|---|---|\n\
             | adam | 30.00% | – | 10.00%, then diverged at step 40 |\n\
             | radam | 32.00% | diverged at step 3 | – |\n"
        );
    }

    #[test]
    fn the_terminal_summary_has_the_sweep_grid() {
        let adam = |lr: f64| serde_json::json!({"lr": lr});
        let sweep = results(&[
            ("adam", adam(0.001), Some(0.3), None),
            ("adam", adam(0.1), Some(0.1), Some(40)),
            ("radam", adam(0.001), Some(0.32), None),
        ]);
        let summary = summary(&sweep);
        let grid: Vec<&str> = summary.lines().skip(5).collect();
        assert_eq!(
            grid,
            [
                "best acc by lr                      0.001          0.1",
                "adam                               30.00%  diverged@40",
                "radam                              32.00%            -",
            ],
            "{summary}"
        );
    }

    #[test]
    fn other_comparisons_have_no_grid() {
        // One run per optimizer (the study's first experiment).
        let optimizers = results(&[
            ("sgd", serde_json::json!({"lr": 0.01}), Some(0.3), None),
            ("adam", serde_json::json!({"lr": 0.001}), Some(0.3), None),
        ]);
        assert_eq!(sweep_table(&optimizers), None);
        // Two hyperparameters varied at once: no single axis.
        let two = results(&[
            (
                "adam",
                serde_json::json!({"lr": 0.01, "eps": 1e-8}),
                Some(0.3),
                None,
            ),
            (
                "adam",
                serde_json::json!({"lr": 0.1, "eps": 1e-6}),
                Some(0.3),
                None,
            ),
        ]);
        assert_eq!(sweep_table(&two), None);
        // A switch is no axis.
        let switch = results(&[
            (
                "adam",
                serde_json::json!({"lr": 0.01, "amsgrad": false}),
                Some(0.3),
                None,
            ),
            (
                "adam",
                serde_json::json!({"lr": 0.01, "amsgrad": true}),
                Some(0.3),
                None,
            ),
        ]);
        assert_eq!(sweep_table(&switch), None);
    }

    /// The ranking says which runs one seed and the test set cannot tell apart.
    #[test]
    fn the_ranking_names_the_runs_within_noise() {
        let mut results = results(&[
            ("sgd", serde_json::json!({"lr": 0.01}), Some(0.286), None),
            ("adam", serde_json::json!({"lr": 0.001}), Some(0.328), None),
            (
                "adabound",
                serde_json::json!({"lr": 0.001}),
                Some(0.354),
                None,
            ),
            ("radam", serde_json::json!({"lr": 0.001}), Some(0.312), None),
            ("adamw", serde_json::json!({"lr": 0.1}), None, Some(3)),
        ]);
        results.test_images = 1000;
        let text = noise(&results);
        assert!(
            text.contains(
                "each accuracy is known to ±1.5 points (one standard error on 1000 test images)"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "- adabound {\"lr\":0.001} and adam {\"lr\":0.001}: no difference that 1000 test \
                 images and one seed can show."
            ),
            "{text}"
        );
        assert!(
            text.contains("- radam {\"lr\":0.001} and sgd {\"lr\":0.01}: no difference"),
            "{text}"
        );
        assert!(
            !text.contains("adamw"),
            "a diverged run is outside the groups: {text}"
        );
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
        let mut svg = String::new();
        plot(
            "test_accuracy",
            SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(),
            &results,
            &[],
        )
        .expect("plot");
        let labels: Vec<&str> = svg
            .split("</text>")
            .filter_map(|chunk| chunk.rsplit('>').next())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
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
        let mut svg = String::new();
        plot(
            "accuracy_time",
            SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(),
            &results,
            &[],
        )
        .expect("plot");
        assert!(svg.contains("Test accuracy against training time"));
        let seconds: Vec<f64> = svg
            .split("</text>")
            .filter_map(|chunk| chunk.rsplit('>').next()?.trim().parse::<f64>().ok())
            .filter(|v| *v < 15.0)
            .collect();
        assert!(
            seconds.iter().all(|s| (0.0..=3.15).contains(s)) && seconds.contains(&3.0),
            "the time axis ends at the longest run's 3 s: {seconds:?}"
        );
    }
}
