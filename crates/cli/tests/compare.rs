//! `stepwise compare` through the binary, on the CPU backend with the shipped sample: every output
//! file read back, a refused output folder left untouched, and an experiment interrupted with
//! Ctrl-C then resumed ending exactly as an uninterrupted one.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

mod support;

use std::path::Path;
use std::process::Command;

use support::{results, spawn, stepwise, text, wait_until};

/// Three epochs of resnet8 on 64 images, two optimizers.
const EXPERIMENT: &str = r#"
description = "two optimizers, three tiny epochs"
model = "resnet8"
epochs = 3
batch_size = 32
train_images = 64
test_images = 100

[[runs]]
name = "SGD"
optimizer = "sgd"
lr = 0.05
momentum = 0.9

[[runs]]
name = "Adam"
optimizer = "adam"
"#;

fn compare_args<'a>(config: &'a str, out: &'a str, data: &'a str) -> Vec<&'a str> {
    vec![
        "compare",
        "--config",
        config,
        "--out",
        out,
        "--device",
        "cpu",
        "--data-dir",
        data,
    ]
}

fn setup(dir: &Path) -> (String, String) {
    let config = dir.join("tiny.toml");
    std::fs::write(&config, EXPERIMENT).expect("config");
    let data = dir.join("no-data-here");
    std::fs::create_dir(&data).expect("an empty data folder: the sample is used");
    (config.display().to_string(), data.display().to_string())
}

