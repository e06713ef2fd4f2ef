//! One window of predictions held against the baseline: every statistic of
//! The README's statistics in one place, used by the report's tumbling windows, the live
//! sliding window and the alert checks alike.

use serde::Serialize;

use super::baseline::Baseline;
use super::known_name::KnownName;
use super::labels::{LabelCounts, LabelTable};
use super::stats::chi2::{Chi2Result, chi2_contingency};
use super::stats::counts::SortedCounts;
use super::stats::divergence::{jensen_shannon, wasserstein_normed};
use super::stats::fine::FineHistogram;
use super::stats::ks::{KsResult, ks_from_distances};
use super::stats::psi::{Bins, psi};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct KsFigures {
    pub statistic: f64,
    pub p_value: f64,
    /// `exact` or `asymptotic` (see `stats::ks`).
    #[serde(deserialize_with = "ks_method")]
    pub method: KnownName,
}

fn ks_method<'de, D: serde::Deserializer<'de>>(d: D) -> Result<KnownName, D::Error> {
    super::known_name::deserialize(d, &["exact", "asymptotic"])
}

impl From<KsResult> for KsFigures {
    fn from(r: KsResult) -> Self {
        KsFigures {
            statistic: r.statistic,
            p_value: r.p_value,
            method: if r.exact { "exact" } else { "asymptotic" },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Chi2Figures {
    pub statistic: f64,
    pub p_value: f64,
    pub dof: u32,
}

impl From<Chi2Result> for Chi2Figures {
    fn from(r: Chi2Result) -> Self {
        Chi2Figures {
            statistic: r.statistic,
            p_value: r.p_value,
            dof: r.dof,
        }
    }
}

/// A window's distance from the baseline. `None` where a side is empty.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, serde::Deserialize)]
pub struct Comparison {
    pub ks: Option<KsFigures>,
    pub chi2: Option<Chi2Figures>,
    pub psi: Option<f64>,
    pub js: Option<f64>,
    pub wasserstein: Option<f64>,
    pub wasserstein_norm: Option<f64>,
}

/// A window's confidences: exact counts (report windows) or the fine grid
/// (the sliding window and change segments, see `stats::fine`).
#[derive(Clone, Copy)]
pub enum Confidences<'a> {
    Exact(&'a SortedCounts),
    Fine(&'a FineHistogram),
}

/// The counts of a window (tumbling, sliding or after a change point), as
/// the comparison needs them.
pub struct WindowCounts<'a> {
    pub confidences: Confidences<'a>,
    pub bins: &'a Bins,
    pub mix: &'a LabelCounts,
}

/// Jensen–Shannon distance of a mix from the baseline's (as [`compare`]).
pub fn mix_js(baseline: &Baseline, labels: &LabelTable, mix: &LabelCounts) -> Option<f64> {
    let n_labels = labels.len();
    labelled_js(
        labels,
        &baseline.mix.padded(n_labels),
        &mix.padded(n_labels),
    )
}

/// Jensen–Shannon distance of two mixes padded to every label of `labels`.
fn labelled_js(labels: &LabelTable, baseline: &[u64], window: &[u64]) -> Option<f64> {
    let names: Vec<&str> = labels.names().collect();
    jensen_shannon(&names, baseline, window)
}

pub fn compare(baseline: &Baseline, labels: &LabelTable, w: &WindowCounts<'_>) -> Comparison {
    // The sliding window is checked every W/10 predictions: its p-value is
    // always the asymptotic one; the report's windows get the exact one
    // where it is affordable.
    let (walk, n, allow_exact) = match w.confidences {
        Confidences::Exact(c) => (baseline.cdf.distances(c), c.n(), true),
        Confidences::Fine(h) => (h.distances(&baseline.fine), h.n(), false),
    };
    let ks = walk.map(|d| ks_from_distances(&d, baseline.confidences.n(), n, allow_exact).into());
    let n_labels = labels.len();
    let base_mix = baseline.mix.padded(n_labels);
    let win_mix = w.mix.padded(n_labels);
    let chi2 = chi2_contingency(&base_mix, &win_mix).map(Chi2Figures::from);
    let js = labelled_js(labels, &base_mix, &win_mix);
    let raw = walk.map(|d| d.wasserstein);
    Comparison {
        ks,
        chi2,
        psi: psi(&baseline.bins, w.bins),
        js,
        wasserstein: raw,
        wasserstein_norm: raw.map(|r| wasserstein_normed(r, baseline.std)),
    }
}
