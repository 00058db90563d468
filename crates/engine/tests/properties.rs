//! Generated configuration files: whatever the text, it resolves or its error names the file (and
//! where in it), never a panic.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use proptest::prelude::*;
use stepwise_engine::Layers;

const VALID: &str = r#"model = "resnet8"
epochs = 2
batch_size = 32
train_images = 64
seed = 3
augment = true

[schedule]
schedule = "cosine"
t_max = 10
eta_min = 0.0

[[runs]]
name = "sgd"
optimizer = "sgd"
lr = 0.05
momentum = 0.9

[[runs]]
optimizer = "adamw"
weight_decay = 1e-5
"#;

fn resolve(text: &str) -> Result<(), String> {
    Layers {
        file: Some(("generated.toml".into(), text.into())),
        ..Layers::default()
    }
    .resolve()
    .map(drop)
    .map_err(|err| err.to_string())
}

proptest! {
    // Bounded for CI: each case is a parse of a few hundred bytes.
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_is_refused_naming_the_file(text in "\\PC{0,300}") {
        if let Err(err) = resolve(&text) {
            prop_assert!(err.starts_with("generated.toml"), "{}", err);
        }
    }

    /// A valid file with one line replaced by generated `key = value` text, or cut short.
    #[test]
    fn edited_configurations_resolve_or_name_the_file(
        line in 0usize..24,
        key in "[a-z_]{1,14}",
        value in prop_oneof![
            Just("-1".to_string()),
            Just("0".to_string()),
            Just("1e309".to_string()),
            Just("nan".to_string()),
            Just("\"\"".to_string()),
            Just("[]".to_string()),
            Just("{}".to_string()),
            "-?[0-9]{1,20}",
            "-?[0-9]\\.[0-9]{1,3}e-?[0-9]{1,3}",
            "\"[a-z0-9 ]{0,12}\"",
        ],
        cut in proptest::option::of(0usize..VALID.len()),
    ) {
        let mut lines: Vec<String> = VALID.lines().map(str::to_string).collect();
        if line < lines.len() {
            lines[line] = format!("{key} = {value}");
        }
        let mut text = lines.join("\n");
        if let Some(cut) = cut {
            text.truncate(text.floor_char_boundary(cut));
        }
        if let Err(err) = resolve(&text) {
            prop_assert!(err.starts_with("generated.toml"), "{}", err);
        }
    }
}

#[test]
fn the_unedited_file_resolves() {
    resolve(VALID).expect("valid");
}