#[test]
fn compare_writes_every_output_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, data) = setup(dir.path());
    let out = dir.path().join("out");
    let out_str = out.display().to_string();
    let run = stepwise(&compare_args(&config, &out_str, &data));
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("the shipped CIFAR-10 sample (no CIFAR-10 installed in "),
        "{stderr}"
    );
    assert!(stderr.contains("device: CPU (chosen)"), "{stderr}");
    assert!(stderr.contains("report: "), "{stderr}");

    let results = results(&out);
    assert_eq!(results["epochs_completed"], 3);
    assert_eq!(results["device"], "cpu");
    assert_eq!(results["stepwise_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(results["augment"], false);
    assert_eq!(
        results["schedule"],
        serde_json::json!({"schedule": "constant"})
    );
    // RFC 3339 in UTC, to the second, and in order.
    let (started, written) = (
        results["started_at"].as_str().expect("started_at"),
        results["written_at"].as_str().expect("written_at"),
    );
    for at in [started, written] {
        assert!(
            at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
            "{at}"
        );
    }
    assert!(started <= written, "{started} then {written}");
    let epoch_seconds: f64 = results["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .flat_map(|run| run["epochs"].as_array().expect("epochs"))
        .fold(0.0, |sum, e| {
            sum + e["seconds"].as_f64().expect("s") + e["eval_seconds"].as_f64().expect("s")
        });
    assert_eq!(
        results["wall_seconds"].as_f64(),
        Some((epoch_seconds * 1e3).round() / 1e3)
    );
    let log = std::fs::read_to_string(out.join("log.txt")).expect("log.txt");
    let epoch_line = log
        .lines()
        .find(|line| line.contains("epoch done") && line.contains("run=SGD seed 0"))
        .unwrap_or_else(|| panic!("an epoch of SGD at seed 0 in {log}"));
    let accuracy = epoch_line
        .split("test_accuracy=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("test_accuracy");
    assert_eq!(
        accuracy.split('.').nth(1).map(str::len),
        Some(4),
        "{epoch_line}"
    );
    let runs = results["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    for run in runs {
        assert_eq!(run["status"], "finished");
        assert_eq!(run["diverged_at_step"], serde_json::Value::Null);
        assert_eq!(run["epochs"].as_array().expect("epochs").len(), 3);
        assert_eq!(run["steps"], 6);
    }
    assert_eq!(runs[0]["hyperparameters"]["momentum"], 0.9);

    let csv = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv");
    assert_eq!(csv.lines().count(), 1 + 2 * (6 + 3));
    let toml = std::fs::read_to_string(out.join("config.toml")).expect("config.toml");
    assert!(
        toml.contains("name = \"SGD\"") && toml.contains("beta1 = 0.9"),
        "{toml}"
    );

    let report = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(report.contains("| rank | run | optimizer |"), "{report}");
    assert!(
        report.contains("| SGD | sgd |") && report.contains("| Adam | adam |"),
        "{report}"
    );
    assert!(report.contains("![Test accuracy per epoch](test_accuracy.png)"));
    for plot in [
        "loss",
        "loss_time",
        "test_accuracy",
        "accuracy_time",
        "lr",
        "step_size",
        "update_ratio",
    ] {
        assert!(
            report.contains(&format!("]({plot}.png)")),
            "{plot} in the report"
        );
        let png = image::open(out.join(format!("{plot}.png")))
            .expect("png decodes")
            .to_rgb8();
        assert_eq!(
            png.dimensions(),
            (1920, 1080),
            "{plot}: PNG at twice the SVG's size"
        );
        // Both runs' colours (category10 blue and orange) are drawn.
        for colour in [[0x1f, 0x77, 0xb4], [0xff, 0x7f, 0x0e]] {
            assert!(
                png.pixels().any(|p| p.0 == colour),
                "{plot}.png lacks colour {colour:?}"
            );
        }
        let svg = std::fs::read_to_string(out.join(format!("{plot}.svg"))).expect("svg");
        assert!(
            svg.contains("SGD") && svg.contains("Adam"),
            "{plot}.svg legend"
        );
    }
    assert!(out.join("checkpoint.safetensors").is_file());

    // A second experiment into the same folder is refused, and nothing there changes.
    let before = std::fs::read(out.join("results.json")).expect("read");
    let again = stepwise(&compare_args(&config, &out_str, &data));
    assert_eq!(again.status.code(), Some(2));
    let stderr = text(&again.stderr);
    assert!(stderr.contains("holds another experiment"), "{stderr}");
    assert!(
        stderr.contains("--resume") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(out.join("results.json")).expect("read"),
        before
    );

    // --force replaces it only once the new experiment can start: with unreadable data it
    // fails, naming the data, and the old experiment stays whole.
    let broken = dir.path().join("broken-data");
    std::fs::create_dir_all(broken.join("cifar-10-batches-bin")).expect("mkdir");
    let broken = broken.display().to_string();
    let mut forced = compare_args(&config, &out_str, &broken);
    forced.push("--force");
    let forced = stepwise(&forced);
    assert_eq!(forced.status.code(), Some(1));
    let stderr = text(&forced.stderr);
    assert!(
        stderr.contains("has no data_batch_1.bin: the data set is only partly installed"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(out.join("results.json")).expect("read"),
        before
    );
    assert!(out.join("checkpoint.safetensors").is_file());
    assert!(out.join("loss.png").is_file());
}

/// `--seeds 2`: every run at seeds 0 and 1, each seed in every output, and a report that
/// compares the runs seed by seed.
#[test]
fn seeds_repeat_every_run_and_the_report_pairs_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, data) = setup(dir.path());
    let out = dir.path().join("out");
    let out_str = out.display().to_string();
    let mut args = compare_args(&config, &out_str, &data);
    args.extend(["--seeds", "2", "--epochs", "1"]);
    let run = stepwise(&args);
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains(": 2 runs x 2 seeds, 1 epoch\n"), "{stderr}");
    // Not a terminal: plain lines, a run's step (here every one, an epoch being 2 steps), its
    // epoch, and the epoch's end.
    for line in [
        "] epoch 1/1 step 2/2 Adam (seed 1): loss ",
        "] epoch 1/1 SGD (seed 0): train loss ",
        "] epoch 1/1 done\n",
    ] {
        assert!(stderr.contains(line), "{line} in {stderr}");
    }

    let results = results(&out);
    assert_eq!(results["seeds"], serde_json::json!([0, 1]));
    let runs: Vec<(String, u64)> = results["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("name").to_owned(),
                r["seed"].as_u64().expect("seed"),
            )
        })
        .collect();
    let expected = [("SGD", 0), ("Adam", 0), ("SGD", 1), ("Adam", 1)];
    assert_eq!(
        runs,
        expected.map(|(name, seed)| (name.to_owned(), seed)),
        "every run at every seed, seed by seed"
    );
    let csv = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv");
    assert!(csv.starts_with("run,seed,kind,"), "{csv}");
    assert_eq!(
        csv.lines().count(),
        1 + 4 * (2 + 1),
        "2 steps and 1 epoch per run and seed"
    );
    assert!(csv.lines().any(|l| l.starts_with("Adam,1,epoch,")), "{csv}");
    let toml = std::fs::read_to_string(out.join("config.toml")).expect("config.toml");
    assert!(toml.contains("seeds = [0, 1]"), "{toml}");

    let report = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(
        report.contains("| seeds | 2 (0, 1); the runs of a seed share"),
        "{report}"
    );
    assert!(
        report.contains("Accuracies are the mean over 2 seeds"),
        "{report}"
    );
    assert!(report.contains("## Paired differences"), "{report}");
    assert!(
        report.contains("| SGD − Adam |") || report.contains("| Adam − SGD |"),
        "{report}"
    );
    assert!(report.contains("test acc (mean ± sd, range)"), "{report}");
    assert!(
        report.contains("mean of its 2 seeds, with their range as a band"),
        "{report}"
    );
    let svg = std::fs::read_to_string(out.join("loss.svg")).expect("loss.svg");
    assert!(svg.contains("mean of 2 seeds, band: their range"), "{svg}");
    // The terminal's summary says it is a mean.
    let stdout = text(&run.stdout);
    assert!(stdout.contains("run (mean of 2 seeds)"), "{stdout}");

    // --seed moves the first seed; a resume takes no seed flags.
    assert_refused(
        &["compare", "--resume", &out_str, "--seeds", "3"],
        "drop --epochs, --batch-size, --seed, --seeds",
    );
    assert_refused(
        &quick(&out_str, &["--seeds", "0"]),
        "invalid value '0' for '--seeds <N>'",
    );
}

