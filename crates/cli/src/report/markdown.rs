//! `report.md` and the terminal's summary: the runs ranked over their seeds, what is noise and
//! what is not, what the data shows, each run's epochs, and the plots.

use std::fmt::Write as _;

use stepwise_engine::findings::Note;
use stepwise_engine::output::{Results, RunResult, Sweep};
use stepwise_engine::standings::{Standing, Standings};
use stepwise_engine::stats::{
    CONFIDENCE, Summary, accuracy_difference_margin, accuracy_standard_error,
};
use stepwise_engine::{EpochMetrics, Smoothing};

/// Share of the best accuracy any run reached that counts as "converged" in the ranking.
const CONVERGENCE_SHARE: f64 = 0.9;

/// An accuracy over seeds: `33.10%` at one seed, `33.10% ± 1.20 (31.90–34.40)` (mean ± standard
/// deviation in points, and the range) at several.
fn accuracy(summary: Option<Summary>) -> String {
    match summary {
        None => "–".into(),
        Some(s) => match s.sd {
            None => format!("{:.2}%", 100.0 * s.mean),
            Some(sd) => format!(
                "{:.2}% ± {:.2} ({:.2}–{:.2})",
                100.0 * s.mean,
                100.0 * sd,
                100.0 * s.min,
                100.0 * s.max
            ),
        },
    }
}

/// The runs of `standing`, one per seed.
fn seeds_of<'a>(results: &'a Results, standing: &Standing) -> Vec<&'a RunResult> {
    standing.runs.iter().map(|&r| &results.runs[r]).collect()
}

/// Per epoch, the mean test accuracy over the seeds that completed it.
fn mean_accuracy_by_epoch(runs: &[&RunResult]) -> Vec<(u32, f64)> {
    let epochs = runs.iter().map(|r| r.epochs.len()).max().unwrap_or(0);
    (0..epochs)
        .filter_map(|i| {
            let at: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.epochs.get(i).map(|e| f64::from(e.test_accuracy)))
                .collect();
            let epoch = runs.iter().find_map(|r| r.epochs.get(i))?.epoch;
            Some((epoch, at.iter().sum::<f64>() / at.len() as f64))
        })
        .collect()
}

