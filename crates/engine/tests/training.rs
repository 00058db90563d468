//! Training side by side on the CPU backend: same initial weights and batches for every run,
//! divergence isolated to its run, outputs read back, and a resumed experiment equal to an
//! uninterrupted one.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

mod support;

use stepwise_engine::output::{self, Results};
use stepwise_engine::{
    Compute, Event, Experiment, ExperimentConfig, Layers, RunHistory, RunStatus, checkpoint,
    findings,
};
use support::{config_from, sample};

/// Two epochs of resnet8 on 96 sample images: small enough for a debug build on two cores.
fn config(runs: &str, epochs: u32) -> ExperimentConfig {
    config_from(&format!(
        "model = \"resnet8\"\nepochs = {epochs}\nbatch_size = 32\ntrain_images = 96\n\
         test_images = 100\nseed = 5\nmetrics_every = 2\n{runs}"
    ))
}

const TWO_RUNS: &str = r#"
[[runs]]
name = "adam"
optimizer = "adam"
lr = 0.001

[[runs]]
name = "sgd"
optimizer = "sgd"
lr = 0.05
momentum = 0.9
"#;

/// The app drives an experiment from a thread of its own.
#[test]
fn an_experiment_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Experiment>();
}

/// Advances until finished (or `stop_after_epochs` epochs), returning every event.
fn drive(experiment: &mut Experiment, stop_after_epochs: Option<u32>) -> Vec<Event> {
    let mut events = Vec::new();
    while !experiment.is_finished() {
        let batch = pollster::block_on(experiment.advance()).expect("advance");
        let complete = batch.iter().any(
            |e| matches!(e, Event::EpochComplete { epoch } if Some(*epoch) == stop_after_epochs),
        );
        events.extend(batch);
        if complete {
            break;
        }
    }
    events
}

