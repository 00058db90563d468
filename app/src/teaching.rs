//! The teaching view: optimizers racing on a 2-D test function drawn as a heat map with contours,
//! from a start point the user clicks, every hyperparameter on a slider; a basin map (where the
//! selected optimizer ends from every start, on the GPU's fused kernels or the CPU) and a
//! hyperparameter map (final loss over learning rate × beta1 or momentum); guided scenarios.

use std::sync::mpsc::{Receiver, TryRecvError, channel};

use egui::{Color32, ColorImage, RichText, TextureHandle, TextureOptions, Ui};
use egui_plot::{Legend, Line, MarkerShape, Plot, PlotImage, PlotPoint, PlotPoints, Points};
use serde::{Deserialize, Serialize};
use stepwise_gpu::{
    BasinGrid, BasinMap, Gpu, HyperGrid, HyperMap, Optimizers, Record, loss_colours,
};
use stepwise_optim::{
    LrSchedule, Optimizer, OptimizerKind, OptimizerSpec, TestFunction, TracePoint, trace,
};
use web_time::Instant;

use crate::hyper::{choice, optimizer_ui};
use crate::series::{run_color, swatch};
use crate::task;

/// Pixels per side of the function's heat map.
const SURFACE_RESOLUTION: usize = 256;
/// Contour levels across the heat map's colour range.
const CONTOURS: f64 = 14.0;
/// Pixels per side of the basin map.
const BASIN_RESOLUTION: u32 = 96;
/// The hyperparameter map: learning rates 1e-4 to 1 × beta1 (momentum for SGD) 0 to 0.99, 40
/// cells per side.
const HYPER_GRID: HyperGrid = HyperGrid {
    lr_log10: (-4.0, 0.0),
    second: (0.0, 0.99),
    resolution: 40,
};
/// Seconds an animation takes to draw the whole trajectory.
const ANIMATION_SECONDS: f32 = 4.0;

/// One optimizer in the race.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Racer {
    /// Drawn or not.
    pub enabled: bool,
    /// The optimizer and its hyperparameters.
    pub spec: OptimizerSpec,
}

