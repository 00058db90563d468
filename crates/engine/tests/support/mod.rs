//! What the engine's tests share: configurations from TOML text, and the shipped sample.

use std::path::Path;

use stepwise_engine::{ExperimentConfig, Layers};

/// `text` resolved as a config file on its own.
pub fn config_from(text: &str) -> ExperimentConfig {
    Layers {
        file: Some(("test.toml".into(), text.into())),
        ..Layers::default()
    }
    .resolve()
    .expect("valid configuration")
}

/// The sample shipped in stepwise-data (no data set is installed in a folder that does not exist).
pub fn sample() -> stepwise_data::Cifar10 {
    stepwise_data::load_or_sample(Path::new("/nonexistent/stepwise-test")).expect("sample")
}