#[test]
fn runs_share_initial_weights_and_batches_and_report_every_metric() {
    let mut experiment =
        Experiment::new(config(TWO_RUNS, 2), sample(), Compute::Cpu).expect("experiment");
    assert_eq!(experiment.batches_per_epoch(), 3);
    let events = drive(&mut experiment, None);

    // Interleaved: adam's step 1, sgd's step 1, adam's step 2...
    let order: Vec<(usize, u64)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Step { run, metrics } => Some((*run, metrics.step)),
            _ => None,
        })
        .collect();
    assert_eq!(&order[..4], &[(0, 1), (1, 1), (0, 2), (1, 2)]);
    assert_eq!(order.len(), 2 * 2 * 3);
    assert!(matches!(events.last(), Some(Event::Finished)));

    let adam = experiment.history(0).expect("run 0");
    let sgd = experiment.history(1).expect("run 1");
    // Same weights, same first batch: the first loss is the same number for both optimizers.
    assert_eq!(adam.steps[0].loss, sgd.steps[0].loss);
    assert!(
        (adam.steps[0].loss - 10f32.ln()).abs() < 0.5,
        "near ln 10 at start"
    );
    // ...and then the optimizers differ.
    assert_ne!(adam.steps[1].loss, sgd.steps[1].loss);

    let first = adam.steps[0];
    assert_eq!(first.lr, 0.001);
    let grad_norm = first.grad_norm.expect("step 1 is measured");
    assert!(grad_norm.is_finite() && grad_norm > 0.0);
    let ratio = first.update_ratio.expect("measured");
    assert!(ratio > 0.0 && ratio < 0.1, "update/weight ratio {ratio}");
    // Both runs start from the same weights, so their first weight norms agree exactly.
    let weight_norm = first.weight_norm.expect("measured");
    assert!(weight_norm > 1.0, "‖θ‖ {weight_norm}");
    assert_eq!(sgd.steps[0].weight_norm, Some(weight_norm));
    let spread = first.step_size.expect("Adam has a per-element step size");
    assert!(
        spread.min <= spread.median && spread.median <= spread.max,
        "{spread:?}"
    );
    // Adam's first step moves each element by lr·sign(g): step size lr/|g| per element.
    assert!(spread.min > 0.0);
    assert_eq!(
        adam.steps[2].grad_norm, None,
        "step 3 is not a metrics step"
    );
    assert!(adam.steps[3].grad_norm.is_some(), "step 4 is");
    let sgd_spread = sgd.steps[0].step_size.expect("SGD's step size is lr");
    assert_eq!((sgd_spread.min, sgd_spread.max), (0.05, 0.05));

    for history in [adam, sgd] {
        assert_eq!(history.epochs.len(), 2);
        for epoch in &history.epochs {
            assert!(epoch.train_loss.is_finite() && epoch.test_loss.is_finite());
            assert!((0.0..=1.0).contains(&epoch.test_accuracy));
            assert!(epoch.seconds > 0.0 && epoch.images_per_second > 0.0);
        }
    }
    assert_eq!(experiment.status(0), Some(RunStatus::Finished));

    let dir = tempfile::tempdir().expect("temp dir");
    let results = output::write(dir.path(), &experiment).expect("written");
    let read = Results::read(&dir.path().join(output::RESULTS_FILE)).expect("read back");
    assert_eq!(read, results);
    assert_eq!(read.runs[0].epochs.len(), 2);
    assert_eq!(read.runs[0].hyperparameters["beta2"], 0.999);
    let csv = std::fs::read_to_string(dir.path().join(output::METRICS_FILE)).expect("csv");
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("run,seed,kind,step,epoch,loss,lr,grad_norm"));
    assert_eq!(
        rows.len(),
        1 + 2 * (6 + 2),
        "header, 6 steps and 2 epochs per run"
    );
    assert!(rows[1].starts_with("adam,5,step,1,1,"), "{}", rows[1]);
    // The folder reads back as it was recorded (the app opens finished folders this way).
    let recorded = output::read(dir.path()).expect("folder reads back");
    assert_eq!(recorded.results, results);
    for (r, history) in recorded.histories.iter().enumerate() {
        assert_eq!(Some(history), experiment.history(r), "run {r}");
    }
    assert_eq!(recorded.results.runs[0].run_status(), RunStatus::Finished);
    let damaged = csv.replacen(rows[1], &rows[1].replacen(",1,1,", ",1,1,abc", 1), 1);
    std::fs::write(dir.path().join(output::METRICS_FILE), damaged).expect("write");
    let err = output::read(dir.path()).expect_err("a damaged metrics.csv is refused");
    let message = err.to_string();
    assert!(
        message.contains("metrics.csv") && message.contains("line 2: loss is \"abc"),
        "{message}"
    );
    let config_text = std::fs::read_to_string(dir.path().join(output::CONFIG_FILE)).expect("toml");
    let again = Layers {
        file: Some(("config.toml".into(), config_text)),
        ..Layers::default()
    }
    .resolve()
    .expect("config.toml reads back");
    assert_eq!(&again, experiment.config());
}

/// A run's results do not depend on the other runs beside it: weights, optimizer state and batch
/// norm's running statistics are its own.
#[test]
fn runs_are_independent_of_each_other() {
    let alone = r#"
[[runs]]
name = "adam"
optimizer = "adam"
lr = 0.001
"#;
    let beside = format!("{alone}\n[[runs]]\nname = \"wild\"\noptimizer = \"sgd\"\nlr = 0.5\n");
    let mut results = Vec::new();
    for runs in [alone.to_string(), beside] {
        let mut experiment =
            Experiment::new(config(&runs, 2), sample(), Compute::Cpu).expect("new");
        drive(&mut experiment, None);
        results.push(experiment.history(0).expect("adam").clone());
    }
    let (a, b) = (&results[0], &results[1]);
    assert_eq!(a.steps, b.steps, "every step's metrics");
    let figures = |h: &stepwise_engine::RunHistory| -> Vec<[f32; 4]> {
        h.epochs
            .iter()
            .map(|e| [e.train_loss, e.train_accuracy, e.test_loss, e.test_accuracy])
            .collect()
    };
    assert_eq!(
        figures(a),
        figures(b),
        "every epoch's losses and accuracies"
    );
}

