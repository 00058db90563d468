//! Presets, config files and flags: precedence, the resolved configuration, and errors.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use stepwise_engine::output::{self, Sweep};
use stepwise_engine::{ConfigError, ExperimentConfig, Layers, PRESETS, RunSpec};
use stepwise_model::Arch;
use stepwise_optim::{OptimizerConfig, OptimizerKind, OptimizerSpec};

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
    assert_eq!(
        config.seeds,
        [3],
        "`seed = N`, as files before seeds wrote it, is `seeds = [N]`"
    );
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
        "unknown preset 'seed-optimisers': did you mean 'seed-optimizers'? (presets: \
         seed-optimizers, seed-lr-sensitivity, seed-weight-decay)"
    );
    // Nothing close: no guess.
    assert_eq!(
        error_of(preset("mnist", false)).to_string(),
        "unknown preset 'mnist' (presets: seed-optimizers, seed-lr-sensitivity, seed-weight-decay)"
    );
    assert!(matches!(error_of(Layers::default()), ConfigError::Empty));
    let no_quick_table = Layers {
        quick: true,
        file: Some(("c.toml".into(), "epochs = 1".into())),
        ..Layers::default()
    };
    assert_eq!(
        error_of(no_quick_table).to_string(),
        "--quick: no [quick] table in c.toml"
    );
}

/// The presets say "edit freely: `stepwise compare --config this-file.toml`": a copy of one is the
/// same experiment at both scales, `[quick]` table and all.
#[test]
fn a_copy_of_a_preset_is_the_same_experiment_at_both_scales() {
    for (name, text) in PRESETS {
        for quick in [false, true] {
            let copy = Layers {
                quick,
                file: Some((format!("{name}.toml"), text.into())),
                ..Layers::default()
            }
            .resolve()
            .unwrap_or_else(|err| panic!("{name} (quick {quick}): {err}"));
            let shipped = preset(name, quick).resolve().expect("valid");
            assert_eq!(
                ExperimentConfig {
                    preset: Some(name.into()),
                    ..copy
                },
                shipped,
                "{name} (quick {quick})"
            );
        }
    }
    // A file's [quick] table is applied over the file, above the preset's.
    let config = Layers {
        file: Some(("f.toml".into(), "epochs = 7\n[quick]\nepochs = 2\n".into())),
        ..preset("seed-optimizers", true)
    }
    .resolve()
    .expect("valid");
    assert_eq!(
        (config.epochs, config.model, config.quick),
        (2, Arch::ResNet8, true)
    );
    assert_eq!(
        error_of(Layers {
            file: Some(("f.toml".into(), "[quick]\nepochs = 0\n".into())),
            ..preset("seed-optimizers", true)
        })
        .to_string(),
        "f.toml:2:10: epochs: must be at least 1"
    );
}

/// The message of the error a config file `bad.toml` over the quick `seed-optimizers` preset
/// gives.
fn file_error(text: &str) -> String {
    error_of(Layers {
        preset: Some("seed-optimizers".into()),
        quick: true,
        file: Some(("bad.toml".into(), text.into())),
        ..Layers::default()
    })
    .to_string()
}

/// Seeds: a list, every run trained once per seed, seed by seed; the presets' three at both
/// scales; a bad list refused at its line.
#[test]
fn every_run_is_trained_once_per_seed() {
    let config = Layers {
        preset: Some("seed-optimizers".into()),
        quick: true,
        file: Some(("mine.toml".into(), "seeds = [7, 8]\n".into())),
        ..Layers::default()
    }
    .resolve()
    .expect("valid");
    assert_eq!(config.seeds, [7, 8]);
    assert_eq!(config.run_count(), 2 * config.runs.len());
    let trained: Vec<(&str, u64)> = (0..config.run_count())
        .map(|r| {
            let (run, seed) = config.run_at(r).expect("in range");
            (run.name.as_str(), seed)
        })
        .collect();
    assert_eq!(trained[0], ("SGD", 7));
    assert_eq!(trained[4], ("RAdam", 7));
    assert_eq!(trained[5], ("SGD", 8));
    assert_eq!(config.run_at(config.run_count()), None);
    for quick in [false, true] {
        let preset = ExperimentConfig::preset("seed-optimizers", quick).expect("preset");
        assert_eq!(preset.seeds, [0, 1, 2], "quick: {quick}");
    }
    assert_eq!(ExperimentConfig::seeds_from(5, 3), Some(vec![5, 6, 7]));
    assert_eq!(ExperimentConfig::seeds_from(u64::MAX, 2), None);
    assert_eq!(
        ExperimentConfig::seeds_from(u64::MAX, 1),
        Some(vec![u64::MAX])
    );

    assert_eq!(
        file_error("seeds = []"),
        "bad.toml:1:9: seeds: must list at least one seed"
    );
    assert_eq!(
        file_error("seeds = [1, 2, 1]"),
        "bad.toml:1:9: seeds: seed 1 is listed twice (a seed trains the same runs again)"
    );
    assert_eq!(
        file_error("epochs = 2\nseed = 1\nseeds = [1]"),
        "bad.toml:2:8: seed: `seed` and `seeds` both set: keep `seeds` (a list)"
    );
}

