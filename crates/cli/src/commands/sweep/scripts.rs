//! What a cluster needs to run a sweep's cells: a Slurm batch script for a job array
//! (`sweep.sbatch`, one array task per cell) and a Kubernetes Indexed Job (`sweep-job.yaml`, one
//! completion index per cell). Both run `stepwise sweep run DIR --cell INDEX`, which resumes a
//! cell from its checkpoint, so a preempted and requeued task continues where it was.

use std::path::Path;

use clap::Args;
use stepwise_engine::DeviceChoice;

use crate::commands::Error;

/// The Slurm batch script `plan --slurm` writes.
pub const SLURM_FILE: &str = "sweep.sbatch";
/// The Kubernetes manifest `plan --kubernetes` writes.
pub const KUBERNETES_FILE: &str = "sweep-job.yaml";

/// Options for the cluster scripts.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Also write sweep.sbatch: a Slurm job array, one task per cell (submit it with sbatch).
    #[arg(long)]
    slurm: bool,
    /// Slurm partition (sbatch --partition).
    #[arg(long, requires = "slurm")]
    partition: Option<String>,
    /// Time limit per cell (sbatch --time, as D-HH:MM:SS or HH:MM:SS).
    #[arg(long, requires = "slurm")]
    time: Option<String>,
    /// CPU cores per cell (sbatch --cpus-per-task).
    #[arg(long, value_name = "N", requires = "slurm")]
    cpus_per_task: Option<u32>,
    /// Memory per cell (sbatch --mem, such as 16G).
    #[arg(long, requires = "slurm")]
    mem: Option<String>,
    /// GPUs per cell (sbatch --gres=gpu:N; the Kubernetes limit nvidia.com/gpu).
    #[arg(long, value_name = "N")]
    gpus: Option<u32>,
    /// Also write sweep-job.yaml: a Kubernetes Indexed Job, one completion index per cell.
    #[arg(long)]
    kubernetes: bool,
    /// The container image with stepwise in it (Kubernetes).
    #[arg(long, requires = "kubernetes", required_if_eq("kubernetes", "true"))]
    image: Option<String>,
    /// The PersistentVolumeClaim holding the sweep folder, mounted at /sweep (Kubernetes).
    #[arg(long, requires = "kubernetes", default_value = "stepwise-sweep")]
    claim: String,
    /// Pods at once (Kubernetes parallelism) [default: every cell].
    #[arg(long, value_name = "N", requires = "kubernetes")]
    parallelism: Option<u32>,
    /// The stepwise program on the cluster's nodes [default: this program's path].
    #[arg(long, value_name = "PATH")]
    stepwise: Option<String>,
    /// Where each cell trains (as compare's --device) [default: the cells' configuration's
    /// devices, else auto].
    #[arg(long, value_name = "DEVICES", value_delimiter = ',')]
    cell_device: Option<Vec<DeviceChoice>>,
}

/// Writes the scripts `args` asks for, for a sweep of `cells` cells in `dir`.
pub fn write(args: &ClusterArgs, dir: &Path, cells: usize) -> Result<(), Error> {
    let save = |name: &str, text: String| -> Result<(), Error> {
        let path = dir.join(name);
        stepwise_engine::output::write_atomically(&path, text.as_bytes())
            .map_err(|err| Error::Failed(err.to_string()))?;
        println!("wrote {}", path.display());
        Ok(())
    };
    let stepwise = match &args.stepwise {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .map_err(|err| Error::Failed(format!("cannot find this program's path: {err}")))?
            .display()
            .to_string(),
    };
    if args.slurm {
        let dir = std::path::absolute(dir)
            .map_err(|err| Error::Failed(format!("{}: {err}", dir.display())))?;
        // sbatch reads its #SBATCH lines without a shell: a path there cannot be quoted.
        if dir.display().to_string().chars().any(char::is_whitespace) {
            return Err(Error::Usage(format!(
                "--slurm: the sweep folder's path {:?} has a space, which an #SBATCH --output line \
                 cannot hold; choose a folder without one",
                dir.display().to_string()
            )));
        }
        // Slurm opens a task's output file before the task runs: its folder must exist.
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs)
            .map_err(|err| Error::Failed(format!("{}: {err}", logs.display())))?;
        save(SLURM_FILE, slurm(args, &dir, cells, &stepwise))?;
        println!("submit it with: sbatch {}", dir.join(SLURM_FILE).display());
    }
    if args.kubernetes {
        save(KUBERNETES_FILE, kubernetes(args, cells))?;
        println!(
            "copy the sweep folder into the volume {} and apply it with: kubectl apply -f {}",
            args.claim,
            dir.join(KUBERNETES_FILE).display()
        );
    }
    Ok(())
}

