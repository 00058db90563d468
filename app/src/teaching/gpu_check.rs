//! The GPU check: the racers' trajectories recomputed on the fused kernels, beside the CPU
//! reference's.

use egui::{RichText, Ui};
use stepwise_gpu::Gpu;
use stepwise_landscape::{Optimizers, Record};
use stepwise_optim::{Optimizer, TracePoint};

use super::job::{Job, JobState};
use super::{TeachingView, optimizer_for};

/// The racers' trajectories recomputed on the GPU's fused kernels, beside the CPU reference's:
/// the two implementations of every optimizer, held to each other where the user can see it.
#[derive(Clone, Debug)]
pub struct GpuCheck {
    /// The adapter that computed it.
    pub adapter: String,
    /// One entry per racer shown.
    pub racers: Vec<CheckedRacer>,
    /// The view state it belongs to (a change makes it stale).
    key: String,
}

/// One racer's trajectory from both implementations.
#[derive(Clone, Debug)]
pub struct CheckedRacer {
    /// The optimizer, as labelled in the view.
    pub label: String,
    /// The pure-Rust reference's trajectory.
    pub cpu: Vec<TracePoint>,
    /// The fused WGSL kernels' trajectory.
    pub gpu: Vec<TracePoint>,
}

impl GpuCheck {
    /// The largest difference between the two implementations over every position and loss,
    /// relative to max(|reference|, 1) (absolute near zero, where relative differences mislead).
    pub fn max_difference(&self) -> f64 {
        if self.racers.iter().any(|r| r.cpu.len() != r.gpu.len()) {
            return f64::INFINITY;
        }
        self.racers
            .iter()
            .flat_map(|racer| racer.cpu.iter().zip(&racer.gpu))
            .flat_map(|(c, g)| [(c.x, g.x), (c.y, g.y), (c.loss, g.loss)])
            .map(|(c, g)| {
                let (c, g) = (f64::from(c), f64::from(g));
                if c.is_finite() && g.is_finite() {
                    (g - c).abs() / c.abs().max(1.0)
                } else if c.to_bits() == g.to_bits() || (c.is_nan() && g.is_nan()) {
                    0.0
                } else {
                    f64::INFINITY
                }
            })
            .fold(0.0, f64::max)
    }
}

impl TeachingView {
    /// Recomputes the shown racers' trajectories on `gpu`'s fused kernels in the background, to
    /// hold them to the CPU reference's.
    pub fn start_check(&mut self, gpu: Gpu) {
        let (function, start, steps, key) =
            (self.function, self.start, u64::from(self.steps), self.key());
        let references = self.trajectories().to_vec();
        let racers: Vec<(String, Vec<TracePoint>, Optimizer)> = self
            .racers
            .iter()
            .zip(references)
            .filter(|(racer, _)| racer.enabled)
            .filter_map(|(racer, cpu)| {
                Some((
                    racer.spec.label(),
                    cpu.ok()?,
                    optimizer_for(&racer.spec).ok()?,
                ))
            })
            .collect();
        let work = async move {
            let mut checked = Vec::with_capacity(racers.len());
            for (label, cpu, optimizer) in racers {
                let computed = stepwise_landscape::trajectories(
                    &gpu,
                    function,
                    Optimizers::Shared(&optimizer),
                    &[start],
                    steps,
                    Record::EveryStep,
                )
                .await;
                match computed {
                    Ok(on_gpu) => checked.push(CheckedRacer {
                        label,
                        cpu,
                        gpu: on_gpu.trajectory(0),
                    }),
                    Err(err) => return Err(format!("{label}: {err}")),
                }
            }
            Ok(GpuCheck {
                adapter: gpu.adapter.to_string(),
                racers: checked,
                key,
            })
        };
        self.check = Job::spawn("stepwise-gpu-check", work);
    }

    /// How the GPU check stands.
    pub fn check(&self) -> JobState<'_, GpuCheck> {
        self.check.state()
    }

    pub(super) fn check_ui(&mut self, ui: &mut Ui, gpu: Option<&Gpu>) {
        ui.heading("GPU check");
        let Some(gpu) = gpu else {
            ui.label(RichText::new("No GPU: trajectories come from the CPU reference.").weak());
            return;
        };
        if ui
            .add_enabled(
                !self.check.is_running(),
                egui::Button::new("compare with the GPU"),
            )
            .on_hover_text(
                "recompute the shown trajectories with the fused WGSL kernels and compare them \
                 with the CPU reference",
            )
            .clicked()
        {
            self.start_check(gpu.clone());
        }
        let key = self.key();
        match &self.check {
            Job::None => {}
            Job::Running(_) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("computing on the GPU…");
                });
            }
            Job::Failed(reason) => {
                ui.label(RichText::new(reason).color(ui.visuals().error_fg_color));
            }
            Job::Done(check) => {
                let steps = check
                    .racers
                    .first()
                    .map_or(0, |r| r.cpu.len().saturating_sub(1));
                ui.label(format!(
                    "{} trajectories × {steps} steps on {}: largest difference from the CPU \
                     reference {:.1e} (relative to max(|value|, 1))",
                    check.racers.len(),
                    check.adapter,
                    check.max_difference()
                ));
                if check.key != key {
                    ui.label(RichText::new("Settings changed since: compare again.").weak());
                }
            }
        }
    }
}