#[test]
fn errors_name_the_file_line_column_and_key() {
    let err = error_of(Layers {
        file: Some(("bad.toml".into(), "epochs = 2\nmodel = [oops\n".into())),
        ..Layers::default()
    });
    let ConfigError::Syntax { at, .. } = &err else {
        panic!("not a syntax error: {err:?}");
    };
    assert_eq!(at.origin.as_deref(), Some("bad.toml"));
    assert_eq!(at.line_column.map(|(line, _)| line), Some(2), "{err}");

    assert_eq!(
        file_error("epochs = 3\nepoch = 3"),
        "bad.toml:2:9: epoch: unknown field `epoch`, expected one of `preset`, `quick`, \
         `description`, `model`, `epochs`, `batch_size`, `seeds`, `devices`, `train_images`, `test_images`, \
         `augment`, `schedule`, `divergence_loss`, `metrics_every`, `runs`"
    );
    assert_eq!(
        file_error("# the budget\nepochs = \"two\""),
        "bad.toml:2:10: epochs: invalid type: string \"two\", expected u32"
    );
    assert_eq!(
        file_error("epochs = 0"),
        "bad.toml:1:10: epochs: must be at least 1"
    );
    let runs = "[[runs]]\nname = \"a\"\noptimizer = \"sgd\"\n\n[[runs]]\nname = \"b\"\n";
    assert_eq!(
        file_error(&format!("{runs}optimizer = \"adam\"\nlr = \"fast\"\n")),
        "bad.toml:8:6: runs[1].lr: invalid type: string \"fast\", expected f64"
    );
    assert_eq!(
        file_error(&format!("{runs}optimizer = \"adam\"\nlr = -1.0\n")),
        "bad.toml:8:6: runs[1].lr: run 'b': adam: invalid lr = -1: must be finite and >= 0"
    );
    assert_eq!(
        file_error(&format!("{runs}optimizer = \"sgd\"\nbeta1 = 0.9\n")),
        "bad.toml:8:9: runs[1].beta1: run 'b': beta1 does not apply to sgd (it applies to: adam, \
         adamw, adabound, adaboundw, radam)"
    );
    assert_eq!(
        file_error("[[runs]]\noptimizer = \"sgd\"\nnesterov = true\n"),
        "bad.toml:3:12: runs[0].nesterov: run 'sgd nesterov=true': sgd: nesterov requires \
         momentum > 0 and dampening = 0 (got momentum = 0, dampening = 0)"
    );
    assert_eq!(
        file_error(&format!("{runs}\n")),
        "bad.toml:5:1: runs[1]: missing field `optimizer`"
    );
    assert_eq!(
        file_error(
            "[[runs]]\nname = \"a\"\noptimizer = \"sgd\"\n[[runs]]\nname = \"a\"\noptimizer = \"adam\"\n"
        ),
        "bad.toml:4:1: runs[1]: a second run named 'a'"
    );
    assert_eq!(
        file_error("[[runs]]\nname = \" \"\noptimizer = \"sgd\"\n"),
        "bad.toml:1:1: runs[0]: a run's name must not be empty"
    );
    assert_eq!(
        file_error("[[runs]]\nname = \"a\\nb\"\noptimizer = \"sgd\"\n"),
        "bad.toml:1:1: runs[0]: run name \"a\\nb\": no line breaks or control characters (it \
         names files' rows and the report's table)"
    );
    assert_eq!(
        file_error("[schedule]\nschedule = \"step\"\nstep_size = 0\ngamma = 0.1\n"),
        "bad.toml:3:13: schedule.step_size: must be finite and > 0 (got 0)"
    );
    assert_eq!(
        file_error(
            "[schedule]\nschedule = \"warmup\"\nwarmup_steps = 5\nstart_factor = 0.1\n\
             [schedule.then]\nschedule = \"cosine\"\nt_max = 0\neta_min = 0.0\n"
        ),
        "bad.toml:7:9: schedule.then.t_max: must be finite and > 0 (got 0)"
    );
    assert_eq!(
        file_error("[schedule]\nschedule = \"constant\"\nwarmup_steps = 100\n"),
        "bad.toml:1:1: schedule: unknown field `warmup_steps`, there are no fields"
    );
    // A missing key is placed where it belongs.
    assert_eq!(
        file_error("[schedule]\nstep_size = 2\n"),
        "bad.toml:1:1: schedule: missing field `schedule`"
    );
}

