//! The experiment view: a preset or an edited configuration trained live, runs side by side, with
//! loss, test accuracy and learning rate plotted on one linked step axis; or a finished results
//! folder shown the same way.

use egui::{Color32, RichText, Ui};
use egui_plot::{
    ColorConflictHandling, Legend, Line, LineStyle, MarkerShape, Plot, PlotPoint, PlotPoints,
    Points, VLine,
};
use serde::{Deserialize, Serialize};
use stepwise_engine::output::Sweep;
use stepwise_engine::{
    Compute, DeviceChoice, Event, Experiment, ExperimentConfig, PRESETS, RunConfig,
};
use stepwise_gpu::Gpu;
use stepwise_model::Arch;
use stepwise_optim::{OptimizerKind, OptimizerSpec};

use crate::board::{Board, Quantity};
use crate::hyper::optimizer_ui;
use crate::live::{Loader, Session, State, Update};
use crate::series::{run_color, swatch};

/// A run as edited: its name and optimizer spec (kept as typed, so an invalid combination stays on
/// screen with its reason instead of snapping back).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EditedRun {
    /// The run's name.
    pub name: String,
    /// The optimizer.
    pub spec: OptimizerSpec,
}

/// The experiment view's state; the configuration persists between sessions.
#[derive(Serialize, Deserialize)]
#[serde(default)]
pub struct ExperimentView {
    /// Everything but the runs.
    pub config: ExperimentConfig,
    /// The runs.
    pub runs: Vec<EditedRun>,
    /// Where to train.
    pub device: DeviceChoice,
    /// Loss smoothing weight (0 to 0.99).
    pub smoothing: f64,
    /// Whether the loss is drawn on a log10 axis.
    pub log_loss: bool,
    /// A results folder to open or save into.
    pub folder: String,
    #[serde(skip)]
    session: Option<Session>,
    #[serde(skip)]
    board: Board,
    #[serde(skip)]
    data_note: String,
    /// Where the session trains, and why.
    #[serde(skip)]
    device_note: String,
    /// The last experiment that ended, kept to save its results.
    #[serde(skip)]
    ended: Option<Box<Experiment>>,
    /// A message for the user (an error, or where results went).
    #[serde(skip)]
    message: Option<(bool, String)>,
    /// A folder whose result files the user was warned of: saving there again replaces them.
    #[serde(skip)]
    confirmed_replace: Option<std::path::PathBuf>,
}

impl Default for ExperimentView {
    fn default() -> Self {
        let mut view = Self {
            config: ExperimentConfig::starting_point(),
            runs: Vec::new(),
            device: DeviceChoice::Auto,
            smoothing: 0.6,
            log_loss: false,
            folder: String::new(),
            session: None,
            board: Board::default(),
            data_note: String::new(),
            device_note: String::new(),
            ended: None,
            message: None,
            confirmed_replace: None,
        };
        view.take_runs_from_config();
        view
    }
}

/// Why the results were not saved.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, PartialEq)]
enum SaveRefused {
    /// The folder holds result files that saving would replace (the user may confirm).
    Replaces(Vec<&'static str>),
    /// It cannot be saved there.
    Failed(String),
}

/// Writes `experiment`'s result files into `dir`. Files already there are replaced only when
/// `confirmed`; a folder holding a `stepwise compare` experiment (its checkpoint) is refused, as
/// its results would no longer match the checkpoint `--resume` continues from.
#[cfg(not(target_arch = "wasm32"))]
fn save_into(
    dir: &std::path::Path,
    experiment: &Experiment,
    confirmed: bool,
) -> Result<(), SaveRefused> {
    use stepwise_engine::{checkpoint, output};
    if dir.as_os_str().is_empty() {
        return Err(SaveRefused::Failed(
            "name a results folder to save into".into(),
        ));
    }
    let existing =
        output::files_replaced(dir, &[]).map_err(|err| SaveRefused::Failed(err.to_string()))?;
    if existing.contains(&checkpoint::FILE_NAME) {
        return Err(SaveRefused::Failed(format!(
            "{} holds a `stepwise compare` experiment ({}): choose another folder",
            dir.display(),
            checkpoint::FILE_NAME
        )));
    }
    if !existing.is_empty() && !confirmed {
        return Err(SaveRefused::Replaces(existing));
    }
    std::fs::create_dir_all(dir)
        .map_err(|err| SaveRefused::Failed(format!("{}: {err}", dir.display())))?;
    output::write(dir, experiment)
        .map(drop)
        .map_err(|err| SaveRefused::Failed(err.to_string()))
}

impl ExperimentView {
    fn take_runs_from_config(&mut self) {
        self.runs = self
            .config
            .runs
            .iter()
            .map(|run| EditedRun {
                name: run.name.clone(),
                spec: run.optimizer.into(),
            })
            .collect();
    }

