//! A sweep on a real Slurm: planned with `--slurm`, submitted as a job array to the one-node
//! cluster `.ci/slurm` starts (CI sets `SLURM_CONF`), one task cancelled while it trains and
//! submitted again (it resumes its cell), and the merged results equal those of the same sweep run
//! by a local pool. Without `SLURM_CONF` it prints SKIPPED and passes: Slurm is CI's to start.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{figures, succeeded as ok, text};

const SWEEP: &str = r#"
model = "resnet8"
epochs = 6
batch_size = 32
train_images = 256
test_images = 50

[sweep]
optimizer = ["adam", "sgd"]
seeds = [0, 1]
"#;

/// Runs a Slurm command and returns its standard output.
fn slurm(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().expect(program);
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Waits until job `job` has left the queue.
fn wait_for(job: &str) {
    let started = Instant::now();
    while !slurm("squeue", &["-h", "-j", job]).trim().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "job {job} still queued after 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_sweep_runs_as_a_slurm_job_array_and_survives_a_cancelled_task() {
    if std::env::var_os("SLURM_CONF").is_none() {
        println!("SKIPPED: no SLURM_CONF (.ci/run starts a one-node Slurm and sets it)");
        return;
    }
    // Under the temporary folder: the cluster's tasks run as this user on this host.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sweep.toml");
    std::fs::write(&file, SWEEP).expect("write");
    let file = file.display().to_string();
    let on_slurm = dir.path().join("on-slurm");
    let out = on_slurm.display().to_string();
    ok(&[
        "sweep",
        "plan",
        &file,
        "--out",
        &out,
        "--slurm",
        "--cpus-per-task",
        "1",
        "--cell-device",
        "cpu",
    ]);
    let script = on_slurm.join("sweep.sbatch").display().to_string();
    let job = slurm("sbatch", &["--parsable", &script]).trim().to_owned();

    // One task cancelled once its cell has a checkpoint: Slurm sends it SIGTERM, and it stops.
    let started = Instant::now();
    let cancelled = loop {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no task of job {job} checkpointed while running"
        );
        let running = slurm("squeue", &["-h", "-j", &job, "-t", "R", "-o", "%K"]);
        let checkpointed = running
            .lines()
            .filter_map(|t| t.trim().parse::<usize>().ok())
            .find(|&t| {
                on_slurm
                    .join(format!("cells/{t:04}/checkpoint.safetensors"))
                    .exists()
            });
        if let Some(task) = checkpointed {
            break task;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    slurm("scancel", &[&format!("{job}_{cancelled}")]);
    wait_for(&job);
    let (status, _) = ok(&["sweep", "status", &out]);
    assert!(
        status.contains(&format!("{cancelled:>5}  stopped")),
        "task {cancelled} stopped, resumable: {status}"
    );
    assert!(status.ends_with("4 cells: 3 done, 1 stopped\n"), "{status}");
    let log = on_slurm.join(format!("logs/cell-{cancelled}.out"));
    assert!(
        std::fs::read_to_string(&log)
            .expect("its log")
            .contains("stopped after"),
        "it stopped cleanly on SIGTERM"
    );

    // Submitted again (as a requeue would run it), it resumes its cell.
    let again = slurm(
        "sbatch",
        &["--parsable", &format!("--array={cancelled}"), &script],
    )
    .trim()
    .to_owned();
    wait_for(&again);
    assert!(
        std::fs::read_to_string(&log)
            .expect("its log")
            .contains("resuming from its checkpoint"),
        "the second task resumed the cell"
    );
    let (status, _) = ok(&["sweep", "status", &out]);
    assert!(status.ends_with("4 cells: 4 done\n"), "{status}");
    ok(&["sweep", "report", &out]);

    // The same sweep by a local pool of processes: the same results.
    let here = dir.path().join("here");
    let here_out = here.display().to_string();
    ok(&["sweep", "plan", &file, "--out", &here_out]);
    ok(&["sweep", "run", &here_out, "--jobs", "2", "--device", "cpu"]);
    ok(&["sweep", "report", &here_out]);
    assert_eq!(figures(&on_slurm), figures(&here));
}
