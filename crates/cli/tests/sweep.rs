//! `stepwise sweep` through the binary, on the CPU backend with the shipped sample: a sweep planned
//! into cells, run by a local pool, merged into the same results as the one experiment it is; a
//! stopped cell resumed; missing cells reported; bad input refused. (`slurm.rs` runs a sweep on a
//! real Slurm.)

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

mod support;

use std::path::Path;

use support::{figures, results, stepwise, succeeded as ok, text};

/// Two optimizers by two learning rates at two seeds: 8 cells of one tiny epoch.
const SWEEP: &str = r#"
description = "a tiny sweep"
model = "resnet8"
epochs = 1
batch_size = 32
train_images = 64
test_images = 50

[sweep]
optimizer = ["adam", "sgd"]
lr = [0.01, 0.05]
seeds = [0, 1]
"#;

/// The same experiment in one piece, for `compare`.
const THE_SAME_EXPERIMENT: &str = r#"
model = "resnet8"
epochs = 1
batch_size = 32
train_images = 64
test_images = 50
seeds = [0, 1]

[[runs]]
optimizer = "adam"
lr = 0.01

[[runs]]
optimizer = "adam"
lr = 0.05

[[runs]]
optimizer = "sgd"
lr = 0.01

[[runs]]
optimizer = "sgd"
lr = 0.05
"#;

#[test]
fn a_sweep_runs_in_cells_and_merges_into_the_experiment_it_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sweep.toml");
    std::fs::write(&file, SWEEP).expect("write");
    let data = dir.path().join("no-data");
    std::fs::create_dir(&data).expect("data folder");
    let (out, data, file) = (
        dir.path().join("sweep").display().to_string(),
        data.display().to_string(),
        file.display().to_string(),
    );
    let (stdout, _) = ok(&[
        "sweep",
        "plan",
        &file,
        "--out",
        &out,
        "--slurm",
        "--time",
        "00:20:00",
        "--gpus",
        "1",
        "--kubernetes",
        "--image",
        "registry.example/stepwise:1",
    ]);
    assert!(stdout.contains("8 cells (4 runs x 2 seeds)"), "{stdout}");
    assert!(stdout.contains("lr: 0.01, 0.05"), "{stdout}");
    let sbatch = std::fs::read_to_string(Path::new(&out).join("sweep.sbatch")).expect("sbatch");
    for line in [
        "#SBATCH --array=0-7",
        "#SBATCH --requeue",
        "#SBATCH --time=00:20:00",
        "#SBATCH --gres=gpu:1",
        "--cell \"$SLURM_ARRAY_TASK_ID\"",
    ] {
        assert!(sbatch.contains(line), "{line} in {sbatch}");
    }
    let job = std::fs::read_to_string(Path::new(&out).join("sweep-job.yaml")).expect("yaml");
    for line in [
        "completionMode: Indexed",
        "completions: 8",
        "image: registry.example/stepwise:1",
        "\"$(JOB_COMPLETION_INDEX)\"]",
        "nvidia.com/gpu: 1",
    ] {
        assert!(job.contains(line), "{line} in {job}");
    }
    // Without --cell-device the cells train where their configuration says.
    assert!(
        !sbatch.contains("--device") && !job.contains("--device"),
        "no device imposed: {sbatch}{job}"
    );
    let config = std::fs::read_to_string(Path::new(&out).join("cells/0003/config.toml"))
        .expect("a cell's experiment");
    assert!(
        config.contains("seeds = [1]") && config.contains("name = \"adam lr=0.05\""),
        "cell 3 is adam at lr 0.05, seed 1: {config}"
    );

    let (status, _) = ok(&["sweep", "status", &out]);
    assert!(status.ends_with("8 cells: 8 pending\n"), "{status}");
    let (_, stderr) = ok(&[
        "sweep",
        "run",
        &out,
        "--jobs",
        "2",
        "--device",
        "cpu",
        "--data-dir",
        &data,
    ]);
    assert!(
        stderr.contains("8 of 8 cells to run, 2 at a time"),
        "{stderr}"
    );
    let (status, _) = ok(&["sweep", "status", &out]);
    assert!(status.ends_with("8 cells: 8 done\n"), "{status}");
    // A finished cell is left as it is.
    let (_, stderr) = ok(&["sweep", "run", &out, "--cell", "5", "--device", "cpu"]);
    assert!(stderr.contains("cell 5 is done"), "{stderr}");

    let (summary, _) = ok(&["sweep", "report", &out]);
    assert!(summary.contains("run (mean of 2 seeds)"), "{summary}");
    assert!(summary.contains("best acc by lr"), "the lr grid: {summary}");
    let merged = results(&Path::new(&out).join("results.json"));
    assert_eq!(merged["seeds"], serde_json::json!([0, 1]));
    assert_eq!(merged["runs"].as_array().expect("runs").len(), 8);
    let report = std::fs::read_to_string(Path::new(&out).join("report.md")).expect("report");
    assert!(report.contains("## Paired differences"), "{report}");
    assert!(report.contains("## Sensitivity to lr"), "{report}");
    assert!(Path::new(&out).join("loss.png").is_file());

    // The same experiment trained in one piece has the same figures, run by run, seed by seed.
    let whole = dir.path().join("whole.toml");
    std::fs::write(&whole, THE_SAME_EXPERIMENT).expect("write");
    let one = dir.path().join("one").display().to_string();
    ok(&[
        "compare",
        "--config",
        &whole.display().to_string(),
        "--out",
        &one,
        "--device",
        "cpu",
        "--data-dir",
        &data,
    ]);
    assert_eq!(
        figures(Path::new(&out)),
        figures(Path::new(&one)),
        "the merged sweep and the experiment in one piece"
    );
}