pub(super) fn markdown(results: &Results, notes: &[Note]) -> String {
    let standings = Standings::of(results);
    let seeds = results.seeds.len().max(1);
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
    let _ = writeln!(md, "| device | {} |", results.device);
    let _ = writeln!(
        md,
        "| epochs | {} of {} |",
        results.epochs_completed, results.epochs
    );
    let _ = writeln!(md, "| batch size | {} |", results.batch_size);
    let seed_list: Vec<String> = results.seeds.iter().map(u64::to_string).collect();
    let _ = writeln!(
        md,
        "| seeds | {} ({}); the runs of a seed share their initial weights and batch order |\n",
        seeds,
        seed_list.join(", ")
    );

    let best_overall = standings
        .ranked
        .iter()
        .filter_map(|s| s.best.map(|b| b.mean))
        .fold(0.0_f64, f64::max);
    let threshold = CONVERGENCE_SHARE * best_overall;
    let _ = writeln!(md, "## Ranking\n");
    let over = if seeds > 1 {
        format!(
            " Accuracies are the mean over {seeds} seeds ± their standard deviation, in points, \
             and their range."
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        md,
        "Ranked by best test accuracy; runs that diverged last.{over} *Epochs to {:.1}%*: the \
         first epoch at which a run's (mean) accuracy reached {:.0}% of the best any run reached \
         (speed of convergence). *Stability*: whether the run's loss stayed finite and below the \
         divergence threshold.\n",
        100.0 * threshold,
        100.0 * CONVERGENCE_SHARE
    );
    let _ = writeln!(
        md,
        "| rank | run | optimizer | best test acc{} | final test acc | epochs to {:.1}% | stability | train img/s |",
        if seeds > 1 { "" } else { " (epoch)" },
        100.0 * threshold
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    for (rank, standing) in standings.ranked.iter().enumerate() {
        let runs = seeds_of(results, standing);
        let best = match (&runs[..], standing.best) {
            ([run], Some(_)) => match (run.best_test_accuracy, run.best_epoch) {
                (Some(acc), Some(epoch)) => format!("{:.2}% ({epoch})", 100.0 * acc),
                _ => "–".into(),
            },
            (_, best) => accuracy(best),
        };
        let reached = mean_accuracy_by_epoch(&runs)
            .into_iter()
            .find(|(_, acc)| best_overall > 0.0 && *acc >= threshold)
            .map_or("not reached".into(), |(epoch, _)| epoch.to_string());
        let stability = stability(&runs);
        let speeds: Vec<f64> = runs
            .iter()
            .flat_map(|r| r.epochs.iter().map(|e| e.images_per_second))
            .collect();
        let speed = if speeds.is_empty() {
            "–".into()
        } else {
            format!("{:.0}", speeds.iter().sum::<f64>() / speeds.len() as f64)
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {best} | {} | {reached} | {stability} | {speed} |",
            rank + 1,
            standing.name,
            standing.optimizer,
            accuracy(standing.final_accuracy)
        );
    }
    let _ = write!(md, "{}", noise(results, &standings));
    if let Some(pairs) = paired_table(results, &standings) {
        let _ = write!(md, "\n{pairs}");
    }
    if let Some(sweep) = sweep_table(results) {
        let _ = write!(md, "\n{sweep}");
    }
    if let Some(axes) = axes_table(results, &standings) {
        let _ = write!(md, "\n{axes}");
    }
    if !notes.is_empty() {
        let _ = writeln!(md, "\n## What the data shows\n");
        for note in notes {
            let _ = writeln!(md, "- {}", note.text);
        }
    }
    let _ = writeln!(md, "\n## Epochs\n");
    for standing in &standings_in_configured_order(&standings) {
        epochs_table(&mut md, &seeds_of(results, standing), &standing.name);
    }
    plots_section(&mut md, seeds);
    let _ = writeln!(
        md,
        "## Files\n\n`config.toml` (the resolved configuration; `stepwise compare --config config.toml` \
         repeats the experiment), `metrics.csv` (every step and epoch of every run at every seed), \
         `results.json`, the plots as PNG (at twice their size) and SVG, \
         `checkpoint.safetensors` (`stepwise compare --resume` continues from it) and `log.txt`."
    );
    md
}

/// The standings in the order the runs were configured (the ranking's order is its own).
fn standings_in_configured_order(standings: &Standings) -> Vec<Standing> {
    let mut configured = standings.ranked.clone();
    configured.sort_by_key(|s| s.runs.first().copied());
    configured
}

/// "stable", "stopped early", "diverged at step 40 (loss 1.2e3)", or at several seeds "diverged
/// at 1 of 3 seeds (steps 40)".
fn stability(runs: &[&RunResult]) -> String {
    let diverged: Vec<&RunResult> = runs
        .iter()
        .copied()
        .filter(|r| r.diverged_at_step.is_some())
        .collect();
    match (runs, &diverged[..]) {
        ([run], [_]) => match (run.diverged_at_step, run.diverged_loss) {
            (Some(step), Some(loss)) if loss.is_finite() => {
                format!("diverged at step {step} (loss {loss:.3e})")
            }
            (Some(step), Some(loss)) => format!("diverged at step {step} (loss {loss})"),
            (step, _) => format!("diverged at step {}", step.unwrap_or_default()),
        },
        (_, []) if runs.iter().all(|r| r.status == "finished") => "stable".into(),
        (_, []) => "stopped early".into(),
        (_, diverged) => {
            let steps: Vec<String> = diverged
                .iter()
                .filter_map(|r| r.diverged_at_step.map(|s| s.to_string()))
                .collect();
            format!(
                "diverged at {} of {} seeds (step {})",
                diverged.len(),
                runs.len(),
                steps.join(", ")
            )
        }
    }
}

/// One run's epochs: at one seed its figures, at several the mean over the seeds that completed
/// each epoch, with the test accuracy's spread.
fn epochs_table(md: &mut String, runs: &[&RunResult], name: &str) {
    let _ = writeln!(md, "**{name}**\n");
    let several = runs.len() > 1;
    let _ = writeln!(
        md,
        "| epoch | train loss | train acc | test loss | test acc{} | seconds |\n|---|---|---|---|---|---|",
        if several { " (mean ± sd, range)" } else { "" }
    );
    let epochs = runs.iter().map(|r| r.epochs.len()).max().unwrap_or(0);
    for i in 0..epochs {
        let at: Vec<&EpochMetrics> = runs.iter().filter_map(|r| r.epochs.get(i)).collect();
        let mean = |value: fn(&EpochMetrics) -> f64| {
            at.iter().map(|e| value(e)).sum::<f64>() / at.len() as f64
        };
        let test: Vec<f64> = at.iter().map(|e| f64::from(e.test_accuracy)).collect();
        let _ = writeln!(
            md,
            "| {} | {:.4} | {:.2}% | {:.4} | {} | {:.1} |",
            at[0].epoch,
            mean(|e| f64::from(e.train_loss)),
            100.0 * mean(|e| f64::from(e.train_accuracy)),
            mean(|e| f64::from(e.test_loss)),
            accuracy(Summary::of(&test)),
            mean(|e| e.seconds)
        );
    }
    if epochs == 0 {
        let _ = writeln!(md, "| – | no epoch completed | | | | |");
    }
    md.push('\n');
}

fn plots_section(md: &mut String, seeds: usize) {
    let _ = writeln!(md, "## Plots\n");
    if seeds > 1 {
        let _ = writeln!(
            md,
            "Each run is the mean of its {seeds} seeds, with their range as a band.\n"
        );
    }
    let _ = writeln!(md, "![Training loss per step](loss.png)\n");
    let _ = writeln!(
        md,
        "Smoothed (TensorBoard's moving average, weight {}), the raw loss faint behind; a cross \
         marks where a run diverged.\n",
        Smoothing::REPORT
    );
    let _ = writeln!(
        md,
        "![Training loss against training time](loss_time.png)\n\nThe same against each run's own \
         training seconds (an epoch's seconds spread evenly over its steps): what a step costs \
         counts here.\n"
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
        "![Effective step size per step](step_size.png)\n\nThe median per-element learning rate \
         each optimizer applied (for Adam, lr·√(1−β2ᵗ)/(1−β1ᵗ)/(√v+ε) per weight; for SGD, lr): \
         AdaBound's bounds as thin lines in its colour, closing on final_lr; a vertical line where \
         RAdam's rectified adaptive steps begin.\n"
    );
    let _ = writeln!(
        md,
        "![Update/weight ratio per step](update_ratio.png)\n\n‖Δθ‖/‖θ‖: how far each step moved \
         the weights, relative to their size (around 1e-3 is the usual healthy rate).\n"
    );
}

/// The results in a few lines for the terminal: each run's best and final accuracy (the mean over
/// its seeds) and stability, then, for a sweep, its grid.
pub fn summary(results: &Results) -> String {
    let standings = Standings::of(results);
    let seeds = results.seeds.len().max(1);
    let header = if seeds > 1 {
        format!("run (mean of {seeds} seeds)")
    } else {
        "run".into()
    };
    let mut text = format!(
        "{header:<28} {:>10} {:>10} {:>12}\n",
        "best acc", "final acc", "stability"
    );
    let percent = |v: Option<Summary>| v.map_or("-".into(), |s| format!("{:.2}%", 100.0 * s.mean));
    for standing in standings_in_configured_order(&standings) {
        let runs = seeds_of(results, &standing);
        let stability = match (&runs[..], standing.diverged) {
            ([run], _) => match run.diverged_at_step {
                Some(step) => format!("diverged@{step}"),
                None => run.status.clone(),
            },
            (_, 0) if runs.iter().all(|r| r.status == "finished") => "finished".into(),
            (_, 0) => "training".into(),
            (runs, diverged) => format!("diverged {diverged}/{}", runs.len()),
        };
        let _ = writeln!(
            text,
            "{:<28} {:>10} {:>10} {:>12}",
            standing.name,
            percent(standing.best),
            percent(standing.final_accuracy),
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
                        let runs = same_run(results, r);
                        match runs.iter().find_map(|run| run.diverged_at_step) {
                            Some(step) if runs.len() == 1 => format!("diverged@{step}"),
                            Some(_) => format!(
                                "diverged {}/{}",
                                runs.iter().filter(|r| r.diverged_at_step.is_some()).count(),
                                runs.len()
                            ),
                            None => percent(best_over_seeds(&runs)),
                        }
                    },
                );
                let _ = write!(text, " {cell:>12}");
            }
            text.push('\n');
        }
    }
    text
}

