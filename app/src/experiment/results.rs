//! Results folders in the experiment view: one written by `stepwise compare` or saved here is
//! opened and shown; the last experiment's results are saved (a download in the browser).

use egui::{RichText, Ui};
#[cfg(not(target_arch = "wasm32"))]
use stepwise_engine::Experiment;

use super::ExperimentView;
#[cfg(not(target_arch = "wasm32"))]
use crate::board::Board;

/// Why the results were not saved.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, PartialEq)]
pub(super) enum SaveRefused {
    /// The folder holds result files that saving would replace (the user may confirm).
    Replaces(Vec<&'static str>),
    /// It cannot be saved there.
    Failed(String),
}

/// Writes `experiment`'s result files into `dir`, holding its lock meanwhile. Files already there
/// are replaced only when `confirmed`; a folder holding a `stepwise compare` experiment (its
/// checkpoint) is refused, as its results would no longer match the checkpoint `--resume`
/// continues from, and so is a folder another process is writing into.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn save_into(
    dir: &std::path::Path,
    experiment: &Experiment,
    confirmed: bool,
) -> Result<(), SaveRefused> {
    use stepwise_engine::{checkpoint, output};
    if dir.as_os_str().is_empty() {
        return Err(SaveRefused::Failed(
            "name a results folder to save into".into(),
        ));
    }
    // One writer at a time: a `stepwise compare` writing there holds the folder until it ends.
    let _lock = output::FolderLock::acquire(dir, "stepwise-app save")
        .map_err(|err| SaveRefused::Failed(err.to_string()))?;
    let existing =
        output::files_replaced(dir, &[]).map_err(|err| SaveRefused::Failed(err.to_string()))?;
    if existing.contains(&checkpoint::FILE_NAME) {
        return Err(SaveRefused::Failed(format!(
            "{} holds a `stepwise compare` experiment ({}): choose another folder",
            dir.display(),
            checkpoint::FILE_NAME
        )));
    }
    if !existing.is_empty() && !confirmed {
        return Err(SaveRefused::Replaces(existing));
    }
    output::write(dir, experiment)
        .map(drop)
        .map_err(|err| SaveRefused::Failed(err.to_string()))
}

