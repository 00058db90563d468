//! The optimizer editor shared by the experiment and teaching views: the optimizer, then a slider
//! or switch per hyperparameter, each showing the reference default and a button back to it.

use std::ops::RangeInclusive;

use egui::{RichText, Ui};
use stepwise_optim::{Hyperparameter, OptimizerKind, OptimizerSpec, Slot};

/// The slider range of a hyperparameter, and whether it is logarithmic (rates and epsilons span
/// decades).
fn slider_range(hyperparameter: Hyperparameter) -> (RangeInclusive<f64>, bool) {
    use Hyperparameter as H;
    match hyperparameter {
        H::Lr => (1e-5..=10.0, true),
        H::FinalLr => (1e-4..=1.0, true),
        H::Gamma => (1e-6..=1e-1, true),
        H::Eps => (1e-12..=1e-1, true),
        H::WeightDecay => (0.0..=1.0, true),
        H::Beta2 => (0.5..=0.99999, false),
        H::Dampening => (0.0..=1.0, false),
        H::Beta1 | H::Momentum => (0.0..=0.999, false),
        // Switches: a checkbox, never a slider.
        H::Nesterov | H::Amsgrad | H::DecoupledWeightDecay => (0.0..=1.0, false),
    }
}

/// Shows `spec`'s optimizer and hyperparameters for editing; returns whether anything changed.
/// Under them, the reason the combination is invalid, if it is.
pub fn optimizer_ui(ui: &mut Ui, spec: &mut OptimizerSpec) -> bool {
    let mut changed = false;
    let mut kind = spec.optimizer;
    if choice(
        ui,
        "optimizer",
        &mut kind,
        &OptimizerKind::ALL,
        OptimizerKind::name,
    ) {
        *spec = spec.switched_to(kind);
        changed = true;
    }
    let mut defaults = OptimizerSpec::from(spec.optimizer.default_config());
    let default_slots = defaults.hyperparameters_mut();
    let applicable = spec.optimizer.hyperparameters();
    for ((hyperparameter, slot), (_, default)) in
        spec.hyperparameters_mut().into_iter().zip(default_slots)
    {
        if !applicable.contains(&hyperparameter) {
            continue;
        }
        ui.horizontal(|ui| {
            changed |= slot_ui(ui, hyperparameter, slot, &default);
        });
    }
    if let Err(err) = spec.resolve() {
        ui.label(RichText::new(err.to_string()).color(ui.visuals().error_fg_color));
    }
    changed
}

/// A labelled drop-down of `options`, shown by `name`; returns whether the choice changed.
pub fn choice<T: Copy + PartialEq>(
    ui: &mut Ui,
    label: &str,
    value: &mut T,
    options: &[T],
    name: fn(T) -> &'static str,
) -> bool {
    let before = *value;
    egui::ComboBox::from_label(label)
        .selected_text(name(*value))
        .show_ui(ui, |ui| {
            for &option in options {
                ui.selectable_value(value, option, name(option));
            }
        });
    *value != before
}

/// A slider or checkbox for one hyperparameter, then its default and a reset button.
fn slot_ui(
    ui: &mut Ui,
    hyperparameter: Hyperparameter,
    slot: Slot<'_>,
    default: &Slot<'_>,
) -> bool {
    let name = hyperparameter.name();
    let mut changed = false;
    match (slot, default) {
        (Slot::Number(value), Slot::Number(Some(default))) => {
            let mut current = value.unwrap_or(*default);
            let (range, logarithmic) = slider_range(hyperparameter);
            let slider = egui::Slider::new(&mut current, range)
                .logarithmic(logarithmic)
                .smallest_positive(1e-12)
                .clamping(egui::SliderClamping::Never)
                .text(name);
            if ui.add(slider).changed() {
                *value = Some(current);
                changed = true;
            }
            if value.is_some_and(|v| v != *default) && reset_button(ui, &format!("{default}")) {
                *value = None;
                changed = true;
            }
        }
        (Slot::Flag(value), Slot::Flag(Some(default))) => {
            let mut current = value.unwrap_or(*default);
            if ui.checkbox(&mut current, name).changed() {
                *value = Some(current);
                changed = true;
            }
            if value.is_some_and(|v| v != *default) && reset_button(ui, &format!("{default}")) {
                *value = None;
                changed = true;
            }
        }
        _ => {}
    }
    changed
}

/// A small button that puts a hyperparameter back to its default, which it names.
fn reset_button(ui: &mut Ui, default: &str) -> bool {
    ui.small_button("default")
        .on_hover_text(format!("back to the reference default, {default}"))
        .clicked()
}
