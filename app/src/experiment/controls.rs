//! The experiment view's left panel: presets, settings, runs and their optimizers, device, and the
//! start, pause and stop buttons.

use egui::{RichText, Ui};
use stepwise_engine::{DeviceChoice, ExperimentConfig, PRESETS, RunSpec};
use stepwise_gpu::Gpu;
use stepwise_model::Arch;
use stepwise_optim::{OptimizerKind, OptimizerSpec};

use super::ExperimentView;
use crate::hyper::optimizer_ui;
use crate::live::{Session, State};
use crate::series::{run_color, swatch};

impl ExperimentView {
    pub(super) fn controls_ui(&mut self, ui: &mut Ui, gpu: Option<&Gpu>) {
        let running = self.session.as_ref().is_some_and(Session::is_active);
        ui.heading("Experiment");
        ui.add_enabled_ui(!running, |ui| self.config_ui(ui));
        ui.separator();
        ui.horizontal(|ui| {
            if !running && ui.button("Start").clicked() {
                self.start(ui.ctx(), gpu, crate::platform::default_loader());
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

    pub(super) fn config_ui(&mut self, ui: &mut Ui) {
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
            let label = ui.label("seeds");
            ui.horizontal(|ui| {
                let mut count = self.config.seeds.len() as u64;
                let mut first = self.config.seeds.first().copied().unwrap_or(0);
                let changed = ui
                    .add(egui::DragValue::new(&mut count).range(1..=20))
                    .on_hover_text(
                        "every run is trained once per seed; the runs of a seed share their \
                         initial weights and batches",
                    )
                    .changed()
                    | ui.add(egui::DragValue::new(&mut first).prefix("from "))
                        .changed();
                if changed && let Some(seeds) = ExperimentConfig::seeds_from(first, count) {
                    self.config.seeds = seeds;
                }
            })
            .response
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
                    // Left empty, the run is named by its optimizer's label (shown greyed).
                    let mut name = run.name.clone().unwrap_or_default();
                    let edit = egui::TextEdit::singleline(&mut name)
                        .hint_text(run.spec.label())
                        .desired_width(160.0);
                    if ui.add(edit).labelled_by(label.id).changed() {
                        run.name = (!name.is_empty()).then_some(name);
                    }
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
            while self.runs.iter().any(|run| run.name() == name) {
                name = format!("{} ({n})", spec.label());
                n += 1;
            }
            self.runs.push(RunSpec {
                name: Some(name),
                spec,
            });
        }
        if let Err(reason) = self.resolved() {
            ui.label(RichText::new(reason).color(ui.visuals().error_fg_color));
        }
    }
}
