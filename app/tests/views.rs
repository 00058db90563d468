//! The app's views driven through egui's kittest harness (controls exist and act), a short live
//! run updating the plots, and every view rendered offscreen on the GPU (lavapipe on CI).

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // a test fails by panicking

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use stepwise_app::experiment::ExperimentView;
use stepwise_app::platform::loader;
use stepwise_app::series::run_color;
use stepwise_app::teaching::{JobState, Scenario, TeachingView};
use stepwise_app::{StepwiseApp, View, native};
use stepwise_engine::DeviceChoice;
use stepwise_engine::RunStatus;
use stepwise_optim::{LrSchedule, Optimizer, TestFunction, trace};

fn teaching_harness() -> Harness<'static, TeachingView> {
    Harness::builder()
        .with_size([1400.0, 900.0])
        .build_ui_state(
            |ui, view: &mut TeachingView| view.ui(ui, None),
            TeachingView::default(),
        )
}

#[test]
fn a_hyperparameter_slider_changes_the_trajectory() {
    let mut harness = teaching_harness();
    harness.run_steps(3);
    let before = harness.state_mut().trajectories()[0]
        .clone()
        .expect("traces");
    let header = harness.state().racers[0].spec.clone();
    // The collapsing header in the list (the plot's legend carries the same name).
    harness
        .get_all_by_label(&header.label())
        .next()
        .expect("the racer's header")
        .click();
    harness.run_steps(3);
    harness
        .get_by_role_and_label(Role::Slider, "lr")
        .set_value_accesskit(0.01);
    harness.run_steps(3);

    let view = harness.state_mut();
    assert_eq!(view.racers[0].spec.lr, Some(0.01), "the slider set lr");
    let after = view.trajectories()[0].clone().expect("traces");
    assert_ne!(after, before, "a new learning rate gives a new path");
    let mut reference = Optimizer::new(
        view.racers[0].spec.resolve().expect("valid"),
        LrSchedule::Constant {},
    )
    .expect("optimizer");
    let expected = trace(
        view.function,
        &mut reference,
        view.start,
        u64::from(view.steps),
    )
    .expect("trace");
    assert_eq!(
        after, expected,
        "the drawn path is the reference optimizer's"
    );
}

#[test]
fn the_gpu_check_holds_the_fused_kernels_to_the_reference() {
    let gpu = stepwise_gpu::Gpu::new_blocking().expect("a GPU adapter (lavapipe on CI)");
    let mut harness = Harness::builder()
        .with_size([1400.0, 900.0])
        .build_ui_state(
            move |ui, view: &mut TeachingView| view.ui(ui, Some(&gpu)),
            TeachingView::default(),
        );
    harness.run_steps(2);
    harness.get_by_label("compare with the GPU").click();
    let deadline = Instant::now() + Duration::from_secs(300);
    harness.run_steps(1);
    while harness.state().is_busy() {
        assert!(Instant::now() < deadline, "the check did not finish");
        std::thread::sleep(Duration::from_millis(20));
        harness.run_steps(1);
    }
    harness.run_steps(2);

    let view = harness.state();
    // The reference computed here, independently of the view's own trajectories.
    let references: Vec<_> = view
        .racers
        .iter()
        .map(|racer| {
            let config = racer.spec.resolve().expect("valid");
            let mut optimizer = Optimizer::new(config, LrSchedule::Constant {}).expect("optimizer");
            trace(
                view.function,
                &mut optimizer,
                view.start,
                u64::from(view.steps),
            )
            .expect("trace")
        })
        .collect();
    let JobState::Done(check) = view.check() else {
        panic!("the check did not complete: {:?}", view.check());
    };
    assert_eq!(check.racers.len(), references.len(), "every shown racer");
    for (racer, reference) in check.racers.iter().zip(&references) {
        assert_eq!(
            &racer.cpu, reference,
            "{}: the CPU path is the reference's",
            racer.label
        );
        assert_eq!(racer.gpu.len(), reference.len(), "{}", racer.label);
        for (gpu, cpu) in racer.gpu.iter().zip(reference) {
            assert_eq!(gpu.step, cpu.step);
            for (g, c) in [(gpu.x, cpu.x), (gpu.y, cpu.y), (gpu.loss, cpu.loss)] {
                assert!(
                    (g - c).abs() <= 1e-5 * c.abs().max(1.0),
                    "{}: {gpu:?} vs {cpu:?}",
                    racer.label
                );
            }
        }
    }
    let difference = check.max_difference();
    assert!(difference <= 1e-5, "largest difference {difference}");
    assert!(
        harness
            .query_by_label_contains("largest difference from the CPU reference")
            .is_some(),
        "the result is shown"
    );
}