#[test]
fn a_diverging_run_stops_alone() {
    let runs = r#"
[[runs]]
name = "exploding"
optimizer = "sgd"
lr = 1e6

[[runs]]
name = "calm"
optimizer = "adam"
"#;
    let mut experiment = Experiment::new(config(runs, 2), sample(), Compute::Cpu).expect("new");
    let events = drive(&mut experiment, None);
    let diverged: Vec<(usize, u64)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Diverged { run, step, .. } => Some((*run, *step)),
            _ => None,
        })
        .collect();
    assert_eq!(diverged.len(), 1, "{diverged:?}");
    let (run, step) = diverged[0];
    assert_eq!(run, 0);
    assert!(step >= 2, "a first step cannot diverge from sane weights");
    match experiment.status(0) {
        Some(RunStatus::Diverged { step: at, loss }) => {
            assert_eq!(at, step);
            assert!(!loss.is_finite() || loss > 100.0, "loss {loss}");
        }
        other => panic!("expected divergence, got {other:?}"),
    }
    assert_eq!(experiment.steps(0), step, "no steps after divergence");
    assert_eq!(experiment.status(1), Some(RunStatus::Finished));
    assert_eq!(experiment.history(1).expect("calm").epochs.len(), 2);
    let results = Results::of(&experiment);
    assert_eq!(results.runs[0].status, "diverged");
    assert_eq!(results.runs[0].diverged_at_step, Some(step));
    assert_eq!(results.runs[1].diverged_at_step, None);
}

/// The notes of the report come from what the runs did: Adam and AdamW at wd 1e-5 twin step for
/// step (and why), a run that diverges, AdaBound's open bounds, RAdam's switch to rectified steps.
#[test]
fn the_data_explains_itself_in_notes() {
    let runs = r#"
[[runs]]
name = "Adam"
optimizer = "adam"

[[runs]]
name = "AdamW"
optimizer = "adamw"
weight_decay = 1e-5

[[runs]]
name = "AdaBound"
optimizer = "adabound"

[[runs]]
name = "RAdam"
optimizer = "radam"

[[runs]]
name = "exploding"
optimizer = "sgd"
lr = 1e6
"#;
    // Twelve steps of 8 images: past RAdam's warm-up, far from AdaBound's 1/γ.
    let mut config = config(runs, 1);
    config.batch_size = 8;
    let mut experiment = Experiment::new(config, sample(), Compute::Cpu).expect("new");
    drive(&mut experiment, None);
    let histories: Vec<RunHistory> = (0..5)
        .map(|r| experiment.history(r).cloned().expect("history"))
        .collect();
    let statuses: Vec<RunStatus> = (0..5)
        .map(|r| experiment.status(r).expect("status"))
        .collect();
    let notes = findings::notes(experiment.config(), &histories, &statuses);
    let about = |run: &str| -> Vec<&str> {
        notes
            .iter()
            .filter(|n| n.runs.iter().any(|r| r == run))
            .map(|n| n.text.as_str())
            .collect()
    };
    assert!(
        about("AdamW").contains(
            &"Adam and AdamW have identical losses at every one of their 12 steps: they took the \
              same steps."
        ),
        "{notes:?}"
    );
    assert!(
        about("AdamW").iter().any(|n| n.contains(
            "factor 1 − lr·wd = 1 − 1e-8 rounds to 1 in float32 (the weights' precision)"
        )),
        "{notes:?}"
    );
    let Some(RunStatus::Diverged { step, .. }) = experiment.status(4) else {
        panic!("lr 1e6 diverges");
    };
    assert!(
        about("exploding")
            .iter()
            .any(|n| n.starts_with(&format!("exploding diverged at step {step} in epoch 1"))),
        "{notes:?}"
    );
    assert!(
        about("AdaBound")
            .iter()
            .any(|n| n.contains("bounds were still [")
                && n.contains("after 12 steps, around final_lr 0.1")
                && n.contains("(t well past 1/γ = 1000 steps)")),
        "{notes:?}"
    );
    assert!(
        about("RAdam").iter().any(
            |n| n.starts_with("RAdam took plain momentum steps until step ")
                && n.contains("then rectified adaptive steps")
        ),
        "{notes:?}"
    );
    assert!(about("Adam").iter().all(|n| !n.contains("chance")));
}

