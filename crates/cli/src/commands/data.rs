//! `stepwise data`: obtain CIFAR-10 (download or import) and inspect what is installed.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use stepwise_data::{CLASSES, Cifar10, DataError, Images, Imported, OFFICIAL_URL, Source};

use super::Error;

/// Obtain and inspect CIFAR-10.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download the official archive (resumable), verify its md5 and unpack it.
    ///
    /// Example: stepwise data download
    Download(DownloadArgs),
    /// Install a local copy of the official archive (cifar-10-binary.tar.gz).
    ///
    /// Example: stepwise data import --archive ~/Downloads/cifar-10-binary.tar.gz
    Import(ImportArgs),
    /// Show what is installed: images per split and class.
    ///
    /// Example: stepwise data info --data-dir /data/cifar10
    Info(DirArg),
}

/// The data folder, shared by every `data` subcommand and `compare`.
#[derive(Debug, Args)]
pub struct DirArg {
    /// CIFAR-10 folder [default: the platform cache folder's stepwise/cifar10, e.g.
    /// ~/.cache/stepwise/cifar10] (--dir is an older name for it).
    #[arg(long = "data-dir", alias = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Arguments of `stepwise data download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Where to download from (a mirror of the official archive; its md5 must be the official one).
    #[arg(long, default_value = OFFICIAL_URL)]
    url: String,
}

/// Arguments of `stepwise data import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The archive to install.
    #[arg(long)]
    archive: PathBuf,
    #[command(flatten)]
    dir: DirArg,
    /// Install an archive whose md5 is not the official one (a rebuilt or modified copy).
    #[arg(long)]
    allow_checksum_mismatch: bool,
}

/// Runs the command.
pub fn run(command: &DataCommand) -> Result<(), Error> {
    match command {
        DataCommand::Download(args) => download(args),
        DataCommand::Import(args) => import(args),
        DataCommand::Info(args) => info(&data_dir_to_read(args, "--data-dir")?),
    }
}

pub fn data_dir(arg: &DirArg) -> Result<PathBuf, Error> {
    match &arg.dir {
        Some(dir) => Ok(dir.clone()),
        None => stepwise_data::default_dir().map_err(failed),
    }
}

/// The data folder to read from. One that is named must be a folder: a missing or mistyped one
/// (or a file) can only be a slip, while an empty folder means nothing is installed there (and
/// the shipped sample is used).
pub fn data_dir_to_read(arg: &DirArg, flag: &str) -> Result<PathBuf, Error> {
    let dir = data_dir(arg)?;
    if arg.dir.is_some() && !dir.is_dir() {
        let what = if dir.exists() {
            "not a folder"
        } else {
            "no such folder"
        };
        return Err(Error::Usage(format!("{flag} {}: {what}", dir.display())));
    }
    Ok(dir)
}

fn failed(err: DataError) -> Error {
    Error::Failed(err.to_string())
}

fn download(args: &DownloadArgs) -> Result<(), Error> {
    let dir = data_dir(&args.dir)?;
    eprintln!("downloading {} into {}", args.url, dir.display());
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .map_err(|err| Error::Failed(err.to_string()))?,
    );
    let result = stepwise_data::download(
        &args.url,
        stepwise_data::OFFICIAL_MD5,
        &dir,
        &stepwise_data::Limits::for_url(&args.url),
        &mut |done, total| {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(done);
        },
    );
    bar.finish_and_clear();
    report(&result.map_err(failed)?);
    Ok(())
}

fn import(args: &ImportArgs) -> Result<(), Error> {
    let dir = data_dir(&args.dir)?;
    let imported =
        stepwise_data::import(&args.archive, &dir, args.allow_checksum_mismatch).map_err(failed)?;
    report(&imported);
    Ok(())
}

fn report(imported: &Imported) {
    if imported.official {
        println!("md5 {}: the official archive", imported.md5);
    } else {
        println!(
            "md5 {}: NOT the official archive (installed because --allow-checksum-mismatch was given)",
            imported.md5
        );
    }
    println!("installed CIFAR-10 in {}", imported.batches.display());
}

fn info(dir: &Path) -> Result<(), Error> {
    let data: Cifar10 = stepwise_data::load_or_sample(dir).map_err(failed)?;
    match &data.source {
        Source::Installed(_) => println!("data: {}", data.source),
        Source::Sample { .. } => println!(
            "data: {}; get the full data set with `stepwise data download`",
            data.source
        ),
    }
    println!();
    print_counts(&data.train, &data.test);
    Ok(())
}

fn print_counts(train: &Images, test: &Images) {
    let width = CLASSES.iter().map(|c| c.len()).max().unwrap_or(0);
    println!("{:width$}  {:>6}  {:>6}", "class", "train", "test");
    let (train_counts, test_counts) = (train.class_counts(), test.class_counts());
    for (label, name) in CLASSES.iter().enumerate() {
        println!(
            "{name:width$}  {:>6}  {:>6}",
            train_counts[label], test_counts[label]
        );
    }
    println!("{:width$}  {:>6}  {:>6}", "total", train.len(), test.len());
}
