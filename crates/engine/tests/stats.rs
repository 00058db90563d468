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
