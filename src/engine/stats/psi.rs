//! Population stability index on confidence, over ten equal-width bins.

/// Number of PSI bins.
pub const BINS: usize = 10;
/// Floor on a bin's share, applied without renormalising.
const MIN_SHARE: f64 = 1e-4;

/// Bin edge `i` exactly as `numpy.linspace(0, 1, 11)` has it (`i × 0.1` in
/// f64, so edge 6 is 0.6000000000000001 and 0.6 falls in bin 5).
#[inline]
pub fn edge(i: usize) -> f64 {
    i as f64 * 0.1
}

/// The bin of a confidence in [0, 1]: [e_i, e_{i+1}), the last bin closed.
#[inline]
pub fn bin(v: f64) -> usize {
    let mut i = ((v * 10.0) as usize).min(BINS - 1);
    if v < edge(i) {
        i -= 1;
    } else if i < BINS - 1 && v >= edge(i + 1) {
        i += 1;
    }
    i
}

/// Counts per bin.
pub type Bins = [u64; BINS];

/// PSI = Σ (p_cur − p_ref)·ln(p_cur / p_ref), p = max(count/n, 1e-4).
/// `None` when either side is empty.
pub fn psi(reference: &Bins, current: &Bins) -> Option<f64> {
    let nr: u64 = reference.iter().sum();
    let nc: u64 = current.iter().sum();
    if nr == 0 || nc == 0 {
        return None;
    }
    let terms: Vec<f64> = reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| {
            let pr = (r as f64 / nr as f64).max(MIN_SHARE);
            let pc = (c as f64 / nc as f64).max(MIN_SHARE);
            (pc - pr) * (pc / pr).ln()
        })
        .collect();
    Some(super::numpy_sum(&terms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_follow_linspace() {
        assert_eq!(edge(6), 0.6000000000000001);
        assert_eq!(bin(0.6), 5);
        assert_eq!(bin(0.6000000000000001), 6);
        assert_eq!(bin(0.0), 0);
        assert_eq!(bin(1.0), 9);
        assert_eq!(bin(0.3), 2); // 0.3 < 0.30000000000000004
        assert_eq!(bin(0.7), 6); // 0.7 < 0.7000000000000001
        assert_eq!(bin(0.1), 1);
        assert_eq!(bin(0.9), 9);
        assert_eq!(bin(0.8999999999), 8);
    }

    #[test]
    fn psi_matches_reference() {
        // a_nannyml_binary, baseline vs window [50000, 55000): 0.0010063652620136126
        let r = [0, 0, 0, 0, 0, 1167, 1435, 1900, 4832, 40666];
        let c = [0, 0, 0, 0, 0, 136, 153, 191, 457, 4063];
        assert!((psi(&r, &c).unwrap() - 0.0010063652620136126).abs() < 1e-15);
        assert_eq!(psi(&r, &[0; BINS]), None);
    }
}
