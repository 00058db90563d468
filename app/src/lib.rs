//! The Stepwise app: runs trained side by side with live plots, what each optimizer does inside,
//! and optimizers on 2-D test functions. The same code runs on the desktop (eframe on wgpu, one
//! GPU device shared by drawing, training and the teaching view's maps) and in the browser.
//!
//! The engine is advanced step by step in the background — a thread on the desktop, a browser
//! task on the web — and reports through a channel the UI drains every frame.

mod app;
pub mod board;
pub mod experiment;
pub mod hyper;
pub mod internals;
pub mod live;
pub mod platform;
pub mod series;
mod task;
pub mod teaching;

#[cfg(not(target_arch = "wasm32"))]
pub mod native;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use app::{StepwiseApp, View};