/// A step's values come back one unit of work later; `settle` records the steps still in flight
/// (what the CLI and the app call when they stop early), and training goes on from there.
#[test]
fn settle_records_the_steps_still_in_flight() {
    let mut experiment = Experiment::new(config(TWO_RUNS, 1), sample(), Compute::Cpu).expect("new");
    let first = pollster::block_on(experiment.advance()).expect("advance");
    assert!(
        first.is_empty(),
        "nothing is back after the first unit: {first:?}"
    );
    assert_eq!((experiment.steps(0), experiment.steps(1)), (0, 0));
    let settled: Vec<(usize, u64)> = pollster::block_on(experiment.settle())
        .expect("settle")
        .iter()
        .filter_map(|e| match e {
            Event::Step { run, metrics } => Some((*run, metrics.step)),
            _ => None,
        })
        .collect();
    assert!(!settled.is_empty(), "the first unit's steps");
    for &(run, step) in &settled {
        assert_eq!(step, 1);
        assert_eq!(experiment.steps(run), 1, "run {run} recorded its step");
    }
    let again = pollster::block_on(experiment.settle()).expect("settle again");
    assert!(again.is_empty(), "nothing is left in flight: {again:?}");
    drive(&mut experiment, None);
    assert_eq!((experiment.steps(0), experiment.steps(1)), (3, 3));
}

/// A step's loss is read back after the next unit of work is queued; alone in its experiment, a
/// diverging run has its next step queued by then, which is dropped with its state: nothing is
/// recorded past the step that diverged.
#[test]
fn a_lone_diverging_run_records_nothing_after_the_step_that_diverged() {
    let runs = "[[runs]]\nname = \"exploding\"\noptimizer = \"sgd\"\nlr = 1e6\n";
    let mut experiment = Experiment::new(config(runs, 2), sample(), Compute::Cpu).expect("new");
    let events = drive(&mut experiment, None);
    let Some(RunStatus::Diverged { step, .. }) = experiment.status(0) else {
        panic!("expected divergence, got {:?}", experiment.status(0));
    };
    let recorded: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Step { metrics, .. } => Some(metrics.step),
            _ => None,
        })
        .collect();
    assert_eq!(
        recorded,
        (1..=step).collect::<Vec<_>>(),
        "steps 1..={step}, once each"
    );
    let after = events
        .iter()
        .skip_while(|e| !matches!(e, Event::Diverged { .. }))
        .skip(1)
        .filter(|e| matches!(e, Event::Step { .. } | Event::Epoch { .. }))
        .count();
    assert_eq!(
        after, 0,
        "no step or epoch after the divergence: {events:?}"
    );
    assert_eq!(experiment.steps(0), step);
    assert!(matches!(events.last(), Some(Event::Finished)));
    assert!(experiment.is_finished());
}

#[test]
fn a_resumed_experiment_ends_exactly_as_an_uninterrupted_one() {
    let straight = {
        let mut experiment =
            Experiment::new(config(TWO_RUNS, 2), sample(), Compute::Cpu).expect("new");
        drive(&mut experiment, None);
        Results::of(&experiment)
    };

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(checkpoint::FILE_NAME);
    {
        let mut experiment =
            Experiment::new(config(TWO_RUNS, 2), sample(), Compute::Cpu).expect("new");
        drive(&mut experiment, Some(1));
        assert_eq!(experiment.epochs_done(), 1);
        pollster::block_on(experiment.save_checkpoint(&path)).expect("checkpoint");
        // Interrupted mid-epoch: the partial epoch is lost, the checkpoint stays.
        pollster::block_on(experiment.advance()).expect("one more step");
    }
    // Other data (here fewer images than the checkpoint trained on) would change every batch.
    let mut fewer = sample();
    fewer.train.truncate(50);
    let err = match Experiment::resume(&path, fewer, Compute::Cpu) {
        Ok(_) => panic!("resumed on other data"),
        Err(err) => err.to_string(),
    };
    let trained_on = format!(
        "it was trained on 96 training and 100 test images of the shipped sample (fingerprint \
         {})",
        fingerprint(&sample(), 96, 100)
    );
    assert!(err.contains(&trained_on), "{err}");
    assert!(
        err.ends_with(&format!(
            ", but the data now is 50 training and 100 test images of the shipped sample \
             (fingerprint {}); resume where the same data is installed (--data-dir)",
            fingerprint(&sample(), 50, 100)
        )),
        "{err}"
    );
    // The same images from an installation are other data too (the CLI reads the checkpoint
    // first and resumes a sample-trained experiment on the sample).
    let installed = stepwise_data::Cifar10 {
        source: stepwise_data::Source::Installed(dir.path().to_path_buf()),
        ..sample()
    };
    let err = match Experiment::resume(&path, installed, Compute::Cpu) {
        Ok(_) => panic!("resumed on an installation"),
        Err(err) => err.to_string(),
    };
    assert!(
        err.contains(
            "but the data now is 96 training and 100 test images of an installed CIFAR-10"
        ),
        "{err}"
    );
    let saved = checkpoint::Checkpoint::read(&path).expect("read");
    assert!(saved.trained_on_sample());
    let mut resumed = Experiment::resume_from(saved, sample(), Compute::Cpu).expect("resume");
    assert_eq!(resumed.epochs_done(), 1);
    assert_eq!(resumed.steps(0), 3);
    drive(&mut resumed, None);
    let resumed = Results::of(&resumed);

    for (a, b) in straight.runs.iter().zip(&resumed.runs) {
        assert_eq!(a.steps, b.steps);
        for (x, y) in a.epochs.iter().zip(&b.epochs) {
            assert_eq!(
                (x.train_loss, x.test_loss, x.test_accuracy),
                (y.train_loss, y.test_loss, y.test_accuracy),
                "{}: epoch {}",
                a.name,
                x.epoch
            );
        }
    }
}