#[test]
fn scenarios_and_the_function_picker_reset_the_race() {
    let mut harness = teaching_harness();
    harness.run_steps(2);
    harness
        .get_by_label(Scenario::DecoupledDecay.title())
        .click();
    harness.run_steps(2);
    {
        let view = harness.state();
        assert_eq!(view.scenario, Some(Scenario::DecoupledDecay));
        assert_eq!(view.function, TestFunction::Rosenbrock);
        let kinds: Vec<&str> = view
            .racers
            .iter()
            .map(|r| r.spec.optimizer.name())
            .collect();
        assert_eq!(kinds, ["adam", "adamw", "adam"]);
    }
    assert!(
        harness
            .query_by_label_contains("AdamW shrinks the weights")
            .is_some(),
        "the scenario explains itself"
    );

    harness.get_by_label("function").click();
    harness.run_steps(2);
    harness.get_by_label("quadratic").click();
    harness.run_steps(2);
    let view = harness.state();
    assert_eq!(view.function, TestFunction::Quadratic);
    assert_eq!(view.start, TestFunction::Quadratic.classic_start());
}

#[test]
fn experiment_controls_load_presets_and_edit_runs() {
    let mut harness = Harness::builder()
        .with_size([1400.0, 900.0])
        .build_ui_state(
            |ui, view: &mut ExperimentView| view.ui(ui, None),
            ExperimentView::default(),
        );
    harness.run_steps(2);
    assert!(harness.query_by_label("Start").is_some());
    harness.get_by_label("seed-weight-decay").click();
    harness.run_steps(2);
    let names: Vec<String> = harness
        .state()
        .runs
        .iter()
        .map(stepwise_engine::RunSpec::name)
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    assert_eq!(
        harness.state().config.preset.as_deref(),
        Some("seed-weight-decay")
    );
    harness.get_by_label("Add run").click();
    harness.run_steps(2);
    assert_eq!(harness.state().runs.len(), 6);
    assert!(
        harness.state().resolved().is_ok(),
        "the added run has a unique name"
    );
}

#[test]
fn a_short_live_run_updates_the_plots() {
    let mut view = ExperimentView::default();
    view.config.train_images = Some(64);
    view.config.test_images = Some(50);
    view.config.epochs = 1;
    // Two seeds: each run is drawn as its mean with a band.
    view.config.seeds = vec![0, 1];
    // SGD at two learning rates: a sweep, so the grid shows too.
    view.runs.truncate(2);
    view.runs[1] = stepwise_engine::RunSpec {
        name: Some("SGD lr=0.1".into()),
        spec: stepwise_optim::OptimizerSpec {
            lr: Some(0.1),
            ..view.runs[0].spec.clone()
        },
    };
    view.device = DeviceChoice::Cpu;
    // The runs written for TensorBoard too, as they train.
    let tensorboard = tempfile::tempdir().expect("temp dir");
    view.tensorboard = tensorboard.path().display().to_string();
    let mut harness = Harness::builder()
        .with_size([1400.0, 900.0])
        .build_ui_state(|ui, view: &mut ExperimentView| view.ui(ui, None), view);
    harness.run_steps(2);
    assert!(
        harness.query_by_label("TensorBoard folder").is_some(),
        "the setting is shown"
    );
    let ctx = harness.ctx.clone();
    harness.state_mut().start(
        &ctx,
        None,
        loader(Some("/nonexistent/stepwise-test".into())),
    );
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut seen_partial = false;
    while harness.state().is_busy() {
        assert!(Instant::now() < deadline, "the run did not finish");
        harness.run_steps(1);
        let steps = harness.state().board().steps();
        seen_partial |= steps > 0 && harness.state().is_busy();
        std::thread::sleep(Duration::from_millis(20));
    }
    harness.run_steps(2);
    assert!(seen_partial, "plots received steps while training ran");
    let board = harness.state().board();
    assert_eq!(board.batches_per_epoch, 2);
    for run in &board.runs {
        assert_eq!(run.history.steps.len(), 2, "{}", run.name);
        assert_eq!(run.history.epochs.len(), 1, "{}", run.name);
        assert_eq!(run.status, RunStatus::Finished);
        let loss = run.series(stepwise_app::board::Quantity::Loss).points();
        assert_eq!(loss.len(), 2, "the loss plot has both steps");
        // The raw values behind the smoothed curve: the first agree (a debiased average starts
        // at its first value), the second is the measured loss itself.
        let raw = run.series(stepwise_app::board::Quantity::RawLoss).points();
        let measured: Vec<f64> = run
            .history
            .steps
            .iter()
            .map(|s| f64::from(s.loss))
            .collect();
        assert_eq!(raw.iter().map(|p| p.y).collect::<Vec<_>>(), measured);
        assert!((loss[0].y - raw[0].y).abs() < 1e-9);
        assert_ne!(loss[1].y, raw[1].y, "smoothing 0.6 moves the second point");
        let folder = tensorboard
            .path()
            .join("version-0")
            .join(&run.name)
            .join(format!("seed-{}", run.seed));
        let written = stepwise_tensorboard::read_run(&folder).expect("TensorBoard's files");
        let losses: Vec<f64> = written.scalars["step/loss"]
            .iter()
            .map(|&(_, loss)| f64::from(loss))
            .collect();
        assert_eq!(losses, measured, "{}: the losses, in TensorBoard", run.name);
        assert_eq!(
            written.ended,
            Some(stepwise_tensorboard::Ended::Success),
            "{}: ended, in TensorBoard",
            run.name
        );
    }
    assert!(
        harness.query_by_label_contains("epoch 1 of 1").is_some(),
        "the status line follows the run"
    );
    // It names the data and the device, in the engine's words.
    assert!(
        harness
            .query_by_label_contains(
                "the shipped CIFAR-10 sample (no CIFAR-10 installed in /nonexistent/stepwise-test) \
                 · CPU (chosen)"
            )
            .is_some(),
        "the status line names the data and the device"
    );
    let sweep = board.sweep.as_ref().expect("two learning rates of SGD");
    assert_eq!(
        (sweep.hyperparameter.as_str(), sweep.values.as_slice()),
        ("lr", &[0.01, 0.1][..])
    );
    assert!(harness.query_by_label("Sensitivity to lr").is_some());
    let groups = board.groups();
    assert_eq!(groups.len(), 2, "two runs");
    for runs in &groups {
        let seeds: Vec<u64> = runs.iter().map(|run| run.seed).collect();
        assert_eq!(seeds, [0, 1], "{}: each at both seeds", runs[0].name);
        let best: Vec<f32> = runs
            .iter()
            .map(|run| {
                run.history
                    .best_epoch()
                    .expect("an epoch ended")
                    .test_accuracy
            })
            .collect();
        let cell = format!("{:.2}%", 100.0 * (best[0] + best[1]) / 2.0);
        let shown = harness.query_all_by_label(&cell).next().is_some();
        assert!(shown, "the grid shows the mean over seeds, {cell}");
    }
    // The log-scale switch redraws the same runs.
    harness.get_by_label("log scale").click();
    harness.run_steps(2);
    assert!(harness.state().log_loss);
}

