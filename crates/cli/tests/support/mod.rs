//! Running the `stepwise` binary from the CLI's tests.

use std::process::{Command, Output};

/// Runs `stepwise` with `args` and waits for it.
pub fn stepwise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(args)
        .output()
        .expect("stepwise runs")
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}
