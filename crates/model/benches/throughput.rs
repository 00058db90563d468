//! Does the input pipeline keep up with training? Batches per second from the training set
//! (seeded order, normalisation, upload to the device) beside ResNet training steps per second
//! (forward, backward, fused Adam step) on the default adapter, batch 32, measured in one run.
//! The target: input at least 20x faster than ResNet-18 training.
//!
//! `cargo bench -p stepwise-model --bench throughput [-- ARCH [STEPS [gpu|cpu [BATCH]]]]` (default
//! resnet18, 10, gpu, 32). `cpu` runs on burn's flex backend with the reference optimizer. The
//! phase split syncs the device after each phase; the steady rate after it times the same steps
//! queued back to back with one sync at the end, as training runs. `torch_train.py` beside this
//! file measures PyTorch on the same networks the same two ways. Built with
//! `--features ndarray-bench` (and `apt-get install libopenblas-dev`), `ndarray` as the third
//! argument trains on burn's ndarray backend with OpenBLAS instead of flex.
//! Uses the data set installed in `STEPWISE_CIFAR10_DIR` (or the default data folder), else the
//! shipped sample.

use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, DeviceKind};
use stepwise_data::{Augment, Batches, HostBatch, Images, Normalization};
use stepwise_gpu::{FusedOptimizer, ReferenceOptimizer};
use stepwise_model::{Arch, ResNet};
use stepwise_optim::OptimizerKind;

/// Batches timed for the input rate.
const INPUT_BATCHES: usize = 2_000;

/// Batches of successive epochs, [`INPUT_BATCHES`] in all.
fn batch_stream(images: &Images, batch: usize) -> impl Iterator<Item = HostBatch> + '_ {
    (0..)
        .flat_map(move |epoch| {
            Batches::new(
                images,
                1,
                epoch,
                batch,
                Normalization::CIFAR10,
                Augment::default(),
            )
        })
        .take(INPUT_BATCHES)
}

/// Batches per second of `work`, which handles [`INPUT_BATCHES`] batches.
fn rate(work: impl FnOnce()) -> f64 {
    let started = Instant::now();
    work();
    INPUT_BATCHES as f64 / started.elapsed().as_secs_f64()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let arch: Arch = args.first().map_or(Ok(Arch::ResNet18), |a| a.parse())?;
    let steps: usize = args.get(1).map_or(Ok(10), |s| s.parse())?;
    let backend = args.get(2).map_or("gpu", String::as_str);
    let (device, on_cpu) = match backend {
        "gpu" => {
            let gpu = stepwise_gpu::Gpu::new_blocking()?;
            println!("adapter: {}", gpu.adapter);
            stepwise_gpu::tuning::keep_tuning_for(&gpu.adapter);
            (Device::wgpu(DeviceKind::DefaultDevice), false)
        }
        "cpu" => {
            println!("device: burn's flex CPU backend");
            (Device::flex(), true)
        }
        #[cfg(feature = "ndarray-bench")]
        "ndarray" => {
            println!("device: burn's ndarray CPU backend (OpenBLAS)");
            #[allow(deprecated)] // burn 0.22 prefers flex; this measures the alternative
            (Device::ndarray(), true)
        }
        other => anyhow::bail!("device '{other}': expected gpu or cpu (or ndarray, see above)"),
    };
    let batch: usize = args.get(3).map_or(Ok(32), |s| s.parse())?;
    let dir = match std::env::var_os("STEPWISE_CIFAR10_DIR") {
        Some(dir) => dir.into(),
        None => stepwise_data::default_dir()?,
    };
    let data = stepwise_data::load_or_sample(&dir)?;
    let source = &data.source;
    // Input: 2,000 batches (as many epochs as that takes), on the host alone, then with the upload
    // to the device. The device is created and warmed up first: its first use is not input cost.
    let warm = batch_stream(&data.train, batch)
        .next()
        .map(|b| b.into_tensors(&device));
    std::hint::black_box(warm);
    device.sync()?;
    let host_rate = rate(|| {
        batch_stream(&data.train, batch).for_each(|batch| {
            std::hint::black_box(batch);
        });
    });
    let input_rate = rate(|| {
        batch_stream(&data.train, batch).for_each(|batch| {
            std::hint::black_box(batch.into_tensors(&device));
        });
    });
    device.sync()?;
    println!(
        "input: batches of {batch} from the {source}: {host_rate:.0} batches/s on the host, \
         {input_rate:.0} batches/s including the upload"
    );

    // Training: forward, backward and a fused Adam step, after 3 warm-up steps.
    let train_device = device.autodiff();
    let mut model = ResNet::new(&arch.config(10), 0, &train_device)?;
    let config = OptimizerKind::Adam.default_config();
    let (mut optimizer, optimizer_name): (ModuleOptimizer, _) = if on_cpu {
        (ReferenceOptimizer::new(config).into(), "reference Adam")
    } else {
        (FusedOptimizer::new(config).into(), "fused Adam")
    };
    let loss_fn = CrossEntropyLossConfig::new().init(&train_device);
    let mut epoch = Batches::new(
        &data.train,
        2,
        0,
        batch,
        Normalization::CIFAR10,
        Augment::default(),
    )
    .chain(Batches::new(
        &data.train,
        2,
        1,
        batch,
        Normalization::CIFAR10,
        Augment::default(),
    ));
    // Where a step's time goes: each phase ends with a device sync, so that its work is counted
    // in it (on the GPU this serialises what would overlap; the total is measured the same way).
    let phases = [
        "data + upload",
        "forward + loss",
        "backward",
        "optimizer step",
    ];
    let mut spent = [0.0_f64; 4];
    for step in 0..steps + 3 {
        let Some(batch) = epoch.next() else { break };
        let mut marks = [Instant::now(); 5];
        let (images, labels) = batch.into_tensors(&train_device);
        train_device.sync()?;
        marks[1] = Instant::now();
        let loss = loss_fn.forward(model.forward(images), labels);
        train_device.sync()?;
        marks[2] = Instant::now();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        train_device.sync()?;
        marks[3] = Instant::now();
        model = optimizer.step(config.lr(), model, grads);
        train_device.sync()?;
        marks[4] = Instant::now();
        if step >= 3 {
            for (phase, pair) in spent.iter_mut().zip(marks.windows(2)) {
                *phase += (pair[1] - pair[0]).as_secs_f64();
            }
        }
    }
    let elapsed: f64 = spent.iter().sum();
    let train_rate = steps as f64 / elapsed;
    println!(
        "training {arch}: {train_rate:.3} steps/s = {:.1} images/s (batch {batch}, {optimizer_name}, \
         synced after each phase)",
        train_rate * batch as f64
    );
    for (phase, seconds) in phases.iter().zip(spent) {
        println!(
            "  {phase:<15} {:>9.1} ms/step  {:>5.1}%",
            1e3 * seconds / steps as f64,
            100.0 * seconds / elapsed
        );
    }
    // The same steps queued back to back, one sync at the end: what training sustains.
    let started = Instant::now();
    let mut done = 0;
    for batch in epoch.by_ref().take(steps) {
        let (images, labels) = batch.into_tensors(&train_device);
        let loss = loss_fn.forward(model.forward(images), labels);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(config.lr(), model, grads);
        done += 1;
    }
    train_device.sync()?;
    let steady = done as f64 / started.elapsed().as_secs_f64();
    println!(
        "steady {arch}: {steady:.3} steps/s = {:.1} images/s over {done} steps (one sync at the end)",
        steady * batch as f64
    );
    println!(
        "input / training: {:.0}x (target: at least 20x)",
        input_rate / train_rate
    );
    Ok(())
}
