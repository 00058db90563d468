//! The experiment view: a preset or an edited configuration trained live, runs side by side, with
//! loss, test accuracy and learning rate plotted on one linked step axis; or a finished results
//! folder shown the same way.
//!
//! One purpose a file: [`controls`] (the settings, runs and buttons on the left), [`plots`] (the
//! live plots and a sweep's grid), [`results`] (opening and saving results folders).

mod controls;
mod plots;
mod results;

use egui::Ui;
use serde::{Deserialize, Serialize};
use stepwise_engine::findings::{self, Note};
use stepwise_engine::{
    Compute, DeviceChoice, Event, Experiment, ExperimentConfig, RunHistory, RunSpec, RunStatus,
};
use stepwise_gpu::Gpu;

use crate::board::Board;
use crate::live::{Loader, Session, State, Update};
use plots::sweep_ui;

pub use plots::plots_ui;

/// The experiment view's state; the configuration persists between sessions.
#[derive(Serialize, Deserialize)]
#[serde(default)]
pub struct ExperimentView {
    /// Everything but the runs.
    pub config: ExperimentConfig,
    /// The runs, as edited: an invalid combination stays on screen with its reason instead of
    /// snapping back. Saved and linked as a config file writes them.
    pub runs: Vec<RunSpec>,
    /// Where to train.
    pub device: DeviceChoice,
    /// Loss smoothing weight (0 to 0.99).
    pub smoothing: f64,
    /// Whether the loss is drawn on a log10 axis.
    pub log_loss: bool,
    /// A results folder to open or save into.
    pub folder: String,
    /// A folder to write TensorBoard event files into as the runs train; empty for none (the
    /// desktop only: the browser has no folders).
    pub tensorboard: String,
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
    /// What the data of the experiment that ended shows (the report's notes).
    #[serde(skip)]
    notes: Vec<Note>,
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
            tensorboard: String::new(),
            session: None,
            board: Board::default(),
            data_note: String::new(),
            device_note: String::new(),
            ended: None,
            notes: Vec::new(),
            message: None,
            confirmed_replace: None,
        };
        view.take_runs_from_config();
        view
    }
}

impl ExperimentView {
    fn take_runs_from_config(&mut self) {
        self.runs = self
            .config
            .runs
            .iter()
            .cloned()
            .map(RunSpec::from)
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
            .map(RunSpec::resolve)
            .collect::<Result<_, _>>()
            .map_err(|err| err.to_string())?;
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
                self.clear_ended();
                self.message = None;
                self.data_note.clear();
                let gpu = gpu.filter(|_| compute == Compute::GPU).cloned();
                let tensorboard = self.tensorboard_dir();
                self.session = Some(Session::start(
                    config,
                    load,
                    (compute, gpu),
                    tensorboard,
                    ctx.clone(),
                ));
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
        self.set_ended(experiment);
    }

    /// Keeps the experiment that ended (to save its results) and what its data shows.
    fn set_ended(&mut self, experiment: Box<Experiment>) {
        let runs = experiment.run_count();
        let histories: Vec<RunHistory> = (0..runs)
            .map(|r| experiment.history(r).cloned().unwrap_or_default())
            .collect();
        let statuses: Vec<RunStatus> = (0..runs)
            .map(|r| experiment.status(r).unwrap_or(RunStatus::Training))
            .collect();
        self.notes = findings::notes(experiment.config(), &histories, &statuses);
        self.ended = Some(experiment);
    }

    /// Forgets the experiment that ended, and its notes (a new one starts, or a folder is shown).
    fn clear_ended(&mut self) {
        self.ended = None;
        self.notes.clear();
    }

    /// What the data of the last experiment that ended shows.
    pub fn notes(&self) -> &[Note] {
        &self.notes
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
                Update::Ended(experiment) => self.set_ended(experiment),
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
            if !self.notes.is_empty() {
                egui::CollapsingHeader::new("What the data shows")
                    .default_open(true)
                    .show(ui, |ui| {
                        for note in &self.notes {
                            ui.label(format!("• {}", note.text));
                        }
                    });
            }
            plots_ui(ui, &self.board, self.log_loss);
        });
        if self.session.as_ref().is_some_and(Session::is_active) {
            // Events wake the UI; this keeps the status line's clock moving between them.
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(250));
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
}