impl ExperimentView {
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) fn folder_ui(&mut self, ui: &mut Ui, running: bool) {
        use stepwise_engine::output;
        let label = ui.label(RichText::new("Results folder").strong());
        ui.add(egui::TextEdit::singleline(&mut self.folder).hint_text("path/to/results"))
            .labelled_by(label.id);
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!running, egui::Button::new("open"))
                .on_hover_text("show a folder written by `stepwise compare` or saved here")
                .clicked()
            {
                match output::read(std::path::Path::new(&self.folder)) {
                    Ok(recorded) => {
                        self.board = Board::recorded(&recorded, self.smoothing);
                        self.session = None;
                        self.clear_ended();
                        self.message = Some((
                            false,
                            format!(
                                "showing {} ({} runs, {} epochs)",
                                self.folder,
                                recorded.results.runs.len(),
                                recorded.results.epochs_completed
                            ),
                        ));
                    }
                    Err(err) => self.message = Some((true, err.to_string())),
                }
            }
            let saveable = self.ended.is_some() && !running;
            if ui
                .add_enabled(saveable, egui::Button::new("save results"))
                .on_hover_text(
                    "write config.toml, metrics.csv and results.json of the last experiment",
                )
                .clicked()
                && let Some(experiment) = &self.ended
            {
                let dir = std::path::PathBuf::from(self.folder.trim());
                let confirmed = self.confirmed_replace.take().as_ref() == Some(&dir);
                self.message = Some(match save_into(&dir, experiment, confirmed) {
                    Ok(()) => (false, format!("results written to {}", dir.display())),
                    Err(SaveRefused::Replaces(files)) => {
                        self.confirmed_replace = Some(dir.clone());
                        let message = format!(
                            "{} already holds {}: press \"save results\" again to replace them",
                            dir.display(),
                            files.join(", ")
                        );
                        (true, message)
                    }
                    Err(SaveRefused::Failed(reason)) => (true, reason),
                });
            }
        });
        let label = ui.label(RichText::new("TensorBoard folder").strong());
        ui.add_enabled(
            !running,
            egui::TextEdit::singleline(&mut self.tensorboard).hint_text("none"),
        )
        .labelled_by(label.id)
        .on_hover_text(
            "each experiment started writes its runs there, in a version-N folder of its own, \
             as TensorBoard event files while it trains (watch with: tensorboard --logdir \
             FOLDER)",
        );
    }

    /// Where the next experiment writes TensorBoard event files, if anywhere: a `version-N`
    /// folder of its own under the one set, so that experiments started one after another never
    /// mix.
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) fn tensorboard_dir(&self) -> Option<std::path::PathBuf> {
        let dir = self.tensorboard.trim();
        (!dir.is_empty()).then(|| stepwise_engine::tensorboard::next_version(dir.as_ref()))
    }

    /// The browser has no folders to write TensorBoard's files into.
    #[cfg(target_arch = "wasm32")]
    #[allow(clippy::unused_self)] // the desktop's reads the view
    pub(super) const fn tensorboard_dir(&self) -> Option<std::path::PathBuf> {
        None
    }

    /// The browser has no folders: the last experiment's files are offered as downloads.
    #[cfg(target_arch = "wasm32")]
    pub(super) fn folder_ui(&mut self, ui: &mut Ui, running: bool) {
        use stepwise_engine::output;
        ui.label(RichText::new("Results").strong());
        let saveable = self.ended.is_some() && !running;
        ui.horizontal_wrapped(|ui| {
            for name in output::RESULT_FILES {
                let button = ui
                    .add_enabled(saveable, egui::Button::new(format!("⬇ {name}")))
                    .on_hover_text("download it from the last experiment that ended")
                    .on_disabled_hover_text("once an experiment has ended");
                // Made on the click, not every frame: metrics.csv holds every step.
                if button.clicked()
                    && let Some(files) = self.result_files()
                {
                    let saved = files.and_then(|files| {
                        let (_, bytes) = files
                            .iter()
                            .find(|(file, _)| *file == name)
                            .ok_or_else(|| format!("{name} was not made"))?;
                        crate::platform::download(name, bytes)
                    });
                    if let Err(reason) = saved {
                        self.message = Some((true, reason));
                    }
                }
            }
        });
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use stepwise_engine::{Compute, ExperimentConfig, checkpoint, output};

    use super::*;

    /// Saving results never silently replaces another experiment's.
    #[test]
    fn saving_asks_before_replacing_and_refuses_a_compare_folder() {
        let data = stepwise_data::load_or_sample(std::path::Path::new("/nonexistent/stepwise"))
            .expect("sample");
        let experiment =
            Experiment::new(ExperimentConfig::starting_point(), data, Compute::Cpu).expect("new");
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("saved");

        assert_eq!(save_into(&folder, &experiment, false), Ok(()));
        let written = std::fs::read_to_string(folder.join(output::RESULTS_FILE)).expect("read");
        std::fs::write(folder.join(output::RESULTS_FILE), "another experiment's").expect("write");
        assert_eq!(
            save_into(&folder, &experiment, false),
            Err(SaveRefused::Replaces(output::RESULT_FILES.to_vec()))
        );
        let kept = std::fs::read_to_string(folder.join(output::RESULTS_FILE)).expect("read");
        assert_eq!(
            kept, "another experiment's",
            "nothing replaced before the user confirms"
        );
        assert_eq!(save_into(&folder, &experiment, true), Ok(()));
        let replaced = std::fs::read_to_string(folder.join(output::RESULTS_FILE)).expect("read");
        // The same results, written again (a second later, maybe).
        let undated = |text: &str| {
            let mut results: output::Results = serde_json::from_str(text).expect("results");
            results.written_at = None;
            results
        };
        assert_eq!(undated(&replaced), undated(&written));

        std::fs::write(folder.join(checkpoint::FILE_NAME), "a compare run").expect("write");
        let Err(SaveRefused::Failed(reason)) = save_into(&folder, &experiment, true) else {
            panic!("saved over a `stepwise compare` experiment");
        };
        assert!(reason.ends_with("holds a `stepwise compare` experiment (checkpoint.safetensors): choose another folder"), "{reason}");
        assert!(matches!(
            save_into(std::path::Path::new(""), &experiment, true),
            Err(SaveRefused::Failed(_))
        ));

        let busy = dir.path().join("busy");
        let _compare = output::FolderLock::acquire(&busy, "stepwise compare").expect("lock");
        let Err(SaveRefused::Failed(reason)) = save_into(&busy, &experiment, true) else {
            panic!("saved into a folder another writer holds");
        };
        assert!(
            reason.contains("is in use by another Stepwise process (stepwise compare, process"),
            "{reason}"
        );
        assert!(!busy.join(output::RESULTS_FILE).exists());
    }
}
