//! Many 2-D problems in one dispatch against the CPU reference: whole trajectories for every
//! function × optimizer, with one optimizer for all starts or one per start (hyperparameter
//! grids), and basin maps at every pixel.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use stepwise_gpu::{Gpu, GpuError};
use stepwise_landscape::{
    BasinGrid, BasinMap, CPU_CHUNK, DIVERGED, HyperGrid, HyperMap, Optimizers, Record, trajectories,
};
use stepwise_optim::{LrSchedule, Optimizer, OptimizerConfig, TestFunction, TracePoint, trace};

fn gpu() -> Gpu {
    Gpu::new_blocking().unwrap_or_else(|err| panic!("GPU tests need an adapter: {err}"))
}

fn optimizer(spec: &str) -> Optimizer {
    let config: OptimizerConfig = serde_json::from_str(spec).expect("valid spec");
    Optimizer::new(config, LrSchedule::Constant {}).expect("valid optimizer")
}

const SPECS: [&str; 6] = [
    r#"{"optimizer": "sgd", "lr": 0.001, "momentum": 0.9}"#,
    r#"{"optimizer": "adam", "lr": 0.02}"#,
    r#"{"optimizer": "adamw", "lr": 0.02, "amsgrad": true}"#,
    r#"{"optimizer": "adabound", "lr": 0.02, "final_lr": 0.01}"#,
    r#"{"optimizer": "adaboundw", "lr": 0.02, "weight_decay": 0.001}"#,
    r#"{"optimizer": "radam", "lr": 0.005}"#,
];

/// GPU drivers may round `fma`, division, `sqrt` and `sin`/`cos` differently from the CPU (and
/// may fuse multiply-adds the CPU keeps apart); over hundreds of steps those ULPs grow. Within
/// `rtol` relative, or `rtol` absolute for values below 1 (these problems live at scale 1).
fn assert_close(what: &str, gpu: TracePoint, cpu: TracePoint, rtol: f32) {
    assert_eq!(gpu.step, cpu.step, "{what}: step");
    for (name, g, c) in [
        ("x", gpu.x, cpu.x),
        ("y", gpu.y, cpu.y),
        ("loss", gpu.loss, cpu.loss),
    ] {
        let ok = (g.is_nan() && c.is_nan()) || g == c || (g - c).abs() <= rtol * c.abs().max(1.0);
        assert!(ok, "{what} {name} at step {}: GPU {g}, CPU {c}", cpu.step);
    }
}

#[test]
fn recorded_trajectories_equal_cpu_traces() {
    let gpu = gpu();
    let starts = [[-1.5, 2.0], [1.0, 1.5], [2.3, -1.7], [0.5, 0.01]];
    for function in TestFunction::ALL {
        for spec in SPECS {
            let optimizer = optimizer(spec);
            let run = trajectories(
                &gpu,
                function,
                Optimizers::Shared(&optimizer),
                &starts,
                300,
                Record::EveryStep,
            );
            let gpu_runs = pollster::block_on(run).expect("gpu trajectories");
            assert_eq!((gpu_runs.starts(), gpu_runs.rows()), (4, 301));
            for (k, &start) in starts.iter().enumerate() {
                let cpu = trace(function, &mut optimizer.clone(), start, 300).expect("cpu trace");
                for (g, c) in gpu_runs.trajectory(k).into_iter().zip(cpu) {
                    assert_close(&format!("{function} {spec} from {start:?}"), g, c, 1e-4);
                }
            }
        }
    }
}

