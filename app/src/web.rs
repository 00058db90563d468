//! The browser's entry point: eframe's web runner on the page's canvas; burn's WebGPU device,
//! created before anything else and shared with the renderer and the fused kernels; and
//! [`WebHandle`], which the page holds and asks how things stand (the browser tests do). The
//! browser's services (the sample, downloads, the link) are in `platform`.

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;
use stepwise_gpu::Gpu;
use wasm_bindgen::prelude::*;

use crate::StepwiseApp;
use crate::platform::Link;
use crate::teaching::{ComputedMap, JobState};

/// The running app, as the page sees it.
#[wasm_bindgen]
pub struct WebHandle {
    runner: eframe::WebRunner,
    /// The app's egui context, once it runs (to start work from outside a frame).
    context: Rc<RefCell<Option<egui::Context>>>,
}

#[wasm_bindgen]
impl WebHandle {
    /// A handle with nothing running yet; installs eframe's panic hook and logger.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)] // wasm-bindgen constructors take no Default
    pub fn new() -> Self {
        // Only the first call installs the logger; later ones change nothing.
        let _ = eframe::WebLogger::init(log::LevelFilter::Warn);
        Self {
            runner: eframe::WebRunner::new(),
            context: Rc::default(),
        }
    }

    /// Starts the app on `canvas`: burn's device on WebGPU (shared with drawing), or, without
    /// WebGPU, the CPU for the math with a notice and whatever eframe can draw with (WebGL2).
    /// The URL's fragment, if any, sets the view and its settings.
    ///
    /// # Errors
    /// eframe's, when nothing can draw on the canvas.
    pub async fn start(&self, canvas: web_sys::HtmlCanvasElement) -> Result<(), JsValue> {
        let mut options = eframe::WebOptions::default();
        let (gpu, missing) = match shared_gpu().await {
            Ok((gpu, setup)) => {
                options.wgpu_options.wgpu_setup = setup;
                (Some(gpu), None)
            }
            Err(reason) => (None, Some(reason)),
        };
        let context = Rc::clone(&self.context);
        self.runner
            .start(
                canvas,
                options,
                Box::new(move |cc| {
                    let mut app = StepwiseApp::restored(cc, gpu);
                    if let Some(reason) = missing {
                        log::warn!("no WebGPU device: {reason}");
                        app.notice = Some(
                            "No WebGPU in this browser: training and maps run on the CPU, slowly. \
                             Chrome, Edge and Safari 26 have WebGPU; Firefox has it on Windows."
                                .into(),
                        );
                    }
                    app.link = Link::listen(&cc.egui_ctx);
                    app.follow_link();
                    *context.borrow_mut() = Some(cc.egui_ctx.clone());
                    Ok(Box::new(app))
                }),
            )
            .await
    }

