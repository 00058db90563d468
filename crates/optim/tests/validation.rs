//! Every validation rule, checked by error kind and message.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use stepwise_optim::{
    ConfigError, LrSchedule, Optimizer, OptimizerKind, OptimizerSpec, ParamState, Slot, StateError,
};

fn spec(kind: OptimizerKind, edit: impl FnOnce(&mut OptimizerSpec)) -> OptimizerSpec {
    let mut spec = OptimizerSpec::new(kind);
    edit(&mut spec);
    spec
}

/// Resolving must fail with `InvalidValue` for exactly this field and value, and say so.
fn assert_invalid(spec: &OptimizerSpec, field: &str, value: f64, rule: &str) {
    let err = spec.resolve().expect_err("spec must be rejected");
    match &err {
        ConfigError::InvalidValue {
            optimizer,
            field: f,
            value: v,
            rule: r,
        } => {
            assert_eq!(optimizer, spec.optimizer.name());
            assert_eq!(*f, field);
            assert!(v.to_bits() == value.to_bits() || (v.is_nan() && value.is_nan()));
            assert_eq!(*r, rule);
        }
        other => panic!("expected InvalidValue for {field}, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("{}: invalid {field} = ", spec.optimizer)),
        "message names optimizer and field: {message}"
    );
    assert!(
        message.ends_with(rule),
        "message states the rule: {message}"
    );
}

const FINITE_NON_NEGATIVE: &str = "must be finite and >= 0";
const UNIT: &str = "must be in [0, 1)";

#[test]
fn learning_rate_must_be_finite_and_non_negative() {
    for kind in [
        OptimizerKind::Sgd,
        OptimizerKind::Adam,
        OptimizerKind::AdamW,
        OptimizerKind::RAdam,
    ] {
        for lr in [-1e-3, f64::NAN, f64::INFINITY] {
            assert_invalid(
                &spec(kind, |s| s.lr = Some(lr)),
                "lr",
                lr,
                FINITE_NON_NEGATIVE,
            );
        }
        assert!(
            spec(kind, |s| s.lr = Some(0.0)).resolve().is_ok(),
            "{kind}: lr 0 is allowed"
        );
    }
}

#[test]
fn adabound_learning_rate_must_be_positive() {
    for kind in [OptimizerKind::AdaBound, OptimizerKind::AdaBoundW] {
        for lr in [0.0, -1.0, f64::NAN] {
            assert_invalid(
                &spec(kind, |s| s.lr = Some(lr)),
                "lr",
                lr,
                "must be finite and > 0",
            );
        }
    }
}

#[test]
fn betas_must_be_in_unit_interval() {
    for kind in OptimizerKind::ALL
        .into_iter()
        .filter(|k| *k != OptimizerKind::Sgd)
    {
        for beta in [-0.1, 1.0, 1.5, f64::NAN] {
            assert_invalid(&spec(kind, |s| s.beta1 = Some(beta)), "beta1", beta, UNIT);
            assert_invalid(&spec(kind, |s| s.beta2 = Some(beta)), "beta2", beta, UNIT);
        }
        assert!(spec(kind, |s| s.beta1 = Some(0.0)).resolve().is_ok());
    }
}

#[test]
fn eps_weight_decay_final_lr_must_be_finite_and_non_negative() {
    for kind in OptimizerKind::ALL {
        for wd in [-0.01, f64::INFINITY, f64::NAN] {
            let s = spec(kind, |s| s.weight_decay = Some(wd));
            assert_invalid(&s, "weight_decay", wd, FINITE_NON_NEGATIVE);
        }
    }
    for kind in OptimizerKind::ALL
        .into_iter()
        .filter(|k| *k != OptimizerKind::Sgd)
    {
        assert_invalid(
            &spec(kind, |s| s.eps = Some(-1e-8)),
            "eps",
            -1e-8,
            FINITE_NON_NEGATIVE,
        );
    }
    for kind in [OptimizerKind::AdaBound, OptimizerKind::AdaBoundW] {
        let s = spec(kind, |s| s.final_lr = Some(-0.1));
        assert_invalid(&s, "final_lr", -0.1, FINITE_NON_NEGATIVE);
        for gamma in [-1e-3, 1.0] {
            assert_invalid(&spec(kind, |s| s.gamma = Some(gamma)), "gamma", gamma, UNIT);
        }
    }
}

#[test]
fn sgd_momentum_and_dampening_rules() {
    let sgd = OptimizerKind::Sgd;
    assert_invalid(
        &spec(sgd, |s| s.momentum = Some(-0.9)),
        "momentum",
        -0.9,
        FINITE_NON_NEGATIVE,
    );
    let s = spec(sgd, |s| s.dampening = Some(f64::NAN));
    assert_invalid(&s, "dampening", f64::NAN, "must be finite");

    let without_momentum = spec(sgd, |s| s.nesterov = Some(true));
    assert_eq!(
        without_momentum.resolve(),
        Err(ConfigError::Nesterov {
            momentum: 0.0,
            dampening: 0.0
        })
    );
    let with_dampening = spec(sgd, |s| {
        s.nesterov = Some(true);
        s.momentum = Some(0.9);
        s.dampening = Some(0.1);
    });
    let err = with_dampening
        .resolve()
        .expect_err("dampening with nesterov");
    assert_eq!(
        err.to_string(),
        "sgd: nesterov requires momentum > 0 and dampening = 0 (got momentum = 0.9, dampening = 0.1)"
    );
}

#[test]
fn a_hyperparameter_of_another_optimizer_is_rejected() {
    let cases = [
        (OptimizerKind::Adam, "momentum", "sgd"),
        (
            OptimizerKind::Sgd,
            "beta1",
            "adam, adamw, adabound, adaboundw, radam",
        ),
        (OptimizerKind::Adam, "final_lr", "adabound, adaboundw"),
        (
            OptimizerKind::RAdam,
            "amsgrad",
            "adam, adamw, adabound, adaboundw",
        ),
        (OptimizerKind::AdamW, "decoupled_weight_decay", "radam"),
    ];
    for (kind, field, applies_to) in cases {
        let mut value = serde_json::json!({ "optimizer": kind.name() });
        value[field] = if matches!(field, "amsgrad" | "decoupled_weight_decay") {
            true.into()
        } else {
            0.5.into()
        };
        let spec: OptimizerSpec = serde_json::from_value(value).expect("well-formed spec");
        let err = spec.resolve().expect_err("field does not apply");
        assert_eq!(
            err.to_string(),
            format!("{field} does not apply to {kind} (it applies to: {applies_to})")
        );
    }
}

#[test]
fn config_files_are_resolved_and_validated_on_load() {
    let adamw: stepwise_optim::OptimizerConfig =
        serde_json::from_str(r#"{"optimizer": "adamw", "lr": 0.01}"#).expect("valid");
    let resolved = serde_json::to_value(adamw).expect("serialises");
    assert_eq!(
        resolved,
        serde_json::json!({"optimizer": "adamw", "lr": 0.01, "beta1": 0.9, "beta2": 0.999,
                           "eps": 1e-8, "weight_decay": 0.01, "amsgrad": false}),
        "every hyperparameter written out, AdamW's own weight-decay default"
    );
    let amsbound: stepwise_optim::OptimizerConfig =
        serde_json::from_str(r#"{"optimizer": "adabound", "amsbound": true}"#).expect("alias");
    assert_eq!(
        serde_json::to_value(amsbound).expect("ser")["amsgrad"],
        true
    );

    let invalid = serde_json::from_str::<stepwise_optim::OptimizerConfig>(
        r#"{"optimizer": "adam", "beta2": 1.0}"#,
    );
    let message = invalid.expect_err("invalid beta2").to_string();
    assert!(
        message.contains("adam: invalid beta2 = 1: must be in [0, 1)"),
        "{message}"
    );
    let typo = serde_json::from_str::<OptimizerSpec>(r#"{"optimizer": "adam", "betta1": 0.9}"#);
    assert!(
        typo.expect_err("unknown key")
            .to_string()
            .contains("unknown field `betta1`")
    );
}

#[test]
fn schedules_are_validated() {
    let cases = [
        (
            LrSchedule::Step {
                step_size: 0,
                gamma: 0.5,
            },
            "step_size",
            "must be finite and > 0",
        ),
        (
            LrSchedule::Step {
                step_size: 10,
                gamma: -0.5,
            },
            "gamma",
            "must be finite and >= 0",
        ),
        (
            LrSchedule::Cosine {
                t_max: 0,
                eta_min: 0.0,
            },
            "t_max",
            "must be finite and > 0",
        ),
        (
            LrSchedule::Warmup {
                warmup_steps: 5,
                start_factor: 1.5,
                then: Box::new(LrSchedule::Constant {}),
            },
            "start_factor",
            "must be in (0, 1]",
        ),
        (
            LrSchedule::Warmup {
                warmup_steps: 5,
                start_factor: 0.5,
                then: Box::new(LrSchedule::Cosine {
                    t_max: 10,
                    eta_min: f64::NAN,
                }),
            },
            "eta_min",
            "must be finite and >= 0",
        ),
    ];
    let adam = OptimizerKind::Adam.default_config();
    for (schedule, field, rule) in cases {
        let err = Optimizer::new(adam, schedule).expect_err("invalid schedule");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("schedule: invalid {field} = ")),
            "{message}"
        );
        assert!(message.ends_with(rule), "{message}");
    }
}

#[test]
fn mismatched_lengths_and_state_are_errors_and_change_nothing() {
    let mut optimizer = Optimizer::new(
        OptimizerKind::Adam.default_config(),
        LrSchedule::Constant {},
    )
    .expect("valid");
    let mut param = vec![1.0_f32; 4];
    let mut state = optimizer.init_state(4);
    let step = optimizer.begin_step();

    let err = step
        .apply(&mut param, &[0.1; 3], &mut state)
        .expect_err("short gradient");
    assert_eq!(
        err,
        StateError::LengthMismatch {
            buffer: "grad",
            expected: 4,
            found: 3
        }
    );
    assert_eq!(
        err.to_string(),
        "length mismatch: the parameter has 4 elements but grad has 3"
    );

    let mut short_state = optimizer.init_state(5);
    let err = step
        .apply(&mut param, &[0.1; 4], &mut short_state)
        .expect_err("long state");
    assert_eq!(
        err,
        StateError::LengthMismatch {
            buffer: "exp_avg",
            expected: 4,
            found: 5
        }
    );

    let mut sgd_state = ParamState::Momentum {
        momentum_buffer: vec![0.0; 4],
    };
    let err = step
        .apply(&mut param, &[0.1; 4], &mut sgd_state)
        .expect_err("wrong kind");
    assert_eq!(
        err.to_string(),
        "state mismatch: this optimizer needs moments state, found momentum"
    );
    assert_eq!(
        param,
        vec![1.0; 4],
        "a rejected step leaves the parameter alone"
    );
    assert_eq!(state, optimizer.init_state(4), "and its state");
}

/// A saved optimizer is checked as a new one is: a schedule that would divide by zero, or a
/// hyperparameter out of range, never reaches `begin_step`.
#[test]
fn a_deserialized_optimizer_is_validated() {
    let good = Optimizer::new(
        OptimizerKind::Adam.default_config(),
        LrSchedule::Step {
            step_size: 3,
            gamma: 0.5,
        },
    )
    .expect("valid");
    let text = serde_json::to_string(&good).expect("serialise");
    let again: Optimizer = serde_json::from_str(&text).expect("reads back");
    assert_eq!(again, good);

    let zero_step = text.replace("\"step_size\":3", "\"step_size\":0");
    assert_ne!(zero_step, text);
    let err = serde_json::from_str::<Optimizer>(&zero_step).expect_err("step_size 0");
    assert!(err.to_string().contains("step_size"), "{err}");

    let negative_lr = text.replace("\"lr\":0.001", "\"lr\":-0.001");
    assert_ne!(negative_lr, text);
    let err = serde_json::from_str::<Optimizer>(&negative_lr).expect_err("negative lr");
    assert!(err.to_string().contains("lr"), "{err}");
}

/// Each typed hyperparameter is the spec field of its name: set through its slot, it serialises
/// under that name, and every field a spec can hold has a slot.
#[test]
fn hyperparameter_names_are_the_spec_fields() {
    let mut spec = OptimizerSpec::new(OptimizerKind::Sgd);
    let mut names = Vec::new();
    for (hyperparameter, slot) in spec.hyperparameters_mut() {
        match slot {
            Slot::Number(value) => *value = Some(0.5),
            Slot::Flag(value) => *value = Some(true),
        }
        names.push(hyperparameter.name());
    }
    let json = serde_json::to_value(&spec).expect("serialises");
    let mut fields: Vec<&str> = json
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .filter(|&key| key != "optimizer")
        .collect();
    fields.sort_unstable();
    names.sort_unstable();
    assert_eq!(fields, names);
    for kind in OptimizerKind::ALL {
        for hyperparameter in kind.hyperparameters() {
            assert!(
                names.contains(&hyperparameter.name()),
                "{kind}: {hyperparameter}"
            );
        }
        assert!(kind.hyperparameters().contains(&kind.momentum_like()));
    }
}

#[test]
fn switching_optimizer_keeps_shared_hyperparameters_only() {
    let sgd = spec(OptimizerKind::Sgd, |s| {
        s.lr = Some(0.1);
        s.momentum = Some(0.9);
        s.nesterov = Some(true);
    });
    let adam = sgd.switched_to(OptimizerKind::Adam);
    assert_eq!(adam, spec(OptimizerKind::Adam, |s| s.lr = Some(0.1)));
    assert_eq!(adam.label(), "adam lr=0.1");
    assert_eq!(adam.switched_to(OptimizerKind::Sgd).momentum, None);
}
