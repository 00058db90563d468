//! The app: a tab bar over the three views, the GPU they share, and the settings that persist.

use egui::RichText;
use serde::{Deserialize, Serialize};
use stepwise_gpu::Gpu;

use crate::experiment::ExperimentView;
use crate::teaching::TeachingView;

/// The three views.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
pub enum View {
    /// Runs trained side by side, live.
    #[default]
    Experiment,
    /// What each optimizer did inside.
    Internals,
    /// Optimizers on 2-D test functions.
    Teaching,
}

/// The Stepwise app.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StepwiseApp {
    /// The view on screen.
    pub view: View,
    /// The experiment view (the internals view draws the same runs).
    pub experiment: ExperimentView,
    /// The teaching view.
    pub teaching: TeachingView,
    /// The GPU shared by drawing, training and the teaching view's maps; `None` when there is none.
    #[serde(skip)]
    gpu: Option<Gpu>,
    /// What the app runs on, for the status bar.
    #[serde(skip)]
    gpu_note: String,
    /// Something the user must know about the device (no GPU), shown under the tabs.
    #[serde(skip)]
    pub notice: Option<String>,
    /// Why the last link (the page's URL) could not be read, shown under the tabs until a link
    /// is read.
    #[serde(skip)]
    pub link_notice: Option<String>,
    /// The settings as the page's URL carries them.
    #[cfg(target_arch = "wasm32")]
    #[serde(skip)]
    pub(crate) link: crate::platform::Link,
}

/// `over` laid over `base`: objects key by key, anything else replaced.
fn lay_over(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(base), serde_json::Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(slot) => lay_over(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// Whether two views have the same persisted settings.
fn same_settings<T: Serialize>(a: &T, b: &T) -> bool {
    match (serde_json::to_value(a), serde_json::to_value(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

impl StepwiseApp {
    /// The app with default settings on `gpu` (if any), showing `view`.
    pub fn new(gpu: Option<Gpu>, view: View) -> Self {
        let mut app = Self::default();
        app.set_gpu(gpu);
        app.view = view;
        app
    }

    /// The app as it was left (eframe's storage), on `gpu`.
    pub fn restored(cc: &eframe::CreationContext<'_>, gpu: Option<Gpu>) -> Self {
        let mut app: Self = cc
            .storage
            .and_then(|storage| eframe::get_value(storage, eframe::APP_KEY))
            .unwrap_or_default();
        app.teaching.sanitize();
        app.teaching.finish_animation();
        app.set_gpu(gpu);
        app
    }

    /// The settings of a link (JSON of the persisted settings) laid over this app's: what the link
    /// leaves out keeps its current value. Also returns the link's keys that are no setting (a
    /// typo in a hand-edited link), as `teaching.stepz`: they change nothing, and the user should
    /// hear so.
    ///
    /// # Errors
    /// JSON that is not settings, naming the field at fault.
    pub fn linked(&self, json: &str) -> Result<(Self, Vec<String>), serde_json::Error> {
        let link: serde_json::Value = serde_json::from_str(json)?;
        let mut settings = serde_json::to_value(self)?;
        lay_over(&mut settings, link);
        let mut ignored = Vec::new();
        let app = serde_ignored::deserialize(settings, |key| ignored.push(key.to_string()))?;
        Ok((app, ignored))
    }

    /// Takes the settings of `other` (a link's), keeping this app's GPU and notices. A view whose
    /// settings are the same as this one's is kept as it is (a live experiment goes on, maps stay).
    /// Returns what had to be corrected in the teaching view's settings (see
    /// [`TeachingView::sanitize`]).
    pub fn take_settings(&mut self, other: Self) -> Vec<String> {
        self.view = other.view;
        if !same_settings(&self.experiment, &other.experiment) {
            self.experiment = other.experiment;
        }
        let mut corrected = Vec::new();
        if !same_settings(&self.teaching, &other.teaching) {
            self.teaching = other.teaching;
            corrected = self.teaching.sanitize();
            self.teaching.finish_animation();
        }
        corrected
    }

    /// Applies the page's link when it has one to apply (at start-up, and after the user changed
    /// it); a link that cannot be read leaves the settings as they were and says why in the link
    /// notice, until one is read.
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn follow_link(&mut self) {
        let Some(json) = self.link.fragment_to_apply() else {
            return;
        };
        match self.linked(&json) {
            Ok((linked, ignored)) => {
                let mut corrected = self.take_settings(linked);
                corrected.extend(
                    ignored
                        .iter()
                        .map(|key| format!("{key} is not a setting and was ignored")),
                );
                self.link_notice = (!corrected.is_empty()).then(|| {
                    format!(
                        "The link's settings were corrected: {}.",
                        corrected.join("; ")
                    )
                });
            }
            Err(err) => {
                self.link_notice = Some(format!(
                    "The link's settings could not be read ({err}); showing the last ones."
                ));
            }
        }
    }

    fn set_gpu(&mut self, gpu: Option<Gpu>) {
        self.gpu_note = match &gpu {
            Some(gpu) => format!("GPU: {}", gpu.adapter),
            None => "no GPU adapter: training and maps run on the CPU".into(),
        };
        self.gpu = gpu;
    }

    /// The GPU the app shares, if any.
    pub const fn gpu(&self) -> Option<&Gpu> {
        self.gpu.as_ref()
    }

    /// Whether background work is under way (a live experiment, a map being computed).
    pub fn is_busy(&self) -> bool {
        self.experiment.is_busy() || self.teaching.is_busy()
    }

    /// Draws the app into `ui`.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("tabs").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Stepwise");
                ui.separator();
                for (view, name) in [
                    (View::Experiment, "Experiment"),
                    (View::Internals, "Internals"),
                    (View::Teaching, "Teaching"),
                ] {
                    ui.selectable_value(&mut self.view, view, name);
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.label(RichText::new(&self.gpu_note).weak());
                });
            });
        });
        if self.notice.is_some() || self.link_notice.is_some() {
            egui::Panel::top("notice").show(ui, |ui| {
                for notice in self.notice.iter().chain(&self.link_notice) {
                    ui.label(RichText::new(notice).color(ui.visuals().warn_fg_color));
                }
            });
        }
        let gpu = self.gpu.as_ref();
        egui::CentralPanel::default().show(ui, |ui| match self.view {
            View::Experiment => self.experiment.ui(ui, gpu),
            View::Internals => {
                self.experiment.poll();
                crate::internals::ui(ui, self.experiment.board());
            }
            View::Teaching => self.teaching.ui(ui, gpu),
        });
    }
}

