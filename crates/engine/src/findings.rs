//! What the data of an experiment shows beyond its ranking, in sentences: notes computed from the
//! recorded metrics and the configuration, never written per optimizer. The CLI's report prints
//! them under "What the data shows"; any front-end can.

use stepwise_optim::OptimizerConfig;

use crate::ExperimentConfig;
use crate::metrics::{RunHistory, RunStatus};

/// One observation, and the runs it is about.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    /// The runs it concerns, by name.
    pub runs: Vec<String>,
    /// The observation, a sentence or two.
    pub text: String,
}

/// AdaBound's bounds count as closed when both lie within this share of their target.
const CLOSED: f64 = 0.1;

/// The notes the recorded `histories` of the experiment's runs (numbered as
/// [`ExperimentConfig::run_at`] orders them: every configured run once per seed) support, with
/// `statuses` their ends. A note true of every seed is made once; one about a seed names it.
pub fn notes(
    config: &ExperimentConfig,
    histories: &[RunHistory],
    statuses: &[RunStatus],
) -> Vec<Note> {
    let mut notes = Vec::new();
    // Configured run `i`'s trained runs, one per seed: (seed, history, status).
    let seeds = |i: usize| {
        (0..config.seeds.len()).filter_map(move |s| {
            let index = config.index(i, s);
            Some((config.seeds[s], histories.get(index)?, statuses.get(index)?))
        })
    };
    let label = |name: &str, seed: u64| {
        if config.seeds.len() > 1 {
            format!("{name} (seed {seed})")
        } else {
            name.to_owned()
        }
    };
    for (i, a) in config.runs.iter().enumerate() {
        for (j, b) in config.runs.iter().enumerate().skip(i + 1) {
            let mut pairs = seeds(i).zip(seeds(j)).peekable();
            let Some(((_, first, _), _)) = pairs.peek() else {
                continue;
            };
            let steps = first.steps.len();
            if pairs.all(|((_, x, _), (_, y, _))| same_losses(x, y)) {
                let seeds = if config.seeds.len() > 1 {
                    format!(", in each of the {} seeds", config.seeds.len())
                } else {
                    String::new()
                };
                notes.push(Note {
                    runs: vec![a.name.clone(), b.name.clone()],
                    text: format!(
                        "{} and {} have identical losses at every one of their {steps} steps{seeds}: \
                         they took the same steps.",
                        a.name, b.name
                    ),
                });
            }
        }
    }
    for (i, run) in config.runs.iter().enumerate() {
        let name = &run.name;
        let note = |text: String| Note {
            runs: vec![name.clone()],
            text,
        };
        // What the optimizer's internals did is told from its longest seed: the schedule and the
        // bounds' formula are the same at every seed.
        if let Some((_, history, _)) = seeds(i).max_by_key(|(_, history, _)| history.steps.len()) {
            if let Some(text) = ineffective_decay(name, run.optimizer, history) {
                notes.push(note(text));
            }
            if let Some(text) = bounds_note(name, run.optimizer, history) {
                notes.push(note(text));
            }
            if let Some(text) = rectification_note(name, history) {
                notes.push(note(text));
            }
        }
        for (seed, history, status) in seeds(i) {
            let labelled = label(name, seed);
            if let RunStatus::Diverged { step, loss } = status {
                let epoch = history
                    .steps
                    .iter()
                    .find(|s| s.step == *step)
                    .map_or(String::new(), |s| format!(" in epoch {}", s.epoch));
                notes.push(note(format!(
                    "{labelled} diverged at step {step}{epoch} (loss {loss}) and stopped there."
                )));
            }
            let chance = 1.0 / stepwise_data::CLASSES.len() as f32;
            if let Some(best) = history.best_epoch()
                && best.test_accuracy < chance
            {
                notes.push(note(format!(
                    "{labelled} never beat chance: its best test accuracy is {:.1}% (chance is \
                     {:.0}% for {} classes).",
                    100.0 * best.test_accuracy,
                    100.0 * chance,
                    stepwise_data::CLASSES.len()
                )));
            }
        }
    }
    notes
}

/// Whether both runs recorded the same losses, bit for bit, at every step (at least one).
fn same_losses(a: &RunHistory, b: &RunHistory) -> bool {
    !a.steps.is_empty()
        && a.steps.len() == b.steps.len()
        && a.steps
            .iter()
            .zip(&b.steps)
            .all(|(x, y)| x.loss.to_bits() == y.loss.to_bits())
}

