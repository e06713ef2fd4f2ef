//! Whether scores benefit from calibration: nannyml 0.13.1's
//! `needs_calibration`, which CBPE asks before it calibrates. Not when the
//! targets hold one class, nor when the scores already rank them almost
//! perfectly (AUROC above 0.999); otherwise isotonic calibration is
//! cross-validated on ten stratified 90/10 splits, and it is used when the
//! expected calibration error (ten equal-count bins) of the pooled test
//! scores is lower calibrated than raw.
//!
//! nannyml draws its splits with numpy's generator (seed 42); these are drawn
//! with a generator of our own (seed 42 too), so the folds differ while the
//! procedure is the same. Ties in a bin boundary are shared out in
//! proportion (numpy's sort leaves their order unspecified).

use crate::engine::stats::isotonic::{IsotonicMap, Point};

const SPLITS: usize = 10;
const TEST_SHARE: f64 = 0.1;
const ECE_BINS: usize = 10;
const AUROC_CALIBRATED: f64 = 0.999;
const SEED: u64 = 42;

/// `points`: ascending scores, each with its count (`weight`) and how many
/// of those have target 1 (`weighted_y`), counts being whole numbers.
pub fn needs_calibration(points: &[Point]) -> bool {
    let n: u64 = points.iter().map(|p| p.weight as u64).sum();
    let ones: u64 = points.iter().map(|p| p.weighted_y as u64).sum();
    if ones == 0 || ones == n {
        return false;
    }
    if auroc(points) > AUROC_CALIBRATED {
        return false;
    }
    let n_test = (TEST_SHARE * n as f64).ceil() as u64;
    let test_ones = test_count_of_class(ones, n, n_test);
    let test_zeros = (n_test - test_ones).min(n - ones);
    let mut rng = fastrand::Rng::with_seed(SEED);
    // Raw test scores pooled over the splits, by point; calibrated ones as
    // (value, count, ones).
    let mut raw = vec![(0u64, 0u64); points.len()];
    let mut calibrated = Vec::new();
    let mut train = Vec::with_capacity(points.len());
    let mut taken = vec![(0u64, 0u64); points.len()];
    for _ in 0..SPLITS {
        draw_test(
            points,
            (test_ones, test_zeros),
            (ones, n - ones),
            &mut rng,
            &mut taken,
        );
        train.clear();
        train.extend(points.iter().zip(&taken).map(|(p, &(t1, t0))| Point {
            x: p.x,
            weight: p.weight - (t1 + t0) as f64,
            weighted_y: p.weighted_y - t1 as f64,
        }));
        let Some(map) = IsotonicMap::fit(train.iter().copied()) else {
            return false;
        };
        for ((p, &(t1, t0)), r) in points.iter().zip(&taken).zip(raw.iter_mut()) {
            if t1 + t0 > 0 {
                r.0 += t1 + t0;
                r.1 += t1;
                calibrated.push((map.predict(p.x), t1 + t0, t1));
            }
        }
    }
    let before: Vec<(f64, u64, u64)> = points
        .iter()
        .zip(&raw)
        .filter(|(_, r)| r.0 > 0)
        .map(|(p, &(c, o))| (p.x, c, o))
        .collect();
    calibrated.sort_by(|a, b| a.0.total_cmp(&b.0));
    expected_calibration_error(&before) > expected_calibration_error(&calibrated)
}

/// Area under the ROC curve, ties counting one half.
fn auroc(points: &[Point]) -> f64 {
    let (mut zeros_below, mut sum) = (0.0, 0.0);
    let (mut pos, mut neg) = (0.0, 0.0);
    for p in points {
        let (o, z) = (p.weighted_y, p.weight - p.weighted_y);
        sum += o * (zeros_below + 0.5 * z);
        zeros_below += z;
        pos += o;
        neg += z;
    }
    sum / (pos * neg)
}

/// Test places for a class of `class_n` among `n`, the nearest whole share
/// of `n_test` (scikit-learn's `_approximate_mode` for two classes, the
/// remainder going to the class with the larger fraction).
fn test_count_of_class(class_n: u64, n: u64, n_test: u64) -> u64 {
    let exact = n_test as f64 * class_n as f64 / n as f64;
    let other = n_test as f64 - exact;
    let (floor, other_floor) = (exact.floor(), other.floor());
    let short = n_test as f64 - floor - other_floor;
    let extra = (short > 0.0 && exact - floor >= other - other_floor) as u64;
    (floor as u64 + extra).min(class_n)
}

/// Picks `want` (ones, zeros) test observations uniformly among `have`
/// (ones, zeros), writing how many of each point's were picked to `taken`
/// (selection sampling: each observation in turn with probability
/// still-wanted / still-left).
fn draw_test(
    points: &[Point],
    want: (u64, u64),
    have: (u64, u64),
    rng: &mut fastrand::Rng,
    taken: &mut [(u64, u64)],
) {
    let (mut want1, mut want0) = want;
    let (mut left1, mut left0) = have;
    for (p, t) in points.iter().zip(taken.iter_mut()) {
        let ones = p.weighted_y as u64;
        let zeros = p.weight as u64 - ones;
        t.0 = pick(ones, &mut want1, &mut left1, rng);
        t.1 = pick(zeros, &mut want0, &mut left0, rng);
    }
}

fn pick(count: u64, want: &mut u64, left: &mut u64, rng: &mut fastrand::Rng) -> u64 {
    let mut picked = 0;
    for _ in 0..count {
        if *want == 0 {
            // Nothing more is wanted from this class: the rest are passed.
            break;
        }
        if *left > 0 && rng.u64(0..*left) < *want {
            picked += 1;
            *want -= 1;
        }
        *left -= 1;
    }
    picked
}

/// Expected calibration error over `items` (score, count, ones) in
/// ascending score: nannyml's equal-count bins by position.
fn expected_calibration_error(items: &[(f64, u64, u64)]) -> f64 {
    let len: u64 = items.iter().map(|i| i.1).sum();
    let mut bins = ECE_BINS as u64;
    if len <= 2 * bins {
        bins = len / 2;
        if bins < 2 {
            return 0.0;
        }
    }
    let width = len / bins;
    let mut edges: Vec<u64> = (0..=len).step_by(width as usize).collect();
    *edges.last_mut().expect("0 is an edge") = len;
    let mut ece = 0.0;
    let mut at = 0; // items before `at` are used up
    let mut used = 0.0; // of items[at]
    for pair in edges.windows(2) {
        let size = (pair[1] - pair[0]) as f64;
        let (mut need, mut sum_p, mut sum_y) = (size, 0.0, 0.0);
        while need > 0.0 && at < items.len() {
            let (p, c, o) = items[at];
            let take = (c as f64 - used).min(need);
            sum_p += p * take;
            sum_y += o as f64 / c as f64 * take;
            need -= take;
            used += take;
            if used >= c as f64 {
                at += 1;
                used = 0.0;
            }
        }
        ece += size / len as f64 * ((sum_p - sum_y) / size).abs();
    }
    ece
}
