//! Two-sample Kolmogorov–Smirnov test on confidences.
//!
//! The statistic D is computed from exact value counts the way
//! `scipy.stats.ks_2samp` computes it (ECDF differences evaluated at every
//! observed value, so ties are handled identically), giving the same f64.
//!
//! The p-value:
//! * **exact** when both samples are at most 10,000 (as scipy's `auto`) and
//!   the lattice has at most [`EXACT_MAX_CELLS`] points: the probability
//!   that a random merge path stays strictly inside the band, by dynamic
//!   programming in probability space (no overflow, no binomials);
//! * otherwise **asymptotic**: the Kolmogorov distribution at
//!   `n_e = round(n·m/(n+m))` with Stephens' correction
//!   `K = (√n_e + 0.12 + 0.11/√n_e)·D`, which is within 0.5% of scipy's
//!   `kstwo.sf(D, n_e)` wherever that is at least 1e-6.

use super::cdf::{BaselineCdf, Distances};
use super::counts::SortedCounts;

/// The largest `n·m` for which the exact p-value is computed (about a
/// millisecond); beyond it the asymptotic formula is used.
pub const EXACT_MAX_CELLS: u64 = 1_000_000;
/// scipy's `MAX_AUTO_N`.
const EXACT_MAX_N: u64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    pub statistic: f64,
    pub p_value: f64,
    /// Whether `p_value` is exact or asymptotic.
    pub exact: bool,
    /// `statistic` as an exact integer, `max |c_a·n_b − c_b·n_a|`.
    scaled: u64,
}

/// Runs the test; `None` when either sample is empty.
pub fn ks_2samp(a: &SortedCounts, b: &SortedCounts) -> Option<KsResult> {
    BaselineCdf::new(a)
        .distances(b)
        .map(|d| ks_from_distances(&d, a.n(), b.n(), true))
}

/// The test from an already computed walk over samples of `na` and `nb`;
/// `allow_exact` false forces the asymptotic p-value (for checks that run
/// every few predictions and must stay cheap).
pub fn ks_from_distances(d: &Distances, na: u64, nb: u64, allow_exact: bool) -> KsResult {
    let exact =
        allow_exact && na.max(nb) <= EXACT_MAX_N && na.saturating_mul(nb) <= EXACT_MAX_CELLS;
    let p_value = if exact {
        exact_p_value(na, nb, d.ks_scaled)
    } else {
        asymptotic_p_value(d.ks_statistic, na, nb)
    };
    KsResult {
        statistic: d.ks_statistic,
        p_value,
        exact,
        scaled: d.ks_scaled,
    }
}

/// P(D ≥ observed) exactly, for a uniformly random lattice path from
/// (0,0) to (n_a,n_b): the chance that it leaves the band
/// `|x·n_b − y·n_a| < scaled` somewhere.
///
/// The probability is summed over the points where a path first leaves the
/// band (share of paths reaching the point that stayed inside until then,
/// times the chance a random path passes through it), never as one minus
/// the probability of staying inside: every term is positive, so p-values
/// far below 1e-15 keep their digits.
fn exact_p_value(na: u64, nb: u64, scaled: u64) -> f64 {
    use statrs::function::gamma::ln_gamma;
    if scaled == 0 {
        return 1.0;
    }
    let (m, n) = (na as usize, nb as usize);
    let inside = |x: usize, y: usize| {
        (x as u128 * nb as u128).abs_diff(y as u128 * na as u128) < u128::from(scaled)
    };
    let ln_choose = |a: usize, b: usize| {
        ln_gamma(a as f64 + 1.0) - ln_gamma(b as f64 + 1.0) - ln_gamma((a - b) as f64 + 1.0)
    };
    let ln_paths = ln_choose(m + n, m);
    // The chance that a random path passes through (x, y).
    let through = |x: usize, y: usize| {
        (ln_choose(x + y, x) + ln_choose(m + n - x - y, m - x) - ln_paths).exp()
    };
    let mut out = 0.0f64;
    // row[y]: share of the paths to (x, y) that stayed inside up to it.
    let mut row = vec![0.0f64; n + 1];
    row[0] = 1.0;
    let mut step = |x: usize, y: usize, entering: f64, cell: &mut f64| {
        if inside(x, y) {
            *cell = entering;
        } else {
            if entering > 0.0 {
                out += entering * through(x, y);
            }
            *cell = 0.0;
        }
    };
    for y in 1..=n {
        let entering = row[y - 1];
        step(0, y, entering, &mut row[y]);
    }
    for x in 1..=m {
        let entering = row[0];
        step(x, 0, entering, &mut row[0]);
        for y in 1..=n {
            let entering = (x as f64 * row[y] + y as f64 * row[y - 1]) / (x + y) as f64;
            step(x, y, entering, &mut row[y]);
        }
    }
    out.clamp(0.0, 1.0)
}

