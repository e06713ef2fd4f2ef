//! Pearson's chi-square test of homogeneity on the prediction mix, as
//! `scipy.stats.chi2_contingency` computes it on the 2×K table
//! [baseline counts; window counts].

use statrs::distribution::{ChiSquared, ContinuousCDF};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chi2Result {
    pub statistic: f64,
    pub p_value: f64,
    pub dof: u32,
}

/// `a` and `b` are counts for the same labels, in the same order. Labels zero
/// in both rows are dropped; Yates' correction is applied when dof = 1
/// (each |O − E| reduced by min(0.5, |O − E|)); dof 0 gives statistic 0 and
/// p 1. `None` when either row is empty (no test is possible).
pub fn chi2_contingency(a: &[u64], b: &[u64]) -> Option<Chi2Result> {
    debug_assert_eq!(a.len(), b.len());
    let cols: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| **x + **y > 0)
        .map(|(x, y)| (*x as f64, *y as f64))
        .collect();
    let (ta, tb): (f64, f64) = cols
        .iter()
        .fold((0.0, 0.0), |(s, t), (x, y)| (s + x, t + y));
    if ta == 0.0 || tb == 0.0 {
        return None;
    }
    let dof = cols.len().saturating_sub(1) as u32;
    if dof == 0 {
        return Some(Chi2Result {
            statistic: 0.0,
            p_value: 1.0,
            dof,
        });
    }
    let total = ta + tb;
    let mut statistic = 0.0;
    for &(x, y) in &cols {
        let col = x + y;
        for (observed, row) in [(x, ta), (y, tb)] {
            let expected = row * col / total;
            let mut diff = observed - expected;
            if dof == 1 {
                // scipy moves the observed count towards the expected one.
                diff -= diff.signum() * diff.abs().min(0.5);
            }
            statistic += diff * diff / expected;
        }
    }
    let p_value = chi2_sf(statistic, dof);
    Some(Chi2Result {
        statistic,
        p_value,
        dof,
    })
}

/// Survival function of the chi-square distribution (not 1 − cdf, which
/// loses every digit of a small p-value).
pub fn chi2_sf(x: f64, dof: u32) -> f64 {
    // Also catches NaN, which no caller should pass.
    if x.is_nan() || x <= 0.0 {
        return 1.0;
    }
    match ChiSquared::new(f64::from(dof)) {
        Ok(d) => d.sf(x).clamp(0.0, 1.0),
        Err(_) => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scipy_with_and_without_yates() {
        // scipy.stats.chi2_contingency([[24858, 25142], [2385, 2615]])
        let r = chi2_contingency(&[24858, 25142], &[2385, 2615]).unwrap();
        assert_eq!(r.dof, 1);
        assert!(
            (r.statistic - 7.309774781242336).abs() < 1e-9,
            "{}",
            r.statistic
        );
        assert!(
            (r.p_value / 0.006858052177024951 - 1.0).abs() < 1e-6,
            "{}",
            r.p_value
        );
        // chi2_contingency([[10, 20, 30], [5, 0, 25]]) -> 13.636363636363637, p=0.0010937076750024521, dof 2
        let r = chi2_contingency(&[10, 20, 30, 0], &[5, 0, 25, 0]).unwrap();
        assert_eq!(r.dof, 2);
        assert!(
            (r.statistic - 13.636363636363637).abs() < 1e-9,
            "{}",
            r.statistic
        );
        assert!(
            (r.p_value / 0.0010937076750024521 - 1.0).abs() < 1e-6,
            "{}",
            r.p_value
        );
    }

    #[test]
    fn degenerate_tables() {
        let r = chi2_contingency(&[7, 0], &[3, 0]).unwrap();
        assert_eq!((r.statistic, r.p_value, r.dof), (0.0, 1.0, 0));
        assert!(chi2_contingency(&[0, 0], &[1, 2]).is_none());
        // Tiny p-values stay positive and finite.
        let p = chi2_sf(2000.0, 3);
        assert!((0.0..1e-300).contains(&p));
    }
}
