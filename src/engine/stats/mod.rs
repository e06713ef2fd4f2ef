//! The statistics `replay` reports (README, Statistics), each in a file,
//! all over exact counts.

pub mod cdf;
pub mod chi2;
pub mod counts;
pub mod divergence;
pub mod fine;
pub mod isotonic;
pub mod ks;
pub mod psi;

/// Sums like `numpy.sum` over a float64 array of up to 128 elements
/// (eight-way unrolled pairwise blocks), so that figures which the
/// references compute with numpy round the same way.
pub fn numpy_sum(xs: &[f64]) -> f64 {
    if xs.len() > 128 {
        let half = xs.len() / 2;
        let half = half - half % 8;
        return numpy_sum(&xs[..half]) + numpy_sum(&xs[half..]);
    }
    if xs.len() < 8 {
        let mut s = 0.0;
        for x in xs {
            s += x;
        }
        return s;
    }
    let mut r = [0.0f64; 8];
    r.copy_from_slice(&xs[..8]);
    let mut i = 8;
    while i + 8 <= xs.len() {
        for j in 0..8 {
            r[j] += xs[i + j];
        }
        i += 8;
    }
    let mut s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for x in &xs[i..] {
        s += x;
    }
    s
}
