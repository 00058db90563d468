//! The default device (burn-wgpu with the fused kernels; lavapipe in CI) trains the same trajectory
//! as the CPU backend with the reference optimizers, from the same weights on the same batches.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

mod support;

use stepwise_engine::{Compute, Experiment, StepMetrics, prepare_gpu};
use support::{config_from, sample};

fn steps(compute: Compute, gpu: &stepwise_gpu::Gpu) -> Vec<Vec<StepMetrics>> {
    let text = r#"
model = "resnet8"
epochs = 1
batch_size = 16
train_images = 64
test_images = 100
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
    let config = config_from(text);
    if compute == Compute::Gpu {
        pollster::block_on(prepare_gpu(&config, gpu)).expect("kernels compile");
    }
    let mut experiment = Experiment::new(config, sample(), compute).expect("experiment");
    while !experiment.is_finished() {
        pollster::block_on(experiment.advance()).expect("advance");
    }
    (0..2)
        .map(|r| experiment.history(r).expect("run").steps.clone())
        .collect()
}

#[test]
fn gpu_and_cpu_follow_the_same_trajectory() {
    let adapter = stepwise_gpu::Gpu::new_blocking()
        .expect("a GPU adapter (lavapipe in CI): this test does not skip");
    let gpu = steps(Compute::Gpu, &adapter);
    let cpu = steps(Compute::Cpu, &adapter);
    for (run, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
        assert_eq!(g.len(), 4, "run {run}: four steps");
        for (a, b) in g.iter().zip(c) {
            let close = |x: f32, y: f32, tol: f32| (x - y).abs() <= tol * (1.0 + y.abs());
            assert!(
                close(a.loss, b.loss, 1e-3),
                "run {run}, step {}: loss gpu {} cpu {}",
                a.step,
                a.loss,
                b.loss
            );
            let (ga, gb) = (
                a.grad_norm.expect("measured"),
                b.grad_norm.expect("measured"),
            );
            assert!(
                close(ga, gb, 1e-2),
                "run {run}, step {}: grad norm {ga} vs {gb}",
                a.step
            );
            let (ua, ub) = (
                a.update_ratio.expect("measured"),
                b.update_ratio.expect("measured"),
            );
            assert!(
                close(ua, ub, 1e-2),
                "run {run}, step {}: update ratio {ua} vs {ub}",
                a.step
            );
        }
    }
}
