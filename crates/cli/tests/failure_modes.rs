//! The failure modes README's "Failure modes" lists, driven through the binary as a hostile user
//! would: each bad input with its exit status and message, then the crash-and-resume chain
//! (SIGKILL at moments drawn from a seed, resumed each time) ending exactly as an uninterrupted
//! run.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use stepwise_engine::output::FolderLock;
use support::{stepwise, text};

/// Three epochs of resnet8 on 64 images, two optimizers; test images asked for beyond the sample's.
const EXPERIMENT: &str = r#"
model = "resnet8"
epochs = 3
batch_size = 32
train_images = 64
test_images = 1000000

[[runs]]
name = "SGD"
optimizer = "sgd"
lr = 0.05
momentum = 0.9

[[runs]]
name = "Adam"
optimizer = "adam"
"#;

/// One bad input: the exit status and a part of stderr expected.
fn assert_fails(output: &Output, code: i32, message: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(
        stderr.contains(message),
        "expected {message:?} in {stderr:?}"
    );
    assert!(
        !stderr.chars().any(|c| c.is_control() && c != '\n'),
        "no control characters reach the terminal: {stderr:?}"
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The shipped sample as an installed data set in `dir`, its training records rotated by
/// `rotate` (other pixels, the same counts).
fn install_sample(dir: &Path, rotate: usize) {
    let sample = package_dir().join("../data/sample");
    let mut train = std::fs::read(sample.join("train.bin")).expect("train.bin");
    train.rotate_left(rotate * stepwise_data::RECORD_BYTES);
    let test = std::fs::read(sample.join("test.bin")).expect("test.bin");
    let batches = dir.join(stepwise_data::BATCHES_DIR);
    std::fs::create_dir_all(&batches).expect("mkdir");
    for (file, chunk) in stepwise_data::TRAIN_FILES
        .iter()
        .zip(train.chunks(train.len() / 5))
    {
        std::fs::write(batches.join(file), chunk).expect("batch");
    }
    std::fs::write(batches.join(stepwise_data::TEST_FILE), test).expect("test batch");
}

/// The experiment's config file and the sample installed as a data set, in `root`.
fn setup(root: &Path) -> (PathBuf, PathBuf) {
    let config = root.join("tiny.toml");
    std::fs::write(&config, EXPERIMENT).expect("config");
    let data = root.join("data");
    install_sample(&data, 0);
    (config, data)
}

fn compare(config: &Path, out: &Path, data: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stepwise"));
    command.args([
        "compare",
        "--config",
        path(config),
        "--out",
        path(out),
        "--device",
        "cpu",
        "--data-dir",
        path(data),
    ]);
    command.args(extra);
    command
}

fn resume(out: &Path, data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stepwise"));
    command.args([
        "compare",
        "--resume",
        path(out),
        "--device",
        "cpu",
        "--data-dir",
        path(data),
    ]);
    command
}

#[test]
fn bad_inputs_get_their_exit_status_and_a_message_that_names_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let (config, data) = setup(root);

    // An output folder another process writes into.
    let busy = root.join("busy");
    let _holder = FolderLock::acquire(&busy, "a test holding the folder").expect("lock");
    assert_fails(
        &compare(&config, &busy, &data, &[]).output().expect("runs"),
        2,
        &format!(
            "{} is in use by another Stepwise process (a test holding the folder, process {})",
            busy.display(),
            std::process::id()
        ),
    );
    assert!(!busy.join("results.json").exists());

    // Run names that would break the report's table.
    for (name, message) in [
        ("", "runs[0]: a run's name must not be empty"),
        (
            "a\\nb",
            "runs[0]: run name \"a\\nb\": no line breaks or control characters",
        ),
    ] {
        let bad = root.join("names.toml");
        std::fs::write(
            &bad,
            format!("model = \"resnet8\"\nepochs = 1\nbatch_size = 8\n[[runs]]\nname = \"{name}\"\noptimizer = \"sgd\"\n"),
        )
        .expect("write");
        assert_fails(
            &compare(&bad, &root.join("names"), &data, &[])
                .output()
                .expect("runs"),
            2,
            message,
        );
    }

    // A data folder that is a file.
    let file = root.join("a-file");
    std::fs::write(&file, "x").expect("write");
    assert_fails(
        &stepwise(&["data", "info", "--dir", path(&file)]),
        2,
        &format!("--data-dir {}: not a folder", file.display()),
    );
    assert_fails(
        &compare(&config, &root.join("out"), &file, &[])
            .output()
            .expect("runs"),
        2,
        &format!("--data-dir {}: not a folder", file.display()),
    );

    // An archive whose entry name carries escape sequences and a carriage return.
    let evil = root.join("evil.tar.gz");
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut header = tar::Header::new_gnu();
    header.as_old_mut().name[..12].copy_from_slice(b"../\x1b[2J\rx.bn");
    header.set_size(1);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    builder.append(&header, &b"x"[..]).expect("append");
    let archive = builder.into_inner().expect("tar").finish().expect("gzip");
    std::fs::write(&evil, archive).expect("write");
    assert_fails(
        &stepwise(&[
            "data",
            "import",
            "--archive",
            path(&evil),
            "--dir",
            path(&root.join("imported")),
            "--allow-checksum-mismatch",
        ]),
        1,
        "refusing entry '../\\u{1b}[2J\\rx.bn': its path leaves the target folder",
    );

    // A server that announces a petabyte.
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/cifar-10-binary.tar.gz",
        server.local_addr().expect("addr")
    );
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = server.accept() {
            let mut request = [0; 1024];
            let _ = std::io::Read::read(&mut stream, &mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let downloads = root.join("downloads");
    assert_fails(
        &stepwise(&["data", "download", "--url", &url, "--dir", path(&downloads)]),
        1,
        &format!(
            "download of {url}: the server announces 1000000000000000 bytes, more than the \
             536870912 accepted from a mirror; nothing of it was kept"
        ),
    );
    assert!(!downloads.join("cifar-10-binary.tar.gz.part").exists());

    // stdout on a full disk.
    if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
        let output = Command::new(env!("CARGO_BIN_EXE_stepwise"))
            .args(["trace", "--function", "rosenbrock", "--optimizer", "sgd"])
            .args(["--start=-1.5,2", "--steps", "3"])
            .stdout(full)
            .output()
            .expect("runs");
        assert_fails(
            &output,
            1,
            "error: writing to stdout: No space left on device",
        );
    }
}

/// Resident memory of `stepwise args` after 1.5 s and after 3 s of running, in KiB.
fn resident_kib_over_time(args: &[&str]) -> (u64, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let resident_kib = || {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("still running");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmRSS")
    };
    std::thread::sleep(Duration::from_millis(1500));
    let early = resident_kib();
    std::thread::sleep(Duration::from_millis(1500));
    let late = resident_kib();
    child.kill().expect("kill");
    let _ = child.wait();
    (early, late)
}

/// However many steps are asked for, a trace's memory stays flat (it used to keep every row, 24
/// bytes a step, and print nothing until the end).
#[test]
fn a_long_trace_streams_in_constant_memory() {
    let (early, late) = resident_kib_over_time(&[
        "trace",
        "--function",
        "rosenbrock",
        "--optimizer",
        "adam",
        "--start=0,0",
        "--steps",
        "1000000000000",
        // The CPU's stream (auto would load the Vulkan driver first, to find no hardware GPU).
        "--device",
        "cpu",
    ]);
    assert!(
        late <= early + 1024 && late < 64 * 1024,
        "resident memory grew from {early} KiB to {late} KiB"
    );
}

/// A map's cells on the CPU keep only their final points, however many steps they take.
#[test]
fn long_maps_run_in_constant_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("map.csv");
    let common = [
        "--function",
        "rosenbrock",
        "--optimizer",
        "adam",
        "--resolution",
        "1",
    ];
    let tail = [
        "--steps",
        "1000000000000",
        "--device",
        "cpu",
        "--out",
        path(&out),
    ];
    let basin = [
        &["basin"][..],
        &common,
        &["--x-range=-2,2", "--y-range=-1,3"],
        &tail,
    ]
    .concat();
    let hypermap = [&["hypermap"][..], &common, &["--start=0,0"], &tail].concat();
    for args in [basin, hypermap] {
        let (early, late) = resident_kib_over_time(&args);
        assert!(
            late <= early + 1024,
            "{}: resident memory grew from {early} KiB to {late} KiB",
            args[0]
        );
    }
}

