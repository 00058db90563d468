//! Every optimizer and variant against recorded `torch.optim` / `adabound` runs: 257 elements,
//! 250 steps, weight decay on and off, some under learning-rate schedules.
//! The data and the script that made it are in `tests/reference/` (`generate.py`).

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::collections::BTreeMap;

use serde::Deserialize;
use stepwise_e2e::{assert_close, reference};
use stepwise_optim::{LrSchedule, Optimizer, OptimizerKind, OptimizerSpec, ParamState};

#[derive(Deserialize)]
struct Reference {
    steps: u64,
    p0: Vec<f32>,
    c: Vec<f32>,
    d: Vec<f32>,
    s: Vec<f32>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    spec: OptimizerSpec,
    schedule: Option<LrSchedule>,
    /// Parameters after the step named by the key.
    params: BTreeMap<u64, Vec<f32>>,
    /// The final state, by torch's state-dict names.
    state: BTreeMap<String, Vec<f32>>,
    /// The learning rate of each step, as the torch scheduler set it.
    lr: Vec<f64>,
}

/// Stepwise fuses the multiply-adds that torch's CPU kernels fuse, so SGD matches bit for bit;
/// the Adam family differs by an ULP now and then because torch's float32 `sqrt` (MKL VML) is not
/// always correctly rounded. After one step that is all: an ULP or two.
const FIRST_STEP: (f32, f32) = (1e-6, 1e-8);
/// SGD has no square root: every step equals torch's exactly.
const BIT_FOR_BIT: (f32, f32) = (0.0, 0.0);
/// Over 250 steps those ULPs stay small, most visible in elements that pass near zero (parameters
/// start at magnitudes 0.01 to 10).
const LATER_STEPS: (f32, f32) = (2e-6, 1e-7);

fn tolerance(optimizer: OptimizerKind, step: u64) -> (f32, f32) {
    match (optimizer, step) {
        (OptimizerKind::Sgd, _) => BIT_FOR_BIT,
        (_, 1) => FIRST_STEP,
        _ => LATER_STEPS,
    }
}

fn state_buffers(state: &ParamState) -> BTreeMap<String, Vec<f32>> {
    state
        .buffers()
        .into_iter()
        .map(|(name, values)| (name.to_string(), values.to_vec()))
        .collect()
}

#[test]
fn every_optimizer_matches_pytorch_for_250_steps() {
    let reference: Reference = reference("optimizers.json");
    assert!(reference.cases.len() >= 28, "reference cases are missing");
    for case in &reference.cases {
        let config = case.spec.resolve().expect("reference spec resolves");
        let schedule = case.schedule.clone().unwrap_or_default();
        let mut optimizer = Optimizer::new(config, schedule).expect("valid optimizer");
        let mut param = reference.p0.clone();
        let mut state = optimizer.init_state(param.len());
        let mut grad = vec![0.0_f32; param.len()];
        for t in 1..=reference.steps {
            let s = reference.s[(t - 1) as usize];
            for (i, g) in grad.iter_mut().enumerate() {
                *g = reference.c[i] * param[i] + reference.d[i] * s;
            }
            let step = optimizer.begin_step();
            let torch_lr = case.lr[(t - 1) as usize];
            assert!(
                (step.lr - torch_lr).abs() <= 1e-12 * torch_lr.abs().max(1e-12),
                "{}: lr of step {t} is {}, torch's scheduler gave {torch_lr}",
                case.name,
                step.lr
            );
            step.apply(&mut param, &grad, &mut state)
                .expect("matching state");
            if let Some(expected) = case.params.get(&t) {
                let (rtol, atol) = tolerance(case.spec.optimizer, t);
                let what = format!("{} params after step {t}", case.name);
                assert_close(&what, &param, expected, rtol, atol);
            }
        }
        let buffers = state_buffers(&state);
        assert_eq!(
            buffers.keys().collect::<Vec<_>>(),
            case.state.keys().collect::<Vec<_>>(),
            "{}: state buffers",
            case.name
        );
        for (name, expected) in &case.state {
            let (rtol, atol) = tolerance(case.spec.optimizer, reference.steps);
            assert_close(
                &format!("{} final {name}", case.name),
                &buffers[name],
                expected,
                rtol,
                atol,
            );
        }
    }
}
