//! The optimizer editor shared by the experiment and teaching views: the optimizer, then a slider
//! or switch per hyperparameter, each showing the reference default and a button back to it.

use std::ops::RangeInclusive;

use egui::{RichText, Ui};
use stepwise_optim::{OptimizerKind, OptimizerSpec, Slot};

/// The slider range of a hyperparameter, and whether it is logarithmic (rates and epsilons span
/// decades).
fn slider_range(name: &str) -> (RangeInclusive<f64>, bool) {
    match name {
        "lr" => (1e-5..=10.0, true),
        "final_lr" => (1e-4..=1.0, true),
        "gamma" => (1e-6..=1e-1, true),
        "eps" => (1e-12..=1e-1, true),
        "weight_decay" => (0.0..=1.0, true),
        "beta2" => (0.5..=0.99999, false),
        "dampening" => (0.0..=1.0, false),
        // beta1 and momentum
        _ => (0.0..=0.999, false),
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
        *spec = switch_optimizer(spec, kind);
        changed = true;
    }
    let mut defaults = OptimizerSpec::from(spec.optimizer.default_config());
    let default_slots = defaults.hyperparameters_mut();
    let applicable = spec.optimizer.hyperparameters();
    for ((name, slot), (_, default)) in spec.hyperparameters_mut().into_iter().zip(default_slots) {
        if !applicable.contains(&name) {
            continue;
        }
        ui.horizontal(|ui| {
            changed |= slot_ui(ui, name, slot, &default);
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
fn slot_ui(ui: &mut Ui, name: &'static str, slot: Slot<'_>, default: &Slot<'_>) -> bool {
    let mut changed = false;
    match (slot, default) {
        (Slot::Number(value), Slot::Number(Some(default))) => {
            let mut current = value.unwrap_or(*default);
            let (range, logarithmic) = slider_range(name);
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

/// The spec for `kind`, keeping the hyperparameters `kind` shares with `spec` (the learning rate,
/// betas...) and dropping the others.
pub fn switch_optimizer(spec: &OptimizerSpec, kind: OptimizerKind) -> OptimizerSpec {
    let mut switched = OptimizerSpec::new(kind);
    let mut old = spec.clone();
    for ((name, from), (_, to)) in old
        .hyperparameters_mut()
        .into_iter()
        .zip(switched.hyperparameters_mut())
    {
        if !kind.hyperparameters().contains(&name) {
            continue;
        }
        match (from, to) {
            (Slot::Number(from), Slot::Number(to)) => *to = *from,
            (Slot::Flag(from), Slot::Flag(to)) => *to = *from,
            _ => {}
        }
    }
    switched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switching_optimizer_keeps_shared_hyperparameters_only() {
        let mut sgd = OptimizerSpec::new(OptimizerKind::Sgd);
        sgd.lr = Some(0.1);
        sgd.momentum = Some(0.9);
        let adam = switch_optimizer(&sgd, OptimizerKind::Adam);
        assert_eq!(adam.optimizer, OptimizerKind::Adam);
        assert_eq!(adam.lr, Some(0.1));
        assert_eq!(adam.momentum, None, "Adam has no momentum");
        assert!(adam.resolve().is_ok());
        assert_eq!(adam.label(), "adam lr=0.1");
    }
}
