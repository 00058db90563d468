//! One optimizer step over a real network's parameters on the default adapter: burn's `Adam`
//! beside Stepwise's fused Adam as a burn optimizer, over ResNet-50's 161 tensors (23,520,842
//! parameters), each launched on its own, and beside an optimizer that does nothing (what burn's
//! `ModuleOptimizer` costs by itself). Steps alternate between the optimizers and each is
//! synchronised, so that all see the same machine state: the ratio is the figure to read.
//!
//! `cargo bench -p stepwise-model --bench optimizer_step [-- ARCH [STEPS]]` (default resnet50, 15).

use std::time::Instant;

use anyhow::Context;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, LearningRate, ModuleOptimizer, Optimizer};
use burn::tensor::{Device, DeviceKind, Tensor};
use stepwise_gpu::FusedOptimizer;
use stepwise_model::{Arch, ResNet};
use stepwise_optim::OptimizerKind;

type Register = Box<dyn Fn(&mut GradientsParams)>;

/// A fixed gradient (0.001 everywhere) for every parameter, made once: a step then times the
/// optimizer alone.
struct FixedGradients {
    device: Device,
    register: Vec<Register>,
    elements: usize,
}

impl ModuleVisitor for FixedGradients {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        // Batch norm's running statistics are visited too, but are no optimizer's business.
        if !value.is_require_grad() {
            return;
        }
        let shape = value.shape();
        self.elements += shape.num_elements();
        let grad = Tensor::<D>::full(shape, 1e-3, &self.device);
        let id = param.id;
        self.register
            .push(Box::new(move |grads| grads.register(id, grad.clone())));
    }
}

impl FixedGradients {
    fn params(&self) -> GradientsParams {
        let mut grads = GradientsParams::new();
        for register in &self.register {
            register(&mut grads);
        }
        grads
    }
}

/// burn's per-parameter optimizer machinery with no arithmetic and no launch: what
/// `ModuleOptimizer` itself costs.
#[derive(Clone)]
struct Untouched;

impl Optimizer for Untouched {
    type State<const D: usize> = ();

    fn step<const D: usize>(
        &self,
        _lr: LearningRate,
        tensor: Tensor<D>,
        _grad: Tensor<D>,
        _state: Option<()>,
    ) -> (Tensor<D>, Option<()>) {
        (tensor, None)
    }

    fn to_device<const D: usize>(state: (), _device: &Device) {
        state
    }
}

fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let arch: Arch = args.first().map_or(Ok(Arch::ResNet50), |a| a.parse())?;
    let steps: usize = args.get(1).map_or(Ok(15), |s| s.parse())?;
    println!("adapter: {}", stepwise_gpu::Gpu::new_blocking()?.adapter);
    let device = Device::wgpu(DeviceKind::DefaultDevice);
    let train_device = device.clone().autodiff();
    let model = ResNet::new(&arch.config(10), 0, &train_device)?;
    let mut gradients = FixedGradients {
        device: device.clone(),
        register: Vec::new(),
        elements: 0,
    };
    model.visit(&mut gradients);
    println!(
        "{arch}: {} parameter tensors, {} parameters",
        gradients.register.len(),
        gradients.elements
    );
    let config = OptimizerKind::Adam.default_config();
    let mut runs: [(&str, ModuleOptimizer, Option<ResNet>, Vec<f64>); 3] = [
        (
            "burn Adam",
            AdamConfig::new().with_epsilon(1e-8).init(),
            Some(model.clone()),
            Vec::new(),
        ),
        (
            "fused Adam (burn optimizer)",
            FusedOptimizer::new(config).into(),
            Some(model.clone()),
            Vec::new(),
        ),
        (
            "no optimizer (burn's per-parameter machinery)",
            Untouched.into(),
            Some(model),
            Vec::new(),
        ),
    ];
    // Three warm-up rounds (pipelines, memory pools), then `steps` timed ones.
    for round in 0..steps + 3 {
        for (_, optimizer, model, times) in &mut runs {
            let grads = gradients.params();
            device.sync()?;
            let started = Instant::now();
            let stepped = optimizer.step(1e-3, model.take().context("the model")?, grads);
            device.sync()?;
            if round >= 3 {
                times.push(started.elapsed().as_secs_f64() * 1e3);
            }
            *model = Some(stepped);
        }
    }
    let medians: Vec<f64> = runs
        .iter_mut()
        .map(|(name, _, _, times)| {
            let m = median(times);
            println!("{name}: median {m:.2} ms over {steps} steps");
            m
        })
        .collect();
    println!(
        "fused / burn: {:.2} (same run, steps alternating)",
        medians[1] / medians[0]
    );
    Ok(())
}
