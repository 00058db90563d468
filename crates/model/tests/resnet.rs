#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

//! The ResNets: exact parameter counts, shapes on both backends, agreement between backends,
//! PyTorch's batch-norm and initialisation rules, and the summary.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, DeviceKind, Distribution, Tensor, TensorData};
use stepwise_model::{Arch, BatchNorm2d, ModelError, ResNet, ResNetConfig, StageConfig, Summary};

/// Parameter counts for 10 classes, counted by PyTorch (`sum(p.numel())`) on the same
/// definitions: pytorch-cifar's ResNet18/34/50, and He et al.'s CIFAR ResNets with 1x1 projection
/// shortcuts for 8/14/20.
const PYTORCH_COUNTS: [(Arch, usize); 6] = [
    (Arch::ResNet8, 78_042),
    (Arch::ResNet14, 175_258),
    (Arch::ResNet20, 272_474),
    (Arch::ResNet18, 11_173_962),
    (Arch::ResNet34, 21_282_122),
    (Arch::ResNet50, 23_520_842),
];

fn cpu() -> Device {
    Device::flex()
}

/// burn's default wgpu device, its kernel tuning kept in the machine's cache (tuned once per shape
/// and machine, not in every run of these tests).
fn gpu() -> Device {
    static TUNING: std::sync::Once = std::sync::Once::new();
    TUNING.call_once(|| {
        let gpu = stepwise_gpu::Gpu::new_blocking().expect("a GPU adapter (lavapipe in CI)");
        stepwise_gpu::tuning::keep_tuning_for(&gpu.adapter);
    });
    Device::wgpu(DeviceKind::DefaultDevice)
}

fn build(arch: Arch, seed: u64, device: &Device) -> ResNet {
    ResNet::new(&arch.config(10), seed, device).expect("valid configuration")
}

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .try_into_vec::<f32>()
        .expect("f32 tensor")
}

/// Every float parameter's values, in visiting order.
#[derive(Default)]
struct Weights(Vec<Vec<f32>>);

impl ModuleVisitor for Weights {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(values(param.val()));
    }
}

fn weights(model: &ResNet) -> Vec<Vec<f32>> {
    let mut visitor = Weights::default();
    model.visit(&mut visitor);
    visitor.0
}

fn assert_close(actual: &[f32], expected: &[f32], rtol: f32, atol: f32, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= atol + rtol * e.abs(),
            "{what}[{i}]: {a} vs {e}"
        );
    }
}

#[test]
fn parameter_counts_match_pytorch() {
    for (arch, expected) in PYTORCH_COUNTS {
        let model = build(arch, 0, &cpu());
        assert_eq!(model.trainable_params(), expected, "{arch}");
    }
}

#[test]
fn output_shapes_on_the_cpu_backend() {
    for arch in Arch::ALL {
        let device = cpu();
        let logits = build(arch, 1, &device).forward(Tensor::zeros([2, 3, 32, 32], &device));
        assert_eq!(logits.dims(), [2, 10], "{arch}");
        assert!(values(logits).iter().all(|v| v.is_finite()), "{arch}");
    }
}