/// Kolmogorov's limiting distribution with Stephens' small-sample correction.
fn asymptotic_p_value(d: f64, na: u64, nb: u64) -> f64 {
    let en = ((na as f64 * nb as f64) / (na + nb) as f64)
        .round()
        .max(1.0);
    let sqrt_en = en.sqrt();
    let k = (sqrt_en + 0.12 + 0.11 / sqrt_en) * d;
    kolmogorov_sf(k)
}

/// Q(K) = P(K_∞ > k) = 2 Σ (−1)^(j−1) exp(−2 j² k²).
pub fn kolmogorov_sf(k: f64) -> f64 {
    if k.is_nan() || k <= 0.0 {
        return 1.0;
    }
    if k < 1.0 {
        // The alternating series converges slowly here; use the Jacobi form
        // of the CDF: √(2π)/k Σ exp(−(2j−1)² π² / (8k²)).
        let mut cdf = 0.0;
        for j in 1..=20 {
            let odd = (2 * j - 1) as f64;
            cdf += (-(odd * odd) * std::f64::consts::PI.powi(2) / (8.0 * k * k)).exp();
        }
        cdf *= (2.0 * std::f64::consts::PI).sqrt() / k;
        return (1.0 - cdf).clamp(0.0, 1.0);
    }
    let mut sum = 0.0;
    for j in 1..=100 {
        let jf = j as f64;
        let term = (-2.0 * jf * jf * k * k).exp();
        sum += if j % 2 == 1 { term } else { -term };
        if term < 1e-300 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::super::counts::SortedCounts;
    use super::*;

    fn counts(xs: &[f64]) -> SortedCounts {
        SortedCounts::from_unsorted(&mut xs.to_vec())
    }

    #[test]
    fn statistic_and_exact_p_match_scipy() {
        // scipy.stats.ks_2samp([.1,.2,.2,.5,.9],[.2,.3,.4,.4,.6,.7,.8])
        // -> statistic=0.45714285714285713, pvalue=0.43434343434343425 (exact)
        let r = ks_2samp(
            &counts(&[0.1, 0.2, 0.2, 0.5, 0.9]),
            &counts(&[0.2, 0.3, 0.4, 0.4, 0.6, 0.7, 0.8]),
        )
        .unwrap();
        assert!(r.exact);
        assert!((r.statistic - 0.45714285714285713).abs() < 1e-15);
        assert!(
            (r.p_value - 0.43434343434343425).abs() < 1e-12,
            "{}",
            r.p_value
        );
        // Identical samples: D = 0, p = 1.
        let r = ks_2samp(&counts(&[0.5, 0.5]), &counts(&[0.5])).unwrap();
        assert_eq!((r.statistic, r.p_value), (0.0, 1.0));
        // Disjoint samples of 3 and 3: p = 2/C(6,3) = 0.1.
        let r = ks_2samp(&counts(&[0.1, 0.2, 0.3]), &counts(&[0.7, 0.8, 0.9])).unwrap();
        assert_eq!(r.statistic, 1.0);
        assert!((r.p_value - 0.1).abs() < 1e-12);
    }

    #[test]
    fn exact_p_keeps_its_digits_far_below_1e_15() {
        // scipy.stats.ks_2samp(np.arange(30), np.arange(100, 140), method='exact')
        // -> pvalue 3.6135170070159586e-20
        let a: Vec<f64> = (0..30).map(|i| i as f64 / 1000.0).collect();
        let b: Vec<f64> = (100..140).map(|i| i as f64 / 1000.0).collect();
        let r = ks_2samp(&counts(&a), &counts(&b)).unwrap();
        assert!(r.exact);
        assert!(
            (r.p_value / 3.6135170070159586e-20 - 1.0).abs() < 1e-9,
            "{}",
            r.p_value
        );
    }

    #[test]
    fn kolmogorov_tail_is_continuous_and_monotone() {
        let mut last = 1.0;
        for i in 1..400 {
            let k = i as f64 * 0.01;
            let q = kolmogorov_sf(k);
            assert!(q <= last + 1e-12 && (0.0..=1.0).contains(&q), "k={k} q={q}");
            last = q;
        }
        // Q(1) = 0.26999967167735456 (scipy.special.kolmogorov(1.0)).
        assert!((kolmogorov_sf(1.0) - 0.26999967167735456).abs() < 1e-12);
        assert!((kolmogorov_sf(0.999_999_9) - 0.26999967167735456).abs() < 1e-6);
    }

    #[test]
    fn empty_samples_give_none() {
        assert!(ks_2samp(&counts(&[]), &counts(&[0.5])).is_none());
    }
}
