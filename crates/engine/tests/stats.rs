//! The statistics against scipy's, on the inputs `reference/stats.py` recorded in
//! `reference/stats.json` (scipy 1.17: `ttest_rel`, `t.ppf`, `binom.std`, `norm.ppf`).

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use serde::Deserialize;
use stepwise_engine::stats::{
    CONFIDENCE, PairedDifference, Summary, accuracy_difference_margin, accuracy_standard_error,
};

#[derive(Deserialize)]
struct Reference {
    pairs: Vec<Pair>,
    standard_errors: Vec<StandardError>,
    normal_975: f64,
}

#[derive(Deserialize)]
struct Pair {
    a: Vec<f64>,
    b: Vec<f64>,
    mean: f64,
    sd: f64,
    t: f64,
    p_value: f64,
    interval: [f64; 2],
}

#[derive(Deserialize)]
struct StandardError {
    accuracy: f64,
    images: usize,
    se: f64,
}

fn reference() -> Reference {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
        || env!("CARGO_MANIFEST_DIR").into(),
        std::path::PathBuf::from,
    );
    let text = std::fs::read_to_string(dir.join("tests/reference/stats.json")).expect("stats.json");
    serde_json::from_str(&text).expect("parses")
}

fn close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= 1e-9 * expected.abs().max(1e-3),
        "{what}: {actual} against scipy's {expected}"
    );
}

#[test]
fn paired_differences_match_scipy() {
    for pair in reference().pairs {
        let d = PairedDifference::of(&pair.a, &pair.b, CONFIDENCE).expect("same lengths");
        let what = format!("{:?} vs {:?}", pair.a, pair.b);
        assert_eq!(d.n, pair.a.len());
        close(d.mean, pair.mean, &format!("{what}: mean"));
        close(d.sd.expect("n > 1"), pair.sd, &format!("{what}: sd"));
        close(d.t.expect("n > 1"), pair.t, &format!("{what}: t"));
        close(
            d.p_value.expect("n > 1"),
            pair.p_value,
            &format!("{what}: p"),
        );
        let (lo, hi) = d.interval.expect("n > 1");
        close(lo, pair.interval[0], &format!("{what}: interval low"));
        close(hi, pair.interval[1], &format!("{what}: interval high"));
        assert_eq!(d.is_noise(), lo <= 0.0 && 0.0 <= hi);
        let wins = pair.a.iter().zip(&pair.b).filter(|(a, b)| a > b).count();
        assert_eq!((d.wins, d.wins + d.losses), (wins, pair.a.len()), "{what}");
    }
}

#[test]
fn accuracy_resolution_matches_scipy() {
    let reference = reference();
    for case in &reference.standard_errors {
        close(
            accuracy_standard_error(case.accuracy, case.images),
            case.se,
            &format!("se of {} on {}", case.accuracy, case.images),
        );
    }
    let (a, b, n) = (0.344, 0.323, 1000);
    close(
        accuracy_difference_margin(a, b, n, CONFIDENCE),
        reference.normal_975 * accuracy_standard_error(a, n).hypot(accuracy_standard_error(b, n)),
        "margin",
    );
}

#[test]
fn edge_cases_are_defined() {
    assert_eq!(PairedDifference::of(&[], &[], CONFIDENCE), None);
    assert_eq!(PairedDifference::of(&[0.1, 0.2], &[0.1], CONFIDENCE), None);
    let one = PairedDifference::of(&[0.3], &[0.2], CONFIDENCE).expect("one seed");
    assert_eq!((one.interval, one.t, one.wins), (None, None, 1));
    assert!(one.is_noise(), "one seed cannot show a difference");
    // Every difference the same: scipy's t is infinite and its p-value 0.
    let same = PairedDifference::of(&[0.5, 0.75], &[0.25, 0.5], CONFIDENCE).expect("two");
    assert!(same.t.expect("t").is_infinite());
    assert_eq!(same.p_value, Some(0.0));
    let summary = Summary::of(&[0.3, 0.1, 0.2]).expect("three");
    close(summary.mean, 0.2, "mean");
    close(summary.sd.expect("sd"), 0.1, "sd");
    assert_eq!((summary.min, summary.max), (0.1, 0.3));
}

