use super::*;

fn settings(min_labels: u64) -> LabelSettings {
    LabelSettings {
        cbpe_min_labels: min_labels,
        ..LabelSettings::default()
    }
}

/// A frozen calibration over `n` predictions of `labels` in turn, all at
/// `confidence`, the first `labelled` of them labelled, `right` or not.
pub(crate) fn calibration(
    n: usize,
    labels: &[u32],
    confidence: f64,
    right: impl Fn(usize) -> bool,
    labelled: usize,
) -> Calibration {
    let mut collector = CalibrationCollector::default();
    for i in 0..n {
        collector.add(labels[i % labels.len()]);
        if i < labelled {
            collector.record(i as u64, right(i));
        }
    }
    collector.freeze(&vec![confidence; n])
}

#[test]
fn binary_scores_calibrate_p1_and_map_back_to_correctness() {
    // Labels 0 and 1 at confidence 0.6, right 9 times in 10: p₁ is 0.6
    // for predictions of 1 and 0.4 for those of 0, and the truth is 1 for
    // 90% of the first and 10% of the second.
    let mut cal = calibration(1_000, &[0, 1], 0.6, |i| !(i / 2).is_multiple_of(10), 1_000);
    assert_eq!(cal.estimate(0.6, 1), None);
    cal.refresh(&settings(100));
    assert_eq!(cal.version(), 1);
    let info = cal.info().unwrap();
    assert_eq!(
        (info.map, info.score, info.labelled),
        ("isotonic", "binary", 1_000)
    );
    for label in [0, 1] {
        let e = cal.estimate(0.6, label).unwrap();
        assert!((e - 0.9).abs() < 1e-12, "label {label}: {e}");
    }
    // A label the baseline never predicted keeps its confidence.
    assert_eq!(cal.estimate(0.7, 5), Some(0.7));
    let b = cal.baseline_estimate(0.6);
    assert_eq!(b.method, EstimateMethod::Cbpe);
    assert!((b.value - 0.9).abs() < 1e-12);
}

#[test]
fn more_labels_top_label_and_the_minimum() {
    // Three labels at 0.7, right 19 times in 20: P(right | 0.7) = 0.95.
    let right = |i: usize| !i.is_multiple_of(20);
    let mut cal = calibration(2_000, &[0, 1, 2], 0.7, right, 400);
    cal.refresh(&settings(500));
    assert_eq!(cal.estimate(0.7, 0), None, "fewer labels than the minimum");
    assert_eq!(
        cal.baseline_estimate(0.7).method,
        EstimateMethod::MeanConfidence
    );
    for i in 400..500 {
        cal.record_label(i as u64, right(i), None);
    }
    cal.refresh(&settings(500));
    assert_eq!(cal.info().unwrap().score, "top_label");
    assert!((cal.estimate(0.7, 2).unwrap() - 0.95).abs() < 1e-12);
    // Relabelling 20 right predictions as wrong (1% of the baseline)
    // refits: 25 wrong of 500 becomes 45.
    for i in (1..500u64).filter(|i| !i.is_multiple_of(20)).take(20) {
        cal.record_label(i, false, Some(true));
    }
    cal.refresh(&settings(500));
    assert_eq!(cal.version(), 2);
    assert_eq!(cal.info().unwrap().labelled, 500);
    assert!((cal.estimate(0.7, 2).unwrap() - 0.91).abs() < 1e-12);
}

#[test]
fn refits_wait_for_the_share_of_new_labels() {
    let mut cal = calibration(10_000, &[0, 1, 2], 0.7, |i| !i.is_multiple_of(20), 1_000);
    let s = settings(1_000);
    cal.refresh(&s);
    assert_eq!(cal.version(), 1);
    // 1% of 10,000 is 100 new labels.
    for i in 1_000..1_099 {
        cal.record_label(i, true, None);
    }
    cal.refresh(&s);
    assert_eq!(cal.version(), 1);
    cal.record_label(1_099, true, None);
    cal.refresh(&s);
    assert_eq!(cal.version(), 2);
    // Offsets past the baseline are not its predictions.
    cal.record_label(10_000, true, None);
    assert_eq!(cal.labelled, 1_100);
}

#[test]
fn judged_calibrated_or_ranked_scores_are_used_as_they_are() {
    let p = |x: f64, weight: f64, weighted_y: f64| Point {
        x,
        weight,
        weighted_y,
    };
    // One class only.
    assert!(!needs::needs_calibration(&[
        p(0.6, 50.0, 50.0),
        p(0.9, 50.0, 50.0)
    ]));
    // Scores that separate the classes perfectly (AUROC 1).
    assert!(!needs::needs_calibration(&[
        p(0.6, 50.0, 0.0),
        p(0.9, 50.0, 50.0)
    ]));
    // Far off: 0.55 said, 90% seen, and 0.95 said, 60% seen.
    assert!(needs::needs_calibration(&[
        p(0.55, 500.0, 450.0),
        p(0.95, 500.0, 300.0)
    ]));
    // Not calibrated (one class again): the map is the identity.
    let mut cal = Calibration::from_cells(vec![Cell {
        confidence: 0.8,
        label: 0,
        n: 1_000,
        labelled: 1_000,
        correct: 1_000,
    }]);
    cal.refresh(&settings(10));
    assert_eq!(cal.info().unwrap().map, "none");
    assert_eq!(cal.estimate(0.8, 0), Some(0.8));
}

#[test]
fn window_sums_and_the_sampling_error() {
    let mut sum = EstimateSum::default();
    sum.add(Some(0.9));
    sum.add(None);
    let e = sum.estimate(2, 0.7);
    assert_eq!((e.value, e.method), (0.7, EstimateMethod::MeanConfidence));
    let mut all = EstimateSum::default();
    all.add(Some(0.9));
    all.add(Some(0.8));
    let e = all.estimate(2, 0.7);
    assert_eq!(e.method, EstimateMethod::Cbpe);
    assert!((e.value - 0.85).abs() < 1e-12);
    // p = 0.9 over the labelled baseline: √(0.09)/√100.
    assert!((sampling_error(1_000, 900, 100).unwrap() - 0.03).abs() < 1e-12);
    assert_eq!(sampling_error(0, 0, 100), None);
}
