//! The `stepwise` binary: output format, help, and invalid input answered with exit status 2 and a
//! message that names it, never a panic.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use support::{stepwise, text};

const TRACE: [&str; 6] = [
    "trace",
    "--function",
    "rosenbrock",
    "--start=-1.5,2",
    "--steps",
    "3",
];

fn trace_with(extra: &[&str]) -> Output {
    let mut args = TRACE.to_vec();
    args.extend_from_slice(extra);
    stepwise(&args)
}

#[test]
fn trace_prints_a_header_the_start_and_one_row_per_step() {
    let output = trace_with(&["--optimizer", "sgd"]);
    assert!(output.status.success());
    let csv = text(&output.stdout);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 5, "header + start + 3 steps: {csv}");
    assert_eq!(rows[0], "step,x,y,loss");
    // (1 - (-1.5))^2 + 100 (2 - 2.25)^2 = 6.25 + 6.25
    assert_eq!(rows[1], "0,-1.5,2,12.5");
    // SGD, lr 1e-3: gradient (-155, -50) at the start.
    assert_eq!(
        rows[2],
        format!("1,{},{},{}", -1.5_f32 + 0.155, 2.0_f32 + 0.05, {
            let (x, y) = (-1.5_f32 + 0.155, 2.0_f32 + 0.05);
            (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
        })
    );
    assert_device_line(&output);
}

