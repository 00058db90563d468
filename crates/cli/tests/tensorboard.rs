//! `stepwise compare --tensorboard` through the binary: the event files read back by TensorBoard's
//! own reader (the `tensorboard` package, through `support/read_tensorboard.py`, with the Python
//! that `STEPWISE_TENSORBOARD_PYTHON` names: `.ci/run` installs one) and by this workspace's, and
//! checked against `metrics.csv` and `results.json`; a folder of another experiment refused; a
//! resumed experiment's runs as TensorBoard shows them equal to an uninterrupted one's.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use stepwise_tensorboard::{Ended, HParam, read_run};
use support::{stepwise, text};

/// Two epochs of resnet8 on 64 images at two seeds: Adam, and SGD at a learning rate that
/// diverges.
const EXPERIMENT: &str = r#"
model = "resnet8"
epochs = 2
batch_size = 32
train_images = 64
test_images = 64
seeds = [0, 1]

[[runs]]
name = "Adam"
optimizer = "adam"
lr = 0.002

[[runs]]
name = "SGD/huge lr"
optimizer = "sgd"
lr = 1e6
"#;

/// One run as read back: each tag's (step, value) pairs, the hyperparameters, how it ended.
#[derive(Debug, PartialEq)]
struct Run {
    scalars: BTreeMap<String, Vec<(i64, f32)>>,
    hparams: BTreeMap<String, HParam>,
    group: Option<String>,
    ended: Option<Ended>,
}