/// Run `r` of `results` and the same configured run at the other seeds.
fn same_run(results: &Results, r: usize) -> Vec<&RunResult> {
    let name = &results.runs[r].name;
    results
        .runs
        .iter()
        .filter(|run| &run.name == name)
        .collect()
}

fn best_over_seeds(runs: &[&RunResult]) -> Option<Summary> {
    let best: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.best_test_accuracy.map(f64::from))
        .collect();
    Summary::of(&best)
}

/// The study's sweeps (its experiments 2 and 3) as a grid ([`Sweep`]): best test accuracy (over
/// seeds, its mean and spread), or where the run diverged, by optimizer (rows) and the swept
/// hyperparameter's value (columns). `None` when the runs form no sweep.
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
                    let runs = same_run(results, r);
                    if let [run] = runs[..] {
                        return Sweep::cell(run.best_test_accuracy, run.diverged_at_step);
                    }
                    let diverged = runs.iter().filter(|r| r.diverged_at_step.is_some()).count();
                    let best = accuracy(best_over_seeds(&runs));
                    Some(if diverged > 0 {
                        format!("{best}; diverged at {diverged} of {} seeds", runs.len())
                    } else {
                        best
                    })
                })
                .unwrap_or_else(|| "–".into());
            let _ = write!(md, " {cell} |");
        }
        md.push('\n');
    }
    Some(md)
}