#[test]
fn a_stopped_cell_resumes_and_missing_cells_are_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sweep.toml");
    std::fs::write(
        &file,
        "model = \"resnet8\"\nepochs = 4\nbatch_size = 32\ntrain_images = 256\ntest_images = 50\n\n\
         [sweep]\noptimizer = [\"adam\"]\nseeds = [0, 1]\n",
    )
    .expect("write");
    let data = dir.path().join("no-data");
    std::fs::create_dir(&data).expect("data folder");
    let (out, data) = (
        dir.path().join("sweep").display().to_string(),
        data.display().to_string(),
    );
    ok(&["sweep", "plan", &file.display().to_string(), "--out", &out]);
    ok(&[
        "sweep",
        "run",
        &out,
        "--cell",
        "1",
        "--device",
        "cpu",
        "--data-dir",
        &data,
    ]);

    // Cell 0 stopped by SIGTERM after its first checkpoint, as a scheduler stops a task.
    let cell = Path::new(&out).join("cells/0000");
    let child = support::spawn(&[
        "sweep",
        "run",
        &out,
        "--cell",
        "0",
        "--device",
        "cpu",
        "--data-dir",
        &data,
    ]);
    support::wait_until("cell 0's checkpoint", || {
        cell.join("checkpoint.safetensors").exists()
    });
    let (status, _) = ok(&["sweep", "status", &out]);
    assert!(status.contains("running"), "cell 0 runs: {status}");
    support::signal(&child, "TERM");
    let output = child.wait_with_output().expect("wait");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(75), "{stderr}");
    assert!(
        stderr.contains(&format!("Continue with: stepwise sweep run {out} --cell 0")),
        "says how to continue the cell: {stderr}"
    );
    let (status, _) = ok(&["sweep", "status", &out]);
    assert!(status.ends_with("2 cells: 1 done, 1 stopped\n"), "{status}");

    let (_, stderr) = ok(&["sweep", "report", &out]);
    assert!(
        stderr.contains("1 of 2 cells missing from the report: 0"),
        "{stderr}"
    );
    let report = std::fs::read_to_string(Path::new(&out).join("report.md")).expect("report");
    assert!(
        report.contains("cells missing (not finished): 0"),
        "{report}"
    );

    let (_, stderr) = ok(&[
        "sweep",
        "run",
        &out,
        "--cell",
        "0",
        "--device",
        "cpu",
        "--data-dir",
        &data,
    ]);
    assert!(stderr.contains("resuming from its checkpoint"), "{stderr}");
    let (status, _) = ok(&["sweep", "status", &out]);
    assert!(status.ends_with("2 cells: 2 done\n"), "{status}");
    let (_, stderr) = ok(&["sweep", "report", &out]);
    assert!(!stderr.contains("missing"), "{stderr}");
}

/// Runs `stepwise args`, expecting exit status 2 and `message` on stderr.
fn refused(args: &[&str], message: &str) {
    let output = stepwise(args);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?}: {message:?} in {stderr}"
    );
}