/// Every run under `logdir` as TensorBoard's reader sees it, by folder; `None` (said) without
/// `STEPWISE_TENSORBOARD_PYTHON`.
fn tensorboard_reads(logdir: &Path) -> Option<BTreeMap<String, Run>> {
    let Some(python) = std::env::var_os("STEPWISE_TENSORBOARD_PYTHON") else {
        println!(
            "SKIPPED TensorBoard's reader: no STEPWISE_TENSORBOARD_PYTHON (a Python with the \
             tensorboard package; .ci/run installs one); this workspace's reader still checks"
        );
        return None;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/read_tensorboard.py");
    let output = Command::new(python)
        .arg(script)
        .arg(logdir)
        .output()
        .expect("python runs");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let number = |value: &serde_json::Value| match value {
        serde_json::Value::String(name) => name.parse::<f32>().expect("NaN, inf or -inf"),
        other => other.as_f64().expect("a number") as f32,
    };
    let runs = json.as_object().expect("runs by folder").iter();
    Some(
        runs.map(|(folder, run)| {
            let scalars = run["scalars"].as_object().expect("scalars").iter();
            let scalars = scalars
                .map(|(tag, points)| {
                    let points = points.as_array().expect("points").iter();
                    let points = points.map(|p| (p[0].as_i64().expect("step"), number(&p[1])));
                    (tag.clone(), points.collect())
                })
                .collect();
            let hparams = run["hparams"].as_object().expect("hparams").iter();
            let hparams = hparams
                .map(|(name, value)| {
                    let value = match value {
                        serde_json::Value::Bool(b) => HParam::Bool(*b),
                        serde_json::Value::String(s) => HParam::Text(s.clone()),
                        other => HParam::Number(other.as_f64().expect("a number")),
                    };
                    (name.clone(), value)
                })
                .collect();
            let ended = match run["status"].as_i64() {
                Some(1) => Some(Ended::Success),
                Some(2) => Some(Ended::Failure),
                _ => None,
            };
            let group = run["group"].as_str().map(str::to_owned);
            let run = Run {
                scalars,
                hparams,
                group,
                ended,
            };
            (folder.clone(), run)
        })
        .collect(),
    )
}

/// The same folders read by `stepwise_tensorboard::read_run`.
fn workspace_reads(logdir: &Path, folders: &[&str]) -> BTreeMap<String, Run> {
    folders
        .iter()
        .map(|folder| {
            let run = read_run(&logdir.join(folder)).expect("readable");
            assert_eq!(run.files, 1, "{folder}: one file per run and process");
            let run = Run {
                scalars: run.scalars,
                hparams: run.hparams,
                group: run.group,
                ended: run.ended,
            };
            ((*folder).to_owned(), run)
        })
        .collect()
}

/// `metrics.csv`'s step rows of (run, seed): step and the value of `column`, as f32.
fn csv_steps(out: &Path, run: &str, seed: &str, column: &str) -> Vec<(i64, f32)> {
    let mut reader = csv::Reader::from_path(out.join("metrics.csv")).expect("metrics.csv");
    let headers = reader.headers().expect("header").clone();
    let at = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let (run_at, seed_at, kind_at, step_at, value_at) =
        (at("run"), at("seed"), at("kind"), at("step"), at(column));
    reader
        .records()
        .map(|record| record.expect("row"))
        .filter(|r| &r[run_at] == run && &r[seed_at] == seed && &r[kind_at] == "step")
        .filter(|r| !r[value_at].is_empty())
        .map(|r| {
            let step = r[step_at].parse().expect("step");
            (step, r[value_at].parse().expect("value"))
        })
        .collect()
}

/// `stepwise compare` of `config` into `out` on the CPU, with `more` flags.
fn compare_args(config: &Path, out: &Path, more: &[&str]) -> Vec<String> {
    let (config, out) = (config.display().to_string(), out.display().to_string());
    let args = [
        "compare", "--config", &config, "--out", &out, "--device", "cpu",
    ];
    args.iter().chain(more).map(|&arg| arg.to_owned()).collect()
}

/// Runs [`compare_args`].
fn compare(config: &Path, out: &Path, more: &[&str]) -> std::process::Output {
    let args = compare_args(config, out, more);
    stepwise(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn every_metric_and_hyperparameter_reads_back_in_tensorboard() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("experiment.toml");
    std::fs::write(&config, EXPERIMENT).expect("config");
    let (out, logdir) = (dir.path().join("out"), dir.path().join("logs"));
    let logdir_arg = logdir.display().to_string();
    let to_logdir = ["--tensorboard", logdir_arg.as_str()];
    let run = compare(&config, &out, &to_logdir);
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "tensorboard: {} (watch: tensorboard --logdir {0})",
            logdir.display()
        )),
        "says where, and how to watch: {stderr}"
    );

    // A run per run and seed; the `/` a run's name holds cannot split its folder.
    let folders = [
        "Adam/seed-0",
        "Adam/seed-1",
        "SGD_huge lr/seed-0",
        "SGD_huge lr/seed-1",
    ];
    let ours = workspace_reads(&logdir, &folders);
    if let Some(theirs) = tensorboard_reads(&logdir) {
        assert_eq!(theirs, ours, "TensorBoard reads what this workspace does");
    }
    let results = support::results(&out);
    for (folder, run) in &ours {
        let (name, seed) = if folder.starts_with("Adam") {
            ("Adam", &folder[folder.len() - 1..])
        } else {
            ("SGD/huge lr", &folder[folder.len() - 1..])
        };
        for column in ["loss", "lr", "grad_norm", "update_ratio", "weight_norm"] {
            let expected = csv_steps(&out, name, seed, column);
            assert!(!expected.is_empty(), "{folder} {column}: measured");
            let tag = format!("step/{column}");
            let got = run.scalars.get(&tag).cloned().unwrap_or_default();
            // A diverged step's loss is NaN in both, which == cannot compare.
            let same = |a: &[(i64, f32)], b: &[(i64, f32)]| {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|(x, y)| x.0 == y.0 && (x.1 == y.1 || (x.1.is_nan() && y.1.is_nan())))
            };
            assert!(
                same(&got, &expected),
                "{folder} {tag}: {got:?} vs {expected:?}"
            );
        }
        assert_eq!(run.group.as_deref(), Some(name), "{folder}: grouped by run");
        assert_eq!(
            run.hparams.get("seed"),
            Some(&HParam::Number(seed.parse().expect("seed"))),
            "{folder}"
        );
        assert_eq!(
            run.hparams.get("model"),
            Some(&HParam::Text("resnet8".into())),
            "{folder}"
        );
        let row = results["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .find(|r| r["name"] == name && r["seed"].as_u64() == seed.parse().ok())
            .expect("the run in results.json");
        let epochs = row["epochs"].as_array().expect("epochs");
        let accuracy = run.scalars.get("epoch/test_accuracy");
        if name == "Adam" {
            assert_eq!(
                run.hparams.get("lr"),
                Some(&HParam::Number(0.002)),
                "{folder}"
            );
            assert_eq!(run.ended, Some(Ended::Success), "{folder}");
            // Per-epoch figures at the epoch's last step: 2 steps of 32 images an epoch.
            let expected: Vec<(i64, f32)> = epochs
                .iter()
                .map(|e| {
                    let epoch = e["epoch"].as_i64().expect("epoch");
                    (
                        2 * epoch,
                        e["test_accuracy"].as_f64().expect("accuracy") as f32,
                    )
                })
                .collect();
            assert_eq!(accuracy, Some(&expected), "{folder}");
        } else {
            assert_eq!(run.ended, Some(Ended::Failure), "{folder}: it diverged");
            assert!(
                epochs.is_empty() && accuracy.is_none(),
                "{folder}: no epoch"
            );
            let diverged_at = row["diverged_at_step"].as_i64().expect("diverged");
            let losses = &run.scalars["step/loss"];
            assert_eq!(losses.last().map(|l| l.0), Some(diverged_at), "{folder}");
        }
    }

    // A second experiment into the same TensorBoard folder would mix with the first: refused,
    // before its output folder is made.
    let other = dir.path().join("other");
    let again = compare(&config, &other, &to_logdir);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains(&format!(
            "--tensorboard {} already holds TensorBoard event files",
            logdir.join("Adam/seed-0").display()
        )),
        "{}",
        text(&again.stderr)
    );
    assert!(!other.join("log.txt").exists(), "nothing written");
}