/// A grid over learning rates × second hyperparameters (`beta1`, or SGD's `momentum`), as the
/// teaching view's hyperparameter map spans them, for each optimizer kind.
fn hyperparameter_grids(lrs: &[f64], seconds: &[f64]) -> Vec<Vec<Optimizer>> {
    let kinds = [
        ("sgd", "momentum", r#", "dampening": 0.5"#),
        ("adam", "beta1", ""),
        (
            "adamw",
            "beta1",
            r#", "amsgrad": true, "weight_decay": 0.01"#,
        ),
        ("adabound", "beta1", r#", "final_lr": 0.05"#),
        ("radam", "beta1", ""),
    ];
    kinds
        .iter()
        .map(|(kind, second, extra)| {
            let mut grid = Vec::new();
            for lr in lrs {
                for value in seconds {
                    grid.push(optimizer(&format!(
                        r#"{{"optimizer": "{kind}", "lr": {lr}, "{second}": {value}{extra}}}"#
                    )));
                }
            }
            grid
        })
        .collect()
}

/// Points bit for bit (NaN included, which `==` would refuse).
fn bits(points: &[TracePoint]) -> Vec<(u64, [u32; 3])> {
    points
        .iter()
        .map(|p| (p.step, [p.x.to_bits(), p.y.to_bits(), p.loss.to_bits()]))
        .collect()
}

fn run_per_start(
    gpu: &Gpu,
    function: TestFunction,
    grid: &[Optimizer],
    starts: &[[f32; 2]],
    steps: u64,
) -> stepwise_landscape::Trajectories {
    let run = trajectories(
        gpu,
        function,
        Optimizers::PerStart(grid),
        starts,
        steps,
        Record::EveryStep,
    );
    let runs = pollster::block_on(run).expect("gpu trajectories");
    assert_eq!(
        (runs.starts(), runs.rows()),
        (grid.len(), steps as usize + 1)
    );
    runs
}

/// One optimizer per start changes where the kernel reads its scalars, nothing else: every
/// trajectory equals the same optimizer run alone (one shared block), bit for bit, over a grid
/// wide enough to diverge (learning rates to 0.2, momentum and beta1 to 0.99).
#[test]
fn per_start_optimizers_equal_each_optimizer_run_alone() {
    let gpu = gpu();
    for grid in hyperparameter_grids(&[1e-4, 1e-2, 0.2], &[0.0, 0.9, 0.99]) {
        // SGD without momentum keeps no state: not the same state shape as the rest of its grid.
        let grid: Vec<Optimizer> = grid
            .into_iter()
            .filter(|o| o.init_state(0).name() != "stateless")
            .collect();
        let starts: Vec<[f32; 2]> = (0..grid.len())
            .map(|k| [k as f32 / 5.0 - 1.0, 1.5 - k as f32 / 10.0])
            .collect();
        for function in TestFunction::ALL {
            let runs = run_per_start(&gpu, function, &grid, &starts, 100);
            for (k, (start, optimizer)) in starts.iter().zip(&grid).enumerate() {
                let alone = pollster::block_on(trajectories(
                    &gpu,
                    function,
                    Optimizers::Shared(optimizer),
                    &[*start],
                    100,
                    Record::EveryStep,
                ))
                .expect("gpu trajectory");
                assert_eq!(
                    bits(&runs.trajectory(k)),
                    bits(&alone.trajectory(0)),
                    "{function} {:?} from {start:?}",
                    optimizer.config()
                );
            }
        }
    }
}

/// A hyperparameter map's trajectories (one start, one optimizer per cell) against the CPU
/// reference, at settings that stay tame: large steps on Rastrigin's sines or momentum 0.99 in
/// Rosenbrock's valley grow last-bit differences in `sin` and `fma` into visible ones (measured:
/// 1e-7 at step 10 to 1e-3 by step 150), which says nothing about the kernels.
#[test]
fn per_start_optimizers_equal_their_cpu_traces() {
    let gpu = gpu();
    for grid in hyperparameter_grids(&[1e-4, 1e-3, 3e-3], &[0.1, 0.5, 0.9]) {
        let starts = vec![[-1.2, 1.1]; grid.len()];
        for function in TestFunction::ALL {
            let runs = run_per_start(&gpu, function, &grid, &starts, 150);
            for (k, (start, optimizer)) in starts.iter().zip(&grid).enumerate() {
                let what = format!("{function} {:?} from {start:?}", optimizer.config());
                let cpu = trace(function, &mut optimizer.clone(), *start, 150).expect("cpu trace");
                for (g, c) in runs.trajectory(k).into_iter().zip(cpu) {
                    assert_close(&what, g, c, 1e-4);
                }
            }
        }
    }
}

#[test]
fn per_start_optimizers_must_share_one_kernel_and_state() {
    let gpu = gpu();
    let mixed = [
        optimizer(r#"{"optimizer": "adam"}"#),
        optimizer(r#"{"optimizer": "adam", "lr": 0.01}"#),
        optimizer(r#"{"optimizer": "adam", "amsgrad": true}"#),
    ];
    let starts = [[0.0, 0.0]; 3];
    let run = |optimizers: &[Optimizer], starts: &[[f32; 2]]| {
        pollster::block_on(trajectories(
            &gpu,
            TestFunction::Quadratic,
            Optimizers::PerStart(optimizers),
            starts,
            5,
            Record::FinalOnly,
        ))
    };
    let err = run(&mixed, &starts).expect_err("AMSGrad needs one more state buffer");
    assert!(
        matches!(err, GpuError::MixedOptimizers { index: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("optimizer 2 is adam (moments with running maximum state)"),
        "{err}"
    );
    let err = run(&mixed[..1], &starts).expect_err("one optimizer for three starts");
    assert!(err.to_string().contains("length mismatch"), "{err}");
    let sgd_and_adam = [
        optimizer(r#"{"optimizer": "sgd", "momentum": 0.9}"#),
        mixed[0].clone(),
    ];
    let err = run(&sgd_and_adam, &starts[..2]).expect_err("two kernels");
    assert!(
        matches!(err, GpuError::MixedOptimizers { index: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn basin_maps_equal_cpu_trajectories_at_every_pixel() {
    let gpu = gpu();
    let grid = BasinGrid {
        x_range: (-2.0, 2.0),
        y_range: (-1.0, 3.0),
        resolution: 24,
    };
    for function in TestFunction::ALL {
        for spec in [SPECS[1], SPECS[3], SPECS[5]] {
            let optimizer = optimizer(spec);
            let on_gpu = pollster::block_on(BasinMap::compute(
                Some(&gpu),
                function,
                &optimizer,
                grid,
                200,
            ))
            .expect("gpu basin");
            let on_cpu =
                pollster::block_on(BasinMap::compute(None, function, &optimizer, grid, 200))
                    .expect("cpu basin");
            assert_eq!(on_gpu.starts, on_cpu.starts);
            assert_eq!(on_gpu.finals.len(), 24 * 24);
            // The grid includes starts on steep walls whose trajectories climb to losses of 1e11,
            // where rounding differences grow fastest: 1e-3 here, as for PyTorch's trajectories.
            for (pixel, (g, c)) in on_gpu.finals.iter().zip(&on_cpu.finals).enumerate() {
                assert_close(&format!("{function} {spec} pixel {pixel}"), *g, *c, 1e-3);
            }
        }
    }
}

#[test]
fn the_grid_runs_top_row_first_through_pixel_centres() {
    let grid = BasinGrid {
        x_range: (0.0, 4.0),
        y_range: (10.0, 12.0),
        resolution: 2,
    };
    assert_eq!(
        grid.starts(),
        vec![[1.0, 11.5], [3.0, 11.5], [1.0, 10.5], [3.0, 10.5]]
    );
}

#[test]
fn diverged_pixels_are_red_and_the_rest_on_the_colour_scale() {
    let gpu = gpu();
    // Plain SGD at lr 0.01 diverges on Rosenbrock's steep walls and converges near the valley.
    let sgd = optimizer(r#"{"optimizer": "sgd", "lr": 0.01}"#);
    let grid = BasinGrid {
        x_range: (-3.0, 3.0),
        y_range: (-3.0, 3.0),
        resolution: 16,
    };
    let map = pollster::block_on(BasinMap::compute(
        Some(&gpu),
        TestFunction::Rosenbrock,
        &sgd,
        grid,
        100,
    ))
    .expect("gpu basin");
    let rgba = map.rgba();
    assert_eq!(rgba.len(), 16 * 16 * 4);
    let mut diverged = 0;
    for (pixel, point) in map.finals.iter().enumerate() {
        let colour = &rgba[4 * pixel..4 * pixel + 4];
        if point.loss.is_finite() {
            assert_ne!(
                colour, DIVERGED,
                "pixel {pixel} converged to {}",
                point.loss
            );
        } else {
            assert_eq!(colour, DIVERGED, "pixel {pixel} diverged");
            diverged += 1;
        }
    }
    assert!(
        diverged > 0 && diverged < 256,
        "some but not all starts diverge: {diverged}"
    );
}

const TEACHING_GRID: HyperGrid = HyperGrid {
    lr_log10: (-4.0, 0.0),
    second: (0.0, 0.99),
    resolution: 40,
};

#[test]
fn hyperparameter_grids_run_lr_across_and_the_second_hyperparameter_down() {
    let grid = HyperGrid {
        lr_log10: (-3.0, -1.0),
        second: (0.0, 0.8),
        resolution: 2,
    };
    let settings = grid.settings();
    let expected = [
        (10f64.powf(-2.5), 0.6),
        (10f64.powf(-1.5), 0.6),
        (10f64.powf(-2.5), 0.2),
        (10f64.powf(-1.5), 0.2),
    ];
    for ((lr, second), (want_lr, want_second)) in settings.iter().zip(expected) {
        assert!((lr / want_lr - 1.0).abs() < 1e-12, "{lr} vs {want_lr}");
        assert!(
            (second - want_second).abs() < 1e-12,
            "{second} vs {want_second}"
        );
    }
    let sgd = stepwise_optim::OptimizerSpec::new(stepwise_optim::OptimizerKind::Sgd);
    let cells = grid.optimizers(&sgd);
    let OptimizerConfig::Sgd(top_left) = cells[0].as_ref().expect("valid").config() else {
        panic!("SGD stays SGD");
    };
    assert_eq!((top_left.lr, top_left.momentum), settings[0]);
    // beta1 of 1 or more is invalid: those cells are None, the rest optimizers.
    let adam = stepwise_optim::OptimizerSpec::new(stepwise_optim::OptimizerKind::Adam);
    let past_one = HyperGrid {
        second: (0.5, 1.5),
        ..grid
    };
    let valid: Vec<bool> = past_one
        .optimizers(&adam)
        .iter()
        .map(Option::is_some)
        .collect();
    assert_eq!(valid, [false, false, true, true]);
}

#[test]
fn hyperparameter_maps_mark_diverged_settings() {
    let spec = stepwise_optim::OptimizerSpec::new(stepwise_optim::OptimizerKind::Sgd);
    let map = pollster::block_on(HyperMap::compute(
        None,
        TestFunction::Quadratic,
        &spec,
        [1.0, 1.0],
        TEACHING_GRID,
        50,
    ))
    .expect("the CPU map");
    let n = TEACHING_GRID.resolution as usize;
    assert_eq!(map.losses.len(), n * n);
    // lr = 1 on 0.5·50·y² (curvature 50) diverges; lr = 1e-4 barely moves.
    let top_right = map.losses[n - 1];
    assert!(!top_right.is_finite() || top_right > 1e6, "{top_right}");
    let bottom_left = map.losses[(n - 1) * n];
    assert!(
        bottom_left.is_finite() && bottom_left > 10.0,
        "{bottom_left}"
    );
    let rgba = map.rgba();
    assert_eq!(rgba.len(), 4 * n * n);
}

/// The map on the GPU (every cell its own scalars, one dispatch per step) against the CPU's
/// traces, cell by cell: the same cells diverge, the rest agree to rounding.
#[test]
fn hyperparameter_maps_on_the_gpu_equal_the_cpu_maps() {
    let gpu = gpu();
    for kind in [
        stepwise_optim::OptimizerKind::Sgd,
        stepwise_optim::OptimizerKind::Adam,
        stepwise_optim::OptimizerKind::RAdam,
    ] {
        let spec = stepwise_optim::OptimizerSpec::new(kind);
        let map = |gpu| {
            pollster::block_on(HyperMap::compute(
                gpu,
                TestFunction::Quadratic,
                &spec,
                [1.0, 1.0],
                TEACHING_GRID,
                60,
            ))
            .expect("a map")
            .losses
        };
        let on_gpu = map(Some(&gpu));
        let on_cpu = map(None);
        assert_eq!(on_gpu.len(), on_cpu.len());
        for (cell, (g, c)) in on_gpu.iter().zip(&on_cpu).enumerate() {
            let same = (g.is_finite() == c.is_finite())
                && (!c.is_finite() || (g - c).abs() <= 1e-4 * c.abs().max(1.0));
            assert!(same, "{kind} cell {cell}: GPU {g}, CPU {c}");
        }
        let diverged = on_cpu.iter().filter(|l| !l.is_finite()).count();
        if kind == stepwise_optim::OptimizerKind::Sgd {
            assert!(diverged > 0, "large learning rates diverge on SGD's map");
        }
    }
}

/// On the CPU a map pauses between chunks of problems (the browser draws there) and comes out as
/// it would in one piece.
#[test]
fn cpu_maps_pause_between_chunks_and_equal_the_whole() {
    let adam = optimizer(r#"{"optimizer": "adam", "lr": 0.05}"#);
    let grid = BasinGrid {
        x_range: (-2.0, 2.0),
        y_range: (-1.0, 3.0),
        resolution: 20,
    };
    let whole = pollster::block_on(BasinMap::compute(
        None,
        TestFunction::Rosenbrock,
        &adam,
        grid,
        40,
    ))
    .expect("cpu basin");
    let pauses = std::cell::Cell::new(0);
    let paused = pollster::block_on(BasinMap::compute_pausing(
        None,
        TestFunction::Rosenbrock,
        &adam,
        grid,
        40,
        || {
            pauses.set(pauses.get() + 1);
            async {}
        },
    ))
    .expect("cpu basin in chunks");
    assert_eq!(paused, whole);
    assert_eq!(pauses.get(), (20 * 20_usize).div_ceil(CPU_CHUNK) - 1);

    let spec = stepwise_optim::OptimizerSpec::new(stepwise_optim::OptimizerKind::Adam);
    let pauses = std::cell::Cell::new(0);
    let paused = pollster::block_on(HyperMap::compute_pausing(
        None,
        TestFunction::Rosenbrock,
        &spec,
        [-1.2, 1.0],
        TEACHING_GRID,
        40,
        || {
            pauses.set(pauses.get() + 1);
            async {}
        },
    ))
    .expect("cpu hyperparameter map in chunks");
    let whole = pollster::block_on(HyperMap::compute(
        None,
        TestFunction::Rosenbrock,
        &spec,
        [-1.2, 1.0],
        TEACHING_GRID,
        40,
    ))
    .expect("cpu hyperparameter map");
    assert_eq!(
        paused
            .losses
            .iter()
            .map(|l| l.to_bits())
            .collect::<Vec<_>>(),
        whole.losses.iter().map(|l| l.to_bits()).collect::<Vec<_>>()
    );
    let cells = (TEACHING_GRID.resolution * TEACHING_GRID.resolution) as usize;
    assert_eq!(pauses.get(), cells.div_ceil(CPU_CHUNK) - 1);
}

/// A recorded history past the device's buffer limit is refused before any work, with the bytes
/// it needs and the limit (`stepwise trace --device gpu` with a huge `--steps`).
#[test]
fn a_history_past_the_buffer_limit_is_refused_up_front() {
    let gpu = gpu();
    let steps = 1_000_000_000_000;
    let started = std::time::Instant::now();
    let err = pollster::block_on(trajectories(
        &gpu,
        TestFunction::Rosenbrock,
        Optimizers::Shared(&optimizer(SPECS[1])),
        &[[0.0, 0.0]],
        steps,
        Record::EveryStep,
    ))
    .expect_err("too large");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "refused up front"
    );
    let GpuError::TooLarge { what, bytes, limit } = &err else {
        panic!("expected TooLarge, got {err}");
    };
    assert_eq!(*what, "the recorded trajectories");
    assert_eq!(*bytes, (steps + 1) * 3 * 4);
    assert!(*limit < *bytes);
    let message = err.to_string();
    assert!(
        message.contains(&bytes.to_string()) && message.contains(&limit.to_string()),
        "{message}"
    );
}