/// A sweep over several hyperparameters ([`Sweep::axes`]): each run's value on every axis beside
/// its accuracies, best first, so that the table sorts and filters as a grid would. `None` for
/// fewer than two axes (one is [`sweep_table`]'s grid).
fn axes_table(results: &Results, standings: &Standings) -> Option<String> {
    let axes = Sweep::axes(results);
    if axes.len() < 2 {
        return None;
    }
    let mut md = format!(
        "## By axis values\n\nThe runs differ in {}: each run's values, best first (a value an \
         optimizer does not have is –).\n\n| run | optimizer |",
        axes.join(", ")
    );
    for axis in &axes {
        let _ = write!(md, " {axis} |");
    }
    let _ = writeln!(
        md,
        " best test acc | final test acc | diverged |\n|---|---|{}---|---|---|",
        "---|".repeat(axes.len())
    );
    for standing in &standings.ranked {
        let Some(&first) = standing.runs.first() else {
            continue;
        };
        let values = &results.runs[first].hyperparameters;
        let _ = write!(md, "| {} | {} |", standing.name, standing.optimizer);
        for axis in &axes {
            let value = values
                .get(axis)
                .map_or_else(|| "–".into(), ToString::to_string);
            let _ = write!(md, " {value} |");
        }
        let _ = writeln!(
            md,
            " {} | {} | {} of {} |",
            accuracy(standing.best),
            accuracy(standing.final_accuracy),
            standing.diverged,
            standing.runs.len()
        );
    }
    Some(md)
}

/// What the ranking can and cannot tell: the test set's own resolution, and the runs that the
/// data cannot tell apart (by their paired differences over seeds, or at one seed by the test
/// set's noise), in words.
fn noise(results: &Results, standings: &Standings) -> String {
    let stable: Vec<&Standing> = standings
        .ranked
        .iter()
        .filter(|s| s.diverged == 0 && s.best.is_some())
        .collect();
    let Some(top) = stable.first().and_then(|s| s.best) else {
        return String::new();
    };
    if stable.len() < 2 {
        return String::new();
    }
    let images = results.test_images;
    let resolution = format!(
        "each accuracy is known to ±{:.1} points (one standard error on {images} test images)",
        100.0 * accuracy_standard_error(top.mean, images)
    );
    let seeds = standings.seeds;
    let mut text = if seeds == 1 {
        format!(
            "\nOne seed: {resolution}, a difference between two to about ±{:.1} ({:.0}% \
             confidence).\n\n",
            100.0 * accuracy_difference_margin(top.mean, top.mean, images, CONFIDENCE),
            100.0 * CONFIDENCE
        )
    } else {
        format!(
            "\n{seeds} seeds: {resolution} by the test set alone; differences between runs are \
             judged seed by seed (paired: the runs of a seed start from the same weights and see \
             the same batches), with a paired t-test's {:.0}% confidence interval.\n\n",
            100.0 * CONFIDENCE
        )
    };
    if standings.ties.is_empty() {
        text.push_str(if seeds == 1 {
            "Every gap in the ranking is larger than that.\n"
        } else {
            "Every gap in the ranking is larger than the seeds' noise.\n"
        });
    }
    let what = if seeds == 1 {
        format!("{images} test images and one seed")
    } else {
        format!("{seeds} seeds")
    };
    for tie in &standings.ties {
        let names: Vec<&str> = standings.ranked[tie.clone()]
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        let (last, rest) = names.split_last().unwrap_or((&"", &[]));
        let (first, others) = names.split_first().unwrap_or((&"", &[]));
        let _ = match others {
            [_] => writeln!(
                text,
                "- {} and {last}: no difference that {what} can show.",
                rest.join(", ")
            ),
            // A group is cut at its best: its runs may still differ from each other.
            _ => writeln!(
                text,
                "- {} and {last}: none is apart from {first} by more than {what} can show.",
                rest.join(", ")
            ),
        };
    }
    text
}

