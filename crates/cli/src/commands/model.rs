//! `stepwise model summary`: the layers of a network, their output shapes and parameter counts.

use burn::tensor::Device;
use clap::{Args, Subcommand};
use stepwise_model::{Arch, ResNet, Summary};

use super::Error;

/// Inspect the networks Stepwise trains.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Print a layer table (output shape for one 32x32 image, parameters) and the parameter count.
    ///
    /// Example: stepwise model summary --model resnet50
    Summary(SummaryArgs),
}

/// Arguments of `stepwise model summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// The network (--arch is an older name for it).
    #[arg(long, alias = "arch", value_enum)]
    model: Arch,
    /// Number of classes of the linear head.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    classes: u32,
}

/// Runs the command.
pub fn run(command: &ModelCommand) -> Result<(), Error> {
    match command {
        ModelCommand::Summary(args) => summary(args),
    }
}

fn summary(args: &SummaryArgs) -> Result<(), Error> {
    let config = args.model.config(args.classes as usize);
    // Shapes come from running one image through the network on the CPU backend.
    let device = Device::flex();
    let model = ResNet::new(&config, 0, &device).map_err(|err| Error::Usage(err.to_string()))?;
    let summary = Summary::of(&model, &config, [32, 32], &device);
    println!(
        "{} (CIFAR form: 3x3 stem, no max-pool; {} classes)\n",
        args.model, args.classes
    );
    println!("{summary}");
    Ok(())
}
