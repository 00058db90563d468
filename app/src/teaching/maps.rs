//! The basin map (where the selected optimizer ends from every start) and the hyperparameter map
//! (final loss over learning rate × beta1 or momentum), computed in the background.

use egui::{ColorImage, RichText, TextureHandle, TextureOptions, Ui};
use egui_plot::{Plot, PlotImage, PlotPoint};
use stepwise_gpu::Gpu;
use stepwise_landscape::{BasinGrid, BasinMap, HyperGrid, HyperMap, loss_colours};
use web_time::Instant;

use super::TeachingView;
use super::job::{Job, JobState};

/// Pixels per side of the basin map.
pub(super) const BASIN_RESOLUTION: u32 = 96;
/// The hyperparameter map: learning rates 1e-4 to 1 × beta1 (momentum for SGD) 0 to 0.99, 40
/// cells per side.
pub(super) const HYPER_GRID: HyperGrid = HyperGrid {
    lr_log10: (-4.0, 0.0),
    second: (0.0, 0.99),
    resolution: 40,
};

/// A computed map: the final loss of every cell, its pixels as a texture, where it lies, and how
/// it was made.
pub struct ComputedMap {
    /// Final losses in image order (top row first); NaN where a run diverged or was invalid.
    losses: Vec<f32>,
    texture_pixels: ColorImage,
    texture: Option<TextureHandle>,
    /// Centre and size in plot coordinates.
    centre: PlotPoint,
    size: egui::Vec2,
    /// What computed it and how long it took.
    note: String,
    /// The view state it belongs to (a change makes it stale).
    key: String,
}

impl ComputedMap {
    /// A square map of final losses (image order) coloured by `loss_colours`, covering `size`
    /// around `centre` in plot coordinates.
    pub(super) fn new(
        losses: Vec<f32>,
        centre: PlotPoint,
        size: egui::Vec2,
        note: String,
        key: String,
    ) -> Self {
        let side = losses.len().isqrt();
        Self {
            texture_pixels: ColorImage::from_rgba_unmultiplied(
                [side, side],
                &loss_colours(losses.iter().copied()),
            ),
            losses,
            texture: None,
            centre,
            size,
            note,
            key,
        }
    }

    /// Final losses in image order (top row first); NaN where a run diverged or was invalid.
    pub fn losses(&self) -> &[f32] {
        &self.losses
    }

    /// What computed it (CPU or GPU and adapter) and how long it took.
    pub fn note(&self) -> &str {
        &self.note
    }
}

