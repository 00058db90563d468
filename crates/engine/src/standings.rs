//! The configured runs of an experiment ranked over their seeds, and what in the ranking is noise:
//! each run's spread over seeds, paired differences between runs seed by seed, and the groups of
//! runs that the seeds (or, at one seed, the test set) cannot tell apart.

use std::ops::Range;

use stepwise_optim::OptimizerKind;

use crate::output::{Results, RunResult};
use crate::stats::{CONFIDENCE, PairedDifference, Summary, groups_within_noise};

/// One configured run over its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Standing {
    /// The run's name.
    pub name: String,
    /// Its optimizer.
    pub optimizer: OptimizerKind,
    /// Its trained runs, as indices into [`Results::runs`], in the order of the seeds.
    pub runs: Vec<usize>,
    /// Best test accuracy over the seeds that completed an epoch.
    pub best: Option<Summary>,
    /// Test accuracy after the last completed epoch, over the same seeds.
    pub final_accuracy: Option<Summary>,
    /// Seeds at which it diverged.
    pub diverged: usize,
}

/// The runs of some results, best first.
#[derive(Clone, Debug, PartialEq)]
pub struct Standings {
    /// Best first: runs that never diverged by mean best test accuracy, then runs that diverged
    /// at fewer seeds, later, first.
    pub ranked: Vec<Standing>,
    /// Ranges of `ranked` whose runs cannot be told apart: by their paired differences over the
    /// seeds, or, at one seed, by the test set's resolution. Runs that diverged are in none.
    pub ties: Vec<Range<usize>>,
    /// Seeds per run.
    pub seeds: usize,
}

impl Standings {
    /// The standings of `results`.
    pub fn of(results: &Results) -> Self {
        let mut ranked: Vec<Standing> = results
            .groups()
            .into_iter()
            .map(|runs| Standing {
                name: results.runs[runs[0]].name.clone(),
                optimizer: results.runs[runs[0]].optimizer,
                runs,
                best: None,
                final_accuracy: None,
                diverged: 0,
            })
            .collect();
        let mut latest_divergence = Vec::with_capacity(ranked.len());
        for standing in &mut ranked {
            let runs: Vec<&RunResult> = standing.runs.iter().map(|&r| &results.runs[r]).collect();
            let accuracies = |value: fn(&RunResult) -> Option<f32>| -> Vec<f64> {
                runs.iter()
                    .filter_map(|run| value(run).map(f64::from))
                    .collect()
            };
            standing.best = Summary::of(&accuracies(|run| run.best_test_accuracy));
            standing.final_accuracy = Summary::of(&accuracies(|run| run.final_test_accuracy));
            standing.diverged = runs.iter().filter(|r| r.diverged_at_step.is_some()).count();
            latest_divergence.push(runs.iter().filter_map(|r| r.diverged_at_step).max());
        }
        let mut order: Vec<usize> = (0..ranked.len()).collect();
        order.sort_by(|&a, &b| {
            let mean = |s: &Standing| s.best.map_or(-1.0, |b| b.mean);
            ranked[a]
                .diverged
                .cmp(&ranked[b].diverged)
                .then(latest_divergence[b].cmp(&latest_divergence[a]))
                .then(mean(&ranked[b]).total_cmp(&mean(&ranked[a])))
        });
        let ranked: Vec<Standing> = order.into_iter().map(|i| ranked[i].clone()).collect();
        let seeds = results.seeds.len().max(1);
        let ties = ties(&ranked, results, seeds);
        Self {
            ranked,
            ties,
            seeds,
        }
    }

    /// Ranked run `a` against ranked run `b`, on best test accuracy, seed by seed (the seeds
    /// where both completed an epoch); `None` when they share none.
    pub fn paired(&self, results: &Results, a: usize, b: usize) -> Option<PairedDifference> {
        paired_best(results, self.ranked.get(a)?, self.ranked.get(b)?)
    }
}

/// Best test accuracies of `a` and `b` at the seeds where both have one, paired.
fn paired_best(results: &Results, a: &Standing, b: &Standing) -> Option<PairedDifference> {
    let (x, y): (Vec<f64>, Vec<f64>) = a
        .runs
        .iter()
        .zip(&b.runs)
        .filter_map(|(&x, &y)| {
            let best = |r: usize| results.runs[r].best_test_accuracy.map(f64::from);
            Some((best(x)?, best(y)?))
        })
        .unzip();
    PairedDifference::of(&x, &y, CONFIDENCE)
}

/// Groups of ranked runs that never diverged and that the data cannot tell apart: a run joins the
/// group above while its difference to the group's best is noise.
fn ties(ranked: &[Standing], results: &Results, seeds: usize) -> Vec<Range<usize>> {
    let stable = ranked
        .iter()
        .take_while(|s| s.diverged == 0 && s.best.is_some())
        .count();
    if seeds == 1 {
        let accuracies: Vec<f64> = ranked[..stable]
            .iter()
            .filter_map(|s| s.best.map(|b| b.mean))
            .collect();
        return groups_within_noise(&accuracies, results.test_images, CONFIDENCE)
            .into_iter()
            .filter(|g| g.len() > 1)
            .collect();
    }
    let mut groups: Vec<Range<usize>> = Vec::new();
    for i in 0..stable {
        match groups.last_mut() {
            Some(group)
                if paired_best(results, &ranked[group.start], &ranked[i])
                    .is_some_and(|d| d.is_noise()) =>
            {
                group.end = i + 1;
            }
            _ => groups.push(i..i + 1),
        }
    }
    groups.retain(|g| g.len() > 1);
    groups
}