/// A decoupled weight decay whose factor 1 − lr·wd rounded to 1 in float32 at every recorded
/// learning rate: the decay did nothing.
fn ineffective_decay(
    name: &str,
    optimizer: OptimizerConfig,
    history: &RunHistory,
) -> Option<String> {
    let weight_decay = match optimizer {
        OptimizerConfig::AdamW(c) => c.weight_decay,
        OptimizerConfig::RAdam(c) if c.decoupled_weight_decay => c.weight_decay,
        _ => return None,
    };
    let largest_lr = history.steps.iter().map(|s| s.lr).fold(0.0_f64, f64::max);
    if weight_decay <= 0.0 || largest_lr <= 0.0 {
        return None;
    }
    let product = largest_lr * weight_decay;
    ((1.0 - product) as f32 == 1.0).then(|| {
        format!(
            "{name}'s decoupled weight decay had no effect: its factor 1 − lr·wd = 1 − {:e} \
             rounds to 1 in float32 (the weights' precision) at every learning rate it used, so \
             it trained as it would without decay.",
            product as f32
        )
    })
}

/// Where AdaBound's bounds ended against the rate they close on (`final_lr`, scaled by the
/// schedule as the learning rate is), and whether they closed.
fn bounds_note(name: &str, optimizer: OptimizerConfig, history: &RunHistory) -> Option<String> {
    let config = match optimizer {
        OptimizerConfig::AdaBound(c) | OptimizerConfig::AdaBoundW(c) => c,
        _ => return None,
    };
    let last = history.steps.iter().rev().find(|s| s.bounds.is_some())?;
    let (lower, upper) = last.bounds?;
    let target = config.final_lr * last.lr / config.lr;
    let (lower, upper) = (f64::from(lower), f64::from(upper));
    let closed = lower >= (1.0 - CLOSED) * target && upper <= (1.0 + CLOSED) * target;
    Some(if closed {
        format!(
            "{name}'s bounds closed on {} (final_lr, scaled as the learning rate) by step {}: it \
             ended taking SGD-like steps, as AdaBound is designed to.",
            significant(target),
            last.step
        )
    } else {
        format!(
            "{name}'s bounds were still [{}, {}] after {} steps, around final_lr {}: they \
             close as γ·t grows past 1 (t well past 1/γ = {:.0} steps), so it never reached the SGD-like \
             phase AdaBound exists for.",
            significant(lower),
            significant(upper),
            last.step,
            significant(target),
            1.0 / config.gamma
        )
    })
}

/// When RAdam's rectified adaptive steps began (r_t above 0), or that they never did.
fn rectification_note(name: &str, history: &RunHistory) -> Option<String> {
    let recorded: Vec<_> = history
        .steps
        .iter()
        .filter_map(|s| s.rectification.map(|r| (s.step, r)))
        .collect();
    let &(last_step, _) = recorded.last()?;
    Some(match recorded.iter().find(|(_, r)| *r > 0.0) {
        Some((step, r)) => format!(
            "{name} took plain momentum steps until step {}, then rectified adaptive steps \
             (r_t = {r:.3} at step {step}, rising towards 1).",
            step - 1
        ),
        None => format!(
            "{name} took only plain momentum steps in its {last_step} steps: its variance \
             estimate never became reliable enough to rectify."
        ),
    })
}

/// `value` to three significant digits, without trailing zeros: 0.0157, 0.63, 0.1.
fn significant(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return value.to_string();
    }
    let decimals = (2 - value.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{EpochMetrics, StepMetrics};

    /// One step (step 1, epoch 1, loss 2.3, lr 0.1) and one epoch at test `accuracy`.
    fn history(accuracy: f32) -> RunHistory {
        let mut row = [f64::NAN; crate::STEP_COLUMNS.len()];
        row[..4].copy_from_slice(&[1.0, 1.0, 2.3, 0.1]);
        RunHistory {
            steps: vec![StepMetrics::from_row(row)],
            epochs: vec![EpochMetrics {
                epoch: 1,
                train_loss: 2.3,
                train_accuracy: 0.1,
                test_loss: 2.3,
                test_accuracy: accuracy,
                seconds: 1.0,
                eval_seconds: 1.0,
                images_per_second: 100.0,
            }],
        }
    }

    #[test]
    fn figures_are_shown_to_three_significant_digits() {
        assert_eq!(significant(0.015_748_031), "0.0157");
        assert_eq!(significant(0.630_000_1), "0.63");
        assert_eq!(significant(0.099_999_999_999_999_99), "0.1");
        assert_eq!(significant(1234.6), "1235");
    }

    /// Below chance is a rule on the recorded accuracy: 9.9% is below ten classes' 10%, 10% not.
    #[test]
    fn a_run_below_chance_is_noted() {
        let config = ExperimentConfig::starting_point();
        let statuses = vec![RunStatus::Finished; 2];
        let mut config_two = config.clone();
        config_two.runs.truncate(2);
        let notes = notes(&config_two, &[history(0.099), history(0.1)], &statuses);
        let below: Vec<&Note> = notes
            .iter()
            .filter(|n| n.text.contains("never beat chance"))
            .collect();
        assert_eq!(below.len(), 1, "{notes:?}");
        assert_eq!(below[0].runs, [config_two.runs[0].name.clone()]);
        assert!(
            below[0]
                .text
                .contains("9.9% (chance is 10% for 10 classes)")
        );
    }
}