/// Whether `image` has a pixel within a small distance of `color` (antialiasing blends edges).
fn has_color(image: &image::RgbaImage, color: egui::Color32) -> bool {
    image.pixels().any(|p| {
        let d = |a: u8, b: u8| i32::from(a).abs_diff(i32::from(b));
        d(p[0], color.r()) + d(p[1], color.g()) + d(p[2], color.b()) <= 12
    })
}

fn distinct_colors(image: &image::RgbaImage) -> usize {
    let mut colors: Vec<[u8; 4]> = image.pixels().map(|p| p.0).collect();
    colors.sort_unstable();
    colors.dedup();
    colors.len()
}

#[test]
fn every_view_renders_offscreen_with_its_plot_colours() {
    let gpu = stepwise_gpu::Gpu::new_blocking().expect("a GPU adapter (lavapipe on CI)");
    let (experiment, events) = native::demo_experiment().expect("demo");
    let runs = experiment.config().runs.len();
    let mut app = StepwiseApp::new(Some(gpu), View::Experiment);
    app.experiment.show_finished(experiment, &events);
    // The view lists what the data shows, as the report does: the demo's Adam and AdamW twin.
    let notes: Vec<&str> = app
        .experiment
        .notes()
        .iter()
        .map(|n| n.text.as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("Adam and AdamW have identical losses at every one of their")),
        "{notes:?}"
    );
    for view in [View::Experiment, View::Internals] {
        app.view = view;
        let image = native::render(&mut app, [1400.0, 900.0]).expect("rendered");
        assert_eq!(image.dimensions(), (1400, 900));
        assert!(distinct_colors(&image) > 200, "{view:?} is not blank");
        for run in 0..runs {
            assert!(
                has_color(&image, run_color(run)),
                "{view:?} draws run {run}'s colour"
            );
        }
    }

    app.view = View::Teaching;
    app.teaching.choose_scenario(Scenario::AdaBoundToSgd);
    app.teaching.finish_animation();
    app.teaching.start_basin(app.gpu().cloned());
    let image = native::render(&mut app, [1400.0, 900.0]).expect("rendered");
    assert!(
        distinct_colors(&image) > 1000,
        "heat maps have many colours"
    );
    for racer in 0..app.teaching.racers.len() {
        assert!(
            has_color(&image, run_color(racer)),
            "trajectory {racer} drawn"
        );
    }
    assert!(
        has_color(&image, egui::Color32::from_rgb(68, 1, 84)),
        "viridis' darkest colour: the maps' low losses"
    );
}

#[test]
fn the_binary_writes_a_screenshot_and_refuses_a_bad_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("teaching.png");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stepwise-app"))
        .args(["--view", "teaching", "--size", "900x600", "--screenshot"])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let image = image::open(&path).expect("a PNG").to_rgba8();
    assert_eq!(image.dimensions(), (900, 600));
    assert!(distinct_colors(&image) > 1000);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stepwise-app"))
        .args(["--size", "90x60000", "--screenshot"])
        .arg(dir.path().join("bad.png"))
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("\"90\" is not a size from 200 to 8000"),
        "{stderr}"
    );
    assert!(!dir.path().join("bad.png").exists());
}