    /// The configuration to train: the edited runs resolved into the settings.
    ///
    /// # Errors
    /// An invalid run (named) or setting.
    pub fn resolved(&self) -> Result<ExperimentConfig, String> {
        let mut config = self.config.clone();
        config.runs = self
            .runs
            .iter()
            .map(|run| {
                let optimizer = run
                    .spec
                    .resolve()
                    .map_err(|err| format!("run '{}': {err}", run.name))?;
                Ok(RunConfig {
                    name: run.name.clone(),
                    optimizer,
                })
            })
            .collect::<Result<_, String>>()?;
        config.validate().map_err(|err| err.to_string())?;
        Ok(config)
    }

    /// What the plots show.
    pub const fn board(&self) -> &Board {
        &self.board
    }

    /// The live session, if one was started.
    pub const fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// Whether a live experiment is under way.
    pub fn is_busy(&self) -> bool {
        self.session.as_ref().is_some_and(Session::is_active)
    }

    /// The message for the user, if any (an error, or where results went).
    pub fn message(&self) -> Option<&str> {
        self.message.as_ref().map(|(_, text)| text.as_str())
    }

    /// Starts training the edited configuration in the background.
    pub fn start(&mut self, ctx: &egui::Context, gpu: Option<&Gpu>, load: Loader) {
        let started = self.resolved().and_then(|config| {
            let chosen = self
                .device
                .resolve(gpu.map(|gpu| &gpu.adapter))
                .map_err(|err| err.to_string())?;
            Ok((config, chosen))
        });
        match started {
            Ok((config, (compute, reason))) => {
                self.device_note = reason.to_string();
                self.board = Board::for_config(&config, 0, self.smoothing);
                self.ended = None;
                self.message = None;
                self.data_note.clear();
                let gpu = gpu.filter(|_| compute == Compute::Gpu).cloned();
                self.session = Some(Session::start(config, load, compute, gpu, ctx.clone()));
            }
            Err(reason) => self.message = Some((true, reason)),
        }
    }

    /// Shows a finished experiment (the demo behind the screenshots).
    pub fn show_finished(&mut self, experiment: Box<Experiment>, events: &[Event]) {
        self.config = experiment.config().clone();
        self.take_runs_from_config();
        self.board = Board::for_config(
            experiment.config(),
            experiment.batches_per_epoch(),
            self.smoothing,
        );
        for event in events {
            self.board.apply(event);
        }
        self.ended = Some(experiment);
    }

    /// Takes in what the background work reported.
    pub fn poll(&mut self) {
        let Some(session) = &mut self.session else {
            return;
        };
        for update in session.poll() {
            match update {
                Update::Started {
                    batches_per_epoch,
                    data,
                } => {
                    self.board.batches_per_epoch = batches_per_epoch;
                    self.data_note = data;
                }
                Update::Events(events) => {
                    for event in &events {
                        self.board.apply(event);
                    }
                }
                Update::Failed(reason) => self.message = Some((true, reason)),
                Update::Ended(experiment) => self.ended = Some(experiment),
            }
        }
    }

