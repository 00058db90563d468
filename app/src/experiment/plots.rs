//! The experiment view's plots: loss, test accuracy and learning rate on one linked step axis, and
//! a sweep's grid.

use egui::{Color32, RichText, Ui};
use egui_plot::{
    ColorConflictHandling, Legend, Line, LineStyle, MarkerShape, Plot, PlotPoint, PlotPoints,
    Points, VLine,
};
use stepwise_engine::output::Sweep;

use crate::board::{Board, Quantity};
use crate::series::run_color;

/// A sweep's grid (as `report.md` has it): each run's best test accuracy so far, or where it
/// diverged, by optimizer and the swept hyperparameter's value.
pub(super) fn sweep_ui(ui: &mut Ui, sweep: &Sweep, board: &Board) {
    let name = &sweep.hyperparameter;
    egui::CollapsingHeader::new(format!("Sensitivity to {name}"))
        .default_open(true)
        .show(ui, |ui| {
            egui::Grid::new("sweep").striped(true).show(ui, |ui| {
                ui.label(RichText::new("best test accuracy").strong());
                for value in &sweep.values {
                    ui.label(RichText::new(format!("{name} {value}")).strong());
                }
                ui.end_row();
                for (optimizer, cells) in &sweep.rows {
                    ui.label(optimizer.name());
                    for cell in cells {
                        let run = cell.and_then(|r| board.runs.get(r).map(|run| (r, run)));
                        match run {
                            None => ui.label("–"),
                            Some((r, run)) => {
                                let diverged = run.diverged().map(|(step, _)| step);
                                let best = run.history.best_epoch().map(|e| e.test_accuracy);
                                let text =
                                    Sweep::cell(best, diverged).unwrap_or_else(|| "…".into());
                                ui.colored_label(run_color(r), text)
                            }
                        };
                    }
                    ui.end_row();
                }
            });
        });
}

/// Loss values to draw: borrowed as they are, or as log10 (copied) for a log axis.
pub(super) fn loss_points(points: &[PlotPoint], log: bool) -> PlotPoints<'_> {
    if log {
        points
            .iter()
            .map(|p| [p.x, p.y.log10()])
            .collect::<Vec<_>>()
            .into()
    } else {
        points.into()
    }
}

/// Loss, test accuracy and learning rate, one colour per run, on one linked step axis. The loss
/// is drawn smoothed over its raw values (faint, as TensorBoard does), on a log10 axis when
/// `log_loss`.
pub fn plots_ui(ui: &mut Ui, board: &Board, log_loss: bool) {
    let link = ui.scope_id().with("steps axis");
    let height = ((ui.available_height() - 24.0) / 3.0).max(80.0);
    let plot = |id: &str, y_label: &str| {
        Plot::new(id.to_owned())
            .height(height)
            .legend(Legend::default())
            .link_axis(link, [true, false])
            .link_cursor(link, [true, false])
            .x_axis_label("step")
            .y_axis_label(y_label.to_owned())
    };
    // A run's raw and smoothed lines share its legend entry (one click hides both), in the
    // smoothed line's colour.
    let mut loss_plot = plot("loss", "training loss")
        .legend(Legend::default().color_conflict_handling(ColorConflictHandling::PickLast));
    if log_loss {
        loss_plot = loss_plot
            .y_axis_label("training loss (log scale)")
            .y_axis_formatter(|mark, _| format!("{:.3}", 10f64.powf(mark.value)));
    }
    loss_plot.show(ui, |plot| {
        for (index, run) in board.runs.iter().enumerate() {
            let color = run_color(index);
            if board.smoothing() > 0.0 {
                plot.line(
                    Line::new(
                        run.name.clone(),
                        loss_points(run.series(Quantity::RawLoss).points(), log_loss),
                    )
                    .color(color.gamma_multiply(0.3)),
                );
            }
            plot.line(
                Line::new(
                    run.name.clone(),
                    loss_points(run.series(Quantity::Loss).points(), log_loss),
                )
                .color(color),
            );
            if let Some((step, loss)) = run.diverged() {
                plot.add(
                    VLine::new(
                        format!("{} diverged at step {step} (loss {loss})", run.name),
                        step as f64,
                    )
                    .color(color)
                    .style(LineStyle::dashed_loose()),
                );
                // The last finite loss: where it left the finite range (or the threshold).
                if let Some(last) = run.series(Quantity::RawLoss).last() {
                    let y = if log_loss { last.y.log10() } else { last.y };
                    plot.add(
                        Points::new(run.name.clone(), vec![[last.x, y]])
                            .shape(MarkerShape::Cross)
                            .radius(8.0)
                            .color(color),
                    );
                }
            }
        }
    });
    plot("accuracy", "test accuracy %").show(ui, |plot| {
        for (index, run) in board.runs.iter().enumerate() {
            let points: Vec<[f64; 2]> = run
                .history
                .epochs
                .iter()
                .map(|epoch| {
                    [
                        board.epoch_step(epoch),
                        f64::from(epoch.test_accuracy) * 100.0,
                    ]
                })
                .collect();
            plot.line(
                Line::new(run.name.clone(), PlotPoints::from(points.clone()))
                    .color(run_color(index)),
            );
            plot.add(
                Points::new(run.name.clone(), points)
                    .radius(3.0)
                    .color(run_color(index)),
            );
        }
    });
    plot("lr", "learning rate").show(ui, |plot| {
        for (index, run) in board.runs.iter().enumerate() {
            plot.line(
                Line::new(run.name.clone(), run.series(Quantity::Lr).points())
                    .color(run_color(index)),
            );
        }
    });
    if board.runs.is_empty() {
        ui.label(
            RichText::new("Start an experiment or open a results folder.").color(Color32::GRAY),
        );
    }
}
