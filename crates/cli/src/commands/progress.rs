//! Training's progress as `compare` shows it: on a terminal, a bar per run and an overall line,
//! fitting 80 columns; anywhere else (a log file, a notebook, `nohup`, a Slurm job's output), plain
//! lines, as Lightning falls back to: every run's epoch, and every run's step every tenth of an
//! epoch.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::IsTerminal as _;
use std::time::Instant;
use stepwise_engine::{EpochMetrics, Experiment, StepMetrics};

use super::Error;

/// Where training's progress goes.
pub struct Progress {
    /// Each configured run's name, and per trained run its configured run and seed.
    names: Vec<String>,
    labels: Vec<(usize, u64)>,
    /// Steps per run and seed over the experiment.
    steps_per_run: u64,
    epochs: u32,
    started: Instant,
    view: View,
}

enum View {
    /// Bars: one per configured run (its seeds one after another), then the overall one.
    Terminal {
        bars: MultiProgress,
        runs: Vec<ProgressBar>,
        overall: ProgressBar,
        /// Per configured run: its last loss, and its last epoch's figures or divergence.
        loss: Vec<f32>,
        note: Vec<String>,
        diverged: Vec<usize>,
        seeds: usize,
    },
    /// Lines on stderr, a step line every `every` steps of a run.
    Lines { every: u64 },
}

impl Progress {
    /// Progress for `experiment` (resumed or new), bars when stderr is a terminal.
    ///
    /// # Errors
    /// [`Error::Failed`] when a bar's template does not parse.
    pub fn new(experiment: &Experiment) -> Result<Self, Error> {
        let config = experiment.config();
        let steps_per_epoch = experiment.batches_per_epoch() as u64;
        let names: Vec<String> = config.runs.iter().map(|run| run.name.clone()).collect();
        let labels = (0..experiment.run_count())
            .map(|run| {
                let configured = config.position(run).map_or(0, |(configured, _)| configured);
                let seed = experiment.run_label(run).map_or(0, |(_, seed)| seed);
                (configured, seed)
            })
            .collect();
        let steps_per_run = u64::from(config.epochs) * steps_per_epoch;
        let view = if std::io::stderr().is_terminal() {
            Self::bars(experiment, &names, steps_per_run)?
        } else {
            View::Lines {
                every: (steps_per_epoch / 10).max(1),
            }
        };
        Ok(Self {
            names,
            labels,
            steps_per_run,
            epochs: config.epochs,
            started: Instant::now(),
            view,
        })
    }