    /// Draws the view: configuration and controls on the left, the plots in the middle.
    pub fn ui(&mut self, ui: &mut Ui, gpu: Option<&Gpu>) {
        self.poll();
        egui::Panel::left("experiment controls")
            .resizable(true)
            .default_size(340.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.controls_ui(ui, gpu));
            });
        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                let mut smoothing = self.smoothing;
                ui.add(egui::Slider::new(&mut smoothing, 0.0..=0.99).text("loss smoothing"));
                ui.checkbox(&mut self.log_loss, "log scale");
                self.smoothing = smoothing;
                self.board.set_smoothing(smoothing);
            });
            if let Some(sweep) = &self.board.sweep {
                sweep_ui(ui, sweep, &self.board);
            }
            plots_ui(ui, &self.board, self.log_loss);
        });
        if self.session.as_ref().is_some_and(Session::is_active) {
            // Events wake the UI; this keeps the status line's clock moving between them.
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(250));
        }
    }

    fn controls_ui(&mut self, ui: &mut Ui, gpu: Option<&Gpu>) {
        let running = self.session.as_ref().is_some_and(Session::is_active);
        ui.heading("Experiment");
        ui.add_enabled_ui(!running, |ui| self.config_ui(ui));
        ui.separator();
        ui.horizontal(|ui| {
            if !running && ui.button("Start").clicked() {
                self.start(ui.ctx(), gpu, default_loader());
            }
            if let Some(session) = &mut self.session {
                // Pause while running, resume while paused.
                match session.state() {
                    State::Running if ui.button("Pause").clicked() => session.pause(),
                    State::Paused if ui.button("Resume").clicked() => session.resume(),
                    _ => {}
                }
                if session.is_active() && ui.button("Stop").clicked() {
                    session.stop();
                }
            }
        });
        ui.label(self.status_line());
        if let Some((is_error, message)) = &self.message {
            let color = if *is_error {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().text_color()
            };
            ui.label(RichText::new(message).color(color));
        }
        ui.separator();
        self.folder_ui(ui, running);
    }

    fn config_ui(&mut self, ui: &mut Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.label("preset");
            for (name, _) in PRESETS {
                if ui
                    .button(name)
                    .on_hover_text("load this preset (quick scale)")
                    .clicked()
                {
                    match ExperimentConfig::preset(name, true).map_err(|err| err.to_string()) {
                        Ok(config) => {
                            self.config = config;
                            self.take_runs_from_config();
                        }
                        Err(reason) => self.message = Some((true, reason)),
                    }
                }
            }
        });
        if !self.config.description.is_empty() {
            ui.label(RichText::new(&self.config.description).weak());
        }
        egui::Grid::new("settings").num_columns(2).show(ui, |ui| {
            let label = ui.label("model");
            egui::ComboBox::from_id_salt("model")
                .selected_text(self.config.model.name())
                .show_ui(ui, |ui| {
                    for arch in Arch::ALL {
                        ui.selectable_value(&mut self.config.model, arch, arch.name());
                    }
                })
                .response
                .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("epochs");
            ui.add(egui::DragValue::new(&mut self.config.epochs).range(1..=500))
                .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("batch size");
            ui.add(egui::DragValue::new(&mut self.config.batch_size).range(1..=1024))
                .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("seed");
            ui.add(egui::DragValue::new(&mut self.config.seed))
                .labelled_by(label.id);
            ui.end_row();
            for (name, value) in [
                ("train images", &mut self.config.train_images),
                ("test images", &mut self.config.test_images),
            ] {
                let label = ui.label(name);
                ui.horizontal(|ui| {
                    let mut all = value.is_none();
                    if ui.checkbox(&mut all, "all").changed() {
                        *value = if all { None } else { Some(1000) };
                    }
                    if let Some(count) = value {
                        ui.add(egui::DragValue::new(count).range(1..=60_000))
                            .labelled_by(label.id);
                    }
                });
                ui.end_row();
            }
            ui.label("device");
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.device, DeviceChoice::Auto, "auto");
                ui.selectable_value(&mut self.device, DeviceChoice::Cpu, "CPU");
                ui.selectable_value(&mut self.device, DeviceChoice::Gpu, "GPU");
            });
            ui.end_row();
        });
        ui.label(RichText::new("Runs").strong());
        let mut remove = None;
        for (index, run) in self.runs.iter_mut().enumerate() {
            ui.push_id(index, |ui| {
                ui.horizontal(|ui| {
                    swatch(ui, run_color(index));
                    let label = ui.label("name");
                    ui.add(egui::TextEdit::singleline(&mut run.name).desired_width(160.0))
                        .labelled_by(label.id);
                    if ui
                        .small_button("remove")
                        .on_hover_text("remove this run")
                        .clicked()
                    {
                        remove = Some(index);
                    }
                });
                egui::CollapsingHeader::new(run.spec.label())
                    .id_salt("hyperparameters")
                    .show(ui, |ui| {
                        optimizer_ui(ui, &mut run.spec);
                    });
            });
        }
        if let Some(index) = remove {
            self.runs.remove(index);
        }
        if ui.button("Add run").clicked() {
            let spec = OptimizerSpec::new(OptimizerKind::Adam);
            let mut name = spec.label();
            let mut n = 2;
            while self.runs.iter().any(|run| run.name == name) {
                name = format!("{} ({n})", spec.label());
                n += 1;
            }
            self.runs.push(EditedRun { name, spec });
        }
        if let Err(reason) = self.resolved() {
            ui.label(RichText::new(reason).color(ui.visuals().error_fg_color));
        }
    }

    /// The files of the last experiment that ended, as `stepwise compare` writes them
    /// (`config.toml`, `metrics.csv`, `results.json`); `None` when none has ended.
    pub fn result_files(&self) -> Option<Result<stepwise_engine::output::Files, String>> {
        let experiment = self.ended.as_ref()?;
        Some(
            stepwise_engine::output::files(experiment)
                .map(|(_, files)| files)
                .map_err(|(file, reason)| format!("{file}: {reason}")),
        )
    }

    /// How training stands, in words: state, step, epoch and the data used.
    pub fn status_line(&self) -> String {
        let steps = self.board.steps();
        let epochs = self
            .board
            .runs
            .iter()
            .map(|run| run.history.epochs.len())
            .min()
            .unwrap_or(0);
        let state = match self.session.as_ref().map(Session::state) {
            None if self.ended.is_some() => "finished".to_owned(),
            None => "not started".to_owned(),
            Some(State::Starting) => "loading data and building models…".to_owned(),
            Some(State::Running) => "training".to_owned(),
            Some(State::Paused) => "paused".to_owned(),
            Some(State::Stopping) => "stopping after this step…".to_owned(),
            Some(State::Ended) => "ended".to_owned(),
            Some(State::Failed(_)) => "failed".to_owned(),
        };
        let mut status = format!(
            "{state} · step {steps} · epoch {epochs} of {}",
            self.config.epochs
        );
        for note in [&self.data_note, &self.device_note] {
            if !note.is_empty() {
                status.push_str(&format!(" · {note}"));
            }
        }
        status
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn folder_ui(&mut self, ui: &mut Ui, running: bool) {
        use stepwise_engine::output;
        let label = ui.label(RichText::new("Results folder").strong());
        ui.add(egui::TextEdit::singleline(&mut self.folder).hint_text("path/to/results"))
            .labelled_by(label.id);
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!running, egui::Button::new("open"))
                .on_hover_text("show a folder written by `stepwise compare` or saved here")
                .clicked()
            {
                match output::read(std::path::Path::new(&self.folder)) {
                    Ok(recorded) => {
                        self.board = Board::recorded(&recorded, self.smoothing);
                        self.session = None;
                        self.ended = None;
                        self.message = Some((
                            false,
                            format!(
                                "showing {} ({} runs, {} epochs)",
                                self.folder,
                                recorded.results.runs.len(),
                                recorded.results.epochs_completed
                            ),
                        ));
                    }
                    Err(err) => self.message = Some((true, err.to_string())),
                }
            }
            let saveable = self.ended.is_some() && !running;
            if ui
                .add_enabled(saveable, egui::Button::new("save results"))
                .on_hover_text(
                    "write config.toml, metrics.csv and results.json of the last experiment",
                )
                .clicked()
                && let Some(experiment) = &self.ended
            {
                let dir = std::path::PathBuf::from(self.folder.trim());
                let confirmed = self.confirmed_replace.take().as_ref() == Some(&dir);
                self.message = Some(match save_into(&dir, experiment, confirmed) {
                    Ok(()) => (false, format!("results written to {}", dir.display())),
                    Err(SaveRefused::Replaces(files)) => {
                        self.confirmed_replace = Some(dir.clone());
                        let message = format!(
                            "{} already holds {}: press \"save results\" again to replace them",
                            dir.display(),
                            files.join(", ")
                        );
                        (true, message)
                    }
                    Err(SaveRefused::Failed(reason)) => (true, reason),
                });
            }
        });
    }

    /// The browser has no folders: the last experiment's files are offered as downloads.
    #[cfg(target_arch = "wasm32")]
    fn folder_ui(&mut self, ui: &mut Ui, running: bool) {
        use stepwise_engine::output;
        ui.label(RichText::new("Results").strong());
        let saveable = self.ended.is_some() && !running;
        ui.horizontal_wrapped(|ui| {
            for name in output::RESULT_FILES {
                let button = ui
                    .add_enabled(saveable, egui::Button::new(format!("⬇ {name}")))
                    .on_hover_text("download it from the last experiment that ended")
                    .on_disabled_hover_text("once an experiment has ended");
                // Made on the click, not every frame: metrics.csv holds every step.
                if button.clicked()
                    && let Some(files) = self.result_files()
                {
                    let saved = files.and_then(|files| {
                        let (_, bytes) = files
                            .iter()
                            .find(|(file, _)| *file == name)
                            .ok_or_else(|| format!("{name} was not made"))?;
                        crate::web::download(name, bytes)
                    });
                    if let Err(reason) = saved {
                        self.message = Some((true, reason));
                    }
                }
            }
        });
    }
}