/// The quick preset's figures on 1,000 test images: 35.4% and the two 32.8% cannot be told apart
/// (a gap of 2.6 points against a margin of 4.2), 31.2% can from 35.4% (4.2 against 4.1) and
/// starts a group with 28.6%.
#[test]
fn rankings_are_cut_where_the_test_set_can_tell() {
    let accuracies = [0.354, 0.328, 0.328, 0.312, 0.286];
    assert_eq!(
        stepwise_engine::stats::groups_within_noise(&accuracies, 1000, CONFIDENCE),
        [0..3, 3..5]
    );
    assert_eq!(
        stepwise_engine::stats::groups_within_noise(&accuracies, 100_000, CONFIDENCE),
        [0..1, 1..3, 3..4, 4..5],
        "a hundred times the images resolve every gap of 1.6 points or more"
    );
}

/// Results of runs at seeds 0, 1 and 2, each `(name, [best accuracy per seed], diverged at)`.
fn seeded_results(runs: &[(&str, [f32; 3], Option<u64>)]) -> stepwise_engine::output::Results {
    let mut listed = Vec::new();
    for seed in 0..3 {
        for (name, best, diverged) in runs {
            listed.push(serde_json::json!({
                "name": name,
                "seed": seed,
                "optimizer": "adam",
                "hyperparameters": {"lr": 0.001},
                "status": if diverged.is_some() { "diverged" } else { "finished" },
                "diverged_at_step": diverged,
                "steps": 10,
                "best_test_accuracy": best[seed],
                "best_epoch": 1,
                "final_test_accuracy": best[seed],
                "epochs": [],
            }));
        }
    }
    serde_json::from_value(serde_json::json!({
        "quick": true, "description": "", "model": "resnet8", "device": "cpu",
        "data": "shipped sample", "train_images": 10, "test_images": 1000, "batch_size": 2,
        "epochs": 1, "epochs_completed": 1, "seeds": [0, 1, 2], "runs": listed,
    }))
    .expect("results")
}

/// Over seeds, runs are grouped back by name, ranked by mean best accuracy, and tied where their
/// paired differences are noise: a run that beats another at every seed by a steady margin is
/// apart even when its mean is close; one whose lead changes sign is not; a diverged run is last
/// and in no group.
#[test]
fn standings_over_seeds_pair_the_runs() {
    use stepwise_engine::standings::Standings;
    let results = seeded_results(&[
        ("steady", [0.31, 0.35, 0.33], None),
        ("shaky", [0.36, 0.30, 0.32], None),
        ("behind", [0.30, 0.34, 0.32], None),
        ("wild", [0.40, 0.40, 0.40], Some(7)),
    ]);
    let standings = Standings::of(&results);
    let names: Vec<&str> = standings.ranked.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["steady", "shaky", "behind", "wild"]);
    assert_eq!(standings.seeds, 3);
    let steady = &standings.ranked[0];
    assert_eq!(steady.runs, [0, 4, 8], "its runs at seeds 0, 1, 2");
    let best = steady.best.expect("summary");
    assert!((best.mean - 0.33).abs() < 1e-6 && (best.min - 0.31).abs() < 1e-6);
    assert_eq!(standings.ranked[3].diverged, 3);
    // steady − behind is +1 point at every seed: a difference, however small.
    let apart = standings.paired(&results, 0, 2).expect("paired");
    assert_eq!((apart.wins, apart.losses), (3, 0));
    assert!(!apart.is_noise(), "{apart:?}");
    // steady − shaky changes sign: noise; so steady and shaky are tied, and behind, a steady
    // point below steady, is outside their group.
    assert!(standings.paired(&results, 0, 1).expect("paired").is_noise());
    assert_eq!(standings.ties, vec![std::ops::Range { start: 0, end: 2 }]);
}
