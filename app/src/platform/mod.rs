//! What the views need from the platform they run on, in one place: where CIFAR-10 comes from
//! (the data folder on the desktop; the sample beside the page in the browser), and, in the
//! browser, downloads and the page's link ([`browser`]).

#[cfg(target_arch = "wasm32")]
mod browser;

#[cfg(target_arch = "wasm32")]
pub use browser::{Link, download};

use crate::live::Loader;

/// Loads CIFAR-10 from the data folder `stepwise data` installs into (on Linux
/// `~/.cache/stepwise/cifar10`), or the shipped sample when it is not installed.
#[cfg(not(target_arch = "wasm32"))]
pub fn default_loader() -> Loader {
    loader(stepwise_data::default_dir().ok())
}

/// Loads the shipped sample, which the browser fetches from beside the page (it has no data folder).
#[cfg(target_arch = "wasm32")]
pub fn default_loader() -> Loader {
    Box::new(|| Box::pin(browser::fetch_sample()))
}

/// Loads CIFAR-10 from `folder` if it is installed there, else the shipped sample.
#[cfg(not(target_arch = "wasm32"))]
pub fn loader(folder: Option<std::path::PathBuf>) -> Loader {
    Box::new(move || {
        let folder = folder.unwrap_or_else(|| std::path::PathBuf::from("(no data folder)"));
        let loaded = stepwise_data::load_or_sample(&folder).map_err(|err| err.to_string());
        Box::pin(std::future::ready(loaded))
    })
}