/// Runs `stepwise args` and checks that it was refused (exit status 2) with `message` on stderr.
fn assert_refused(args: &[&str], message: &str) {
    let output = stepwise(args);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?}: expected {message:?} in: {stderr}"
    );
}

/// `stepwise compare` of the quick `seed-optimizers` into `out`, with `flags`.
fn quick<'a>(out: &'a str, flags: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "compare",
        "--preset",
        "seed-optimizers",
        "--quick",
        "--out",
        out,
    ];
    args.extend_from_slice(flags);
    args
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out").display().to_string();
    assert_refused(
        &["compare", "--preset", "nope", "--out", &out],
        "unknown preset 'nope'",
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "epochs = \"many\"").expect("write");
    let bad = bad.display().to_string();
    assert_refused(
        &[
            "compare",
            "--preset",
            "seed-optimizers",
            "--config",
            &bad,
            "--out",
            &out,
        ],
        &format!("{bad}:1:10: epochs: invalid type: string \"many\", expected u32"),
    );
    assert_refused(
        &quick(&out, &["--epochs", "0"]),
        "command-line flags: epochs: must be at least 1",
    );
    assert_refused(
        &quick(&out, &["--seed", "18446744073709551615"]),
        "--seed 18446744073709551615: at most 9223372036854775807",
    );

    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").expect("write");
    let file = file.display().to_string();
    assert_refused(
        &["compare", "--preset", "seed-optimizers", "--out", &file],
        &format!("--out {file}: not a folder"),
    );

    let typo = dir.path().join("no-such-folder").display().to_string();
    assert_refused(
        &quick(&out, &["--data-dir", &typo]),
        &format!("--data-dir {typo}: no such folder"),
    );

    assert_refused(&["compare", "--resume", &out], "no checkpoint.safetensors");
    assert!(
        !Path::new(&out).exists(),
        "nothing written for refused input"
    );
}

#[test]
fn an_interrupted_comparison_resumes_to_the_same_results() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, data) = setup(dir.path());
    let straight = dir.path().join("straight").display().to_string();
    let five_epochs = |out| {
        let mut args = compare_args(&config, out, &data);
        args.extend(["--epochs", "5"]);
        args
    };
    let run = stepwise(&five_epochs(&straight));
    assert!(run.status.success(), "{}", text(&run.stderr));

    // Ctrl-C once the first epoch's checkpoint exists.
    let resumed = dir.path().join("resumed");
    let resumed_str = resumed.display().to_string();
    let first = interrupt(&five_epochs(&resumed_str), &resumed, "INT", 1);
    // Resumed, then stopped again by SIGTERM (a job scheduler's or `kill`'s) one epoch later.
    let resume = [
        "compare",
        "--resume",
        &resumed_str,
        "--device",
        "cpu",
        "--data-dir",
        &data,
    ];
    let second = interrupt(&resume, &resumed, "TERM", first + 1);
    assert!(second > first, "the resumed run trained on");

    // A config.toml edited since the checkpoint would be ignored, then overwritten: refused.
    let config_file = resumed.join("config.toml");
    let original = std::fs::read_to_string(&config_file).expect("config.toml");
    let edited = original.replace("epochs = 5", "epochs = 7");
    assert_ne!(edited, original);
    std::fs::write(&config_file, &edited).expect("edit");
    assert_refused(
        &resume,
        &format!(
            "{} was edited since the last checkpoint (epochs); --resume continues the experiment \
             as it was checkpointed",
            config_file.display()
        ),
    );
    assert_eq!(std::fs::read_to_string(&config_file).expect("kept"), edited);
    std::fs::write(&config_file, &original).expect("put back");

    let again = stepwise(&resume);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let (a, b) = (results(Path::new(&straight)), results(&resumed));
    for (x, y) in a["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .zip(b["runs"].as_array().expect("runs"))
    {
        for key in ["train_loss", "test_loss", "test_accuracy"] {
            let values = |run: &serde_json::Value| -> Vec<f64> {
                run["epochs"]
                    .as_array()
                    .expect("epochs")
                    .iter()
                    .map(|e| e[key].as_f64().expect("number"))
                    .collect()
            };
            assert_eq!(values(x), values(y), "{}: {key}", x["name"]);
        }
    }
}