impl TeachingView {
    pub(super) fn maps_ui(&mut self, ui: &mut Ui) {
        let height = ((ui.available_height() - 110.0) / 2.0).max(120.0);
        let (basin_key, hyper_key) = (self.basin_key(), self.hyper_key());
        for (title, job, key, x_label, y_label) in [
            (
                "Basin map",
                &mut self.basin,
                basin_key,
                "start x",
                "start y",
            ),
            (
                "Hyperparameter map",
                &mut self.hyper,
                hyper_key,
                "log10 lr",
                "beta1 / momentum",
            ),
        ] {
            match job {
                Job::None => {}
                Job::Running(_) => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(format!("{title}: computing…"));
                    });
                }
                Job::Failed(reason) => {
                    ui.label(
                        RichText::new(format!("{title}: {reason}"))
                            .color(ui.visuals().error_fg_color),
                    );
                }
                Job::Done(computed) => {
                    let stale = if computed.key == key {
                        ""
                    } else {
                        " (settings changed since)"
                    };
                    ui.label(format!("{title}: {}{stale}", computed.note));
                    let texture = computed
                        .texture
                        .get_or_insert_with(|| {
                            ui.ctx().load_texture(
                                title,
                                computed.texture_pixels.clone(),
                                TextureOptions::NEAREST,
                            )
                        })
                        .clone();
                    Plot::new(title)
                        .height(height)
                        .x_axis_label(x_label)
                        .y_axis_label(y_label)
                        .show(ui, |plot| {
                            plot.add(PlotImage::new(
                                title,
                                texture.id(),
                                computed.centre,
                                computed.size,
                            ));
                        });
                }
            }
        }
        ui.label(RichText::new("dark: low final loss · bright: high · red: diverged").weak());
    }

    /// Everything the basin map depends on (not the start: it starts everywhere).
    pub(super) fn basin_key(&self) -> String {
        let selected = self
            .racers
            .get(self.selected)
            .map(|r| r.spec.label())
            .unwrap_or_default();
        format!("{} {} {selected}", self.function, self.steps)
    }

    /// Everything the hyperparameter map depends on (not the two hyperparameters it sweeps).
    pub(super) fn hyper_key(&self) -> String {
        let selected = self
            .racers
            .get(self.selected)
            .map(|r| HyperGrid::unswept(&r.spec).label())
            .unwrap_or_default();
        format!(
            "{} {:?} {} {selected}",
            self.function, self.start, self.steps
        )
    }

    /// Computes the basin map of the selected optimizer in the background.
    pub fn start_basin(&mut self, gpu: Option<Gpu>) {
        let (_, optimizer) = match self.selected_optimizer() {
            Ok(selected) => selected,
            Err(reason) => return self.basin = Job::Failed(reason),
        };
        let ((x0, x1), (y0, y1)) = self.function.region();
        let grid = BasinGrid {
            x_range: (x0, x1),
            y_range: (y0, y1),
            resolution: BASIN_RESOLUTION,
        };
        let (function, steps, key) = (self.function, u64::from(self.steps), self.basin_key());
        let work = async move {
            let began = Instant::now();
            BasinMap::compute_pausing(gpu.as_ref(), function, &optimizer, grid, steps, pause)
                .await
                .map(|map| {
                    ComputedMap::new(
                        map.finals.iter().map(|p| p.loss).collect(),
                        PlotPoint::new(f64::from(x0 + x1) / 2.0, f64::from(y0 + y1) / 2.0),
                        egui::vec2(x1 - x0, y1 - y0),
                        map_note(
                            BASIN_RESOLUTION as usize,
                            "starts",
                            steps,
                            gpu.as_ref(),
                            began,
                        ),
                        key,
                    )
                })
                .map_err(|err| err.to_string())
        };
        self.basin = Job::spawn("stepwise-basin", work);
    }

    /// How the basin map stands.
    pub fn basin(&self) -> JobState<'_, ComputedMap> {
        self.basin.state()
    }

    /// How the hyperparameter map stands.
    pub fn hyper(&self) -> JobState<'_, ComputedMap> {
        self.hyper.state()
    }

    /// Computes the hyperparameter map of the selected optimizer in the background: every cell
    /// in one dispatch per step on `gpu`, else on the CPU.
    pub fn start_hyper(&mut self, gpu: Option<Gpu>) {
        let (spec, _) = match self.selected_optimizer() {
            Ok(selected) => selected,
            Err(reason) => return self.hyper = Job::Failed(reason),
        };
        let (function, start, steps, key) = (
            self.function,
            self.start,
            u64::from(self.steps),
            self.hyper_key(),
        );
        let work = async move {
            let began = Instant::now();
            HyperMap::compute_pausing(
                gpu.as_ref(),
                function,
                &spec,
                start,
                HYPER_GRID,
                steps,
                pause,
            )
            .await
            .map(|map| {
                let ((lr0, lr1), (s0, s1)) = (HYPER_GRID.lr_log10, HYPER_GRID.second);
                let side = HYPER_GRID.resolution as usize;
                let note = map_note(side, "settings", steps, gpu.as_ref(), began);
                ComputedMap::new(
                    map.losses,
                    PlotPoint::new((lr0 + lr1) / 2.0, (s0 + s1) / 2.0),
                    egui::vec2((lr1 - lr0) as f32, (s1 - s0) as f32),
                    note,
                    key,
                )
            })
            .map_err(|err| err.to_string())
        };
        self.hyper = Job::spawn("stepwise-hyperparameter-map", work);
    }
}

/// Between chunks of a map computed on the CPU: on the web a turn of the browser's event loop, so
/// that the page draws and takes input (it has no threads); on the desktop nothing (the map has a
/// thread of its own).
async fn pause() {
    #[cfg(target_arch = "wasm32")]
    crate::task::yield_now().await;
}

/// What computed a map and how long it took: "96×96 starts × 300 steps on the GPU (adapter) in
/// 0.42 s"; `what` names the cells of a `side`×`side` map.
pub(super) fn map_note(
    side: usize,
    what: &str,
    steps: u64,
    gpu: Option<&Gpu>,
    began: Instant,
) -> String {
    let device = gpu.map_or_else(
        || "CPU".to_owned(),
        |gpu| format!("GPU ({})", gpu.adapter.name),
    );
    format!(
        "{side}×{side} {what} × {steps} steps on the {device} in {:.2} s",
        began.elapsed().as_secs_f64()
    )
}
