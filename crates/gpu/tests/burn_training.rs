//! Training steps of a small burn model on wgpu: the fused kernels, launched in place on burn's
//! tensors, give the same weights as the CPU reference optimizer applied to the same gradients.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::activation::relu;
use burn::tensor::{Device, DeviceKind, Distribution, Tensor};
use stepwise_gpu::{FusedOptimizer, ReferenceOptimizer};
use stepwise_optim::OptimizerConfig;

#[derive(Module, Debug)]
struct Net {
    conv: Conv2d,
    hidden: Linear,
    out: Linear,
}

impl Net {
    fn new(device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([1, 2], [3, 3]).init(device),
            hidden: LinearConfig::new(2 * 4 * 4, 16).init(device),
            out: LinearConfig::new(16, 3).init(device),
        }
    }

    fn loss(&self, x: Tensor<4>, target: Tensor<2>) -> Tensor<1> {
        let h = relu(self.conv.forward(x)).flatten::<2>(1, 3);
        let y = self.out.forward(relu(self.hidden.forward(h)));
        (y - target).square().mean()
    }
}

/// A copy of a module whose parameters live in buffers of their own (a `clone` would share them).
struct DeepCopy;

impl ModuleMapper for DeepCopy {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let copy = Tensor::from_data(tensor.to_data(), &tensor.device()).require_grad();
        Param::from_mapped_value(id, copy, mapper)
    }
}

/// Every float parameter, flattened, in module order.
#[derive(Default)]
struct Weights(Vec<Vec<f32>>);

impl ModuleVisitor for Weights {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let values = param
            .val()
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 data");
        self.0.push(values);
    }
}

fn weights(net: &Net) -> Vec<Vec<f32>> {
    let mut visitor = Weights::default();
    net.visit(&mut visitor);
    visitor.0
}

const SPECS: [&str; 7] = [
    r#"{"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true, "weight_decay": 0.01}"#,
    r#"{"optimizer": "adam", "lr": 0.01, "amsgrad": true}"#,
    r#"{"optimizer": "adamw", "lr": 0.01}"#,
    r#"{"optimizer": "adabound", "lr": 0.01, "weight_decay": 0.001}"#,
    r#"{"optimizer": "adaboundw", "lr": 0.01, "weight_decay": 0.01, "amsgrad": true}"#,
    r#"{"optimizer": "radam", "lr": 0.01}"#,
    r#"{"optimizer": "radam", "lr": 0.01, "beta2": 0.9, "weight_decay": 0.1, "decoupled_weight_decay": true}"#,
];

#[test]
fn fused_training_steps_equal_the_cpu_reference() {
    let gpu = stepwise_gpu::Gpu::new_blocking().expect("a GPU adapter (lavapipe in CI)");
    stepwise_gpu::tuning::keep_tuning_for(&gpu.adapter);
    let device = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    device.seed(1);
    let x = Tensor::<4>::random([8, 1, 6, 6], Distribution::Normal(0.0, 1.0), &device);
    let target = Tensor::<2>::random([8, 3], Distribution::Normal(0.0, 1.0), &device);
    for spec in SPECS {
        let config: OptimizerConfig = serde_json::from_str(spec).expect("valid spec");
        let mut fused_net = Net::new(&device);
        let initial = weights(&fused_net);
        let mut reference_net = fused_net.clone().map(&mut DeepCopy);
        assert!(weights(&reference_net) == initial, "same initial weights");
        let mut fused: ModuleOptimizer = FusedOptimizer::new(config).into();
        let mut reference: ModuleOptimizer = ReferenceOptimizer::new(config).into();
        // Eight steps: RAdam's rectification starts at step 6 with the default beta2.
        for step in 1..=8 {
            let loss = fused_net.loss(x.clone(), target.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &fused_net);
            fused_net = fused.step(config.lr(), fused_net, grads);
            let loss = reference_net.loss(x.clone(), target.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &reference_net);
            reference_net = reference.step(config.lr(), reference_net, grads);

            for (k, (f, r)) in weights(&fused_net)
                .iter()
                .zip(weights(&reference_net))
                .enumerate()
            {
                for (i, (a, b)) in f.iter().zip(&r).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-5 * (b.abs() + 0.1),
                        "{spec}, step {step}, parameter {k}[{i}]: fused {a}, reference {b}"
                    );
                }
            }
        }
        let moved = weights(&fused_net)
            .iter()
            .zip(&initial)
            .any(|(now, start)| now != start);
        assert!(moved, "{spec}: training changed the weights");
    }
}

/// The pre-flight compile of the kernels as burn launches them (both widths) passes for every
/// optimizer on the test adapter.
#[test]
fn every_fused_optimizer_compiles_before_training() {
    let gpu = stepwise_gpu::Gpu::new_blocking()
        .unwrap_or_else(|err| panic!("GPU tests need an adapter: {err}"));
    for spec in SPECS {
        let config: OptimizerConfig = serde_json::from_str(spec).expect("valid spec");
        pollster::block_on(FusedOptimizer::new(config).check(&gpu))
            .unwrap_or_else(|err| panic!("{spec}: {err}"));
    }
}
