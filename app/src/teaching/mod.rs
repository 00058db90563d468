//! The teaching view: optimizers racing on a 2-D test function drawn as a heat map with contours,
//! from a start point the user clicks, every hyperparameter on a slider; a basin map (where the
//! selected optimizer ends from every start, on the GPU's fused kernels or the CPU) and a
//! hyperparameter map (final loss over learning rate × beta1 or momentum); guided scenarios.
//!
//! One purpose a file: [`scenario`] (the guided scenarios), [`controls`] (the left panel),
//! [`surface`] (the heat map and the race), [`maps`] (basin and hyperparameter maps), [`gpu_check`]
//! (the fused kernels held to the reference), [`job`] (the background work they share).

mod controls;
mod gpu_check;
mod job;
mod maps;
mod scenario;
mod surface;

use egui::{RichText, TextureHandle, Ui};
use serde::{Deserialize, Serialize};
use stepwise_gpu::Gpu;
use stepwise_optim::{LrSchedule, Optimizer, OptimizerSpec, TestFunction, TracePoint, trace};

use job::Job;

pub use gpu_check::{CheckedRacer, GpuCheck};
pub use job::JobState;
pub use maps::ComputedMap;
pub use scenario::Scenario;

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

    fn selected_optimizer(&self) -> Result<(OptimizerSpec, Optimizer), String> {
        let racer = self
            .racers
            .get(self.selected)
            .ok_or("no optimizer selected")?;
        Ok((racer.spec.clone(), optimizer_for(&racer.spec)?))
    }
}

/// The optimizer `spec` describes, at a constant learning rate, or why it is invalid.
fn optimizer_for(spec: &OptimizerSpec) -> Result<Optimizer, String> {
    let config = spec.resolve().map_err(|err| err.to_string())?;
    Optimizer::new(config, LrSchedule::Constant {}).map_err(|err| err.to_string())
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
        let (sender, receiver) = std::sync::mpsc::channel::<()>();
        let mut job = Job::<()>::spawn("test-job", async move {
            // Waits for the test's word, then dies without a result.
            let _ = receiver.recv();
            panic!("the work failed")
        });
        job.poll();
        assert!(job.is_running(), "nothing sent yet");
        drop(sender);
        // Generous: a panicking thread prints its backtrace first, which takes seconds in a debug
        // build on a loaded machine.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while job.is_running() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
            job.poll();
        }
        assert!(
            matches!(job.state(), JobState::Failed(reason) if reason.contains("without a result")),
            "a dead task must not spin forever"
        );
    }
}
