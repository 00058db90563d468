//! `stepwise presets`: the shipped experiments, listed or printed, so that they can be read and
//! copied without the source tree.

use clap::{Args, Subcommand};
use stepwise_engine::{ExperimentConfig, PRESETS, preset_text};

use super::Error;

/// `stepwise presets [show NAME]`.
#[derive(Debug, Args)]
pub struct PresetsArgs {
    #[command(subcommand)]
    command: Option<PresetsCommand>,
}

#[derive(Debug, Subcommand)]
enum PresetsCommand {
    /// Print a preset as TOML: a config file to edit and pass to `compare --config`.
    ///
    /// Example: stepwise presets show seed-optimizers --quick
    Show {
        /// The preset.
        name: String,
        /// Its [quick] scale applied (what `compare --preset NAME --quick` trains), resolved.
        #[arg(long)]
        quick: bool,
    },
}

/// Runs the command.
pub fn run(args: &PresetsArgs) -> Result<(), Error> {
    match &args.command {
        None => {
            for (name, _) in PRESETS {
                let config = ExperimentConfig::preset(name, false)
                    .map_err(|err| Error::Failed(err.to_string()))?;
                println!("{name:<22} {}", config.description);
            }
            Ok(())
        }
        Some(PresetsCommand::Show { name, quick: false }) => {
            let text = preset_text(name).map_err(|err| Error::Usage(err.to_string()))?;
            print!("{text}");
            Ok(())
        }
        Some(PresetsCommand::Show { name, quick: true }) => {
            let config = ExperimentConfig::preset(name, true)
                .map_err(|err| Error::Usage(err.to_string()))?;
            let text = config
                .to_toml()
                .map_err(|err| Error::Failed(err.to_string()))?;
            print!("{text}");
            Ok(())
        }
    }
}