    /// How things stand, as JSON: the GPU, the notice, the view and all settings (what a link
    /// carries), training per run, the teaching view's racers (CPU reference) and maps (state and
    /// note; [`map_losses`](Self::map_losses) has the values), and its GPU check with both
    /// implementations' trajectories. Once the app has stopped: `running` false and whether it
    /// panicked.
    pub fn status(&self) -> String {
        let Some(mut app) = self.runner.app_mut::<StepwiseApp>() else {
            let panicked = self.runner.has_panicked();
            return serde_json::json!({ "running": false, "panicked": panicked }).to_string();
        };
        let function = app.teaching.function;
        let racers: Vec<_> = app
            .teaching
            .trajectories()
            .iter()
            .map(|trajectory| match trajectory {
                Ok(points) => serde_json::json!({
                    "steps": points.len().saturating_sub(1),
                    "last": points.last().map(|p| [p.x, p.y, p.loss]),
                }),
                Err(reason) => serde_json::json!({ "error": reason }),
            })
            .collect();
        let board = app.experiment.board();
        let runs: Vec<_> = board
            .runs
            .iter()
            .map(|run| {
                serde_json::json!({
                    "name": run.name,
                    "steps": run.history.steps.len(),
                    "last_loss": run.history.steps.last().map(|step| step.loss),
                    "plotted_points": run.series(crate::board::Quantity::Loss).points().len(),
                    "diverged_at_step": match run.status {
                        stepwise_engine::RunStatus::Diverged { step, .. } => Some(step),
                        _ => None,
                    },
                })
            })
            .collect();
        let check = match app.teaching.check() {
            JobState::Idle => serde_json::json!({ "state": "idle" }),
            JobState::Running => serde_json::json!({ "state": "running" }),
            JobState::Failed(reason) => {
                serde_json::json!({ "state": "failed", "reason": reason })
            }
            JobState::Done(check) => {
                let points = |trajectory: &[stepwise_optim::TracePoint]| {
                    trajectory
                        .iter()
                        .map(|p| [p.x, p.y, p.loss])
                        .collect::<Vec<_>>()
                };
                let racers: Vec<_> = check
                    .racers
                    .iter()
                    .map(|racer| {
                        serde_json::json!({
                            "label": racer.label,
                            "cpu": points(&racer.cpu),
                            "gpu": points(&racer.gpu),
                        })
                    })
                    .collect();
                serde_json::json!({
                    "state": "done",
                    "adapter": check.adapter,
                    "max_difference": check.max_difference(),
                    "racers": racers,
                })
            }
        };
        serde_json::json!({
            "running": true,
            "adapter": app.gpu().map(|gpu| serde_json::json!({
                "name": gpu.adapter.name,
                "backend": gpu.adapter.backend,
                "device_type": gpu.adapter.device_type,
            })),
            "notice": app.notice,
            "link_notice": app.link_notice,
            "view": app.view,
            // Through text, as the link writes them: `to_value` would widen f32 to f64 digits.
            "settings": serde_json::to_string(&*app)
                .ok()
                .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok()),
            "training": {
                "status": app.experiment.status_line(),
                "busy": app.experiment.is_busy(),
                "message": app.experiment.message(),
                "runs": runs,
            },
            "teaching": {
                "function": function,
                "racers": racers,
                "basin_map": map_status(app.teaching.basin()),
                "hyper_map": map_status(app.teaching.hyper()),
            },
            "gpu_check": check,
        })
        .to_string()
    }

    /// Starts training the experiment view's configuration, as its Start button does; `false`
    /// when the app is not running.
    pub fn start_training(&self) -> bool {
        let Some(context) = self.context.borrow().clone() else {
            return false;
        };
        let Some(mut app) = self.runner.app_mut::<StepwiseApp>() else {
            return false;
        };
        let gpu = app.gpu().cloned();
        app.experiment
            .start(&context, gpu.as_ref(), crate::platform::default_loader());
        context.request_repaint();
        true
    }

    /// Starts the teaching view's `"basin"` or `"hyperparameter"` map, as its buttons do (on the
    /// GPU when there is one); `false` for another name or when the app is not running.
    pub fn start_map(&self, which: &str) -> bool {
        let Some(mut app) = self.runner.app_mut::<StepwiseApp>() else {
            return false;
        };
        let gpu = app.gpu().cloned();
        match which {
            "basin" => app.teaching.start_basin(gpu),
            "hyperparameter" => app.teaching.start_hyper(gpu),
            _ => return false,
        }
        if let Some(context) = self.context.borrow().as_ref() {
            context.request_repaint();
        }
        true
    }

    /// The final losses of the teaching view's computed `"basin"` or `"hyperparameter"` map, in
    /// image order (top row first; NaN where a run diverged); `None` until it is computed.
    pub fn map_losses(&self, which: &str) -> Option<Vec<f32>> {
        let app = self.runner.app_mut::<StepwiseApp>()?;
        let state = match which {
            "basin" => app.teaching.basin(),
            "hyperparameter" => app.teaching.hyper(),
            _ => return None,
        };
        match state {
            JobState::Done(map) => Some(map.losses().to_vec()),
            _ => None,
        }
    }

    /// The text of `name` (`config.toml`, `metrics.csv` or `results.json`) of the last experiment
    /// that ended, as its download button saves it; `None` before one has ended.
    pub fn result_file(&self, name: &str) -> Option<String> {
        let app = self.runner.app_mut::<StepwiseApp>()?;
        let files = app.experiment.result_files()?.ok()?;
        let (_, bytes) = files.into_iter().find(|(file, _)| *file == name)?;
        String::from_utf8(bytes).ok()
    }

    /// Recomputes the teaching view's trajectories on the GPU to compare with the CPU reference,
    /// as its button does; `false` when there is no GPU or no app.
    pub fn check_on_gpu(&self) -> bool {
        let Some(mut app) = self.runner.app_mut::<StepwiseApp>() else {
            return false;
        };
        let Some(gpu) = app.gpu().cloned() else {
            return false;
        };
        app.teaching.start_check(gpu);
        if let Some(context) = self.context.borrow().as_ref() {
            context.request_repaint();
        }
        true
    }

    /// The panic message, if the app panicked.
    pub fn panic_message(&self) -> Option<String> {
        self.runner.panic_summary().map(|summary| summary.message())
    }

    /// Panics with `message`, as a bug would: the browser tests check that the page then shows
    /// the panic over the stopped app.
    #[allow(clippy::panic)] // panicking is what it is for
    pub fn simulate_panic(&self, message: &str) {
        panic!("{message}");
    }

    /// Stops the app and frees the canvas.
    pub fn destroy(&self) {
        self.runner.destroy();
    }
}

/// burn's default device created on the browser's WebGPU adapter, as a [`Gpu`] for the fused
/// kernels and the setup that lets eframe draw with the same device.
async fn shared_gpu() -> Result<(Gpu, eframe::egui_wgpu::WgpuSetup), String> {
    let (_device, setup) = Device::wgpu_options()
        .init_with_setup_async()
        .await
        .map_err(|err| err.to_string())?;
    if setup.backend != eframe::wgpu::Backend::BrowserWebGpu {
        return Err(format!("the adapter found uses {:?}", setup.backend));
    }
    Ok(crate::app::share_device(setup))
}

/// A map's state as JSON: `idle`, `running`, `failed` with the reason, or `done` with its note
/// (where and how fast it was computed) and number of cells.
fn map_status(state: JobState<'_, ComputedMap>) -> serde_json::Value {
    match state {
        JobState::Idle => serde_json::json!({ "state": "idle" }),
        JobState::Running => serde_json::json!({ "state": "running" }),
        JobState::Failed(reason) => serde_json::json!({ "state": "failed", "reason": reason }),
        JobState::Done(map) => serde_json::json!({
            "state": "done",
            "note": map.note(),
            "cells": map.losses().len(),
        }),
    }
}
