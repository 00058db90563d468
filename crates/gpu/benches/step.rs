#![allow(missing_docs, clippy::expect_used)] // criterion generates `main`; setup failures should abort
//! One fused optimizer step over 23,520,842 parameters (CIFAR ResNet50) on the default adapter,
//! beside a kernel that only moves Adam's bytes (reads p, g, m, v; writes p, m, v): the bandwidth
//! bound. `cargo bench -p stepwise-gpu --bench step`; docs/PERFORMANCE.md records the figures.

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, DeviceKind, Tensor, TensorData};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stepwise_gpu::{FusedOptimizer, FusedStepper, Gpu, workgroups};
use stepwise_optim::{LrSchedule, Optimizer, OptimizerConfig};

const N: usize = 23_520_842;

const CASES: [(&str, &str, u64); 5] = [
    (
        "sgd_momentum",
        r#"{"optimizer": "sgd", "lr": 0.01, "momentum": 0.9}"#,
        20,
    ),
    ("adam", r#"{"optimizer": "adam"}"#, 28),
    (
        "adamw_amsgrad",
        r#"{"optimizer": "adamw", "amsgrad": true}"#,
        36,
    ),
    ("adabound", r#"{"optimizer": "adabound"}"#, 28),
    ("radam", r#"{"optimizer": "radam"}"#, 28),
];

/// The floor: the same bytes as Adam, no arithmetic worth the name (`T` is prepended, as for the
/// optimizer kernels).
const COPY_28_BYTES: &str = r"
@group(0) @binding(0) var<storage, read_write> p: array<T>;
@group(0) @binding(1) var<storage, read_write> g: array<T>;
@group(0) @binding(2) var<storage, read_write> m: array<T>;
@group(0) @binding(3) var<storage, read_write> v: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
    let i = id.x + id.y * n.x * 256u;
    if i >= arrayLength(&p) { return; }
    let x = p[i] + g[i];
    p[i] = x;
    m[i] = m[i] + x;
    v[i] = v[i] + x;
}
";

fn wait(gpu: &Gpu) {
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("device poll");
}

fn fused_steps(c: &mut Criterion) {
    let gpu = Gpu::new_blocking().expect("a GPU adapter");
    let mut group = c.benchmark_group(format!("gpu_step_23.5M [{}]", gpu.adapter.name));
    group.sample_size(10);
    let param: Vec<f32> = (0..N).map(|i| (i % 1000) as f32 / 500.0 - 1.0).collect();
    let grad: Vec<f32> = (0..N).map(|i| (i % 777) as f32 / 400.0 - 1.0).collect();
    for (name, spec, bytes) in CASES {
        let config: OptimizerConfig = serde_json::from_str(spec).expect("valid spec");
        let mut optimizer = Optimizer::new(config, LrSchedule::Constant {}).expect("valid");
        let state = optimizer.init_state(N);
        let stepper = pollster::block_on(FusedStepper::new(
            &gpu,
            optimizer.config(),
            &param,
            &state,
            1,
        ))
        .expect("stepper");
        stepper.write_grad(&gpu, &grad).expect("gradient");
        stepper.write_steps(&gpu, &[optimizer.begin_step()]);
        group.throughput(Throughput::Bytes(bytes * N as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut encoder = gpu.device.create_command_encoder(&Default::default());
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    stepper.encode(&mut pass, 0);
                }
                gpu.queue.submit([encoder.finish()]);
                wait(&gpu);
            });
        });
    }

    // Buffers padded to whole vec4s, shared by both widths of the copy.
    let padded: Vec<f32> = (0..N.next_multiple_of(4))
        .map(|i| (i % 1000) as f32 / 500.0)
        .collect();
    let buffers: Vec<wgpu::Buffer> = (0..4)
        .map(|_| {
            wgpu::util::DeviceExt::create_buffer_init(
                &gpu.device,
                &wgpu::util::BufferInitDescriptor {
                    label: None,
                    contents: bytemuck::cast_slice(&padded),
                    usage: wgpu::BufferUsages::STORAGE,
                },
            )
        })
        .collect();
    for (name, alias, lanes) in [
        ("copy_28_bytes_f32", "alias T = f32;", 1),
        ("copy_28_bytes_vec4", "alias T = vec4<f32>;", 4),
    ] {
        let module = gpu
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(format!("{alias}\n{COPY_28_BYTES}").into()),
            });
        let pipeline = gpu
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(name),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .zip(0..)
            .map(|(buffer, binding)| wgpu::BindGroupEntry {
                binding,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let (x, y) = workgroups(N.div_ceil(lanes));
        group.throughput(Throughput::Bytes(28 * N as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut encoder = gpu.device.create_command_encoder(&Default::default());
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    pass.set_pipeline(&pipeline);
                    pass.set_bind_group(0, &bind_group, &[]);
                    pass.dispatch_workgroups(x, y, 1);
                }
                gpu.queue.submit([encoder.finish()]);
                wait(&gpu);
            });
        });
    }
    group.finish();
}

