//! Distances between baseline and window: Jensen–Shannon on the prediction
//! mix and Wasserstein-1 on confidence.

use super::cdf::BaselineCdf;
use super::counts::SortedCounts;
use super::numpy_sum;

/// Jensen–Shannon distance (base 2) of the window's label mix from the
/// baseline's, as nannyml's categorical `jensen_shannon` computes it: bins are
/// the baseline's labels in sorted order; window labels the baseline never
/// saw share one extra bin (`1 − Σ` of the others); then
/// `scipy.spatial.distance.jensenshannon(ref, cur, base=2)`.
///
/// `labels`, `baseline` and `window` are parallel; `labels` need not be sorted.
pub fn jensen_shannon(labels: &[&str], baseline: &[u64], window: &[u64]) -> Option<f64> {
    let nb: u64 = baseline.iter().sum();
    let nw: u64 = window.iter().sum();
    if nb == 0 || nw == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..labels.len()).filter(|&i| baseline[i] > 0).collect();
    order.sort_by(|&x, &y| labels[x].cmp(labels[y]));
    let mut p: Vec<f64> = order
        .iter()
        .map(|&i| baseline[i] as f64 / nb as f64)
        .collect();
    let mut q: Vec<f64> = order
        .iter()
        .map(|&i| window[i] as f64 / nw as f64)
        .collect();
    let leftover = 1.0 - numpy_sum(&q);
    if leftover > 0.0 {
        q.push(leftover);
        p.push(0.0);
    }
    let (sp, sq) = (numpy_sum(&p), numpy_sum(&q));
    for x in &mut p {
        *x /= sp;
    }
    for x in &mut q {
        *x /= sq;
    }
    let m: Vec<f64> = p.iter().zip(&q).map(|(a, b)| (a + b) / 2.0).collect();
    let left: Vec<f64> = p.iter().zip(&m).map(|(&a, &b)| rel_entr(a, b)).collect();
    let right: Vec<f64> = q.iter().zip(&m).map(|(&a, &b)| rel_entr(a, b)).collect();
    let js = (numpy_sum(&left) + numpy_sum(&right)) / 2f64.ln();
    Some((js / 2.0).max(0.0).sqrt())
}

/// scipy.special.rel_entr for the non-negative, finite inputs used here.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else {
        0.0
    }
}

/// Wasserstein-1 distance between two samples given as value counts
/// (`scipy.stats.wasserstein_distance`): ∫ |F_a − F_b|.
pub fn wasserstein(a: &SortedCounts, b: &SortedCounts) -> Option<f64> {
    BaselineCdf::new(a).distances(b).map(|d| d.wasserstein)
}

/// Wasserstein-1 divided by the baseline's population standard deviation
/// (floored at 0.001), evidently's "Wasserstein distance (normed)".
pub fn wasserstein_normed(raw: f64, baseline_std: f64) -> f64 {
    raw / baseline_std.max(0.001)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_matches_scipy_and_nannyml() {
        // jensenshannon([0.5, 0.5], [0.4, 0.6], base=2) = 0.08543510262458807
        let js = jensen_shannon(&["a", "b"], &[50, 50], &[40, 60]).unwrap();
        assert!((js - 0.08543510262458807).abs() < 1e-15, "{js}");
        // A label the baseline never saw goes to the leftover bin:
        // jensenshannon([0.5, 0.5, 0], [0.25, 0.25, 0.5], base=2)
        let js = jensen_shannon(&["b", "a", "c"], &[1, 1, 0], &[1, 1, 2]).unwrap();
        assert!((js - 0.5579230452841438).abs() < 1e-15, "{js}");
        assert_eq!(jensen_shannon(&["a"], &[3], &[5]), Some(0.0));
    }

    #[test]
    fn wasserstein_matches_scipy() {
        // wasserstein_distance([0.1, 0.2, 0.2, 0.9], [0.3, 0.5]) = 0.25
        let a = SortedCounts::from_unsorted(&mut [0.1, 0.2, 0.2, 0.9]);
        let b = SortedCounts::from_unsorted(&mut [0.3, 0.5]);
        assert!((wasserstein(&a, &b).unwrap() - 0.25).abs() < 1e-15);
        assert_eq!(wasserstein(&a, &a), Some(0.0));
    }
}