/// Runs `stepwise args`, sends it `signal` once `out` holds a checkpoint of at least `epochs`
/// epochs, and checks that it stopped cleanly: exit status 75, results and report written, and
/// word of how to continue. While it runs, a second writer into `out` is refused. Returns the
/// epochs completed.
fn interrupt(args: &[&str], out: &Path, signal: &str, epochs: u64) -> u64 {
    let child = spawn(args);
    let completed = || {
        let json = std::fs::read_to_string(out.join("results.json")).ok()?;
        let results: serde_json::Value = serde_json::from_str(&json).ok()?;
        results["epochs_completed"].as_u64()
    };
    wait_until(&format!("a checkpoint of {epochs} epochs"), || {
        out.join("checkpoint.safetensors").exists() && completed() >= Some(epochs)
    });
    let second = stepwise(&["compare", "--resume", &out.display().to_string()]);
    assert_eq!(second.status.code(), Some(2), "a second writer is refused");
    assert!(
        text(&second.stderr).contains(&format!(
            "{} is in use by another Stepwise process (stepwise compare",
            out.display()
        )) && text(&second.stderr).contains(&format!("process {})", child.id())),
        "names the folder and the holder: {}",
        text(&second.stderr)
    );
    support::signal(&child, signal);
    let output = child.wait_with_output().expect("wait");
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(75),
        "SIG{signal}: a clean stop, told from a finished run: {stderr}"
    );
    let completed = completed().expect("results written on stop");
    assert!(
        completed < 5,
        "SIG{signal}: stopped early (after {completed} epochs)"
    );
    assert!(
        stderr.contains("--resume"),
        "SIG{signal}: says how to continue: {stderr}"
    );
    assert!(
        out.join("report.md").is_file(),
        "SIG{signal}: report written on stop"
    );
    completed
}

#[test]
fn runs_are_dealt_over_the_devices_the_config_names_and_the_flag_overrides() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, data) = setup(dir.path());
    // One step and a small evaluation per run: the point is where each run trains.
    let config = dir.path().join("placed.toml");
    let placed = EXPERIMENT
        .replace("epochs = 3", "epochs = 1\ndevices = [\"cpu\", \"gpu\"]")
        .replace("train_images = 64", "train_images = 32")
        .replace("test_images = 100", "test_images = 20");
    std::fs::write(&config, placed).expect("config");
    let out = dir.path().join("out");
    let run = stepwise(&[
        "compare",
        "--config",
        &config.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--data-dir",
        &data,
    ]);
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "devices: the runs are dealt over cpu,gpu, in turn\n  cpu: CPU (chosen)\n  gpu: GPU: "
        ),
        "{stderr}"
    );
    assert!(stderr.contains("resnet8 on cpu,gpu: 2 runs"), "{stderr}");
    let results = results(&out);
    assert_eq!(results["device"], "cpu,gpu");
    let devices: Vec<&str> = results["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|run| run["device"].as_str().expect("each run's device"))
        .collect();
    assert_eq!(devices, ["cpu", "gpu"]);
    let toml = std::fs::read_to_string(out.join("config.toml")).expect("config.toml");
    assert!(toml.contains("devices = [\"cpu\", \"gpu\"]"), "{toml}");

    // The flag overrides the configuration; an adapter the machine lacks is named with the list.
    let missing = stepwise(&[
        "compare",
        "--config",
        &config.display().to_string(),
        "--out",
        &dir.path().join("elsewhere").display().to_string(),
        "--data-dir",
        &data,
        "--device",
        "cpu,gpu:7",
    ]);
    let stderr = text(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("gpu:7: this machine lists 1 GPU adapter(s): gpu:0 "),
        "{stderr}"
    );
    assert_refused(
        &quick(&out.display().to_string(), &["--device", "tpu"]),
        "'tpu' is not a device: auto, cpu, gpu, or gpu:N for the adapter listed N-th",
    );
}

#[test]
fn auto_on_a_headless_machine_says_where_it_trains_and_nothing_alarming() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, data) = setup(dir.path());
    let out = dir.path().join("out").display().to_string();
    // Headless as a server or a Slurm job is: no session runtime folder, so any probe of GL (EGL,
    // Wayland) would say so on stderr.
    let output = Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args([
            "compare",
            "--config",
            &config,
            "--out",
            &out,
            "--data-dir",
            &data,
        ])
        .args([
            "--epochs",
            "1",
            "--train-images",
            "32",
            "--test-images",
            "20",
        ])
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("runs");
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("device: CPU (the only GPU adapter, ")
            && stderr.contains("is a software renderer"),
        "lavapipe here: {stderr}"
    );
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}