/// A guided scenario: a setting of the view and what to look for in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scenario {
    /// Adam at a high learning rate against RAdam.
    AdamOvershoot,
    /// AdaBound's bounds closing in on SGD.
    AdaBoundToSgd,
    /// L2 decay inside Adam against AdamW's decoupled decay.
    DecoupledDecay,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Self; 3] = [
        Self::AdamOvershoot,
        Self::AdaBoundToSgd,
        Self::DecoupledDecay,
    ];

    /// Its title.
    pub const fn title(self) -> &'static str {
        match self {
            Self::AdamOvershoot => "Adam leaves a saddle at once; RAdam warms up",
            Self::AdaBoundToSgd => "AdaBound turns into SGD as its bounds close",
            Self::DecoupledDecay => "Adam + L2 against AdamW's decoupled decay",
        }
    }

    /// What the user should look for.
    pub const fn explanation(self) -> &'static str {
        match self {
            Self::AdamOvershoot => {
                "Adam divides each coordinate's step by that coordinate's own gradient scale, so \
                 from its first step it moves about lr along the flat escape direction (y) as \
                 far as along the steep one: it leaves the saddle at once, and at a high learning \
                 rate these full-size steps are what overshoot. RAdam computes the same moments, \
                 but for its first steps the variance of the adaptive rate is intractable (r_t is \
                 0 in the internals view) and it takes plain momentum steps, lr x gradient: its \
                 first step is exactly SGD's. Then the adaptive step switches on, scaled by r_t \
                 as it grows: a warm-up built into the rule. SGD's step follows the tiny \
                 y-gradient: it crawls, then accelerates."
            }
            Self::AdaBoundToSgd => {
                "AdaBound clips Adam's per-element step size between a lower and an upper bound \
                 that both converge to final_lr (gamma sets how fast). Early on the bounds are \
                 wide and it moves like Adam; later the bounds pinch every coordinate to the same \
                 rate and it moves like SGD with momentum at final_lr. Raise gamma to see the \
                 change sooner."
            }
            Self::DecoupledDecay => {
                "With L2 decay Adam adds wd x theta to the gradient, and the adaptive denominator \
                 then scales the decay like the gradient: where gradients are large it hardly \
                 counts. AdamW shrinks the weights directly, theta <- theta - lr x wd x theta, in \
                 every coordinate alike. Both are pulled from the minimum (1, 1) towards the \
                 origin, to different points: here AdamW ends nearer the origin."
            }
        }
    }

    fn apply(self, view: &mut TeachingView) {
        let spec = |kind, lr: f64| {
            let mut spec = OptimizerSpec::new(kind);
            spec.lr = Some(lr);
            spec
        };
        let (function, steps, specs) = match self {
            Self::AdamOvershoot => (
                TestFunction::Saddle,
                40,
                vec![
                    spec(OptimizerKind::Adam, 0.1),
                    spec(OptimizerKind::RAdam, 0.1),
                    spec(OptimizerKind::Sgd, 0.1),
                ],
            ),
            Self::AdaBoundToSgd => {
                let mut adabound = spec(OptimizerKind::AdaBound, 0.1);
                adabound.final_lr = Some(0.01);
                adabound.gamma = Some(0.01);
                (
                    TestFunction::Quadratic,
                    400,
                    vec![
                        adabound,
                        spec(OptimizerKind::Adam, 0.1),
                        spec(OptimizerKind::Sgd, 0.01),
                    ],
                )
            }
            Self::DecoupledDecay => {
                let mut adam = spec(OptimizerKind::Adam, 0.05);
                adam.weight_decay = Some(0.5);
                let mut adamw = spec(OptimizerKind::AdamW, 0.05);
                adamw.weight_decay = Some(0.5);
                (
                    TestFunction::Rosenbrock,
                    600,
                    vec![adam, adamw, spec(OptimizerKind::Adam, 0.05)],
                )
            }
        };
        view.function = function;
        view.start = function.classic_start();
        view.steps = steps;
        view.racers = specs
            .into_iter()
            .map(|spec| Racer {
                enabled: true,
                spec,
            })
            .collect();
        view.selected = 0;
        view.scenario = Some(self);
        view.restart();
    }
}

/// Work done in the background: a map, or the GPU check.
#[derive(Default)]
enum Job<T> {
    #[default]
    None,
    Running(Receiver<Result<T, String>>),
    Done(T),
    Failed(String),
}

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
    fn new(
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

impl<T> Job<T> {
    /// How it stands, for callers outside the view.
    fn state(&self) -> JobState<'_, T> {
        match self {
            Self::None => JobState::Idle,
            Self::Running(_) => JobState::Running,
            Self::Done(done) => JobState::Done(done),
            Self::Failed(reason) => JobState::Failed(reason),
        }
    }

    fn poll(&mut self) {
        if let Self::Running(receiver) = self {
            *self = match receiver.try_recv() {
                Ok(Ok(done)) => Self::Done(done),
                Ok(Err(reason)) => Self::Failed(reason),
                Err(TryRecvError::Empty) => return,
                // The task ended without sending (it panicked): say so rather than spin forever.
                Err(TryRecvError::Disconnected) => {
                    Self::Failed("the background task ended without a result".into())
                }
            };
        }
    }

    const fn is_running(&self) -> bool {
        matches!(self, Self::Running(_))
    }

    /// The job once its work was handed to [`task::spawn`], whose result `spawned` is.
    fn running(receiver: Receiver<Result<T, String>>, spawned: Result<(), String>) -> Self {
        match spawned {
            Ok(()) => Self::Running(receiver),
            Err(reason) => Self::Failed(reason),
        }
    }
}

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

