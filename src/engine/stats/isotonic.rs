//! Isotonic regression (increasing, out-of-bounds clipped) as
//! scikit-learn's `IsotonicRegression(out_of_bounds="clip")` fits and
//! predicts it, which is what nannyml's CBPE calibrates with:
//! - points whose x lie within 1e-15 of the first x of a run are one point
//!   (weights summed, y averaged by weight), as `_make_unique` does;
//! - pool-adjacent-violators with weights (adjacent equal blocks pooled too);
//! - interior points of a constant run dropped (`trim_duplicates`);
//! - prediction clips x to the fitted range and interpolates linearly.

/// float64's resolution, below which scikit-learn treats two x as one.
const SAME_X: f64 = 1e-15;

/// One observation group: `weight` observations at `x` whose targets sum to
/// `weighted_y` (for 0/1 targets: the count of ones).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Point {
    pub x: f64,
    pub weight: f64,
    pub weighted_y: f64,
}

/// A fitted increasing step-and-ramp map.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IsotonicMap {
    xs: Vec<f64>,
    ys: Vec<f64>,
}

impl IsotonicMap {
    /// Fits points given in ascending order of x; those without weight are
    /// skipped. None when no point has weight.
    pub fn fit(points: impl IntoIterator<Item = Point>) -> Option<Self> {
        let (mut xs, mut ys, mut ws) = (Vec::new(), Vec::new(), Vec::new());
        let mut sum_wy = 0.0;
        for p in points {
            if p.weight.is_nan() || p.weight <= 0.0 {
                continue;
            }
            match xs.last() {
                Some(&first) if p.x - first < SAME_X => {
                    let w = ws.last_mut().expect("weights follow xs");
                    *w += p.weight;
                    sum_wy += p.weighted_y;
                }
                _ => {
                    if let Some(&w) = ws.last() {
                        ys.push(sum_wy / w);
                    }
                    xs.push(p.x);
                    ws.push(p.weight);
                    sum_wy = p.weighted_y;
                }
            }
        }
        let &w = ws.last()?;
        ys.push(sum_wy / w);
        pool_adjacent_violators(&mut ys, &mut ws);
        Some(Self::trimmed(xs, ys))
    }

    /// Keeps the first and last point and every point whose y differs from
    /// a neighbour's: the interpolation is the same with fewer knots.
    fn trimmed(xs: Vec<f64>, ys: Vec<f64>) -> Self {
        let n = ys.len();
        let keep = |i: usize| i == 0 || i + 1 == n || ys[i] != ys[i - 1] || ys[i] != ys[i + 1];
        let kept: Vec<usize> = (0..n).filter(|&i| keep(i)).collect();
        IsotonicMap {
            xs: kept.iter().map(|&i| xs[i]).collect(),
            ys: kept.iter().map(|&i| ys[i]).collect(),
        }
    }

    /// The calibrated value at `x`.
    #[inline]
    pub fn predict(&self, x: f64) -> f64 {
        let (xs, ys) = (&self.xs, &self.ys);
        let last = xs.len() - 1;
        if x.is_nan() || x <= xs[0] {
            return ys[0];
        }
        if x >= xs[last] {
            return ys[last];
        }
        // xs[hi - 1] <= x < xs[hi], with 1 <= hi <= last.
        let hi = xs.partition_point(|&k| k <= x);
        let (x0, x1, y0, y1) = (xs[hi - 1], xs[hi], ys[hi - 1], ys[hi]);
        y0 + (x - x0) * (y1 - y0) / (x1 - x0)
    }

    /// Knots kept after trimming.
    pub fn knots(&self) -> usize {
        self.xs.len()
    }
}