/// A range spanning nearly all of f32 (whose width overflows it) still has finite start points.
#[test]
fn basin_ranges_at_the_limits_of_f32_give_finite_starts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("wide.csv");
    let output = stepwise(&[
        "basin",
        "--function",
        "quadratic",
        "--optimizer",
        "sgd",
        "--x-range=-3e38,3e38",
        "--y-range=-3e38,3e38",
        "--resolution",
        "2",
        "--steps",
        "1",
        "--device",
        "cpu",
        "--out",
        path(&csv),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let csv = std::fs::read_to_string(&csv).expect("written");
    for row in csv.lines().skip(1) {
        let start: Vec<f32> = row
            .split(',')
            .take(2)
            .map(|v| v.parse().expect("number"))
            .collect();
        assert!(
            start.iter().all(|v| v.is_finite() && v.abs() == 1.5e38),
            "{row}"
        );
    }
}

/// Killed with SIGKILL at moments drawn from a seed (nothing is flushed, no handler runs),
/// restarted or resumed each time: the results equal an uninterrupted run's. Then the
/// checkpoint it leaves refuses other data of the same counts, and a flipped bit.
#[test]
fn a_chain_of_crashes_resumes_to_the_uninterrupted_results() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let (config, data) = setup(root);

    let straight = root.join("straight");
    let began = Instant::now();
    let run = compare(&config, &straight, &data, &[])
        .output()
        .expect("runs");
    let whole = began.elapsed();
    assert!(run.status.success(), "{}", text(&run.stderr));
    let recorded = std::fs::read_to_string(straight.join("config.toml")).expect("config.toml");
    assert!(
        recorded.contains("test_images = 1000\n"),
        "the count used is recorded, not the count asked for: {recorded}"
    );

    let chain = root.join("chain");
    let mut seed: u64 = 0x5eed;
    let mut kills = 0;
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the chain ends"
        );
        let mut command = if chain.join("checkpoint.safetensors").exists() {
            resume(&chain, &data)
        } else {
            compare(&config, &chain, &data, &["--force"])
        };
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawns");
        // A moment between a quarter and three quarters of the uninterrupted run's time (so that
        // most attempts pass an epoch's checkpoint), from a linear congruential generator.
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let wait = whole.mul_f64(0.25 + 0.5 * ((seed >> 33) % 1000) as f64 / 1000.0);
        let deadline = Instant::now() + wait;
        let mut finished = None;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().expect("wait") {
                finished = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        match finished {
            Some(status) => {
                assert!(status.success(), "a run of the chain failed: {status}");
                break;
            }
            None => {
                child.kill().expect("SIGKILL");
                let _ = child.wait();
                kills += 1;
            }
        }
    }
    assert!(kills >= 1, "the chain was interrupted ({kills} kills)");

    let results = |out: &Path| -> serde_json::Value {
        let json = std::fs::read_to_string(out.join("results.json")).expect("results.json");
        serde_json::from_str(&json).expect("parses")
    };
    let (a, b) = (results(&straight), results(&chain));
    assert_eq!(a["epochs_completed"], b["epochs_completed"]);
    for (x, y) in a["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .zip(b["runs"].as_array().expect("runs"))
    {
        // Everything but the timings.
        for key in ["train_loss", "train_accuracy", "test_loss", "test_accuracy"] {
            let values = |run: &serde_json::Value| -> Vec<serde_json::Value> {
                run["epochs"]
                    .as_array()
                    .expect("epochs")
                    .iter()
                    .map(|epoch| epoch[key].clone())
                    .collect()
            };
            assert_eq!(values(x), values(y), "{}: {key}", x["name"]);
        }
    }

    // The chain's checkpoint on other images of the same counts: refused.
    let other = root.join("other-data");
    install_sample(&other, 7);
    assert_fails(
        &resume(&chain, &other).output().expect("runs"),
        1,
        "but the data now is 64 training and 1000 test images of an installed CIFAR-10",
    );
    // One flipped bit in the middle of the tensors: refused, by tensor.
    let checkpoint = chain.join("checkpoint.safetensors");
    let mut bytes = std::fs::read(&checkpoint).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&checkpoint, &bytes).expect("write");
    assert_fails(
        &resume(&chain, &data).output().expect("runs"),
        1,
        "is corrupt: its checksum does not match the one recorded when it was written",
    );
}

/// The package's folder, as cargo tells the running test.
fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}
