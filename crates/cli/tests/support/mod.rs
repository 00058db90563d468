//! Running the `stepwise` binary from the CLI's tests.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// The `results.json` at `path` (a file, or a folder holding one), parsed.
#[allow(dead_code)] // not every test file reads results
pub fn results(path: &Path) -> serde_json::Value {
    let file = if path.is_dir() {
        path.join("results.json")
    } else {
        path.to_owned()
    };
    let json = std::fs::read_to_string(&file).expect("results.json");
    serde_json::from_str(&json).expect("results.json parses")
}

/// Starts `stepwise args` in the background, stdout discarded and stderr piped.
#[allow(dead_code)] // for the tests that interrupt a command
pub fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

/// Waits until `ready` holds, checking every few milliseconds, for at most 5 minutes.
#[allow(dead_code)] // for the tests that interrupt a command
pub fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "{what}: not in 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `child` the signal `name` (`INT`, `TERM`), as kill(1) does.
#[allow(dead_code)] // for the tests that interrupt a command
pub fn signal(child: &Child, name: &str) {
    let kill = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success(), "SIG{name} sent");
}

/// What an experiment's `results.json` in `dir` says of each run at each seed: its best and final
/// test accuracy and every epoch's test loss, sorted by run and seed, to compare two ways of
/// training the same runs.
#[allow(dead_code)] // for the sweep tests
pub fn figures(dir: &Path) -> Vec<String> {
    let results = results(dir);
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