/// Runs `stepwise` with invalid input and checks exit status 2 and the one-line message.
/// Checks that `args` is refused with exit status 2 and an error that says `expected` (clap adds
/// its usage and tips below its own errors).
fn assert_usage_error(args: &[&str], expected: &str) {
    let output = stepwise(args);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{args:?}: nothing on stdout");
    // clap folds a long message onto an indented second line.
    let flat = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        stderr.starts_with("error: ") && flat(&stderr).contains(&flat(expected)),
        "{args:?}: expected {expected:?} in {stderr:?}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn invalid_hyperparameters_are_usage_errors() {
    let with = |extra: &[&str]| {
        let mut args = TRACE.to_vec();
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let cases: [(&[&str], &str); 8] = [
        (
            &["--optimizer", "adam", "--momentum", "0.9"],
            "error: momentum does not apply to adam (it applies to: sgd)",
        ),
        (
            &["--optimizer", "sgd", "--beta1", "0.9"],
            "error: beta1 does not apply to sgd",
        ),
        (
            &["--optimizer", "radam", "--amsgrad"],
            "error: amsgrad does not apply to radam",
        ),
        (
            &["--optimizer", "sgd", "--lr", "-1"],
            "error: sgd: invalid lr = -1: must be finite and >= 0",
        ),
        (
            &["--optimizer", "adam", "--lr", "nan"],
            "error: adam: invalid lr = NaN: must be finite and >= 0",
        ),
        (
            &["--optimizer", "adam", "--beta2", "1"],
            "error: adam: invalid beta2 = 1: must be in [0, 1)",
        ),
        (
            &["--optimizer", "adabound", "--gamma", "1.5"],
            "error: adabound: invalid gamma = 1.5: must be in [0, 1)",
        ),
        (
            &["--optimizer", "sgd", "--nesterov"],
            "error: sgd: nesterov requires momentum > 0 and dampening = 0",
        ),
    ];
    for (extra, expected) in cases {
        let args = with(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_usage_error(&args, expected);
    }
}

#[test]
fn malformed_arguments_are_usage_errors() {
    let base = [
        "trace",
        "--optimizer",
        "adam",
        "--function",
        "beale",
        "--steps",
        "3",
    ];
    let with = |extra: &[&'static str]| [base.as_slice(), extra].concat();
    assert_usage_error(
        &with(&["--start", "1"]),
        "expected two numbers separated by a comma, got '1'",
    );
    assert_usage_error(&with(&["--start", "1,inf"]), "'inf' is not finite");
    assert_usage_error(&with(&["--start", "1,x"]), "'x' is not a number");
    assert_usage_error(
        &with(&["--start", "1,1", "--device", "tpu"]),
        "invalid value 'tpu' for '--device <DEVICE>': 'tpu' is not a device: auto, cpu, gpu, or \
         gpu:N for the adapter listed N-th",
    );
    assert_usage_error(
        &[
            "trace",
            "--optimizer",
            "adam",
            "--function",
            "sphere",
            "--start",
            "1,1",
            "--steps",
            "3",
        ],
        "invalid value 'sphere' for '--function <FUNCTION>' [possible values: rosenbrock, beale, rastrigin, saddle, quadratic]",
    );
    assert_usage_error(
        &[
            "trace",
            "--optimizer",
            "adam",
            "--function",
            "beale",
            "--start",
            "1,1",
        ],
        "the following required arguments were not provided: --steps <STEPS>",
    );
    assert_usage_error(
        &[
            "trace",
            "--optimizer",
            "sgd",
            "--function",
            "beale",
            "--start",
            "1,1",
            "--steps",
            "-2",
        ],
        "invalid value '-2' for '--steps <STEPS>'",
    );
    assert_usage_error(&["trace", "--bogus"], "unexpected argument '--bogus' found");
}

#[test]
fn help_lists_every_hyperparameter_with_its_default() {
    let output = stepwise(&["trace", "--help"]);
    assert!(output.status.success());
    let help = text(&output.stdout);
    for flag in [
        "--lr",
        "--momentum",
        "--dampening",
        "--nesterov",
        "--weight-decay",
        "--beta1",
        "--beta2",
        "--eps",
        "--amsgrad",
        "--final-lr",
        "--gamma",
        "--decoupled-weight-decay",
    ] {
        assert!(help.contains(flag), "help mentions {flag}");
    }
    assert!(
        help.contains("default 0.999"),
        "help states beta2's default"
    );
}

#[test]
fn a_closed_pipe_ends_the_trace_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args([
            "trace",
            "--function",
            "quadratic",
            "--optimizer",
            "sgd",
            "--start",
            "1,1",
        ])
        // Far more steps than could ever be held: the rows stream as they are computed.
        .args(["--steps", "1000000000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stdout = child.stdout.take().expect("piped");
    let mut reader = BufReader::new(stdout);
    let mut first = String::new();
    reader.read_line(&mut first).expect("reads");
    assert_eq!(first, "step,x,y,loss\n");
    let mut start = String::new();
    reader.read_line(&mut start).expect("reads");
    assert_eq!(start, "0,1,1,25.5\n");
    drop(reader);
    // The reader is dropped here, as `| head -1` would.
    let output = child.wait_with_output().expect("exits");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_device_line(&output);
}

const BASIN: [&str; 12] = [
    "basin",
    "--function",
    "rosenbrock",
    "--optimizer",
    "sgd",
    "--lr",
    "0.01",
    "--x-range=-3,3",
    "--y-range=-3,3",
    "--resolution",
    "16",
    "--steps",
];

fn basin(device: &str, out: &std::path::Path) -> Output {
    let mut args: Vec<&str> = BASIN.to_vec();
    args.extend([
        "100",
        "--device",
        device,
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    stepwise(&args)
}

/// What a map figure must show: its size (twice 900 by 760), viridis cells, red for what diverged,
/// and the white of its marks.
fn assert_map_figure(path: &std::path::Path) {
    let image = image::open(path).expect("a readable PNG").to_rgba8();
    assert_eq!(image.dimensions(), (1800, 1520));
    let count = |colour: [u8; 4]| image.pixels().filter(|p| p.0 == colour).count();
    assert!(count([220, 30, 30, 255]) > 0, "diverged cells are red");
    assert!(
        count([68, 1, 84, 255]) > 0,
        "viridis' darkest colour: the colour bar's lowest loss"
    );
}

/// Rows of a basin CSV whose final loss is not finite.
fn diverged_rows(csv: &str) -> usize {
    csv.lines()
        .skip(1)
        .filter(|r| r.ends_with("NaN") || r.ends_with("inf"))
        .count()
}

#[test]
fn basin_writes_a_figure_and_a_csv_with_one_row_per_cell() {
    let dir = std::env::temp_dir().join(format!("stepwise-basin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let png = dir.join("map.png");
    let output = basin("gpu", &png);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_map_figure(&png);
    let gpu_csv = dir.join("gpu.csv");
    assert!(basin("gpu", &gpu_csv).status.success());
    let red = diverged_rows(&std::fs::read_to_string(&gpu_csv).expect("gpu csv"));
    assert!(
        red > 0 && red < 256,
        "SGD at lr 0.01 diverges from some starts only: {red} diverged"
    );

    let csv_path = dir.join("map.csv");
    let output = basin("cpu", &csv_path);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let csv = std::fs::read_to_string(&csv_path).expect("csv written");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "x0,y0,x,y,loss");
    assert_eq!(rows.len(), 1 + 16 * 16);
    assert!(
        rows[1].starts_with("-2.8125,2.8125,"),
        "top-left pixel centre first: {}",
        rows[1]
    );
    let diverged = diverged_rows(&csv);
    assert_eq!(
        diverged, red,
        "the CPU and GPU maps agree on which starts diverge"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn basin_rejects_bad_ranges_and_output_names() {
    let out = std::env::temp_dir().join("stepwise-never-written.txt");
    let output = basin("cpu", &out);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("the file name must end in .png or .csv")
    );
    assert!(!out.exists(), "nothing is written");
    let mut args: Vec<&str> = BASIN.to_vec();
    args[7] = "--x-range=1,-1";
    args.extend(["10", "--out", "/tmp/never.png"]);
    assert_usage_error(&args, "error: --x-range: MIN must be below MAX, got 1,-1");
    let mut args: Vec<&str> = BASIN.to_vec();
    args[10] = "0";
    args.extend(["10", "--out", "/tmp/never.png"]);
    assert_usage_error(&args, "invalid value '0' for '--resolution <RESOLUTION>'");
}

/// `stepwise hypermap` for SGD on the ill-conditioned quadratic (curvature 50 along y: learning
/// rates past 0.04 diverge without momentum), 12×12 settings, 60 steps.
fn hypermap(device: &str, out: &std::path::Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "hypermap",
        "--function",
        "quadratic",
        "--optimizer",
        "sgd",
        "--start=1,1",
        "--resolution",
        "12",
        "--steps",
        "60",
        "--device",
        device,
        "--out",
        out.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    // The ranges, unless `extra` gives them.
    for (flag, range) in [("--lr-range", "1e-3,1"), ("--second-range", "0.05,0.95")] {
        if !extra.contains(&flag) {
            args.extend([flag, range]);
        }
    }
    stepwise(&args)
}

/// The CSV's rows: (lr, momentum, loss).
fn hypermap_rows(path: &std::path::Path) -> Vec<(f64, f64, f32)> {
    let csv = std::fs::read_to_string(path).expect("csv written");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("lr,momentum,loss"));
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let number = |i: usize| fields[i].parse::<f64>().expect("a number");
            (
                number(0),
                number(1),
                fields[2].parse::<f32>().expect("a loss"),
            )
        })
        .collect()
}

#[test]
fn hypermap_writes_a_csv_per_setting_and_a_png_and_the_gpu_agrees_with_the_cpu() {
    let dir = std::env::temp_dir().join(format!("stepwise-hypermap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let succeeded = |output: Output| {
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stderr)
    };
    let cpu_csv = dir.join("cpu.csv");
    let said = succeeded(hypermap("cpu", &cpu_csv, &[]));
    assert!(
        said.contains("12x12 settings of lr x momentum, 60 steps each"),
        "{said}"
    );
    let cpu = hypermap_rows(&cpu_csv);
    assert_eq!(cpu.len(), 144);
    // Row by row from the top: learning rates rise along a row (evenly in log10, cell centres),
    // momentum falls from row to row.
    let ratio = 1000_f64.powf(1.0 / 12.0);
    assert!(
        (cpu[0].0 / (1e-3 * ratio.sqrt()) - 1.0).abs() < 1e-9,
        "{:?}",
        cpu[0]
    );
    assert!((cpu[1].0 / cpu[0].0 / ratio - 1.0).abs() < 1e-9);
    assert!(
        (cpu[0].1 - (0.95 - 0.9 / 24.0)).abs() < 1e-12,
        "{:?}",
        cpu[0]
    );
    assert!(cpu[12].1 < cpu[0].1 && cpu[12].0 == cpu[0].0);
    let diverged = cpu.iter().filter(|r| !r.2.is_finite()).count();
    assert!(diverged > 0 && diverged < 144, "{diverged} of 144 diverge");

    let gpu_csv = dir.join("gpu.csv");
    succeeded(hypermap("gpu", &gpu_csv, &[]));
    for (g, c) in hypermap_rows(&gpu_csv).iter().zip(&cpu) {
        assert_eq!(
            (g.0, g.1),
            (c.0, c.1),
            "the same settings in the same order"
        );
        let same = if c.2.is_finite() {
            (g.2 - c.2).abs() <= 1e-4 * c.2.abs().max(1.0)
        } else {
            !g.2.is_finite()
        };
        assert!(
            same,
            "lr {} momentum {}: GPU {}, CPU {}",
            c.0, c.1, g.2, c.2
        );
    }

    let png = dir.join("map.png");
    succeeded(hypermap("gpu", &png, &[]));
    assert_map_figure(&png);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn hypermap_refuses_its_axes_as_flags_and_bad_ranges() {
    let out = std::env::temp_dir().join("stepwise-never-written.png");
    let error = |extra: &[&str], expected: &str| {
        let output = hypermap("cpu", &out, extra);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
        assert!(!out.exists(), "nothing is written");
    };
    error(
        &["--lr", "0.1"],
        "--lr is an axis of the map: give its range with --lr-range instead",
    );
    error(
        &["--momentum", "0.9"],
        "--momentum is an axis of the map: give its range with --second-range instead",
    );
    error(
        &["--lr-range", "0,1"],
        "--lr-range: learning rates must be positive (they are spaced in log10), got 0",
    );
    error(
        &["--second-range", "0.9,0.1"],
        "--second-range: MIN must be below MAX, got 0.9,0.1",
    );
    error(&["--weight-decay", "-1"], "weight_decay");
}

#[test]
fn a_missing_gpu_is_a_clear_error_that_says_what_to_install() {
    // Allow only a backend that cannot exist here, as on a machine without any GPU driver.
    let backend = if cfg!(target_os = "macos") {
        "dx12"
    } else {
        "metal"
    };
    let output = Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(TRACE)
        .args(["--optimizer", "adam", "--device", "gpu"])
        .env("WGPU_BACKEND", backend)
        .output()
        .expect("stepwise runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(stderr.contains("error: no GPU adapter found"), "{stderr}");
    assert!(
        stderr.contains("apt-get install mesa-vulkan-drivers"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn a_bare_command_shows_its_help_and_a_misspelling_its_correction() {
    for (args, listed) in [
        (&[][..], ["compare", "sweep", "presets"]),
        (&["model"][..], ["summary", "summary", "summary"]),
        (&["sweep"][..], ["plan", "run", "report"]),
    ] {
        let output = stepwise(args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage: stepwise"), "{args:?}: {stderr}");
        for command in listed {
            assert!(
                stderr.contains(command),
                "{args:?} lists {command}: {stderr}"
            );
        }
    }
    assert_usage_error(&["comapre"], "unrecognized subcommand 'comapre'");
    let stderr = text(&stepwise(&["comapre"]).stderr);
    assert!(
        stderr.contains("a similar subcommand exists: 'compare'"),
        "{stderr}"
    );
    let stderr = text(&stepwise(&["compare", "--epoch", "2"]).stderr);
    assert!(
        stderr.contains("a similar argument exists: '--epochs'"),
        "{stderr}"
    );
    // Older names still work.
    let output = stepwise(&["model", "summary", "--arch", "resnet8"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn presets_are_listed_and_printed_as_the_toml_they_are() {
    let output = stepwise(&["presets"]);
    assert!(output.status.success());
    let listed: Vec<String> = text(&output.stdout)
        .lines()
        .map(|line| {
            line.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        listed,
        [
            "seed-optimizers",
            "seed-lr-sensitivity",
            "seed-weight-decay"
        ]
    );
    let presets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/presets");
    let shipped = std::fs::read_to_string(presets.join("seed-weight-decay.toml")).expect("preset");
    let output = stepwise(&["presets", "show", "seed-weight-decay"]);
    assert!(output.status.success());
    assert_eq!(text(&output.stdout), shipped);
    // At the quick scale, resolved: what `compare --preset NAME --quick` trains, and reads back.
    let quick = text(&stepwise(&["presets", "show", "seed-optimizers", "--quick"]).stdout);
    assert!(
        quick.contains("quick = true") && quick.contains("[[runs]]"),
        "{quick}"
    );
    let dry = stepwise(&[
        "compare",
        "--preset",
        "seed-optimizers",
        "--quick",
        "--dry-run",
    ]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert_eq!(
        text(&dry.stdout),
        quick,
        "--dry-run prints the resolved configuration"
    );
    assert_usage_error(
        &["presets", "show", "seed-optimisers"],
        "unknown preset 'seed-optimisers': did you mean 'seed-optimizers'?",
    );
}

#[test]
fn a_diverging_trace_says_where_and_exits_3() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("sgd.csv");
    let output = stepwise(&[
        "trace",
        "--function",
        "rosenbrock",
        "--start=-1.5,2",
        "--optimizer",
        "sgd",
        "--lr",
        "0.01",
        "--steps",
        "10",
        "--out",
        &out.display().to_string(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(output.stdout.is_empty(), "the CSV went to --out");
    let csv = std::fs::read_to_string(&out).expect("csv");
    assert_eq!(csv.lines().count(), 1 + 11, "every step is written: {csv}");
    let first = csv
        .lines()
        .skip(1)
        .find(|row| row.contains("inf") || row.contains("NaN"))
        .expect("a non-finite row");
    let step = first.split(',').next().expect("step");
    assert!(
        stderr.contains(&format!(
            "the trajectory diverged: non-finite at step {step} ("
        )),
        "{stderr}"
    );
}

/// stderr says where the work ran, as `compare` does, and nothing else: *auto* takes the CPU here,
/// whose only adapter (lavapipe) is a software one.
fn assert_device_line(output: &Output) {
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("device: CPU (the only GPU adapter, ") && stderr.lines().count() == 1,
        "{stderr}"
    );
}

#[test]
fn the_maps_have_defaults_and_the_2d_commands_one_device_rule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("basin.csv");
    let output = stepwise(&[
        "basin",
        "--function",
        "rosenbrock",
        "--optimizer",
        "adam",
        "--x-range=-2,2",
        "--y-range=-1,3",
        "--out",
        &out.display().to_string(),
    ]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.starts_with("device: CPU (the only GPU adapter, "),
        "{stderr}"
    );
    assert!(
        stderr.contains("128x128") && stderr.contains("500 steps"),
        "{stderr}"
    );
    let csv = std::fs::read_to_string(&out).expect("csv");
    assert_eq!(csv.lines().count(), 1 + 128 * 128, "the default resolution");
    assert_usage_error(
        &[
            TRACE.as_slice(),
            &["--optimizer", "adam", "--device", "gpu:1"],
        ]
        .concat(),
        "--device gpu:1: this command runs on one adapter, the one wgpu prefers; choose auto, cpu \
         or gpu",
    );
}

#[test]
fn every_command_s_help_has_an_example() {
    for command in [
        &["compare"][..],
        &["trace"],
        &["basin"],
        &["hypermap"],
        &["presets"],
        &["presets", "show"],
        &["model", "summary"],
        &["data", "download"],
        &["data", "import"],
        &["data", "info"],
        &["sweep", "plan"],
        &["sweep", "run"],
        &["sweep", "status"],
        &["sweep", "report"],
    ] {
        let output = stepwise(&[command, &["--help"]].concat());
        assert!(output.status.success(), "{command:?}");
        let help = text(&output.stdout);
        let example = format!("Example: stepwise {}", command.join(" "));
        assert!(help.contains(&example), "{command:?}: {help}");
    }
}
