//! Running the `stepwise` binary from the CLI's tests.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `stepwise` with `args` and waits for it.
pub fn stepwise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(args)
        .output()
        .expect("stepwise runs")
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

/// Runs `stepwise` with `args`, checks that it succeeded, and returns its stdout and stderr.
#[allow(dead_code)] // not every test file runs commands this way
pub fn succeeded(args: &[&str]) -> (String, String) {
    let output = stepwise(args);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{args:?}: {stderr}");
    (stdout, stderr)
}

/// What an experiment's `results.json` in `dir` says of each run at each seed: its best and final
/// test accuracy and every epoch's test loss, sorted by run and seed, to compare two ways of
/// training the same runs.
#[allow(dead_code)] // for the sweep tests
pub fn figures(dir: &Path) -> Vec<String> {
    let json = std::fs::read_to_string(dir.join("results.json")).expect("results.json");
    let results: serde_json::Value = serde_json::from_str(&json).expect("results.json parses");
    let mut figures: Vec<String> = results["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|run| {
            let losses: Vec<String> = run["epochs"]
                .as_array()
                .expect("epochs")
                .iter()
                .map(|e| e["test_loss"].to_string())
                .collect();
            format!(
                "{} seed {}: {} {} {}",
                run["name"],
                run["seed"],
                run["best_test_accuracy"],
                run["final_test_accuracy"],
                losses.join(",")
            )
        })
        .collect();
    figures.sort();
    figures
}