/// A shell word: quoted unless it is plainly safe.
fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn slurm(args: &ClusterArgs, dir: &Path, cells: usize, stepwise: &str) -> String {
    let dir = dir.display().to_string();
    let mut options = vec![
        "--job-name=stepwise-sweep".to_owned(),
        format!("--array=0-{}", cells.saturating_sub(1)),
        format!("--output={dir}/logs/cell-%a.out"),
        "--open-mode=append".into(),
        // A preempted task goes back to the queue, and resumes its cell from its checkpoint.
        "--requeue".into(),
        // SIGTERM two minutes before the time limit: the cell stops after its step, writes its
        // results and exits 75, to be resumed by the next submission.
        "--signal=B:TERM@120".into(),
    ];
    options.extend(args.partition.iter().map(|p| format!("--partition={p}")));
    options.extend(args.time.iter().map(|t| format!("--time={t}")));
    options.extend(
        args.cpus_per_task
            .iter()
            .map(|n| format!("--cpus-per-task={n}")),
    );
    options.extend(args.mem.iter().map(|m| format!("--mem={m}")));
    options.extend(args.gpus.iter().map(|n| format!("--gres=gpu:{n}")));
    let mut script = format!(
        "#!/bin/bash\n\
         # A Slurm job array for the Stepwise sweep in {dir}: one array task per cell, each running\n\
         # `stepwise sweep run DIR --cell $SLURM_ARRAY_TASK_ID`. A cell resumes from its checkpoint\n\
         # when it runs again (a requeue after preemption, or a second submission), and a finished\n\
         # cell exits at once. Exit statuses: 0 finished, 75 stopped early (SIGTERM; resumable),\n\
         # 1 failed, 2 invalid input. Follow it with `stepwise sweep status {dir}`; merge with\n\
         # `stepwise sweep report {dir}`.\n"
    );
    for option in options {
        script.push_str(&format!("#SBATCH {option}\n"));
    }
    script.push_str(&format!(
        "\n# exec: Slurm's signals reach stepwise itself.\n\
         exec {stepwise} sweep run {dir} --cell \"$SLURM_ARRAY_TASK_ID\"{device}\n",
        stepwise = quote(stepwise),
        dir = quote(&dir),
        device = args
            .cell_device
            .as_ref()
            .map_or(String::new(), |devices| format!(
                " --device {}",
                super::join(devices)
            ))
    ));
    script
}

fn kubernetes(args: &ClusterArgs, cells: usize) -> String {
    let image = args.image.as_deref().unwrap_or("stepwise");
    let parallelism = args.parallelism.map_or(cells, |n| n as usize);
    let gpus = args.gpus.map_or(String::new(), |n| {
        format!("          resources:\n            limits:\n              nvidia.com/gpu: {n}\n")
    });
    format!(
        "# A Kubernetes Indexed Job for a Stepwise sweep: one completion index per cell, each pod\n\
         # running `stepwise sweep run /sweep --cell $JOB_COMPLETION_INDEX` on the sweep folder in\n\
         # the volume {claim} (copy the folder `sweep plan` wrote there first). A pod that fails is\n\
         # retried and resumes its cell from its checkpoint. Not tested on a cluster (there is none\n\
         # where Stepwise is built); the Slurm script is.\n\
         apiVersion: batch/v1\n\
         kind: Job\n\
         metadata:\n  name: stepwise-sweep\n\
         spec:\n  completionMode: Indexed\n  completions: {cells}\n  parallelism: {parallelism}\n  \
         backoffLimitPerIndex: 3\n  template:\n    spec:\n      restartPolicy: Never\n      \
         containers:\n        - name: cell\n          image: {image}\n          \
         command: [\"stepwise\", \"sweep\", \"run\", \"/sweep\", \"--cell\", \"$(JOB_COMPLETION_INDEX)\"{device}]\n\
         {gpus}          volumeMounts:\n            - name: sweep\n              mountPath: /sweep\n      \
         volumes:\n        - name: sweep\n          persistentVolumeClaim:\n            claimName: {claim}\n",
        claim = args.claim,
        device = args.cell_device.as_ref().map_or(String::new(), |devices| {
            format!(", \"--device\", \"{}\"", super::join(devices))
        }),
    )
}
