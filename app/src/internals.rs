//! The internals view: what each optimizer did inside, step by step — the spread of its effective
//! per-element step size, AdaBound's bounds closing in, RAdam's rectification term, the size of
//! each update relative to the weights, and the weight norm that L2 and decoupled decay shrink.

use egui::{RichText, Ui};
use egui_plot::{FilledArea, Legend, Line, LineStyle, Plot};
use stepwise_optim::OptimizerKind;

use crate::board::{Board, Quantity, RunView};
use crate::series::run_color;

/// One internals plot: what it shows, its y axis, and which runs and series it draws.
struct Panel {
    title: &'static str,
    caption: &'static str,
    y_label: &'static str,
    /// Lines per run: (quantity, dashed).
    lines: &'static [(Quantity, bool)],
    /// Draw the min–max step-size band.
    band: bool,
    /// Only runs of these optimizers (all when empty).
    only: &'static [OptimizerKind],
}

const PANELS: [Panel; 5] = [
    Panel {
        title: "Effective step size per element",
        caption: "lr·(bias correction)/(sqrt(v_hat)+eps), clipped for AdaBound: median line, min–max band. \
                  SGD's is lr for every element.",
        y_label: "log10 step size",
        lines: &[(Quantity::StepSizeMedian, false)],
        band: true,
        only: &[],
    },
    Panel {
        title: "AdaBound's bounds",
        caption: "Lower (solid) and upper (dashed) bound on the per-element rate; both close in on \
                  final_lr, turning AdaBound into SGD.",
        y_label: "log10 bound",
        lines: &[(Quantity::LowerBound, false), (Quantity::UpperBound, true)],
        band: false,
        only: &[OptimizerKind::AdaBound, OptimizerKind::AdaBoundW],
    },
    Panel {
        title: "RAdam's rectification r_t",
        caption: "0 while the adaptive rate's variance is intractable (plain momentum steps), then \
                  rising towards 1: a built-in learning-rate warm-up.",
        y_label: "r_t",
        lines: &[(Quantity::Rectification, false)],
        band: false,
        only: &[OptimizerKind::RAdam],
    },
    Panel {
        title: "Update / weight ratio",
        caption: "|Δθ|/|θ| per step: how far each step moves the weights, relatively.",
        y_label: "log10 |Δθ|/|θ|",
        lines: &[(Quantity::UpdateRatio, false)],
        band: false,
        only: &[],
    },
    Panel {
        title: "Weight norm",
        caption: "|θ|: L2 decay (Adam) is divided by sqrt(v_hat) like the gradient; decoupled decay (AdamW) \
                  shrinks every weight alike.",
        y_label: "|θ|",
        lines: &[(Quantity::WeightNorm, false)],
        band: false,
        only: &[],
    },
];

/// Draws every internals plot, two per row, on a step axis linked with the experiment view's.
pub fn ui(ui: &mut Ui, board: &Board) {
    if board.runs.is_empty() {
        ui.label("Start an experiment or open a results folder in the experiment view.");
        return;
    }
    let link = ui.scope_id().with("steps axis");
    let height = ((ui.available_height() - 3.0 * 60.0) / 3.0).max(120.0);
    egui::ScrollArea::vertical().show(ui, |ui| {
        for pair in PANELS.chunks(2) {
            ui.columns(2, |columns| {
                for (column, panel) in columns.iter_mut().zip(pair) {
                    column.label(RichText::new(panel.title).strong());
                    column.label(RichText::new(panel.caption).weak().small());
                    Plot::new(panel.title)
                        .height(height)
                        .legend(Legend::default())
                        .link_axis(link, [true, false])
                        .link_cursor(link, [true, false])
                        .x_axis_label("step")
                        .y_axis_label(panel.y_label)
                        .show(column, |plot| {
                            // A run's internals at its first seed: the others behave alike.
                            for run in board
                                .groups()
                                .into_iter()
                                .filter_map(|g| g.first().copied())
                            {
                                if !panel.only.is_empty() && !panel.only.contains(&run.optimizer) {
                                    continue;
                                }
                                let color = run_color(run.group);
                                if panel.band
                                    && let Some(band) = step_size_band(run)
                                {
                                    plot.add(band.fill_color(color.gamma_multiply(0.25)));
                                }
                                for &(quantity, dashed) in panel.lines {
                                    let mut line =
                                        Line::new(run.name.clone(), run.series(quantity).points())
                                            .color(color);
                                    if dashed {
                                        line = line.style(LineStyle::dashed_dense());
                                    }
                                    plot.line(line);
                                }
                            }
                        });
                }
            });
        }
    });
}

/// The min–max band of a run's per-element step size (log10).
fn step_size_band(run: &RunView) -> Option<FilledArea> {
    let low = run.series(Quantity::StepSizeMin).points();
    let high = run.series(Quantity::StepSizeMax).points();
    if low.is_empty() || low.len() != high.len() {
        return None;
    }
    let xs: Vec<f64> = low.iter().map(|p| p.x).collect();
    let mins: Vec<f64> = low.iter().map(|p| p.y).collect();
    let maxs: Vec<f64> = high.iter().map(|p| p.y).collect();
    Some(FilledArea::new(run.name.clone(), &xs, &mins, &maxs))
}