/// How a background computation of the view (a map, the GPU check) stands.
#[derive(Clone, Copy, Debug)]
pub enum JobState<'a, T> {
    /// Not asked for.
    Idle,
    /// Computing.
    Running,
    /// Computed.
    Done(&'a T),
    /// Why it could not be computed.
    Failed(&'a str),
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

/// The teaching view's state; the settings persist between sessions.
#[derive(Serialize, Deserialize)]
#[serde(default)]
pub struct TeachingView {
    /// The surface.
    pub function: TestFunction,
    /// Where every racer starts.
    pub start: [f32; 2],
    /// Steps per trajectory.
    pub steps: u32,
    /// The optimizers.
    pub racers: Vec<Racer>,
    /// The racer the maps are computed for.
    pub selected: usize,
    /// The scenario last chosen, whose explanation is shown.
    pub scenario: Option<Scenario>,
    #[serde(skip)]
    trajectories: Vec<Result<Vec<TracePoint>, String>>,
    #[serde(skip)]
    computed_for: Option<String>,
    /// Steps drawn so far by the animation.
    #[serde(skip)]
    shown: f32,
    #[serde(skip)]
    playing: bool,
    #[serde(skip)]
    surface: Option<(TestFunction, TextureHandle)>,
    #[serde(skip)]
    basin: Job<ComputedMap>,
    #[serde(skip)]
    hyper: Job<ComputedMap>,
    #[serde(skip)]
    check: Job<GpuCheck>,
}

impl Default for TeachingView {
    fn default() -> Self {
        let mut view = Self {
            function: TestFunction::Rosenbrock,
            start: TestFunction::Rosenbrock.classic_start(),
            steps: 300,
            racers: Vec::new(),
            selected: 0,
            scenario: None,
            trajectories: Vec::new(),
            computed_for: None,
            shown: 0.0,
            playing: false,
            surface: None,
            basin: Job::None,
            hyper: Job::None,
            check: Job::None,
        };
        Scenario::AdamOvershoot.apply(&mut view);
        view.scenario = None;
        view.finish_animation();
        view
    }
}

/// Steps per trajectory the view offers (the slider's range).
const STEPS: std::ops::RangeInclusive<u32> = 1..=2000;
/// Racers at most.
const MAX_RACERS: usize = 10;
/// Start coordinates at most this far from the origin (every surface's region is within ±10).
const START_LIMIT: f32 = 1e4;

/// Whether a trajectory can start at `start` (and a link can carry it).
fn usable_start(start: [f32; 2]) -> bool {
    start
        .iter()
        .all(|v| v.is_finite() && v.abs() <= START_LIMIT)
}

impl TeachingView {
    /// Brings settings from outside (a link, saved settings) into the ranges the controls offer,
    /// and says what was changed: a step count beyond the slider would freeze the page on the
    /// trajectories computed each frame, and a non-finite start cannot be written to a link.
    pub fn sanitize(&mut self) -> Vec<String> {
        let mut corrected = Vec::new();
        if !STEPS.contains(&self.steps) {
            let steps = self.steps.clamp(*STEPS.start(), *STEPS.end());
            corrected.push(format!("steps {} → {steps}", self.steps));
            self.steps = steps;
        }
        if self.racers.len() > MAX_RACERS {
            corrected.push(format!(
                "{} optimizers → the first {MAX_RACERS}",
                self.racers.len()
            ));
            self.racers.truncate(MAX_RACERS);
        }
        if !usable_start(self.start) {
            let start = self.function.classic_start();
            corrected.push(format!("start {:?} → {start:?}", self.start));
            self.start = start;
        }
        if self.selected >= self.racers.len().max(1) {
            corrected.push(format!("maps' optimizer {} → 0", self.selected + 1));
            self.selected = 0;
        }
        corrected
    }

    /// Applies a guided scenario.
    pub fn choose_scenario(&mut self, scenario: Scenario) {
        scenario.apply(self);
    }

    /// Whether a map or the GPU check is being computed in the background.
    pub fn is_busy(&self) -> bool {
        self.basin.is_running() || self.hyper.is_running() || self.check.is_running()
    }

    /// Starts the animation from the start point.
    pub fn restart(&mut self) {
        self.shown = 0.0;
        self.playing = true;
    }

    /// Shows every trajectory whole, without animating.
    pub fn finish_animation(&mut self) {
        self.shown = self.steps as f32;
        self.playing = false;
    }

    /// Each enabled racer's trajectory (recomputed when a setting changed), or why it has none.
    pub fn trajectories(&mut self) -> &[Result<Vec<TracePoint>, String>] {
        let key = self.key();
        if self.computed_for.as_ref() != Some(&key) {
            self.trajectories = self
                .racers
                .iter()
                .map(|racer| {
                    let mut optimizer = optimizer_for(&racer.spec)?;
                    trace(
                        self.function,
                        &mut optimizer,
                        self.start,
                        u64::from(self.steps),
                    )
                    .map_err(|err| err.to_string())
                })
                .collect();
            self.computed_for = Some(key);
        }
        &self.trajectories
    }

    /// Everything a trajectory depends on, to know when to recompute.
    fn key(&self) -> String {
        let racers: Vec<String> = self.racers.iter().map(|r| r.spec.label()).collect();
        format!(
            "{} {:?} {} {}",
            self.function,
            self.start,
            self.steps,
            racers.join(";")
        )
    }

    /// Draws the view: controls on the left, the surface and maps in the middle.
    pub fn ui(&mut self, ui: &mut Ui, gpu: Option<&Gpu>) {
        self.basin.poll();
        self.hyper.poll();
        self.check.poll();
        egui::Panel::left("teaching controls")
            .resizable(true)
            .default_size(330.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.controls_ui(ui, gpu));
            });
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(scenario) = self.scenario {
                ui.label(RichText::new(scenario.title()).strong());
                ui.label(scenario.explanation());
                ui.separator();
            }
            let maps = !matches!(self.basin, Job::None) || !matches!(self.hyper, Job::None);
            if maps {
                ui.columns(2, |columns| {
                    self.surface_ui(&mut columns[0]);
                    self.maps_ui(&mut columns[1]);
                });
            } else {
                self.surface_ui(ui);
            }
        });
        if self.playing {
            let dt = ui.input(|i| i.stable_dt).min(0.1);
            self.shown += dt * self.steps as f32 / ANIMATION_SECONDS;
            if self.shown >= self.steps as f32 {
                self.finish_animation();
            }
            ui.ctx().request_repaint();
        }
        if self.basin.is_running() || self.hyper.is_running() || self.check.is_running() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    fn controls_ui(&mut self, ui: &mut Ui, gpu: Option<&Gpu>) {
        ui.heading("Guided scenarios");
        for scenario in Scenario::ALL {
            if ui
                .selectable_label(self.scenario == Some(scenario), scenario.title())
                .clicked()
            {
                self.choose_scenario(scenario);
            }
        }
        ui.separator();
        ui.heading("Surface");
        let mut function = self.function;
        choice(
            ui,
            "function",
            &mut function,
            &TestFunction::ALL,
            TestFunction::name,
        );
        if function != self.function {
            self.function = function;
            self.start = function.classic_start();
            self.restart();
        }
        ui.horizontal(|ui| {
            let label = ui.label("start");
            let changed = ui
                .add(
                    egui::DragValue::new(&mut self.start[0])
                        .speed(0.01)
                        .range(-START_LIMIT..=START_LIMIT)
                        .prefix("x "),
                )
                .labelled_by(label.id)
                .changed()
                | ui.add(
                    egui::DragValue::new(&mut self.start[1])
                        .speed(0.01)
                        .range(-START_LIMIT..=START_LIMIT)
                        .prefix("y "),
                )
                .labelled_by(label.id)
                .changed();
            if changed {
                if !usable_start(self.start) {
                    self.start = self.function.classic_start();
                }
                self.restart();
            }
        });
        ui.label(RichText::new("Click the surface to start from there.").weak());
        if ui
            .add(
                egui::Slider::new(&mut self.steps, STEPS)
                    .logarithmic(true)
                    .text("steps"),
            )
            .changed()
        {
            self.finish_animation();
        }
        ui.horizontal(|ui| {
            if ui.button("Replay").clicked() {
                self.restart();
            }
            if ui.button("Show all").clicked() {
                self.finish_animation();
            }
        });
        ui.separator();
        ui.heading("Optimizers");
        let mut remove = None;
        let mut changed = false;
        for (index, racer) in self.racers.iter_mut().enumerate() {
            ui.push_id(index, |ui| {
                ui.horizontal(|ui| {
                    changed |= ui.checkbox(&mut racer.enabled, "show").changed();
                    swatch(ui, run_color(index));
                    ui.radio_value(&mut self.selected, index, "maps")
                        .on_hover_text("compute the basin and hyperparameter maps for this one");
                    if ui.small_button("remove").on_hover_text("remove").clicked() {
                        remove = Some(index);
                    }
                });
                egui::CollapsingHeader::new(racer.spec.label())
                    .id_salt("hyperparameters")
                    .show(ui, |ui| {
                        changed |= optimizer_ui(ui, &mut racer.spec);
                    });
            });
        }
        if let Some(index) = remove {
            self.racers.remove(index);
            // The maps stay with the racer they were for.
            if index < self.selected {
                self.selected -= 1;
            }
            self.selected = self.selected.min(self.racers.len().saturating_sub(1));
            changed = true;
        }
        if self.racers.len() < MAX_RACERS && ui.button("Add optimizer").clicked() {
            self.racers.push(Racer {
                enabled: true,
                spec: OptimizerSpec::new(OptimizerKind::Sgd),
            });
            changed = true;
        }
        if changed {
            self.finish_animation();
        }
        ui.separator();
        self.check_ui(ui, gpu);
        ui.separator();
        ui.heading("Maps");
        let device = gpu.map_or_else(
            || "CPU".to_owned(),
            |gpu| format!("GPU: {}", gpu.adapter.name),
        );
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!self.basin.is_running(), egui::Button::new("basin map"))
                .on_hover_text(format!(
                    "final loss of the selected optimizer from each of {0}×{0} starts ({device})",
                    BASIN_RESOLUTION
                ))
                .clicked()
            {
                self.start_basin(gpu.cloned());
            }
            if ui
                .add_enabled(
                    !self.hyper.is_running(),
                    egui::Button::new("hyperparameter map"),
                )
                .on_hover_text(format!(
                    "final loss over {0}×{0} settings of learning rate × beta1 (momentum for SGD), \
                     from the start point ({device})",
                    HYPER_GRID.resolution
                ))
                .clicked()
            {
                self.start_hyper(gpu.cloned());
            }
        });
    }

    /// The function as a heat map with contours, the trajectories, start and minimum.
    fn surface_ui(&mut self, ui: &mut Ui) {
        let texture = self.surface_texture(ui.ctx());
        let ((x0, x1), (y0, y1)) = self.function.region();
        let shown = (self.shown as usize).min(self.steps as usize);
        let function = self.function;
        let start = self.start;
        // Brings the trajectories up to date; the plot then borrows them.
        self.trajectories();
        let (racers, trajectories) = (&self.racers, &self.trajectories);
        // Where each racer is at the step shown, above the plot.
        let finals: Vec<String> = trajectories
            .iter()
            .zip(&self.racers)
            .filter(|(_, r)| r.enabled)
            .map(|(t, r)| match t {
                Ok(points) => {
                    let p = points[shown.min(points.len() - 1)];
                    format!(
                        "{}: loss {:.4e} at ({:.3}, {:.3})",
                        r.spec.label(),
                        p.loss,
                        p.x,
                        p.y
                    )
                }
                Err(reason) => format!("{}: {reason}", r.spec.label()),
            })
            .collect();
        ui.label(format!("step {shown} of {}", self.steps));
        for line in finals {
            ui.label(line);
        }
        let response = Plot::new(format!("surface {function}"))
            .data_aspect(1.0)
            .allow_drag(false)
            .allow_double_click_reset(true)
            .legend(Legend::default())
            // The function's region, whatever a diverging trajectory does (zoom out to follow it).
            .default_x_bounds(f64::from(x0), f64::from(x1))
            .default_y_bounds(f64::from(y0), f64::from(y1))
            .show(ui, |plot| {
                plot.add(PlotImage::new(
                    "",
                    texture.id(),
                    PlotPoint::new(f64::from(x0 + x1) / 2.0, f64::from(y0 + y1) / 2.0),
                    egui::vec2(x1 - x0, y1 - y0),
                ));
                if let Some([mx, my]) = function.minimum() {
                    plot.add(
                        Points::new("minimum", vec![[f64::from(mx), f64::from(my)]])
                            .shape(MarkerShape::Asterisk)
                            .radius(7.0)
                            .color(Color32::WHITE),
                    );
                }
                for (index, (racer, trajectory)) in racers.iter().zip(trajectories).enumerate() {
                    let Ok(points) = trajectory else { continue };
                    if !racer.enabled {
                        continue;
                    }
                    let name = racer.spec.label();
                    let drawn: Vec<[f64; 2]> = points[..=shown.min(points.len() - 1)]
                        .iter()
                        .filter(|p| p.x.is_finite() && p.y.is_finite())
                        .map(|p| [f64::from(p.x), f64::from(p.y)])
                        .collect();
                    let head = drawn.last().copied();
                    plot.line(
                        Line::new(name.clone(), PlotPoints::from(drawn))
                            .color(run_color(index))
                            .width(2.0),
                    );
                    if let Some(head) = head {
                        plot.add(
                            Points::new(name, vec![head])
                                .radius(4.0)
                                .color(run_color(index)),
                        );
                    }
                }
                plot.add(
                    Points::new("start", vec![[f64::from(start[0]), f64::from(start[1])]])
                        .shape(MarkerShape::Circle)
                        .radius(5.0)
                        .filled(false)
                        .color(Color32::WHITE),
                );
                (plot.response().clicked(), plot.pointer_coordinate())
            });
        if let (true, Some(at)) = response.inner {
            self.start = [at.x as f32, at.y as f32];
            self.scenario = None;
            self.restart();
        }
    }

    /// The surface's heat map, made once per function.
    fn surface_texture(&mut self, ctx: &egui::Context) -> TextureHandle {
        if let Some((function, texture)) = &self.surface
            && *function == self.function
        {
            return texture.clone();
        }
        let image = surface_image(self.function);
        let texture = ctx.load_texture(
            format!("surface {}", self.function),
            image,
            TextureOptions::LINEAR,
        );
        self.surface = Some((self.function, texture.clone()));
        texture
    }

    fn maps_ui(&mut self, ui: &mut Ui) {
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

    fn selected_optimizer(&self) -> Result<(OptimizerSpec, Optimizer), String> {
        let racer = self
            .racers
            .get(self.selected)
            .ok_or("no optimizer selected")?;
        Ok((racer.spec.clone(), optimizer_for(&racer.spec)?))
    }

    /// Everything the basin map depends on (not the start: it starts everywhere).
    fn basin_key(&self) -> String {
        let selected = self
            .racers
            .get(self.selected)
            .map(|r| r.spec.label())
            .unwrap_or_default();
        format!("{} {} {selected}", self.function, self.steps)
    }

    /// Everything the hyperparameter map depends on (not the two hyperparameters it sweeps).
    fn hyper_key(&self) -> String {
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
        let (sender, receiver) = channel();
        let work = async move {
            let began = Instant::now();
            let compute = gpu
                .as_ref()
                .map_or(stepwise_gpu::Compute::Cpu, stepwise_gpu::Compute::Gpu);
            let result =
                BasinMap::compute_pausing(compute, function, &optimizer, grid, steps, pause)
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
                    .map_err(|err| err.to_string());
            let _ = sender.send(result);
        };
        self.basin = Job::running(receiver, task::spawn("stepwise-basin", work));
    }

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
        let (sender, receiver) = channel();
        let work = async move {
            let mut checked = Vec::with_capacity(racers.len());
            for (label, cpu, optimizer) in racers {
                let computed = stepwise_gpu::trajectories(
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
                    Err(err) => {
                        let _ = sender.send(Err(format!("{label}: {err}")));
                        return;
                    }
                }
            }
            let _ = sender.send(Ok(GpuCheck {
                adapter: gpu.adapter.to_string(),
                racers: checked,
                key,
            }));
        };
        self.check = Job::running(receiver, task::spawn("stepwise-gpu-check", work));
    }

    /// How the GPU check stands.
    pub fn check(&self) -> JobState<'_, GpuCheck> {
        self.check.state()
    }

    /// How the basin map stands.
    pub fn basin(&self) -> JobState<'_, ComputedMap> {
        self.basin.state()
    }

    /// How the hyperparameter map stands.
    pub fn hyper(&self) -> JobState<'_, ComputedMap> {
        self.hyper.state()
    }

    fn check_ui(&mut self, ui: &mut Ui, gpu: Option<&Gpu>) {
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
        let (sender, receiver) = channel();
        let work = async move {
            let began = Instant::now();
            let compute = gpu
                .as_ref()
                .map_or(stepwise_gpu::Compute::Cpu, stepwise_gpu::Compute::Gpu);
            let result = HyperMap::compute_pausing(
                compute, function, &spec, start, HYPER_GRID, steps, pause,
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
            .map_err(|err| err.to_string());
            let _ = sender.send(result);
        };
        self.hyper = Job::running(receiver, task::spawn("stepwise-hyperparameter-map", work));
    }
}

