//! The GPU (burn-wgpu with the fused kernels; lavapipe in CI) trains the same trajectory
//! as the CPU backend with the reference optimizers, from the same weights on the same batches; and
//! so do runs dealt over both devices at once, either way round, and an experiment checkpointed on
//! one placement and resumed on another.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

mod support;

use stepwise_engine::{Experiment, Placement, StepMetrics, prepare_gpu};
use support::{config_from, sample};

const CONFIG: &str = r#"
model = "resnet8"
epochs = 2
batch_size = 16
train_images = 32
test_images = 50
seed = 11

[[runs]]
name = "adam"
optimizer = "adam"
lr = 0.001

[[runs]]
name = "sgd"
optimizer = "sgd"
lr = 0.05
momentum = 0.9
nesterov = true
"#;

/// Every run's steps, trained on `placement`; stopped after
/// `epochs` and resumed from a checkpoint on `resumed_on` when given.
fn steps(
    placement: &str,
    gpu: &stepwise_gpu::Gpu,
    mut resumed_on: Option<(u32, &str)>,
) -> Vec<Vec<StepMetrics>> {
    let config = config_from(CONFIG);
    let placement: Placement = placement.parse().expect("placement");
    if placement.uses_gpu() {
        pollster::block_on(prepare_gpu(&config, gpu)).expect("kernels compile");
    }
    let mut experiment = Experiment::new(config, sample(), placement).expect("experiment");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(stepwise_engine::checkpoint::FILE_NAME);
    while !experiment.is_finished() {
        if let Some((epochs, elsewhere)) = resumed_on
            && experiment.epochs_done() == epochs
        {
            pollster::block_on(experiment.save_checkpoint(&path)).expect("checkpoint");
            let elsewhere: Placement = elsewhere.parse().expect("placement");
            experiment = Experiment::resume(&path, sample(), elsewhere.clone()).expect("resume");
            assert_eq!(experiment.placement(), &elsewhere);
            resumed_on = None;
        }
        pollster::block_on(experiment.advance()).expect("advance");
    }
    (0..experiment.run_count())
        .map(|r| experiment.history(r).expect("run").steps.clone())
        .collect()
}

/// Each run's steps agree within the tolerance of float arithmetic done in another order.
fn assert_agree(label: &str, found: &[Vec<StepMetrics>], expected: &[Vec<StepMetrics>]) {
    assert_eq!(found.len(), 2, "{label}: two runs");
    for (run, (f, e)) in found.iter().zip(expected).enumerate() {
        assert_eq!(f.len(), 4, "{label}, run {run}: four steps");
        for (a, b) in f.iter().zip(e) {
            let close = |x: f32, y: f32, tol: f32| (x - y).abs() <= tol * (1.0 + y.abs());
            let at = format!("{label}, run {run}, step {}", a.step);
            assert!(
                close(a.loss, b.loss, 1e-3),
                "{at}: loss {} vs {}",
                a.loss,
                b.loss
            );
            let (ga, gb) = (
                a.grad_norm.expect("measured"),
                b.grad_norm.expect("measured"),
            );
            assert!(close(ga, gb, 1e-2), "{at}: grad norm {ga} vs {gb}");
            let (ua, ub) = (
                a.update_ratio.expect("measured"),
                b.update_ratio.expect("measured"),
            );
            assert!(close(ua, ub, 1e-2), "{at}: update ratio {ua} vs {ub}");
        }
    }
}

#[test]
fn gpu_and_cpu_follow_the_same_trajectory_alone_together_and_across_a_resume() {
    let adapter = stepwise_gpu::Gpu::new_blocking()
        .expect("a GPU adapter (lavapipe in CI): this test does not skip");
    let cpu = steps("cpu", &adapter, None);
    // The GPU named as the first adapter listed: lavapipe here, as burn addresses it (the default
    // adapter trains in every other GPU test; each is a device of its own, compiled for anew).
    assert_agree("gpu:0", &steps("gpu:0", &adapter, None), &cpu);
    // Run 0 on the CPU and run 1 on the GPU, then the other way round. Each run is where it was
    // put: bit for bit the CPU's trajectory on the CPU, and not on the GPU.
    let mixed = steps("cpu,gpu:0", &adapter, None);
    assert_agree("cpu,gpu:0", &mixed, &cpu);
    assert_eq!(mixed[0], cpu[0], "run 0 trained on the CPU");
    assert_ne!(mixed[1], cpu[1], "run 1 trained on the GPU");
    assert_agree("gpu:0,cpu", &steps("gpu:0,cpu", &adapter, None), &cpu);
    // Checkpointed after the first epoch on both, resumed on the GPU alone.
    assert_agree(
        "cpu,gpu:0 then gpu:0",
        &steps("cpu,gpu:0", &adapter, Some((1, "gpu:0"))),
        &cpu,
    );
}