/// A misspelt hyperparameter used to vanish (serde's `flatten` hides unknown keys), leaving the
/// optimizer at its default: it is refused, where it was written.
#[test]
fn a_misspelt_hyperparameter_is_refused() {
    let message = file_error("[[runs]]\nname = \"Adam\"\noptimizer = \"adam\"\nlrr = 0.1\n");
    assert!(
        message.starts_with(
            "bad.toml:4:7: runs[0].lrr: unknown field `lrr`, expected one of `optimizer`, `lr`,"
        ),
        "{message}"
    );
    let twice = file_error("[[runs]]\nname = \"a\"\nname = \"b\"\noptimizer = \"adam\"\n");
    assert!(twice.starts_with("bad.toml:3:1: duplicate key"), "{twice}");
}

#[test]
fn errors_from_flags_and_presets_say_so() {
    let mut flags = toml::Table::new();
    flags.insert("batch_size".into(), 0.into());
    let err = error_of(Layers {
        flags,
        ..preset("seed-optimizers", true)
    });
    assert_eq!(
        err.to_string(),
        "command-line flags: batch_size: must be at least 1"
    );
    // A file's runs over a preset: a key the file does not write is the preset's.
    let err = error_of(Layers {
        preset: Some("seed-optimizers".into()),
        file: Some((
            "f.toml".into(),
            "[schedule]\nschedule = \"cosine\"\n".into(),
        )),
        ..Layers::default()
    });
    assert_eq!(
        err.to_string(),
        "f.toml:1:1: schedule: missing field `t_max`"
    );
    let built = ExperimentConfig {
        epochs: 0,
        ..preset("seed-optimizers", true).resolve().expect("valid")
    };
    assert_eq!(
        built.validate().expect_err("zero epochs").to_string(),
        "invalid configuration: epochs: must be at least 1"
    );
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

/// The sweeps of a configuration's runs, as the report and the app lay them out.
fn sweep(name: &str) -> Option<Sweep> {
    let config = preset(name, false).resolve().expect("valid");
    let runs: Vec<_> = config
        .runs
        .iter()
        .map(|run| (run.optimizer.kind(), output::hyperparameters(run.optimizer)))
        .collect();
    Sweep::of(&runs)
}

#[test]
fn the_presets_sweeps_are_grids_of_optimizer_by_value() {
    assert_eq!(sweep("seed-optimizers"), None, "one run per optimizer");

    let lr = sweep("seed-lr-sensitivity").expect("a sweep");
    assert_eq!(lr.hyperparameter, "lr");
    assert_eq!(lr.values, [1e-4, 1e-3, 1e-2, 1e-1]);
    let (adam, radam) = (OptimizerKind::Adam, OptimizerKind::RAdam);
    assert_eq!(
        lr.rows,
        [
            (adam, vec![Some(0), Some(1), Some(2), Some(3)]),
            (radam, vec![Some(4), Some(5), Some(6), Some(7)]),
        ]
    );

    let decay = sweep("seed-weight-decay").expect("a sweep");
    assert_eq!(decay.hyperparameter, "weight_decay");
    assert_eq!(decay.values, [0.0, 1e-4, 1e-3, 1e-2, 1e-1]);
    assert_eq!(
        decay.rows,
        [
            (adam, vec![Some(0), Some(1), Some(3), Some(5), None]),
            (
                OptimizerKind::AdamW,
                vec![None, Some(2), Some(4), Some(6), Some(7)]
            ),
        ]
    );
}

/// The app edits runs as `RunSpec`s: named or named by their label, resolved with the same
/// errors as a config file's runs, and saved in a config file's form.
#[test]
fn a_run_spec_resolves_like_a_config_files_run() {
    let run = RunSpec {
        name: None,
        spec: OptimizerSpec {
            lr: Some(0.01),
            ..OptimizerSpec::new(OptimizerKind::Adam)
        },
    };
    assert_eq!(run.name(), "adam lr=0.01");
    let resolved = run.resolve().expect("resolves");
    assert_eq!(resolved.name, "adam lr=0.01");
    assert_eq!(
        RunSpec::from(resolved.clone()).resolve().expect("again"),
        resolved
    );
    let json = serde_json::to_value(&run).expect("serialises");
    assert_eq!(json, serde_json::json!({"optimizer": "adam", "lr": 0.01}));
    let read: RunSpec = serde_json::from_value(json).expect("reads back");
    assert_eq!(read, run);
    let bad = RunSpec {
        name: Some("b".into()),
        spec: OptimizerSpec {
            beta1: Some(0.9),
            ..OptimizerSpec::new(OptimizerKind::Sgd)
        },
    };
    let err = bad.resolve().expect_err("sgd has no beta1");
    assert!(
        matches!(&err, ConfigError::Run { name, .. } if name == "b"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "run 'b': beta1 does not apply to sgd (it applies to: adam, adamw, adabound, adaboundw, \
         radam)"
    );
}