/// Between chunks of a map computed on the CPU: on the web a turn of the browser's event loop, so
/// that the page draws and takes input (it has no threads); on the desktop nothing (the map has a
/// thread of its own).
async fn pause() {
    #[cfg(target_arch = "wasm32")]
    task::yield_now().await;
}

/// What computed a map and how long it took: "96×96 starts × 300 steps on the GPU (adapter) in
/// 0.42 s"; `what` names the cells of a `side`×`side` map.
fn map_note(side: usize, what: &str, steps: u64, gpu: Option<&Gpu>, began: Instant) -> String {
    let device = gpu.map_or_else(
        || "CPU".to_owned(),
        |gpu| format!("GPU ({})", gpu.adapter.name),
    );
    format!(
        "{side}×{side} {what} × {steps} steps on the {device} in {:.2} s",
        began.elapsed().as_secs_f64()
    )
}

/// The optimizer `spec` describes, at a constant learning rate, or why it is invalid.
fn optimizer_for(spec: &OptimizerSpec) -> Result<Optimizer, String> {
    let config = spec.resolve().map_err(|err| err.to_string())?;
    Optimizer::new(config, LrSchedule::Constant {}).map_err(|err| err.to_string())
}

/// The function's heat map: `asinh` of the value on viridis (as the basin map), with contour lines
/// where the colour crosses one of [`CONTOURS`] evenly spaced levels.
fn surface_image(function: TestFunction) -> ColorImage {
    let n = SURFACE_RESOLUTION;
    let grid = BasinGrid {
        x_range: function.region().0,
        y_range: function.region().1,
        resolution: n as u32,
    };
    let values: Vec<f32> = grid
        .starts()
        .iter()
        .map(|&[x, y]| function.value(x, y))
        .collect();
    let mut rgba = loss_colours(values.iter().copied());
    let shaped: Vec<f64> = values.iter().map(|&v| f64::from(v).asinh()).collect();
    let (lo, hi) = shaped
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let level = |v: f64| ((v - lo) / (hi - lo).max(f64::MIN_POSITIVE) * CONTOURS).floor();
    for row in 0..n {
        for col in 0..n {
            let here = level(shaped[row * n + col]);
            let right = (col + 1 < n).then(|| level(shaped[row * n + col + 1]));
            let below = (row + 1 < n).then(|| level(shaped[(row + 1) * n + col]));
            if right.is_some_and(|l| l != here) || below.is_some_and(|l| l != here) {
                let pixel = &mut rgba[(row * n + col) * 4..(row * n + col) * 4 + 3];
                for channel in pixel {
                    *channel = (u16::from(*channel) * 3 / 5) as u8;
                }
            }
        }
    }
    ColorImage::from_rgba_unmultiplied([n, n], &rgba)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trajectories_are_recomputed_when_a_setting_changes() {
        let mut view = TeachingView::default();
        let first = view.trajectories()[0].clone().expect("adam traces");
        assert_eq!(first.len(), view.steps as usize + 1);
        view.racers[0].spec.lr = Some(0.001);
        let slower = view.trajectories()[0].clone().expect("traces");
        assert_ne!(slower.last(), first.last(), "a new lr gives a new path");
        view.steps = 10;
        assert_eq!(view.trajectories()[0].as_ref().map(Vec::len), Ok(11));
    }

    /// What each scenario's explanation says the user will see is what the optimizers do.
    #[test]
    fn scenarios_show_what_they_explain() {
        let mut view = TeachingView::default();
        view.choose_scenario(Scenario::AdamOvershoot);
        let paths: Vec<Vec<TracePoint>> = view
            .trajectories()
            .iter()
            .map(|t| t.clone().expect("traces"))
            .collect();
        let (adam, radam, sgd) = (&paths[0], &paths[1], &paths[2]);
        assert!(
            (adam[1].y - adam[0].y - 0.1).abs() < 1e-3,
            "Adam's first step is lr along y"
        );
        assert_eq!(radam[1], sgd[1], "RAdam's first step is SGD's");
        assert!(
            adam[20].y > 10.0 * radam[20].y,
            "Adam has left the saddle, RAdam is warming up"
        );

        view.choose_scenario(Scenario::DecoupledDecay);
        let paths: Vec<TracePoint> = view
            .trajectories()
            .iter()
            .map(|t| *t.as_ref().expect("traces").last().expect("a point"))
            .collect();
        let norm = |p: &TracePoint| p.x.hypot(p.y);
        assert!(
            norm(&paths[1]) < norm(&paths[0]),
            "AdamW ends nearer the origin: {paths:?}"
        );
        assert!(
            norm(&paths[0]) < norm(&paths[2]),
            "decay pulls Adam from the minimum too"
        );
    }

    #[test]
    fn settings_from_outside_are_brought_into_the_controls_ranges() {
        let mut view = TeachingView::default();
        assert_eq!(
            view.sanitize(),
            Vec::<String>::new(),
            "the defaults are in range"
        );
        view.steps = u32::MAX;
        view.start = [f32::NAN, 0.0];
        let racer = view.racers[0].clone();
        view.racers = vec![racer; 12];
        view.selected = 11;
        let corrected = view.sanitize();
        assert_eq!(
            corrected,
            [
                "steps 4294967295 → 2000".to_string(),
                "12 optimizers → the first 10".into(),
                format!("start [NaN, 0.0] → {:?}", view.function.classic_start()),
                "maps' optimizer 12 → 0".into(),
            ]
        );
        assert_eq!(
            (view.steps, view.racers.len(), view.selected),
            (2000, 10, 0)
        );
        assert_eq!(view.trajectories()[0].as_ref().map(Vec::len), Ok(2001));
    }

    #[test]
    fn a_background_task_that_ends_without_a_result_fails_the_job() {
        let (sender, receiver) = channel::<Result<(), String>>();
        let mut job = Job::Running(receiver);
        job.poll();
        assert!(job.is_running(), "nothing sent yet");
        drop(sender);
        job.poll();
        assert!(
            matches!(job.state(), JobState::Failed(reason) if reason.contains("without a result")),
            "a dead task must not spin forever"
        );
    }
}
