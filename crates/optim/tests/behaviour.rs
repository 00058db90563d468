//! How the optimizers behave beyond matching PyTorch step by step: convergence on the test
//! functions, NaN and Inf, parallel blocks, checkpoints, and the per-step scalars.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use stepwise_optim::{
    LrSchedule, Optimizer, OptimizerConfig, OptimizerKind, OptimizerSpec, ParamState, StepScalars,
    TestFunction, trace,
};

fn optimizer(spec: &str) -> Optimizer {
    let config: OptimizerConfig = serde_json::from_str(spec).expect("valid spec");
    Optimizer::new(config, LrSchedule::Constant {}).expect("valid optimizer")
}

/// One row per optimizer (optax's table-driven style): each must bring the ill-conditioned
/// quadratic and Rosenbrock's valley far below their starting loss.
#[test]
fn every_optimizer_converges_on_quadratic_and_rosenbrock() {
    // (spec, loss bound on the quadratic, loss bound on Rosenbrock) after 3000 steps. RAdam needs
    // a small lr here: its first five steps are plain momentum SGD, which overshoots the valley.
    let table = [
        (
            r#"{"optimizer": "sgd", "lr": 0.001, "momentum": 0.9}"#,
            1e-4,
            1e-3,
        ),
        (
            r#"{"optimizer": "sgd", "lr": 0.0005, "momentum": 0.9, "nesterov": true}"#,
            1e-4,
            1e-3,
        ),
        (r#"{"optimizer": "adam", "lr": 0.05}"#, 1e-4, 1e-3),
        (
            r#"{"optimizer": "adam", "lr": 0.05, "amsgrad": true}"#,
            1e-4,
            1e-3,
        ),
        (
            r#"{"optimizer": "adamw", "lr": 0.05, "weight_decay": 0.0}"#,
            1e-4,
            1e-3,
        ),
        (
            r#"{"optimizer": "adabound", "lr": 0.05, "final_lr": 0.01}"#,
            1e-4,
            1e-3,
        ),
        (
            r#"{"optimizer": "adaboundw", "lr": 0.05, "final_lr": 0.01, "amsgrad": true}"#,
            1e-4,
            1e-3,
        ),
        (r#"{"optimizer": "radam", "lr": 0.005}"#, 1e-4, 2e-2),
    ];
    for (spec, quadratic_bound, rosenbrock_bound) in table {
        for (function, start, bound) in [
            (TestFunction::Quadratic, [3.0, 1.0], quadratic_bound),
            (TestFunction::Rosenbrock, [-0.5, 0.5], rosenbrock_bound),
        ] {
            let points = trace(function, &mut optimizer(spec), start, 3000).expect("trace");
            let (first, last) = (points[0].loss, points[points.len() - 1].loss);
            assert!(
                last < bound,
                "{spec} on {function}: loss {first} -> {last}, expected below {bound}"
            );
        }
    }
}

#[test]
fn nan_gradients_poison_only_their_own_elements() {
    for kind in OptimizerKind::ALL {
        let mut spec = OptimizerSpec::new(kind);
        if kind == OptimizerKind::Sgd {
            spec.momentum = Some(0.9);
        } else {
            spec.amsgrad = (kind != OptimizerKind::RAdam).then_some(true);
        }
        let run = |grad: &[f32]| {
            let mut opt = Optimizer::new(spec.resolve().expect("valid"), LrSchedule::Constant {})
                .expect("valid");
            let mut param = vec![0.5_f32, -1.0, 2.0];
            let mut state = opt.init_state(3);
            for _ in 0..8 {
                opt.begin_step()
                    .apply(&mut param, grad, &mut state)
                    .expect("apply");
            }
            (param, state)
        };
        let (clean, _) = run(&[0.1, 0.2, -0.3]);
        let (poisoned, state) = run(&[0.1, f32::NAN, -0.3]);
        assert!(
            poisoned[1].is_nan(),
            "{kind}: NaN gradient gives a NaN parameter"
        );
        assert_eq!(
            [poisoned[0], poisoned[2]],
            [clean[0], clean[2]],
            "{kind}: others unaffected"
        );
        if let ParamState::Moments {
            max_exp_avg_sq: Some(max),
            ..
        } = state
        {
            assert!(
                max[1].is_nan(),
                "{kind}: the running maximum keeps the NaN, as torch.maximum"
            );
        }
    }
}

#[test]
fn infinite_gradients_behave_as_in_torch() {
    // SGD: p - lr * inf = -inf. Adam: m and v become inf, and inf / inf is NaN.
    let mut sgd = optimizer(r#"{"optimizer": "sgd", "lr": 0.1}"#);
    let mut param = [1.0_f32];
    let mut state = sgd.init_state(1);
    sgd.begin_step()
        .apply(&mut param, &[f32::INFINITY], &mut state)
        .expect("apply");
    assert_eq!(param[0], f32::NEG_INFINITY);

    let mut adam = optimizer(r#"{"optimizer": "adam"}"#);
    let mut param = [1.0_f32];
    let mut state = adam.init_state(1);
    adam.begin_step()
        .apply(&mut param, &[f32::INFINITY], &mut state)
        .expect("apply");
    assert!(param[0].is_nan());
}

/// Large tensors are split into blocks run on several threads; the result must be bit-identical
/// to updating every element on its own.
#[test]
fn parallel_blocks_equal_element_by_element_updates() {
    let len = 100_003;
    let specs = [
        r#"{"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "nesterov": true, "weight_decay": 0.01}"#,
        r#"{"optimizer": "adamw", "amsgrad": true}"#,
        r#"{"optimizer": "adabound", "weight_decay": 0.01}"#,
        r#"{"optimizer": "radam", "decoupled_weight_decay": true, "weight_decay": 0.1}"#,
    ];
    for spec in specs {
        let mut whole = optimizer(spec);
        let mut single = optimizer(spec);
        let mut param: Vec<f32> = (0..len)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let mut param_single = param.clone();
        let mut state = whole.init_state(len);
        let mut states: Vec<ParamState> = (0..len).map(|_| single.init_state(1)).collect();
        for t in 0..8 {
            let grad: Vec<f32> = param.iter().map(|p| p * 0.5 + (t as f32).sin()).collect();
            whole
                .begin_step()
                .apply(&mut param, &grad, &mut state)
                .expect("apply");
            let step = single.begin_step();
            for i in 0..len {
                step.apply(&mut param_single[i..=i], &grad[i..=i], &mut states[i])
                    .expect("apply");
            }
        }
        assert!(
            param == param_single,
            "{spec}: blocked update differs from element-wise"
        );
    }
}

#[test]
fn a_restored_checkpoint_continues_exactly() {
    let spec = r#"{"optimizer": "adabound", "lr": 0.01, "amsgrad": true}"#;
    let schedule = LrSchedule::Warmup {
        warmup_steps: 5,
        start_factor: 0.2,
        then: Box::new(LrSchedule::Cosine {
            t_max: 20,
            eta_min: 0.0,
        }),
    };
    let config: OptimizerConfig = serde_json::from_str(spec).expect("valid");
    let grad_at =
        |t: u64, p: &[f32]| -> Vec<f32> { p.iter().map(|x| x - (t as f32) * 0.01).collect() };

    let mut straight = Optimizer::new(config, schedule).expect("valid");
    let mut param = vec![1.0_f32, -2.0, 0.25];
    let mut state = straight.init_state(3);
    let mut resumed_param = Vec::new();
    let mut saved = String::new();
    for t in 1..=20 {
        let grad = grad_at(t, &param);
        straight
            .begin_step()
            .apply(&mut param, &grad, &mut state)
            .expect("apply");
        if t == 10 {
            saved = serde_json::to_string(&(&straight, &state, &param)).expect("serialise");
            resumed_param = param.clone();
        }
    }
    let (mut resumed, mut resumed_state, _): (Optimizer, ParamState, Vec<f32>) =
        serde_json::from_str(&saved).expect("deserialise");
    assert_eq!(resumed.step_count(), 10);
    for t in 11..=20 {
        let grad = grad_at(t, &resumed_param);
        resumed
            .begin_step()
            .apply(&mut resumed_param, &grad, &mut resumed_state)
            .expect("apply");
    }
    assert_eq!(resumed_param, param);
    assert_eq!(resumed_state, state);
}

#[test]
fn radam_takes_momentum_steps_until_rho_exceeds_five() {
    let mut radam = optimizer(r#"{"optimizer": "radam"}"#);
    let rectified: Vec<(u64, bool, f32)> = (0..7)
        .map(|_| {
            let step = radam.begin_step();
            let StepScalars::RAdam(s) = step.scalars else {
                panic!("RAdam scalars")
            };
            (step.t, s.rectified == 1, s.rectification)
        })
        .collect();
    for &(t, is_rectified, r) in &rectified {
        assert_eq!(is_rectified, t >= 6, "step {t}");
        assert_eq!(r > 0.0, t >= 6, "step {t}: r_t = {r}");
        assert!(r < 1.0, "r_t is a fraction that grows towards 1: {r}");
    }
}

#[test]
fn adabound_bounds_close_on_final_lr_and_follow_the_schedule() {
    let config: OptimizerConfig =
        serde_json::from_str(r#"{"optimizer": "adabound", "lr": 0.01, "final_lr": 0.1}"#)
            .expect("valid");
    let halve_every_ten = LrSchedule::Step {
        step_size: 10,
        gamma: 0.5,
    };
    let mut adabound = Optimizer::new(config, halve_every_ten).expect("valid");
    let mut bounds = Vec::new();
    for _ in 0..20 {
        let StepScalars::AdaBound(s) = adabound.begin_step().scalars else {
            panic!("AdaBound")
        };
        bounds.push((s.lower_bound, s.upper_bound));
    }
    // Step 1: final_lr·(1 − 1/(γ+1)) and final_lr·(1 + 1/γ), γ = 1e-3.
    assert!((bounds[0].0 - (0.1 * (1.0 - 1.0 / 1.001)) as f32).abs() < 1e-9);
    assert!((bounds[0].1 - 100.1).abs() < 1e-3);
    // Step 11 runs at lr 0.005, so the bound target is halved too (final_lr · lr / base_lr).
    let target_11 = 0.05_f64;
    assert!((bounds[10].0 as f64 - target_11 * (1.0 - 1.0 / (0.011 + 1.0))).abs() < 1e-8);
    // Far along, both bounds approach final_lr.
    let mut late = Optimizer::new(config, LrSchedule::Constant {}).expect("valid");
    let mut last = None;
    for _ in 0..1_000_000 {
        last = Some(late.begin_step());
    }
    let Some(StepScalars::AdaBound(s)) = last.map(|s| s.scalars) else {
        panic!("AdaBound")
    };
    // γ·t = 1000: both are within final_lr/1000 of final_lr.
    assert!(
        (s.lower_bound - 0.1).abs() < 1.1e-4 && (s.upper_bound - 0.1).abs() < 1.1e-4,
        "{s:?}"
    );
}

#[test]
fn scalar_blocks_are_uniform_buffer_sized() {
    use std::mem::size_of;
    for size in [
        size_of::<stepwise_optim::SgdScalars>(),
        size_of::<stepwise_optim::AdamScalars>(),
        size_of::<stepwise_optim::AdaBoundScalars>(),
        size_of::<stepwise_optim::RAdamScalars>(),
    ] {
        assert_eq!(size % 16, 0, "WGSL uniform structs are padded to 16 bytes");
    }
}

/// The step size reported for each element is the factor the update applies to the first moment
/// (SGD: to the momentum buffer), read from the state buffer the optimizer names.
#[test]
fn step_size_is_the_factor_on_the_first_moment() {
    let specs = [
        r#"{"optimizer": "sgd", "lr": 0.05, "momentum": 0.9}"#,
        r#"{"optimizer": "adam", "lr": 0.01}"#,
        r#"{"optimizer": "adam", "lr": 0.01, "amsgrad": true}"#,
        r#"{"optimizer": "adabound", "lr": 0.01, "final_lr": 0.05}"#,
        r#"{"optimizer": "adabound", "lr": 0.01, "amsgrad": true}"#,
        r#"{"optimizer": "radam", "lr": 0.01}"#,
    ];
    for spec in specs {
        let mut optimizer = optimizer(spec);
        let mut param = vec![1.0_f32, -0.5, 3.0];
        let mut state = optimizer.init_state(param.len());
        for t in 1..=12_u64 {
            let grad: Vec<f32> = param.iter().map(|p| p * (t as f32).sin()).collect();
            let before = param.clone();
            let step = optimizer.begin_step();
            step.apply(&mut param, &grad, &mut state).expect("apply");
            let buffers = state.buffers();
            let buffer = |name: &str| {
                buffers
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, values)| values.to_vec())
                    .unwrap_or_else(|| panic!("{spec}: no buffer {name}"))
            };
            let first_moment = match step.scalars {
                StepScalars::Sgd(_) => buffer("momentum_buffer"),
                _ => buffer("exp_avg"),
            };
            let v_hat = step.scalars.second_moment_buffer().map(buffer);
            for i in 0..param.len() {
                let size = step.scalars.step_size(v_hat.as_ref().map_or(0.0, |v| v[i]));
                let expected = before[i] - size * first_moment[i];
                assert!(
                    (param[i] - expected).abs() <= 1e-6 * (1.0 + expected.abs()),
                    "{spec}, step {t}, element {i}: updated {} but step size {size} gives {expected}",
                    param[i]
                );
            }
        }
    }
}