#[test]
fn output_shapes_on_the_wgpu_backend() {
    // Software Vulkan in CI: the small network and ResNet-18 (ResNet-50's shape is the CPU test's).
    for arch in [Arch::ResNet8, Arch::ResNet18] {
        let device = gpu();
        let images = Tensor::random([2, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
        let logits = build(arch, 1, &device).forward(images);
        assert_eq!(logits.dims(), [2, 10], "{arch}");
        assert!(values(logits).iter().all(|v| v.is_finite()), "{arch}");
    }
}

#[test]
fn a_seed_gives_the_same_weights_on_both_backends() {
    let on_cpu = weights(&build(Arch::ResNet8, 7, &cpu()));
    let on_gpu = weights(&build(Arch::ResNet8, 7, &gpu()));
    assert_eq!(on_cpu, on_gpu);
    let other_seed = weights(&build(Arch::ResNet8, 8, &cpu()));
    assert_ne!(on_cpu, other_seed);
}

#[test]
fn backends_agree_on_a_forward_pass_in_both_modes() {
    let input: Vec<f32> = (0..4 * 3 * 32 * 32)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let images = |device: &Device| {
        Tensor::<4>::from_data(TensorData::new(input.clone(), [4, 3, 32, 32]), device)
    };
    // Evaluation: running statistics (plain devices).
    let (cpu_device, gpu_device) = (cpu(), gpu());
    let eval_cpu = values(build(Arch::ResNet8, 3, &cpu_device).forward(images(&cpu_device)));
    let eval_gpu = values(build(Arch::ResNet8, 3, &gpu_device).forward(images(&gpu_device)));
    assert_close(&eval_gpu, &eval_cpu, 1e-4, 1e-5, "eval logits");
    // Training: batch statistics (autodiff devices), and the running statistics they update.
    let (cpu_train, gpu_train) = (cpu().autodiff(), gpu().autodiff());
    let model_cpu = build(Arch::ResNet8, 3, &cpu_train);
    let model_gpu = build(Arch::ResNet8, 3, &gpu_train);
    let train_cpu = values(model_cpu.forward(images(&cpu_train)));
    let train_gpu = values(model_gpu.forward(images(&gpu_train)));
    assert_close(&train_gpu, &train_cpu, 1e-4, 1e-5, "train logits");
    assert_ne!(
        train_cpu, eval_cpu,
        "batch statistics must differ from the initial running ones"
    );
}

#[test]
fn batch_norm_follows_pytorch() {
    let device = cpu().autodiff();
    let (n, c, h, w) = (4, 2, 3, 3);
    let input: Vec<f32> = (0..n * c * h * w)
        .map(|i| ((i * 37) % 23) as f32 * 0.25 - 2.0)
        .collect();
    let norm = BatchNorm2d::new(c, &device);
    let x = Tensor::<4>::from_data(TensorData::new(input.clone(), [n, c, h, w]), &device);
    let out = values(norm.forward(x));
    for channel in 0..c {
        let xs: Vec<f64> = (0..n)
            .flat_map(|b| (0..h * w).map(move |k| (b * c + channel) * h * w + k))
            .map(|i| f64::from(input[i]))
            .collect();
        let count = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / count;
        let biased = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / count;
        // Output: normalised with the biased batch variance and eps 1e-5.
        for b in 0..n {
            for k in 0..h * w {
                let i = (b * c + channel) * h * w + k;
                let expected = (f64::from(input[i]) - mean) / (biased + 1e-5).sqrt();
                assert!((f64::from(out[i]) - expected).abs() < 1e-4, "output {i}");
            }
        }
        // Running statistics: momentum 0.1, unbiased variance (PyTorch; burn's own uses biased).
        let running_mean = values(norm.running_mean.value_sync())[channel];
        let running_var = values(norm.running_var.value_sync())[channel];
        assert!((f64::from(running_mean) - 0.1 * mean).abs() < 1e-6);
        let unbiased = biased * count / (count - 1.0);
        assert!((f64::from(running_var) - (0.9 + 0.1 * unbiased)).abs() < 1e-5);
    }
}

#[test]
fn initialisation_is_pytorch_default_uniform() {
    let model = build(Arch::ResNet20, 11, &cpu());
    let weights = weights(&model);
    // The stem convolution: fan_in 3*3*3 = 27, so U(-1/sqrt(27), 1/sqrt(27)).
    let stem = &weights[0];
    assert_eq!(stem.len(), 16 * 27);
    let bound = 1.0 / 27f32.sqrt();
    assert!(stem.iter().all(|v| v.abs() <= bound));
    let mean = stem.iter().sum::<f32>() / stem.len() as f32;
    let std = (stem.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / stem.len() as f32).sqrt();
    assert!((std - bound / 3f32.sqrt()).abs() < 0.1 * bound, "std {std}");
    // Batch norm: scale 1, shift 0.
    assert!(weights[1].iter().all(|&v| v == 1.0));
    assert!(weights[2].iter().all(|&v| v == 0.0));
}

#[test]
fn resnet50_summary() {
    let device = cpu();
    let config = Arch::ResNet50.config(10);
    let model = ResNet::new(&config, 0, &device).expect("valid");
    let summary = Summary::of(&model, &config, [32, 32], &device);
    assert_eq!(summary.total_params, 23_520_842);
    assert_eq!(
        summary.rows.iter().map(|r| r.params).sum::<usize>(),
        23_520_842
    );
    let row = |name: &str| {
        summary
            .rows
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no row {name}"))
    };
    assert_eq!(row("stem").output, [64, 32, 32]);
    assert_eq!(row("layer1.0").output, [256, 32, 32]);
    assert_eq!(row("layer1.0").kind, "Bottleneck (1x1 projection)");
    assert_eq!(row("layer1.1").kind, "Bottleneck");
    assert_eq!(row("layer2.0").output, [512, 16, 16]);
    assert_eq!(row("layer4.2").output, [2048, 4, 4]);
    assert_eq!(row("fc").output, [10]);
    assert_eq!(row("fc").params, 2048 * 10 + 10);
    assert_eq!(summary.rows.len(), 1 + 16 + 2);
    let table = summary.to_string();
    assert!(table.ends_with("Total parameters: 23,520,842"), "{table}");
}

#[test]
fn invalid_configurations_are_errors() {
    let mut config = Arch::ResNet8.config(10);
    config.stages[1] = StageConfig {
        width: 0,
        blocks: 1,
    };
    let err = ResNet::new(&config, 0, &cpu()).expect_err("zero width");
    assert_eq!(
        err.to_string(),
        "invalid ResNet configuration: stage 2 needs a width and a block count of at least 1"
    );
    let no_classes = ResNetConfig {
        num_classes: 0,
        ..Arch::ResNet8.config(10)
    };
    assert!(matches!(
        ResNet::new(&no_classes, 0, &cpu()),
        Err(ModelError::InvalidConfig(_))
    ));
    let unknown = "resnet51".parse::<Arch>().expect_err("unknown");
    assert_eq!(
        unknown.to_string(),
        "unknown architecture 'resnet51' (expected one of: resnet8, resnet14, resnet20, resnet18, resnet34, resnet50)"
    );
    assert_eq!("ResNet50".parse::<Arch>(), Ok(Arch::ResNet50));
}