#[test]
fn a_resumed_experiment_shows_in_tensorboard_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("experiment.toml");
    // One seed, Adam alone: its folder is the run's name.
    let adam_only = EXPERIMENT
        .split("[[runs]]\nname = \"SGD")
        .next()
        .expect("Adam's part")
        .replace("seeds = [0, 1]", "seeds = [0]");
    std::fs::write(&config, adam_only).expect("config");
    // Six epochs, TensorBoard's runs in the output folder's tensorboard/.
    let more = ["--epochs", "6", "--tensorboard"];
    let straight = dir.path().join("straight");
    let run = compare(&config, &straight, &more);
    assert!(run.status.success(), "{}", text(&run.stderr));

    // Interrupted after its first epoch's checkpoint, then resumed with the default folder.
    let resumed = dir.path().join("resumed");
    let args = compare_args(&config, &resumed, &more);
    let child = support::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>());
    support::wait_until("the first checkpoint", || {
        resumed.join("checkpoint.safetensors").exists()
    });
    support::signal(&child, "INT");
    let stopped = child.wait_with_output().expect("wait");
    assert_eq!(
        stopped.status.code(),
        Some(75),
        "stopped before its sixth epoch: {}",
        text(&stopped.stderr)
    );
    let completed = support::results(&resumed)["epochs_completed"]
        .as_i64()
        .expect("epochs completed");
    let resumed_arg = resumed.display().to_string();
    let again = stepwise(&["compare", "--resume", &resumed_arg, "--tensorboard"]);
    assert!(again.status.success(), "{}", text(&again.stderr));

    let (board, unbroken) = (resumed.join("tensorboard"), straight.join("tensorboard"));
    let run = read_run(&board.join("Adam")).expect("readable");
    assert_eq!(run.files, 2, "a file per process");
    // Two steps an epoch: training restarts at the step after the checkpoint's.
    assert_eq!(run.restarts, [2 * completed + 1], "where it restarts");
    let whole = read_run(&unbroken.join("Adam")).expect("readable");
    // The figures training computes (not the seconds it took).
    let tags = [
        "step/loss",
        "step/lr",
        "step/grad_norm",
        "epoch/train_loss",
        "epoch/test_accuracy",
    ];
    for tag in tags {
        assert_eq!(
            run.scalars[tag], whole.scalars[tag],
            "{tag}: what the first process wrote past its checkpoint is dropped"
        );
    }
    if let (Some(theirs), Some(unbroken)) =
        (tensorboard_reads(&board), tensorboard_reads(&unbroken))
    {
        for tag in tags {
            assert_eq!(
                theirs["Adam"].scalars[tag], unbroken["Adam"].scalars[tag],
                "{tag}, in TensorBoard's reader"
            );
        }
    }
}
