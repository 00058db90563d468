//! Every fused kernel against the CPU reference: every optimizer and variant, sizes around the
//! workgroup size and one large tensor, 1,000 steps with the same gradients; NaN and Inf too.
//! Runs on whatever adapter wgpu finds (Mesa's lavapipe in CI); no adapter is a failure.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::sync::OnceLock;

use stepwise_gpu::{FusedStepper, Gpu};
use stepwise_optim::{LrSchedule, Optimizer, OptimizerConfig};

fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        let gpu =
            Gpu::new_blocking().unwrap_or_else(|err| panic!("GPU tests need an adapter: {err}"));
        eprintln!("adapter: {}", gpu.adapter);
        gpu
    })
}

const SPECS: [&str; 14] = [
    r#"{"optimizer": "sgd", "lr": 0.01}"#,
    r#"{"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}"#,
    r#"{"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "nesterov": true}"#,
    r#"{"optimizer": "adam", "lr": 0.01}"#,
    r#"{"optimizer": "adam", "lr": 0.01, "weight_decay": 0.01, "amsgrad": true}"#,
    r#"{"optimizer": "adamw", "lr": 0.01}"#,
    r#"{"optimizer": "adamw", "lr": 0.01, "amsgrad": true, "beta1": 0.8, "beta2": 0.99}"#,
    r#"{"optimizer": "adabound", "lr": 0.01, "weight_decay": 0.01}"#,
    r#"{"optimizer": "adabound", "lr": 0.01, "gamma": 0.01, "amsgrad": true}"#,
    r#"{"optimizer": "adaboundw", "lr": 0.01, "weight_decay": 0.01}"#,
    r#"{"optimizer": "adaboundw", "lr": 0.01, "weight_decay": 0.01, "amsgrad": true}"#,
    r#"{"optimizer": "radam", "lr": 0.01}"#,
    r#"{"optimizer": "radam", "lr": 0.01, "weight_decay": 0.01}"#,
    r#"{"optimizer": "radam", "lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": true}"#,
];

fn optimizer(spec: &str) -> Optimizer {
    let config: OptimizerConfig = serde_json::from_str(spec).expect("valid spec");
    Optimizer::new(config, LrSchedule::Constant {}).expect("valid optimizer")
}

/// A deterministic value in [-1, 1) from two integers (an integer hash, the same everywhere).
fn noise(i: usize, t: u64) -> f32 {
    let mut h =
        (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ t.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    (h >> 40) as f32 / (1u64 << 23) as f32 - 1.0
}

/// Gradients pull each weight towards zero, plus noise whose scale differs between elements.
fn gradient(param: &[f32], t: u64) -> Vec<f32> {
    param
        .iter()
        .enumerate()
        .map(|(i, p)| 0.5 * p + noise(i, t) * (1 + i % 7) as f32 * 0.3)
        .collect()
}

/// `|gpu − cpu| <= 1e-5 · (|cpu| + 0.2)`: 1e-5 relative to the value or to the weights' typical
/// magnitude in this test (their spread settles near 0.2), whichever is larger. GPU drivers may
/// round `fma`, division and `sqrt` differently from the CPU; over 1,000 steps those ULPs add up
/// like a random walk, which matters only for weights that happen to end near zero.
fn assert_close(what: &str, gpu: &[f32], cpu: &[f32]) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
    for (i, (g, c)) in gpu.iter().zip(cpu).enumerate() {
        let same_special = (g.is_nan() && c.is_nan()) || (g.is_infinite() && g == c);
        let tolerance = 1e-5 * (c.abs() + 0.2);
        assert!(
            same_special || (g - c).abs() <= tolerance,
            "{what}[{i}]: GPU {g}, CPU {c}"
        );
    }
}

/// Runs `steps` steps on the CPU and on the GPU with the same gradients (computed from the CPU's
/// parameters, so both see identical inputs) and compares parameters and state at the end.
fn compare(spec: &str, len: usize, steps: u64, poison: &[(usize, f32)]) {
    let gpu = gpu();
    let mut cpu = optimizer(spec);
    let mut param: Vec<f32> = (0..len).map(|i| noise(i, 0) * 2.0).collect();
    let mut state = cpu.init_state(len);
    let stepper = pollster::block_on(FusedStepper::new(gpu, cpu.config(), &param, &state, 1))
        .unwrap_or_else(|err| panic!("{spec}: {err}"));
    for t in 1..=steps {
        let mut grad = gradient(&param, t);
        for &(i, value) in poison {
            grad[i] = value;
        }
        let step = cpu.begin_step();
        stepper.step(gpu, &step, &grad).expect("gpu step");
        step.apply(&mut param, &grad, &mut state).expect("cpu step");
    }
    let what = format!("{spec} len {len}");
    let gpu_param = pollster::block_on(stepper.read_param(gpu)).expect("read param");
    assert_close(&format!("{what} param"), &gpu_param, &param);
    let gpu_state = pollster::block_on(stepper.read_state(gpu)).expect("read state");
    let (gpu_state, cpu_state) = (gpu_state.buffers(), state.buffers());
    assert_eq!(gpu_state.len(), cpu_state.len(), "{what}: state buffers");
    for ((name, g), (_, c)) in gpu_state.into_iter().zip(cpu_state) {
        assert_close(&format!("{what} {name}"), g, c);
    }
}

#[test]
fn every_kernel_matches_the_cpu_for_1000_steps_at_every_size() {
    for spec in SPECS {
        for len in [1, 255, 256, 257] {
            compare(spec, len, 1000, &[]);
        }
    }
}

#[test]
fn every_kernel_matches_the_cpu_on_a_large_tensor() {
    for spec in SPECS {
        compare(spec, 100_003, 1000, &[]);
    }
}

#[test]
fn nan_and_infinite_gradients_behave_as_on_the_cpu() {
    for spec in SPECS {
        compare(
            spec,
            300,
            20,
            &[
                (3, f32::NAN),
                (200, f32::INFINITY),
                (299, f32::NEG_INFINITY),
            ],
        );
    }
}