/// Loads CIFAR-10 from the data folder `stepwise data` installs into (on Linux
/// `~/.cache/stepwise/cifar10`), or the shipped sample when it is not installed.
#[cfg(not(target_arch = "wasm32"))]
pub fn default_loader() -> Loader {
    loader(stepwise_data::default_dir().ok())
}

/// Loads the shipped sample, which the browser fetches from beside the page (it has no data folder).
#[cfg(target_arch = "wasm32")]
pub fn default_loader() -> Loader {
    Box::new(|| Box::pin(crate::web::fetch_sample()))
}

/// Loads CIFAR-10 from `folder` if it is installed there, else the shipped sample.
#[cfg(not(target_arch = "wasm32"))]
pub fn loader(folder: Option<std::path::PathBuf>) -> Loader {
    Box::new(move || {
        let folder = folder.unwrap_or_else(|| std::path::PathBuf::from("(no data folder)"));
        let loaded = stepwise_data::load_or_sample(&folder).map_err(|err| err.to_string());
        Box::pin(std::future::ready(loaded))
    })
}

/// A sweep's grid (as `report.md` has it): each run's best test accuracy so far, or where it
/// diverged, by optimizer and the swept hyperparameter's value.
fn sweep_ui(ui: &mut Ui, sweep: &Sweep, board: &Board) {
    let name = &sweep.hyperparameter;
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
                        let run = cell.and_then(|r| board.runs.get(r).map(|run| (r, run)));
                        match run {
                            None => ui.label("–"),
                            Some((r, run)) => {
                                let diverged = run.diverged().map(|(step, _)| step);
                                let best = run.history.best_epoch().map(|e| e.test_accuracy);
                                let text =
                                    Sweep::cell(best, diverged).unwrap_or_else(|| "…".into());
                                ui.colored_label(run_color(r), text)
                            }
                        };
                    }
                    ui.end_row();
                }
            });
        });
}