impl eframe::App for StepwiseApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        #[cfg(target_arch = "wasm32")]
        self.follow_link();
        self.show(ui);
        #[cfg(target_arch = "wasm32")]
        if let Ok(json) = serde_json::to_string(&*self) {
            self.link.write(json);
        }
    }

    /// Lets the page's handle reach the app (`WebRunner::app_mut`).
    #[cfg(target_arch = "wasm32")]
    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, self);
    }
}

/// burn's wgpu handles shared: a [`Gpu`] for the fused kernels on burn's own device and queue, and
/// the setup that makes eframe draw with them too (one device for drawing, training and maps).
pub fn share_device(setup: burn::tensor::wgpu::WgpuSetup) -> (Gpu, eframe::egui_wgpu::WgpuSetup) {
    let gpu = Gpu::adopt(&setup.adapter, setup.device.clone(), setup.queue.clone());
    let existing = eframe::egui_wgpu::WgpuSetupExisting {
        instance: setup.instance,
        adapter: setup.adapter,
        device: setup.device,
        queue: setup.queue,
    };
    (gpu, eframe::egui_wgpu::WgpuSetup::Existing(existing))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link that names only some settings leaves the others as they are, and a view whose
    /// settings it does not change keeps its live state; keys that are no setting are named.
    #[test]
    fn a_partial_link_changes_only_what_it_names() {
        let mut app = StepwiseApp::default();
        app.teaching.steps = 77;
        app.teaching.start_basin(None);
        let (linked, ignored) = app.linked(r#"{"view": "Teaching"}"#).expect("a valid link");
        assert_eq!(ignored, Vec::<String>::new());
        assert_eq!(app.take_settings(linked), Vec::<String>::new());
        assert_eq!(app.view, View::Teaching);
        assert_eq!(app.teaching.steps, 77, "not named by the link: kept");
        assert!(app.teaching.is_busy(), "the basin map went on");

        let (linked, ignored) = app
            .linked(r#"{"teaching": {"steps": 5000000, "stepz": 3}, "veiw": "Experiment"}"#)
            .expect("a valid link");
        assert_eq!(ignored, ["teaching.stepz", "veiw"]);
        assert_eq!(app.take_settings(linked), ["steps 5000000 → 2000"]);
        assert_eq!(app.teaching.steps, 2000);
        assert_eq!(app.view, View::Teaching, "not named by this link: kept");

        let err = app
            .linked(r#"{"teaching": {"steps": "many"}}"#)
            .err()
            .expect("not a number");
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    /// eframe's storage, in memory.
    #[derive(Default)]
    struct Memory(std::collections::HashMap<String, String>);

    impl eframe::Storage for Memory {
        fn get_string(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
        fn set_string(&mut self, key: &str, value: String) {
            self.0.insert(key.into(), value);
        }
        fn remove_string(&mut self, key: &str) {
            self.0.remove(key);
        }
        fn flush(&mut self) {}
    }

    /// The settings come back as they were saved, through eframe's own format (RON), runs and
    /// schedule included.
    #[test]
    fn settings_survive_eframe_storage() {
        let mut app = StepwiseApp {
            view: View::Teaching,
            ..StepwiseApp::default()
        };
        app.teaching.steps = 123;
        app.experiment.config.schedule = stepwise_optim::LrSchedule::Warmup {
            warmup_steps: 10,
            start_factor: 0.5,
            then: Box::new(stepwise_optim::LrSchedule::Constant {}),
        };
        let mut storage = Memory::default();
        eframe::set_value(&mut storage, eframe::APP_KEY, &app);
        let restored: StepwiseApp =
            eframe::get_value(&storage, eframe::APP_KEY).expect("settings read back");
        assert_eq!(
            serde_json::to_value(&restored).expect("json"),
            serde_json::to_value(&app).expect("json")
        );
        assert!(!restored.experiment.config.runs.is_empty());
    }
}
