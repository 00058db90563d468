#![allow(missing_docs, clippy::expect_used)] // criterion generates `main`; setup failures should abort
//! One optimizer step over 23,520,842 f32 parameters (CIFAR ResNet50), per optimizer and variant,
//! beside a plain pass that moves Adam's bytes (the memory-bandwidth floor on this machine).
//!
//! `cargo bench -p stepwise-optim --bench step`; the PyTorch counterpart is `torch_step.py` in this
//! folder, and docs/PERFORMANCE.md records both, side by side.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use stepwise_optim::{LrSchedule, Optimizer, OptimizerConfig, ParamState};

/// Parameters of the CIFAR-10 ResNet50.
const N: usize = 23_520_842;

/// (name, spec, bytes moved per parameter: reads + writes of param, grad and state).
const CASES: [(&str, &str, u64); 8] = [
    (
        "sgd_momentum",
        r#"{"optimizer": "sgd", "lr": 0.01, "momentum": 0.9}"#,
        20,
    ),
    (
        "sgd_nesterov_l2",
        r#"{"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "nesterov": true, "weight_decay": 1e-4}"#,
        20,
    ),
    ("adam", r#"{"optimizer": "adam"}"#, 28),
    (
        "adam_amsgrad",
        r#"{"optimizer": "adam", "amsgrad": true}"#,
        36,
    ),
    ("adamw", r#"{"optimizer": "adamw"}"#, 28),
    ("adabound", r#"{"optimizer": "adabound"}"#, 28),
    (
        "adaboundw_amsbound",
        r#"{"optimizer": "adaboundw", "weight_decay": 1e-4, "amsgrad": true}"#,
        36,
    ),
    ("radam", r#"{"optimizer": "radam"}"#, 28),
];

fn filled(seed: u32) -> Vec<f32> {
    (0..N)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

fn optimizer_steps(c: &mut Criterion) {
    let grad = filled(7);
    let mut group = c.benchmark_group("step_23.5M");
    group.sample_size(10);
    for (name, spec, bytes) in CASES {
        let config: OptimizerConfig = serde_json::from_str(spec).expect("valid spec");
        let mut optimizer =
            Optimizer::new(config, LrSchedule::Constant {}).expect("valid optimizer");
        let mut param = filled(1);
        let mut state = optimizer.init_state(N);
        group.throughput(Throughput::Bytes(bytes * N as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                optimizer
                    .begin_step()
                    .apply(&mut param, &grad, &mut state)
                    .expect("matching state");
            });
        });
        assert!(matches!(
            state,
            ParamState::Momentum { .. } | ParamState::Moments { .. }
        ));
    }
    // The floor: read four arrays and write three, as Adam does, with no arithmetic to speak of.
    let (mut p, mut m, mut v) = (filled(1), filled(2), filled(3));
    group.throughput(Throughput::Bytes(28 * N as u64));
    group.bench_function("copy_28_bytes", |b| {
        b.iter(|| {
            (
                p.par_chunks_mut(1 << 15),
                grad.par_chunks(1 << 15),
                m.par_chunks_mut(1 << 15),
                v.par_chunks_mut(1 << 15),
            )
                .into_par_iter()
                .for_each(|(p, g, m, v)| {
                    let moments = m.iter_mut().zip(v.iter_mut());
                    for ((p, g), (m, v)) in p.iter_mut().zip(g).zip(moments) {
                        *p += g;
                        *m = *g;
                        *v = *p;
                    }
                });
        });
    });
    group.finish();
}

criterion_group!(benches, optimizer_steps);
criterion_main!(benches);