/// Loss values to draw: borrowed as they are, or as log10 (copied) for a log axis.
fn loss_points(points: &[PlotPoint], log: bool) -> PlotPoints<'_> {
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
/// `log_loss`.
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
        for (index, run) in board.runs.iter().enumerate() {
            let color = run_color(index);
            if board.smoothing() > 0.0 {
                plot.line(
                    Line::new(
                        run.name.clone(),
                        loss_points(run.series(Quantity::RawLoss).points(), log_loss),
                    )
                    .color(color.gamma_multiply(0.3)),
                );
            }
            plot.line(
                Line::new(
                    run.name.clone(),
                    loss_points(run.series(Quantity::Loss).points(), log_loss),
                )
                .color(color),
            );
            if let Some((step, loss)) = run.diverged() {
                plot.add(
                    VLine::new(
                        format!("{} diverged at step {step} (loss {loss})", run.name),
                        step as f64,
                    )
                    .color(color)
                    .style(LineStyle::dashed_loose()),
                );
                // The last finite loss: where it left the finite range (or the threshold).
                if let Some(last) = run.series(Quantity::RawLoss).last() {
                    let y = if log_loss { last.y.log10() } else { last.y };
                    plot.add(
                        Points::new(run.name.clone(), vec![[last.x, y]])
                            .shape(MarkerShape::Cross)
                            .radius(8.0)
                            .color(color),
                    );
                }
            }
        }
    });
    plot("accuracy", "test accuracy %").show(ui, |plot| {
        for (index, run) in board.runs.iter().enumerate() {
            let points: Vec<[f64; 2]> = run
                .history
                .epochs
                .iter()
                .map(|epoch| {
                    [
                        board.epoch_step(epoch),
                        f64::from(epoch.test_accuracy) * 100.0,
                    ]
                })
                .collect();
            plot.line(
                Line::new(run.name.clone(), PlotPoints::from(points.clone()))
                    .color(run_color(index)),
            );
            plot.add(
                Points::new(run.name.clone(), points)
                    .radius(3.0)
                    .color(run_color(index)),
            );
        }
    });
    plot("lr", "learning rate").show(ui, |plot| {
        for (index, run) in board.runs.iter().enumerate() {
            plot.line(
                Line::new(run.name.clone(), run.series(Quantity::Lr).points())
                    .color(run_color(index)),
            );
        }
    });
    if board.runs.is_empty() {
        ui.label(
            RichText::new("Start an experiment or open a results folder.").color(Color32::GRAY),
        );
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use stepwise_engine::{checkpoint, output};

    use super::*;

    /// Saving results never silently replaces another experiment's.
    #[test]
    fn saving_asks_before_replacing_and_refuses_a_compare_folder() {
        let data = stepwise_data::load_or_sample(std::path::Path::new("/nonexistent/stepwise"))
            .expect("sample");
        let experiment =
            Experiment::new(ExperimentConfig::starting_point(), data, Compute::Cpu).expect("new");
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("saved");

        assert_eq!(save_into(&folder, &experiment, false), Ok(()));
        let written = std::fs::read_to_string(folder.join(output::RESULTS_FILE)).expect("read");
        std::fs::write(folder.join(output::RESULTS_FILE), "another experiment's").expect("write");
        assert_eq!(
            save_into(&folder, &experiment, false),
            Err(SaveRefused::Replaces(output::RESULT_FILES.to_vec()))
        );
        let kept = std::fs::read_to_string(folder.join(output::RESULTS_FILE)).expect("read");
        assert_eq!(
            kept, "another experiment's",
            "nothing replaced before the user confirms"
        );
        assert_eq!(save_into(&folder, &experiment, true), Ok(()));
        let replaced = std::fs::read_to_string(folder.join(output::RESULTS_FILE)).expect("read");
        assert_eq!(replaced, written);

        std::fs::write(folder.join(checkpoint::FILE_NAME), "a compare run").expect("write");
        let Err(SaveRefused::Failed(reason)) = save_into(&folder, &experiment, true) else {
            panic!("saved over a `stepwise compare` experiment");
        };
        assert!(reason.ends_with("holds a `stepwise compare` experiment (checkpoint.safetensors): choose another folder"), "{reason}");
        assert!(matches!(
            save_into(std::path::Path::new(""), &experiment, true),
            Err(SaveRefused::Failed(_))
        ));
    }
}
