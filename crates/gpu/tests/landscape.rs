//! Many 2-D problems in one dispatch against the CPU reference: whole trajectories for every
//! function × optimizer, and basin maps at every pixel.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use stepwise_gpu::{BasinGrid, BasinMap, Compute, DIVERGED, Gpu, Record, trajectories};
use stepwise_optim::{LrSchedule, Optimizer, OptimizerConfig, TestFunction, TracePoint, trace};

fn gpu() -> Gpu {
    Gpu::new_blocking().unwrap_or_else(|err| panic!("GPU tests need an adapter: {err}"))
}

fn optimizer(spec: &str) -> Optimizer {
    let config: OptimizerConfig = serde_json::from_str(spec).expect("valid spec");
    Optimizer::new(config, LrSchedule::Constant).expect("valid optimizer")
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
            let run = trajectories(&gpu, function, &optimizer, &starts, 300, Record::EveryStep);
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
                Compute::Gpu(&gpu),
                function,
                &optimizer,
                grid,
                200,
            ))
            .expect("gpu basin");
            let on_cpu = pollster::block_on(BasinMap::compute(
                Compute::Cpu,
                function,
                &optimizer,
                grid,
                200,
            ))
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
        Compute::Gpu(&gpu),
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