/// [`config`] at `seeds` (a TOML list) instead of its one seed.
fn seeded(runs: &str, seeds: &str) -> ExperimentConfig {
    config_from(&format!(
        "model = \"resnet8\"\nepochs = 2\nbatch_size = 32\ntrain_images = 96\n\
         test_images = 100\nseeds = {seeds}\nmetrics_every = 2\n{runs}"
    ))
}

/// Several seeds: the runs of a seed start from the same weights on the same batches (their
/// first losses are equal), other seeds differ, each seed trains exactly as it would alone, the
/// seed is in every output, and a resumed experiment ends as an uninterrupted one.
#[test]
fn seeds_pair_their_runs_and_each_trains_as_if_alone() {
    let mut experiment =
        Experiment::new(seeded(TWO_RUNS, "[5, 9]"), sample(), Compute::Cpu).expect("new");
    assert_eq!(experiment.run_count(), 4);
    let labels: Vec<(&str, u64)> = (0..4)
        .map(|r| experiment.run_label(r).expect("label"))
        .collect();
    assert_eq!(labels, [("adam", 5), ("sgd", 5), ("adam", 9), ("sgd", 9)]);
    drive(&mut experiment, None);
    let first_loss = |r: usize| experiment.history(r).expect("history").steps[0].loss;
    assert_eq!(
        first_loss(0),
        first_loss(1),
        "seed 5: same weights, same batch"
    );
    assert_eq!(
        first_loss(2),
        first_loss(3),
        "seed 9: same weights, same batch"
    );
    assert_ne!(first_loss(0), first_loss(2), "seeds 5 and 9 differ");

    let mut alone = Experiment::new(seeded(TWO_RUNS, "[9]"), sample(), Compute::Cpu).expect("new");
    drive(&mut alone, None);
    for (r, together) in [(0, 2), (1, 3)] {
        let (a, b) = (
            alone.history(r).expect("alone"),
            experiment.history(together).expect("together"),
        );
        assert_eq!(a.steps, b.steps, "seed 9's run {r}: every step as if alone");
        assert_eq!(a.epochs.len(), b.epochs.len());
        for (x, y) in a.epochs.iter().zip(&b.epochs) {
            assert_eq!(
                (x.train_loss, x.test_loss, x.test_accuracy),
                (y.train_loss, y.test_loss, y.test_accuracy)
            );
        }
    }

    // Every output names the seed, and reads back.
    let dir = tempfile::tempdir().expect("temp dir");
    let results = output::write(dir.path(), &experiment).expect("write");
    assert_eq!(results.seeds, [5, 9]);
    let seeds: Vec<u64> = results.runs.iter().map(|r| r.seed).collect();
    assert_eq!(seeds, [5, 5, 9, 9]);
    let csv = std::fs::read_to_string(dir.path().join(output::METRICS_FILE)).expect("csv");
    assert!(csv.starts_with("run,seed,kind,step,"), "{csv}");
    assert!(
        csv.lines().any(|line| line.starts_with("sgd,9,epoch,")),
        "{csv}"
    );
    let recorded = output::read(dir.path()).expect("read back");
    assert_eq!(recorded.results, results);
    for r in 0..4 {
        assert_eq!(
            recorded.histories[r].steps,
            experiment.history(r).expect("history").steps,
            "run {r}'s steps read back from metrics.csv"
        );
    }
    let toml = std::fs::read_to_string(dir.path().join(output::CONFIG_FILE)).expect("toml");
    assert!(toml.contains("seeds = [5, 9]"), "{toml}");

    // Stopped after the first epoch, checkpointed, resumed: the same ending.
    let path = dir.path().join(checkpoint::FILE_NAME);
    let mut interrupted =
        Experiment::new(seeded(TWO_RUNS, "[5, 9]"), sample(), Compute::Cpu).expect("new");
    drive(&mut interrupted, Some(1));
    pollster::block_on(interrupted.save_checkpoint(&path)).expect("checkpoint");
    drop(interrupted);
    let mut resumed = Experiment::resume(&path, sample(), Compute::Cpu).expect("resume");
    assert_eq!(resumed.epochs_done(), 1);
    assert_eq!(resumed.run_label(3), Some(("sgd", 9)));
    drive(&mut resumed, None);
    for r in 0..4 {
        assert_eq!(
            resumed.history(r).expect("resumed").steps,
            experiment.history(r).expect("straight").steps,
            "run {r} after resuming"
        );
    }
}