    /// A bar per configured run, counting the steps of all its seeds, and one for all.
    fn bars(experiment: &Experiment, names: &[String], steps_per_run: u64) -> Result<View, Error> {
        let config = experiment.config();
        let seeds = config.seeds.len();
        let per_run = steps_per_run * seeds as u64;
        let template = |text: &str| {
            ProgressStyle::with_template(text).map_err(|err| Error::Failed(err.to_string()))
        };
        // 12 + 1 + 20 + 2 + 4 + 2 + ~36: 80 columns with a short message.
        let run_style = template("{prefix:>12.12} {bar:20} {percent:>3}%  {msg}")?;
        let overall_style =
            template("{prefix:>12} {bar:20} {percent:>3}%  {elapsed} elapsed, eta {eta}  {msg}")?;
        let bars = MultiProgress::new();
        let runs: Vec<ProgressBar> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let bar = bars.add(ProgressBar::new(per_run).with_style(run_style.clone()));
                bar.set_prefix(name.clone());
                bar.set_position(
                    (0..seeds)
                        .map(|seed| experiment.steps(config.index(i, seed)))
                        .sum(),
                );
                bar
            })
            .collect();
        let overall =
            bars.add(ProgressBar::new(per_run * names.len() as u64).with_style(overall_style));
        overall.set_prefix("all");
        overall.set_position(runs.iter().map(ProgressBar::position).sum());
        overall.reset_eta();
        Ok(View::Terminal {
            bars,
            overall,
            loss: vec![f32::NAN; names.len()],
            note: vec![String::new(); names.len()],
            diverged: vec![0; names.len()],
            seeds,
            runs,
        })
    }

    /// `run`'s name and seed.
    fn label(&self, run: usize) -> String {
        let (configured, seed) = self.labels.get(run).copied().unwrap_or_default();
        let name = self.names.get(configured).map_or("?", String::as_str);
        format!("{name} (seed {seed})")
    }

    fn elapsed(&self) -> String {
        format!("[{}]", indicatif::FormattedDuration(self.started.elapsed()))
    }

    /// Run `run` took a step.
    pub fn step(&mut self, run: usize, metrics: &StepMetrics) {
        let configured = self.labels.get(run).map_or(0, |l| l.0);
        match &mut self.view {
            View::Terminal {
                runs,
                overall,
                loss,
                note,
                ..
            } => {
                loss[configured] = metrics.loss;
                runs[configured].inc(1);
                runs[configured]
                    .set_message(format!("loss {:.3}  {}", metrics.loss, note[configured]));
                overall.inc(1);
            }
            View::Lines { every } => {
                if metrics.step.is_multiple_of(*every) {
                    eprintln!(
                        "{} epoch {}/{} step {}/{} {}: loss {:.4}",
                        self.elapsed(),
                        metrics.epoch,
                        self.epochs,
                        metrics.step,
                        self.steps_per_run,
                        self.label(run),
                        metrics.loss
                    );
                }
            }
        }
    }

    /// Run `run` diverged at `step`.
    pub fn diverged(&mut self, run: usize, step: u64, loss: f32) {
        let configured = self.labels.get(run).map_or(0, |l| l.0);
        let message = format!("{}: diverged at step {step} (loss {loss})", self.label(run));
        match &mut self.view {
            View::Terminal {
                runs,
                overall,
                note,
                diverged,
                seeds,
                ..
            } => {
                diverged[configured] += 1;
                // The steps it will not take.
                let left = self.steps_per_run.saturating_sub(step);
                runs[configured].inc(left);
                overall.inc(left);
                note[configured] = format!("diverged at {step}");
                if diverged[configured] == *seeds {
                    runs[configured].abandon_with_message(message);
                } else {
                    runs[configured].println(message);
                }
            }
            View::Lines { .. } => eprintln!("{} {message}", self.elapsed()),
        }
    }

    /// Run `run` ended an epoch.
    pub fn epoch(&mut self, run: usize, metrics: &EpochMetrics) {
        let configured = self.labels.get(run).map_or(0, |l| l.0);
        match &mut self.view {
            View::Terminal {
                runs, loss, note, ..
            } => {
                note[configured] = format!(
                    "acc {:.1}%  {:.0} img/s",
                    100.0 * metrics.test_accuracy,
                    metrics.images_per_second
                );
                runs[configured].set_message(format!(
                    "loss {:.3}  {}",
                    loss[configured], note[configured]
                ));
            }
            View::Lines { .. } => eprintln!(
                "{} epoch {}/{} {}: train loss {:.4}, acc {:.2}%; test loss {:.4}, acc {:.2}%; \
                 {:.0} img/s",
                self.elapsed(),
                metrics.epoch,
                self.epochs,
                self.label(run),
                metrics.train_loss,
                100.0 * metrics.train_accuracy,
                metrics.test_loss,
                100.0 * metrics.test_accuracy,
                metrics.images_per_second
            ),
        }
    }

    /// Every run ended epoch `epoch`.
    pub fn epoch_complete(&self, epoch: u32) {
        match &self.view {
            View::Terminal { overall, .. } => {
                overall.set_message(format!("epoch {epoch}/{} done", self.epochs));
            }
            View::Lines { .. } => {
                eprintln!("{} epoch {epoch}/{} done", self.elapsed(), self.epochs);
            }
        }
    }

    /// Training ended: bars are finished, or cleared when it stopped early.
    pub fn end(&self, finished: bool) {
        if let View::Terminal {
            bars,
            runs,
            overall,
            diverged,
            seeds,
            ..
        } = &self.view
        {
            if !finished {
                bars.clear().ok();
                return;
            }
            for (bar, count) in runs.iter().zip(diverged) {
                if count < seeds {
                    bar.finish();
                }
            }
            overall.finish();
        }
    }
}