/// All 23.5 M parameters as burn sees a model: one tensor whose length is a multiple of 4 (as
/// almost all of ResNet50's are) and a two-element rest.
#[derive(Module, Debug)]
struct Flat {
    bulk: Param<Tensor<1>>,
    rest: Param<Tensor<1>>,
}

/// burn's own Adam (a chain of tensor ops that burn's fusion merges) beside the fused Adam kernel
/// as a burn optimizer, both on burn's wgpu device, one `ModuleOptimizer::step` each.
fn burn_steps(c: &mut Criterion) {
    let device = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    let values: Vec<f32> = (0..N).map(|i| (i % 1000) as f32 / 500.0 - 1.0).collect();
    let grad_values: Vec<f32> = (0..N).map(|i| (i % 777) as f32 / 400.0 - 1.0).collect();
    let bulk = N / 4 * 4;
    let inner = device.clone().inner();
    let grad_bulk = Tensor::<1>::from_data(
        TensorData::new(grad_values[..bulk].to_vec(), [bulk]),
        &inner,
    );
    let grad_rest = Tensor::<1>::from_data(
        TensorData::new(grad_values[bulk..].to_vec(), [N - bulk]),
        &inner,
    );
    let adam: OptimizerConfig = serde_json::from_str(r#"{"optimizer": "adam"}"#).expect("spec");
    let optimizers: [(&str, ModuleOptimizer); 2] = [
        ("burn_adam", AdamConfig::new().with_epsilon(1e-8).init()),
        (
            "fused_adam_as_burn_optimizer",
            FusedOptimizer::new(adam).into(),
        ),
    ];
    let mut group = c.benchmark_group("burn_step_23.5M");
    group.sample_size(10);
    for (name, mut optimizer) in optimizers {
        let tensor = |range: std::ops::Range<usize>| {
            let len = range.len();
            Param::from_tensor(Tensor::<1>::from_data(
                TensorData::new(values[range].to_vec(), [len]),
                &device,
            ))
        };
        let mut model = Some(Flat {
            bulk: tensor(0..bulk),
            rest: tensor(bulk..N),
        });
        // One step per device sync, and ten: the difference is what each sync costs.
        for steps_per_sync in [1, 10] {
            group.throughput(Throughput::Bytes(28 * N as u64 * steps_per_sync));
            let id = format!("{name}/{steps_per_sync}_per_sync");
            group.bench_function(id, |b| {
                b.iter(|| {
                    let mut flat = model.take().expect("model");
                    for _ in 0..steps_per_sync {
                        let mut grads = GradientsParams::new();
                        grads.register(flat.bulk.id, grad_bulk.clone());
                        grads.register(flat.rest.id, grad_rest.clone());
                        flat = optimizer.step(1e-3, flat, grads);
                    }
                    device.sync().expect("device sync");
                    model = Some(flat);
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, fused_steps, burn_steps);
criterion_main!(benches);
