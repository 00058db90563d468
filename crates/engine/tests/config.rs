//! Presets, config files and flags: precedence, the resolved configuration, and errors.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use stepwise_engine::{ConfigError, ExperimentConfig, Layers, PRESETS};
use stepwise_model::Arch;
use stepwise_optim::{OptimizerConfig, OptimizerKind};

fn preset(name: &str, quick: bool) -> Layers {
    Layers {
        preset: Some(name.into()),
        quick,
        ..Layers::default()
    }
}

fn flags(text: &str) -> toml::Table {
    text.parse().expect("flags as TOML")
}

#[test]
fn every_preset_resolves_at_both_scales() {
    for (name, _) in PRESETS {
        for quick in [false, true] {
            let config = preset(name, quick)
                .resolve()
                .unwrap_or_else(|err| panic!("{name} (quick {quick}): {err}"));
            assert_eq!(config.preset.as_deref(), Some(name));
            assert_eq!(config.quick, quick);
            assert!(config.runs.len() >= 2, "{name}: a comparison");
            let expected = if quick { Arch::ResNet8 } else { Arch::ResNet50 };
            assert_eq!(config.model, expected, "{name}");
        }
    }
}

#[test]
fn the_first_preset_is_the_studys_experiment() {
    let config = preset("seed-optimizers", false).resolve().expect("valid");
    assert_eq!((config.epochs, config.batch_size), (50, 32));
    assert!(!config.augment);
    assert_eq!(config.train_images, None);
    let runs: Vec<(&str, OptimizerKind, f64)> = config
        .runs
        .iter()
        .map(|r| (r.name.as_str(), r.optimizer.kind(), r.optimizer.lr()))
        .collect();
    assert_eq!(
        runs,
        [
            ("SGD", OptimizerKind::Sgd, 0.01),
            ("Adam", OptimizerKind::Adam, 0.001),
            ("AdamW", OptimizerKind::AdamW, 0.001),
            ("AdaBound", OptimizerKind::AdaBound, 0.001),
            ("RAdam", OptimizerKind::RAdam, 0.001),
        ]
    );
    match config.runs[0].optimizer {
        OptimizerConfig::Sgd(sgd) => assert_eq!(sgd.momentum, 0.9),
        other => panic!("SGD expected, got {other:?}"),
    }
    match config.runs[2].optimizer {
        OptimizerConfig::AdamW(adamw) => assert_eq!(adamw.weight_decay, 1e-5),
        other => panic!("AdamW expected, got {other:?}"),
    }
}

#[test]
fn config_file_overrides_preset_and_flags_override_both() {
    let file = "epochs = 7\nbatch_size = 16\nseed = 3\n";
    let layers = Layers {
        preset: Some("seed-optimizers".into()),
        quick: true,
        file: Some(("mine.toml".into(), file.into())),
        flags: flags("epochs = 2"),
    };
    let config = layers.resolve().expect("valid");
    assert_eq!(config.epochs, 2, "flag beats file");
    assert_eq!(config.batch_size, 16, "file beats preset");
    assert_eq!(config.seed, 3);
    assert_eq!(config.model, Arch::ResNet8, "quick scale kept");
    assert_eq!(config.train_images, Some(2000));
}

#[test]
fn runs_from_a_file_replace_the_presets_and_are_named_by_what_they_set() {
    let file = r#"
[[runs]]
optimizer = "adam"
lr = 0.01
weight_decay = 1e-4

[[runs]]
optimizer = "radam"
"#;
    let layers = Layers {
        preset: Some("seed-optimizers".into()),
        file: Some(("runs.toml".into(), file.into())),
        ..Layers::default()
    };
    let config = layers.resolve().expect("valid");
    let names: Vec<&str> = config.runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["adam lr=0.01 weight_decay=0.0001", "radam"]);
}

#[test]
fn the_resolved_configuration_reads_back_as_a_config_file() {
    let config = preset("seed-weight-decay", true).resolve().expect("valid");
    let text = config.to_toml().expect("TOML");
    assert!(
        text.contains("beta2 = 0.999"),
        "defaults written out:\n{text}"
    );
    let again = Layers {
        file: Some(("config.toml".into(), text)),
        ..Layers::default()
    }
    .resolve()
    .expect("reads back");
    assert_eq!(again, config);
}

fn error_of(layers: Layers) -> ConfigError {
    match layers.resolve() {
        Ok(config) => panic!("accepted: {config:?}"),
        Err(err) => err,
    }
}

#[test]
fn bad_configurations_are_named() {
    let err = error_of(preset("seed-optimisers", false));
    assert!(matches!(err, ConfigError::UnknownPreset { .. }));
    assert_eq!(
        err.to_string(),
        "unknown preset 'seed-optimisers' (presets: seed-optimizers, seed-lr-sensitivity, seed-weight-decay)"
    );

    let with_file = |text: &str| Layers {
        preset: Some("seed-optimizers".into()),
        file: Some(("bad.toml".into(), text.into())),
        ..Layers::default()
    };
    let err = error_of(with_file("epochs = [oops"));
    assert!(matches!(err, ConfigError::Toml { .. }), "{err:?}");
    assert!(err.to_string().starts_with("bad.toml: "), "{err}");
    assert!(err.to_string().contains("line 1"), "{err}");

    let err = error_of(with_file("epoch = 3"));
    assert!(err.to_string().contains("unknown field `epoch`"), "{err}");

    let err = error_of(with_file(
        "[[runs]]\nname = \"x\"\noptimizer = \"adam\"\nlr = -1.0\n",
    ));
    let message = err.to_string();
    assert!(
        message.contains("run 'x'") && message.contains("lr"),
        "{message}"
    );

    let err = error_of(with_file("[[runs]]\noptimizer = \"sgd\"\nbeta1 = 0.9\n"));
    assert!(err.to_string().contains("beta1"), "{err}");

    let err = error_of(with_file(
        "[[runs]]\nname = \"a\"\noptimizer = \"sgd\"\n[[runs]]\nname = \"a\"\noptimizer = \"adam\"\n",
    ));
    assert_eq!(
        err.to_string(),
        "invalid configuration: runs has two runs named 'a'"
    );

    let err = error_of(with_file("epochs = 0"));
    assert_eq!(
        err.to_string(),
        "invalid configuration: epochs must be at least 1"
    );

    let err = error_of(with_file(
        "[schedule]\nschedule = \"step\"\nstep_size = 0\ngamma = 0.1\n",
    ));
    assert!(err.to_string().contains("step_size"), "{err}");

    assert!(matches!(error_of(Layers::default()), ConfigError::Empty));
    let file_only_quick = Layers {
        quick: true,
        file: Some(("c.toml".into(), "epochs = 1".into())),
        ..Layers::default()
    };
    assert!(error_of(file_only_quick).to_string().contains("--quick"));
}

#[test]
fn a_config_file_alone_is_a_whole_experiment() {
    let text = r#"
model = "resnet8"
epochs = 1
batch_size = 8

[[runs]]
optimizer = "sgd"
lr = 0.1
"#;
    let config: ExperimentConfig = Layers {
        file: Some(("alone.toml".into(), text.into())),
        ..Layers::default()
    }
    .resolve()
    .expect("valid");
    assert_eq!(config.preset, None);
    assert_eq!(
        config.divergence_loss,
        stepwise_engine::DEFAULT_DIVERGENCE_LOSS
    );
    assert_eq!(config.runs[0].name, "sgd lr=0.1");
}
