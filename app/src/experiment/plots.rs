//! The experiment view's plots: loss, test accuracy and learning rate on one linked step axis, and
//! a sweep's grid.

use egui::{Color32, RichText, Ui};
use egui_plot::{
    ColorConflictHandling, FilledArea, Legend, Line, LineStyle, MarkerShape, Plot, PlotPoint,
    PlotPoints, Points, VLine,
};
use stepwise_engine::output::Sweep;

use crate::board::{Board, Quantity};
use crate::series::{Band, Series, across_seeds, run_color};

/// A sweep's grid (as `report.md` has it): each run's best test accuracy so far (the mean over
/// its seeds), or where it diverged, by optimizer and the swept hyperparameter's value.
pub(super) fn sweep_ui(ui: &mut Ui, sweep: &Sweep, board: &Board) {
    let name = &sweep.hyperparameter;
    let groups = board.groups();
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
                        // The cell's run (a group: its index at the first seed), over its seeds.
                        let runs = cell
                            .and_then(|r| board.runs.get(r))
                            .map(|first| groups.get(first.group).cloned().unwrap_or_default());
                        match runs {
                            None => ui.label("–"),
                            Some(runs) => {
                                let diverged = runs
                                    .iter()
                                    .find_map(|run| run.diverged().map(|(step, _)| step));
                                let best: Vec<f32> = runs
                                    .iter()
                                    .filter_map(|run| run.history.best_epoch())
                                    .map(|e| e.test_accuracy)
                                    .collect();
                                let mean = (!best.is_empty())
                                    .then(|| best.iter().sum::<f32>() / best.len() as f32);
                                let text =
                                    Sweep::cell(mean, diverged).unwrap_or_else(|| "…".into());
                                let group = runs.first().map_or(0, |run| run.group);
                                ui.colored_label(run_color(group), text)
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
/// `log_loss`. A run trained at several seeds is its mean over them with their range as a band.
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
    let groups = board.groups();
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
        for runs in &groups {
            let Some(first) = runs.first() else {
                continue;
            };
            let name = &first.name;
            let color = run_color(first.group);
            if let [run] = runs[..] {
                if board.smoothing() > 0.0 {
                    plot.line(
                        Line::new(
                            name.clone(),
                            loss_points(run.series(Quantity::RawLoss).points(), log_loss),
                        )
                        .color(color.gamma_multiply(0.3)),
                    );
                }
                plot.line(
                    Line::new(
                        name.clone(),
                        loss_points(run.series(Quantity::Loss).points(), log_loss),
                    )
                    .color(color),
                );
            } else {
                let series: Vec<&Series> = runs.iter().map(|r| r.series(Quantity::Loss)).collect();
                let band = across_seeds(&series).map(|y| if log_loss { y.log10() } else { y });
                band_ui(plot, name, &band, color);
            }
            for run in runs {
                let Some((step, loss)) = run.diverged() else {
                    continue;
                };
                plot.add(
                    VLine::new(
                        format!(
                            "{name} (seed {}) diverged at step {step} (loss {loss})",
                            run.seed
                        ),
                        step as f64,
                    )
                    .color(color)
                    .style(LineStyle::dashed_loose()),
                );
                // The last finite loss: where it left the finite range (or the threshold).
                if let Some(last) = run.series(Quantity::RawLoss).last() {
                    let y = if log_loss { last.y.log10() } else { last.y };
                    plot.add(
                        Points::new(name.clone(), vec![[last.x, y]])
                            .shape(MarkerShape::Cross)
                            .radius(8.0)
                            .color(color),
                    );
                }
            }
        }
    });
    // A run's band, line and markers share its legend entry, in the line's colour.
    plot("accuracy", "test accuracy %")
        .legend(Legend::default().color_conflict_handling(ColorConflictHandling::PickLast))
        .show(ui, |plot| {
            for runs in &groups {
                let Some(first) = runs.first() else {
                    continue;
                };
                let mut accuracies: Vec<Series> = Vec::with_capacity(runs.len());
                for run in runs {
                    let mut series = Series::default();
                    for epoch in &run.history.epochs {
                        series.push(
                            board.epoch_step(epoch),
                            f64::from(epoch.test_accuracy) * 100.0,
                        );
                    }
                    accuracies.push(series);
                }
                let band = across_seeds(&accuracies.iter().collect::<Vec<_>>());
                let color = run_color(first.group);
                band_ui(plot, &first.name, &band, color);
                plot.add(
                    Points::new(first.name.clone(), band.mean_points())
                        .radius(3.0)
                        .color(color),
                );
            }
        });
    plot("lr", "learning rate").show(ui, |plot| {
        // The schedule is the same at every seed: the first seed's.
        for run in groups.iter().filter_map(|runs| runs.first()) {
            plot.line(
                Line::new(run.name.clone(), run.series(Quantity::Lr).points())
                    .color(run_color(run.group)),
            );
        }
    });
    if board.runs.is_empty() {
        ui.label(
            RichText::new("Start an experiment or open a results folder.").color(Color32::GRAY),
        );
    }
}

/// A mean line in `color` and, where the seeds differ, their range as a band behind it.
fn band_ui(plot: &mut egui_plot::PlotUi<'_>, name: &str, band: &Band, color: Color32) {
    if band
        .lows
        .iter()
        .zip(&band.highs)
        .any(|(low, high)| high > low)
    {
        plot.add(
            FilledArea::new(name.to_owned(), &band.xs, &band.lows, &band.highs)
                .fill_color(color.gamma_multiply(0.25)),
        );
    }
    plot.line(Line::new(name.to_owned(), PlotPoints::from(band.mean_points())).color(color));
}
