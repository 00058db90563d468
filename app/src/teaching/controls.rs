//! The teaching view's left panel: scenarios, function, start, racers and their hyperparameters,
//! steps, and the maps' and GPU check's buttons.

use egui::{RichText, Ui};
use stepwise_gpu::Gpu;
use stepwise_optim::{OptimizerKind, OptimizerSpec, TestFunction};

use super::maps::{BASIN_RESOLUTION, HYPER_GRID};
use super::scenario::Scenario;
use super::{MAX_RACERS, Racer, START_LIMIT, STEPS, TeachingView, usable_start};
use crate::hyper::{choice, optimizer_ui};
use crate::series::{run_color, swatch};

impl TeachingView {
    pub(super) fn controls_ui(&mut self, ui: &mut Ui, gpu: Option<&Gpu>) {
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
}