/// The fingerprint a checkpoint records of the first `train` and `test` images of `data`.
fn fingerprint(data: &stepwise_data::Cifar10, train: usize, test: usize) -> String {
    let (mut train_set, mut test_set) = (data.train.clone(), data.test.clone());
    train_set.truncate(train);
    test_set.truncate(test);
    format!(
        "{:08x}-{:08x}",
        train_set.fingerprint(),
        test_set.fingerprint()
    )
}

/// Other images of the same count are other data; a flipped bit in any tensor is refused by
/// name; each before anything trains.
#[test]
fn a_checkpoint_proves_its_tensors_and_its_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(checkpoint::FILE_NAME);
    let mut experiment = Experiment::new(config(TWO_RUNS, 2), sample(), Compute::Cpu).expect("new");
    drive(&mut experiment, Some(1));
    pollster::block_on(experiment.save_checkpoint(&path)).expect("checkpoint");

    // The sample's training images shifted by one: the same counts, other pixels.
    let bytes = std::fs::read(package_dir().join("../data/sample/train.bin")).expect("sample");
    let shifted = stepwise_data::Images::parse(&bytes[stepwise_data::RECORD_BYTES..], &path)
        .expect("records");
    let other = stepwise_data::Cifar10 {
        train: shifted,
        ..sample()
    };
    let err = match Experiment::resume(&path, other, Compute::Cpu) {
        Ok(_) => panic!("resumed on other images of the same count"),
        Err(err) => err.to_string(),
    };
    assert!(
        err.contains("but the data now is 96 training and 100 test images"),
        "{err}"
    );
    assert!(
        err.contains(&fingerprint(&sample(), 96, 100)),
        "names the fingerprint trained on: {err}"
    );

    let whole = std::fs::read(&path).expect("read");
    let header = u64::from_le_bytes(whole[..8].try_into().expect("8 bytes")) as usize;
    // A low-order bit of a weight deep in the tensors, and an exponent bit of the first value.
    for (offset, bit) in [(whole.len() / 2, 0), (8 + header + 3, 6)] {
        let mut damaged = whole.clone();
        damaged[offset] ^= 1 << bit;
        std::fs::write(&path, &damaged).expect("write");
        let err = match Experiment::resume(&path, sample(), Compute::Cpu) {
            Ok(_) => panic!("resumed from a flipped bit at byte {offset}"),
            Err(err) => err.to_string(),
        };
        assert!(
            err.starts_with(&format!("checkpoint {}: tensor run", path.display()))
                && err.ends_with(
                    "is corrupt: its checksum does not match the one recorded when it was \
                     written"
                ),
            "{err}"
        );
    }
    std::fs::write(&path, &whole).expect("write");
    Experiment::resume(&path, sample(), Compute::Cpu).expect("the undamaged file resumes");
}