#[test]
fn bad_sweeps_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out").display().to_string();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    };
    let plain = write(
        "plain.toml",
        "model = \"resnet8\"\nepochs = 1\nbatch_size = 8\n",
    );
    refused(
        &["sweep", "plan", &plain, "--out", &out],
        "a sweep file needs a [sweep] table of axes",
    );
    let scalar = write(
        "scalar.toml",
        "model = \"resnet8\"\nepochs = 1\nbatch_size = 8\n[sweep]\nlr = 0.1\n",
    );
    refused(
        &["sweep", "plan", &scalar, "--out", &out],
        "sweep.lr: an axis is a non-empty list of values",
    );
    let nothing = write(
        "nothing.toml",
        "model = \"resnet8\"\nepochs = 1\nbatch_size = 8\n[sweep]\nlr = [0.1]\n",
    );
    refused(
        &["sweep", "plan", &nothing, "--out", &out],
        "nothing to sweep: list [[runs]] or an `optimizer` axis",
    );
    let wrong = write(
        "wrong.toml",
        "model = \"resnet8\"\nepochs = 1\nbatch_size = 8\n[sweep]\noptimizer = [\"adam\"]\nmomentum = [0.9]\n",
    );
    refused(
        &["sweep", "plan", &wrong, "--out", &out],
        "momentum does not apply to adam",
    );
    let twice = write(
        "twice.toml",
        "model = \"resnet8\"\nepochs = 1\nbatch_size = 8\n[[runs]]\nname = \"a\"\noptimizer = \"sgd\"\n\
         [[runs]]\nname = \"a\"\noptimizer = \"adam\"\n[sweep]\nlr = [0.1]\nseeds = [0, 1]\n",
    );
    refused(
        &["sweep", "plan", &twice, "--out", &out],
        "two runs of the sweep are named 'a lr=0.1'; name them apart",
    );
    assert!(!Path::new(&out).exists(), "nothing written on a refusal");

    let good = write(
        "good.toml",
        "model = \"resnet8\"\nepochs = 1\nbatch_size = 8\n[sweep]\noptimizer = [\"adam\"]\n",
    );
    ok(&["sweep", "plan", &good, "--out", &out]);
    refused(
        &["sweep", "plan", &good, "--out", &out],
        "holds another sweep's plan",
    );
    refused(
        &["sweep", "run", &out, "--cell", "1"],
        "--cell 1: the sweep in",
    );
    refused(
        &["sweep", "status", &dir.path().display().to_string()],
        "a sweep folder is what `stepwise sweep plan FILE --out DIR` writes",
    );
}

#[test]
fn a_pool_over_several_devices_gives_each_cell_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sweep.toml");
    std::fs::write(
        &file,
        "model = \"resnet8\"\nepochs = 1\nbatch_size = 32\ntrain_images = 32\ntest_images = 20\n\n\
         [sweep]\noptimizer = [\"adam\", \"sgd\"]\n",
    )
    .expect("write");
    let data = dir.path().join("no-data");
    std::fs::create_dir(&data).expect("data folder");
    let out = dir.path().join("sweep").display().to_string();
    ok(&[
        "sweep",
        "plan",
        &file.display().to_string(),
        "--out",
        &out,
        "--slurm",
        "--cell-device",
        "cpu,gpu:1",
    ]);
    let sbatch = std::fs::read_to_string(Path::new(&out).join("sweep.sbatch")).expect("sbatch");
    assert!(sbatch.contains("--device cpu,gpu:1\n"), "{sbatch}");
    ok(&[
        "sweep",
        "run",
        &out,
        "--jobs",
        "2",
        "--device",
        "cpu,gpu",
        "--data-dir",
        &data.display().to_string(),
    ]);
    let devices: Vec<String> = (0..2)
        .map(|cell| {
            let path = Path::new(&out).join(format!("cells/{cell:04}/results.json"));
            results(&path)["device"]
                .as_str()
                .expect("device")
                .to_owned()
        })
        .collect();
    assert_eq!(devices, ["cpu", "gpu"], "one device each, in turn");
}

#[test]
fn a_signal_to_the_pool_stops_its_cells_which_resume_later() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sweep.toml");
    // Long enough that no cell ends before the signal.
    std::fs::write(
        &file,
        "model = \"resnet8\"\nepochs = 50\nbatch_size = 32\ntrain_images = 128\ntest_images = 50\n\n\
         [sweep]\noptimizer = [\"adam\"]\nseeds = [0, 1, 2]\n",
    )
    .expect("write");
    let data = dir.path().join("no-data");
    std::fs::create_dir(&data).expect("data folder");
    let out = dir.path().join("sweep").display().to_string();
    ok(&["sweep", "plan", &file.display().to_string(), "--out", &out]);
    let data = data.display().to_string();
    let pool = support::spawn(&[
        "sweep",
        "run",
        &out,
        "--jobs",
        "2",
        "--device",
        "cpu",
        "--data-dir",
        &data,
    ]);
    // Both cells of the pool have checkpointed; the third waits its turn.
    support::wait_until("both cells' checkpoints", || {
        (0..2).all(|cell| {
            Path::new(&out)
                .join(format!("cells/{cell:04}/checkpoint.safetensors"))
                .exists()
        })
    });
    // To the pool alone, as a scheduler ends a job step.
    support::signal(&pool, "TERM");
    let output = pool.wait_with_output().expect("wait");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(75), "{stderr}");
    assert!(
        stderr.contains("cell 0: stopping") && stderr.contains("cell 1: stopping"),
        "{stderr}"
    );
    assert!(
        stderr.contains("stopped on request; cells 0, 1 did not finish"),
        "{stderr}"
    );
    // Nothing runs on once the pool has ended: each cell stopped cleanly, the third never began.
    let (status, _) = ok(&["sweep", "status", &out]);
    assert!(
        status.ends_with("3 cells: 1 pending, 2 stopped\n"),
        "{status}"
    );
    for cell in 0..2 {
        let log =
            std::fs::read_to_string(Path::new(&out).join(format!("cells/{cell:04}/output.txt")))
                .expect("output.txt");
        assert!(log.contains("Continue with: stepwise sweep run"), "{log}");
    }
}