/// Replaces `y` by its weighted least-squares increasing fit, in place
/// (`w` is left holding block weights at each block's first index).
pub fn pool_adjacent_violators(y: &mut [f64], w: &mut [f64]) {
    let n = y.len();
    // `end[i]`: last index of the block starting at i; `start[j]`: first
    // index of the block ending at j.
    let mut end: Vec<usize> = (0..n).collect();
    let mut start: Vec<usize> = (0..n).collect();
    let mut i = 0;
    while i < n {
        let mut k = end[i] + 1;
        if k == n {
            break;
        }
        if y[i] < y[k] {
            i = k;
            continue;
        }
        // Pool the run of blocks from i while it does not increase.
        let (mut sum_wy, mut sum_w) = (w[i] * y[i], w[i]);
        loop {
            let prev = y[k];
            sum_wy += w[k] * y[k];
            sum_w += w[k];
            k = end[k] + 1;
            if k == n || prev < y[k] {
                break;
            }
        }
        y[i] = sum_wy / sum_w;
        w[i] = sum_w;
        end[i] = k - 1;
        start[k - 1] = i;
        // Step back one block: the pooled block may now violate it.
        if i > 0 {
            i = start[i - 1];
        }
    }
    let mut i = 0;
    while i < n {
        let last = end[i];
        let v = y[i];
        y[i + 1..=last].fill(v);
        i = last + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pav(y: &[f64], w: &[f64]) -> Vec<f64> {
        let (mut y, mut w) = (y.to_vec(), w.to_vec());
        pool_adjacent_violators(&mut y, &mut w);
        y
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    fn points(xy: &[(f64, f64)]) -> Vec<Point> {
        xy.iter()
            .map(|&(x, y)| Point {
                x,
                weight: 1.0,
                weighted_y: y,
            })
            .collect()
    }

    #[test]
    fn pav_pools_violators_by_hand() {
        // scikit-learn's docstring example: [5,3,1,2] pools to 2.75, the
        // rest [8,10,7,9,6,4] to 44/6.
        let got = pav(
            &[5.0, 3.0, 1.0, 2.0, 8.0, 10.0, 7.0, 9.0, 6.0, 4.0],
            &[1.0; 10],
        );
        let r = 44.0 / 6.0;
        assert!(close(&got, &[2.75, 2.75, 2.75, 2.75, r, r, r, r, r, r]));
        // Already increasing: unchanged.
        assert_eq!(pav(&[0.1, 0.2, 0.9], &[1.0; 3]), vec![0.1, 0.2, 0.9]);
        // Weights: (1·1 + 3·0)/4 = 0.25 for the pooled pair.
        assert!(close(
            &pav(&[1.0, 0.0, 2.0], &[1.0, 3.0, 1.0]),
            &[0.25, 0.25, 2.0]
        ));
        // A run pooled across two blocks: 3, 2, 0 to 5/3, which stays
        // above the 1 before it.
        let t = 5.0 / 3.0;
        assert!(close(
            &pav(&[1.0, 3.0, 2.0, 0.0], &[1.0; 4]),
            &[1.0, t, t, t]
        ));
        // A pool that then violates the block before it: [3, 0] pools to
        // 1.5, below 2, so all three pool to 5/3.
        assert!(close(&pav(&[2.0, 3.0, 0.0], &[1.0; 3]), &[t; 3]));
        // Ties pool without changing values.
        assert_eq!(pav(&[0.5, 0.5, 0.5], &[1.0; 3]), vec![0.5; 3]);
        assert!(pav(&[], &[]).is_empty());
    }

    #[test]
    fn fit_averages_tied_x_and_trims_constant_runs() {
        // x = 0.2 twice (y 1 and 0: mean 0.5); then 0.4 → 0, which
        // violates and pools with it: (1 + 0 + 0)/3 = 1/3; 0.9 → 1.
        let m =
            IsotonicMap::fit(points(&[(0.2, 1.0), (0.2, 0.0), (0.4, 0.0), (0.9, 1.0)])).unwrap();
        assert_eq!(m.knots(), 3);
        assert!((m.predict(0.2) - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.predict(0.4) - 1.0 / 3.0).abs() < 1e-12);
        // Linear between knots 0.4 (1/3) and 0.9 (1): at 0.65, 2/3.
        assert!((m.predict(0.65) - 2.0 / 3.0).abs() < 1e-12);
        // Clipped outside the fitted range.
        assert!((m.predict(0.0) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.predict(1.0), 1.0);
        // Interior points of a constant run are dropped, the ends kept.
        let m =
            IsotonicMap::fit(points(&[(0.1, 0.0), (0.2, 0.0), (0.3, 0.0), (0.4, 1.0)])).unwrap();
        assert_eq!(m.knots(), 3);
        assert_eq!(m.predict(0.25), 0.0);
        assert!((m.predict(0.35) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn x_closer_than_the_resolution_is_one_point() {
        // 1 - 0.93 is 0.07000000000000006: the same x as 0.07.
        let m = IsotonicMap::fit(points(&[(0.07, 0.0), (1.0 - 0.93, 1.0), (0.5, 1.0)])).unwrap();
        assert_eq!(m.knots(), 2);
        assert_eq!(m.predict(0.07), 0.5);
    }

    #[test]
    fn constant_single_and_empty_inputs() {
        let m = IsotonicMap::fit(points(&[(0.3, 1.0), (0.6, 1.0), (0.8, 1.0)])).unwrap();
        assert_eq!(m.knots(), 2);
        for x in [0.0, 0.3, 0.5, 0.9, 1.0] {
            assert_eq!(m.predict(x), 1.0);
        }
        let m = IsotonicMap::fit(points(&[(0.7, 0.0)])).unwrap();
        assert_eq!(m.knots(), 1);
        assert_eq!(
            (m.predict(0.1), m.predict(0.7), m.predict(0.9)),
            (0.0, 0.0, 0.0)
        );
        let weightless = Point {
            x: 0.5,
            weight: 0.0,
            weighted_y: 0.0,
        };
        assert!(IsotonicMap::fit([weightless]).is_none());
        assert!(IsotonicMap::fit(Vec::new()).is_none());
    }

    #[test]
    fn grouped_points_fit_like_single_observations() {
        // (x, n, ones) groups against the same observations one by one.
        let grouped = [
            Point {
                x: 0.1,
                weight: 3.0,
                weighted_y: 2.0,
            },
            Point {
                x: 0.5,
                weight: 2.0,
                weighted_y: 0.0,
            },
            Point {
                x: 0.8,
                weight: 4.0,
                weighted_y: 3.0,
            },
        ];
        let single = points(&[
            (0.1, 1.0),
            (0.1, 1.0),
            (0.1, 0.0),
            (0.5, 0.0),
            (0.5, 0.0),
            (0.8, 1.0),
            (0.8, 1.0),
            (0.8, 1.0),
            (0.8, 0.0),
        ]);
        let (a, b) = (
            IsotonicMap::fit(grouped).unwrap(),
            IsotonicMap::fit(single).unwrap(),
        );
        for x in [0.0, 0.1, 0.3, 0.5, 0.7, 0.8, 1.0] {
            assert!((a.predict(x) - b.predict(x)).abs() < 1e-12, "at {x}");
        }
        // (2 + 0)/5 = 0.4 for the pooled first two groups.
        assert!((a.predict(0.3) - 0.4).abs() < 1e-12);
    }
}
