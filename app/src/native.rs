//! The desktop: one wgpu device for burn, the fused kernels and eframe's renderer; the window; and
//! the offscreen screenshots of each view.

use std::path::Path;

use burn::tensor::Device;
use stepwise_engine::{Compute, Event, Experiment, Layers};
use stepwise_gpu::Gpu;

use crate::{StepwiseApp, View};

/// Creates burn's default wgpu device and returns it as a [`Gpu`] for the fused kernels, with the
/// setup eframe needs to draw with the same device; `None` when no adapter exists (the app then
/// trains on the CPU and eframe looks for an adapter of its own).
pub fn shared_gpu() -> Option<(Gpu, egui_wgpu::WgpuSetup)> {
    let (_device, setup) = Device::wgpu_options().init_with_setup().ok()?;
    Some(crate::app::share_device(setup))
}

/// Opens the window on `view` (`None`: the one last left); with `start`, the experiment view's
/// configuration (as last left) starts training at once.
///
/// # Errors
/// eframe's, when no window or renderer can be created.
pub fn run(view: Option<View>, start: bool) -> eframe::Result {
    let mut options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Stepwise")
            .with_inner_size([1400.0, 900.0]),
        ..Default::default()
    };
    let gpu = shared_gpu().map(|(gpu, setup)| {
        options.wgpu_options.wgpu_setup = setup;
        gpu
    });
    eframe::run_native(
        "Stepwise",
        options,
        Box::new(move |cc| {
            let mut app = StepwiseApp::restored(cc, gpu);
            if app.gpu().is_none() {
                app.notice = Some(
                    "No GPU adapter found: training and maps run on the CPU. On Linux without a \
                     GPU, Mesa's software Vulkan driver (mesa-vulkan-drivers) provides one."
                        .into(),
                );
            }
            if let Some(view) = view {
                app.view = view;
            }
            if start {
                let shared = app.gpu().cloned();
                let data = crate::platform::default_loader();
                app.experiment.start(&cc.egui_ctx, shared.as_ref(), data);
            }
            Ok(Box::new(app))
        }),
    )
}

/// A short comparison for screenshots and tests: the quick preset of the optimizer study on 256
/// sample images for 2 epochs, on the CPU, run to the end.
///
/// # Errors
/// The engine's, as text.
pub fn demo_experiment() -> Result<(Box<Experiment>, Vec<Event>), String> {
    let mut flags = toml::Table::new();
    flags.insert("train_images".into(), 256.into());
    flags.insert("test_images".into(), 200.into());
    flags.insert("epochs".into(), 2.into());
    // Two seeds: the plots show each run's mean and band.
    flags.insert("seeds".into(), toml::Value::Array(vec![0.into(), 1.into()]));
    let config = Layers {
        preset: Some("seed-optimizers".into()),
        quick: true,
        flags,
        ..Layers::default()
    }
    .resolve()
    .map_err(|err| err.to_string())?;
    let data = pollster::block_on(crate::platform::loader(None)())?;
    let mut experiment =
        Experiment::new(config, data, Compute::Cpu).map_err(|err| err.to_string())?;
    let mut events = Vec::new();
    while !experiment.is_finished() {
        events.extend(pollster::block_on(experiment.advance()).map_err(|err| err.to_string())?);
    }
    Ok((Box::new(experiment), events))
}

/// Renders `view` offscreen at `size` (logical pixels) into a PNG at `path`: the demo comparison for
/// the experiment and internals views, a guided scenario with its maps for the teaching view.
///
/// # Errors
/// What failed, as text: the demo, the renderer, or writing the file.
pub fn screenshot(view: View, path: &Path, size: [f32; 2]) -> Result<(), String> {
    let gpu = Gpu::new_blocking().ok();
    let mut app = StepwiseApp::new(gpu, view);
    match view {
        View::Experiment | View::Internals => {
            let (experiment, events) = demo_experiment()?;
            app.experiment.show_finished(experiment, &events);
        }
        View::Teaching => {
            app.teaching
                .choose_scenario(crate::teaching::Scenario::AdamOvershoot);
            app.teaching.finish_animation();
            app.teaching.start_basin(app.gpu().cloned());
            app.teaching.start_hyper(app.gpu().cloned());
        }
    }
    let image = render(&mut app, size)?;
    image
        .save(path)
        .map_err(|err| format!("{}: {err}", path.display()))
}

/// Draws `app` offscreen until it settles (background maps included) and returns the pixels.
///
/// # Errors
/// The renderer's.
pub fn render(app: &mut StepwiseApp, size: [f32; 2]) -> Result<image::RgbaImage, String> {
    let mut harness = egui_kittest::Harness::builder()
        .with_size(size)
        .wgpu()
        .build_ui_state(
            |ui, app: &mut StepwiseApp| app.show(ui),
            std::mem::take(app),
        );
    // Background work (maps, a live run) reports between frames; give it time to land.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    loop {
        harness.run_steps(2);
        if !harness.state().is_busy() {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err("background work did not finish within 10 minutes".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // A few more frames so that textures made in the last one are drawn.
    harness.run_steps(3);
    let image = harness.render();
    *app = harness.into_state();
    image
}