/// Every pair of runs that never diverged, compared seed by seed on best test accuracy: the mean
/// difference, its confidence interval, the paired t-test's p-value, and how many seeds each won.
/// `None` at one seed, where there is nothing to pair.
fn paired_table(results: &Results, standings: &Standings) -> Option<String> {
    if standings.seeds < 2 {
        return None;
    }
    let mut md = format!(
        "## Paired differences\n\nBest test accuracy, the higher-ranked run minus the other, seed \
         by seed ({:.0}% confidence interval of the mean difference, paired t-test).\n\n\
         | runs | mean difference | {:.0}% interval | p | seeds won |\n|---|---|---|---|---|\n",
        100.0 * CONFIDENCE,
        100.0 * CONFIDENCE
    );
    let stable = standings
        .ranked
        .iter()
        .take_while(|s| s.diverged == 0 && s.best.is_some())
        .count();
    let mut any = false;
    for a in 0..stable {
        for b in a + 1..stable {
            let Some(d) = standings.paired(results, a, b) else {
                continue;
            };
            any = true;
            let interval = d.interval.map_or("–".into(), |(lo, hi)| {
                format!("[{:+.2}, {:+.2}]", 100.0 * lo, 100.0 * hi)
            });
            let p = d
                .p_value
                .filter(|p| p.is_finite())
                .map_or("–".into(), |p| format!("{p:.3}"));
            let verdict = if d.sd == Some(0.0) && d.mean == 0.0 {
                " (identical at every seed)"
            } else if d.is_noise() {
                ""
            } else {
                " (a difference)"
            };
            let _ = writeln!(
                md,
                "| {} − {} | {:+.2} points{verdict} | {interval} | {p} | {} of {} (lost {}) |",
                standings.ranked[a].name,
                standings.ranked[b].name,
                100.0 * d.mean,
                d.wins,
                d.n,
                d.losses
            );
        }
    }
    any.then_some(md)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::results;

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
    fn a_sweep_over_two_axes_is_a_table_by_axis_values() {
        let run = |lr: f64, wd: f64| serde_json::json!({"lr": lr, "weight_decay": wd});
        let swept = results(&[
            ("adam", run(0.001, 0.0), Some(0.3), None),
            ("adam", run(0.001, 0.01), Some(0.35), None),
            ("adam", run(0.1, 0.0), None, Some(4)),
            (
                "sgd",
                serde_json::json!({"lr": 0.1, "momentum": 0.9}),
                Some(0.2),
                None,
            ),
        ]);
        assert_eq!(Sweep::axes(&swept), ["lr", "weight_decay"]);
        assert_eq!(sweep_table(&swept), None, "two axes: no grid");
        let table = axes_table(&swept, &Standings::of(&swept)).expect("a table");
        assert_eq!(
            table,
            "## By axis values\n\nThe runs differ in lr, weight_decay: each run's values, best \
             first (a value an optimizer does not have is –).\n\n\
             | run | optimizer | lr | weight_decay | best test acc | final test acc | diverged |\n\
             |---|---|---|---|---|---|---|\n\
             | adam {\"lr\":0.001,\"weight_decay\":0.01} | adam | 0.001 | 0.01 | 35.00% | 35.00% | 0 of 1 |\n\
             | adam {\"lr\":0.001,\"weight_decay\":0.0} | adam | 0.001 | 0.0 | 30.00% | 30.00% | 0 of 1 |\n\
             | sgd {\"lr\":0.1,\"momentum\":0.9} | sgd | 0.1 | – | 20.00% | 20.00% | 0 of 1 |\n\
             | adam {\"lr\":0.1,\"weight_decay\":0.0} | adam | 0.1 | 0.0 | – | – | 1 of 1 |\n"
        );
        // One axis is the grid's, not this table's.
        let one = results(&[
            ("adam", serde_json::json!({"lr": 0.001}), Some(0.3), None),
            ("adam", serde_json::json!({"lr": 0.01}), Some(0.3), None),
        ]);
        assert_eq!(axes_table(&one, &Standings::of(&one)), None);
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
        let text = noise(&results, &Standings::of(&results));
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
}