/// More images asked for than there are: all are used, and the configuration says how many.
#[test]
fn image_counts_above_what_exists_are_recorded_as_used() {
    let mut config = config(TWO_RUNS, 1);
    config.train_images = Some(1_000_000);
    config.test_images = Some(1_000_000);
    let experiment = Experiment::new(config, sample(), Compute::Cpu).expect("new");
    assert_eq!(experiment.config().train_images, Some(2000));
    assert_eq!(experiment.config().test_images, Some(1000));
}

#[test]
fn a_damaged_checkpoint_is_refused_with_its_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(checkpoint::FILE_NAME);
    std::fs::write(&path, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":").expect("write");
    let err = match Experiment::resume(&path, sample(), Compute::Cpu) {
        Ok(_) => panic!("accepted a damaged checkpoint"),
        Err(err) => err.to_string(),
    };
    assert!(
        err.starts_with(&format!("checkpoint {}: ", path.display())),
        "{err}"
    );
    assert!(err.contains("not a safetensors file"), "{err}");
}

/// A loss that overflows to NaN or infinity has no JSON number: the checkpoint and the output
/// files must still carry it, and the experiment must resume exactly (the step-size sample
/// included, although the first run's model is gone).
#[test]
fn a_run_that_diverged_to_nan_is_checkpointed_written_and_resumed() {
    let runs = r#"
[[runs]]
name = "overflowing"
optimizer = "sgd"
lr = 1e30

[[runs]]
name = "calm"
optimizer = "adam"
"#;
    let straight = {
        let mut experiment = Experiment::new(config(runs, 2), sample(), Compute::Cpu).expect("new");
        drive(&mut experiment, None);
        experiment
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(checkpoint::FILE_NAME);
    {
        let mut experiment = Experiment::new(config(runs, 2), sample(), Compute::Cpu).expect("new");
        drive(&mut experiment, Some(1));
        let Some(RunStatus::Diverged { loss, .. }) = experiment.status(0) else {
            panic!(
                "run 0 did not diverge in epoch 1: {:?}",
                experiment.status(0)
            );
        };
        assert!(
            !loss.is_finite(),
            "loss {loss}: the test needs a non-finite one"
        );
        pollster::block_on(experiment.save_checkpoint(&path)).expect("checkpoint");
        output::write(dir.path(), &experiment).expect("write");
        let recorded = output::read(dir.path()).expect("results read back");
        match recorded.results.runs[0].run_status() {
            RunStatus::Diverged { step, loss: read } => {
                assert_eq!(Some(step), experiment.status(0).and_then(diverged_step));
                assert_eq!(read.to_bits(), loss.to_bits(), "{read} vs {loss}");
            }
            other => panic!("read back as {other:?}"),
        }
        let csv = std::fs::read_to_string(dir.path().join(output::METRICS_FILE)).expect("csv");
        let row = csv
            .lines()
            .find(|line| line.starts_with("overflowing,5,diverged,"))
            .expect("a diverged row");
        assert!(row.contains(&format!(",{loss},")), "{row}");
    }
    let mut resumed = Experiment::resume(&path, sample(), Compute::Cpu).expect("resume");
    drive(&mut resumed, None);
    assert_eq!(
        resumed.status(0).and_then(diverged_step),
        straight.status(0).and_then(diverged_step)
    );
    assert_eq!(resumed.status(1), Some(RunStatus::Finished));
    assert_eq!(
        resumed.history(1).expect("calm").steps,
        straight.history(1).expect("calm").steps,
        "every step's metrics of the run that went on, step-size medians included"
    );
}

fn diverged_step(status: RunStatus) -> Option<u64> {
    match status {
        RunStatus::Diverged { step, .. } => Some(step),
        _ => None,
    }
}

/// This package's folder, as cargo tells the running test.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
        || env!("CARGO_MANIFEST_DIR").into(),
        std::path::PathBuf::from,
    )
}
