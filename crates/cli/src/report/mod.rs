//! The human side of a comparison's results: plots (PNG at twice their size and SVG, with
//! plotters) and `report.md`, a ranking over seeds with what is noise said, what the data shows,
//! and the plots embedded.

mod map_figure;
mod markdown;
mod plots;

use std::path::Path;

use stepwise_engine::RunHistory;
use stepwise_engine::findings::Note;
use stepwise_engine::output::Results;

use crate::commands::Error;

pub use map_figure::{Axis, MapFigure, Mark, Shape, format_loss};
pub use markdown::summary;

/// The report's file name.
pub const REPORT_FILE: &str = "report.md";
/// The engine's log.
pub const LOG_FILE: &str = "log.txt";

/// Writes the plots and `report.md` into `dir`, each file whole or not at all. `histories` are
/// the runs' in the order of `results.runs`.
pub fn write(
    dir: &Path,
    results: &Results,
    histories: &[RunHistory],
    notes: &[Note],
) -> Result<(), Error> {
    let save = |file: String, bytes: &[u8]| {
        stepwise_engine::output::write_atomically(&dir.join(file), bytes)
            .map_err(|err| Error::Failed(err.to_string()))
    };
    for (name, svg, png) in plots::render(results, histories)? {
        save(format!("{name}.svg"), svg.as_bytes())?;
        save(format!("{name}.png"), &png)?;
    }
    save(
        REPORT_FILE.into(),
        markdown::markdown(results, notes).as_bytes(),
    )
}

/// Removes the plots and log a previous experiment left in `dir`.
pub fn remove_plots(dir: &Path) -> std::io::Result<()> {
    for name in plots::PLOTS {
        for ext in ["png", "svg"] {
            let path = dir.join(format!("{name}.{ext}"));
            if path.exists() {
                std::fs::remove_file(path)?;
            }
        }
    }
    let log = dir.join(LOG_FILE);
    if log.exists() {
        std::fs::remove_file(log)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod fixtures {
    use stepwise_engine::output::Results;

    /// The non-empty texts of an SVG, in order; with `y_axis`, only the right-aligned ones (a y
    /// axis's tick labels).
    pub fn svg_labels(svg: &str, y_axis: bool) -> Vec<&str> {
        svg.split("</text>")
            .filter(|chunk| !y_axis || chunk.contains("text-anchor=\"end\""))
            .filter_map(|chunk| chunk.rsplit('>').next())
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .collect()
    }

    /// Results of `runs`, each `(optimizer, hyperparameters, best accuracy, diverged at)`.
    pub fn results(runs: &[(&str, serde_json::Value, Option<f32>, Option<u64>)]) -> Results {
        let runs: Vec<serde_json::Value> = runs
            .iter()
            .map(|(optimizer, hyperparameters, best, diverged)| {
                serde_json::json!({
                    "name": format!("{optimizer} {hyperparameters}"),
                    "optimizer": optimizer,
                    "hyperparameters": hyperparameters,
                    "status": if diverged.is_some() { "diverged" } else { "finished" },
                    "diverged_at_step": diverged,
                    "steps": 10,
                    "best_test_accuracy": best,
                    "best_epoch": best.map(|_| 1),
                    "final_test_accuracy": best,
                    "epochs": [],
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "quick": true,
            "description": "",
            "model": "resnet8",
            "device": "cpu",
            "data": "shipped sample",
            "train_images": 10,
            "test_images": 10,
            "batch_size": 2,
            "epochs": 1,
            "epochs_completed": 1,
            "runs": runs,
        }))
        .expect("results")
    }
}
