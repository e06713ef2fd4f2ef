//! Online change detectors on the confidence stream, updated once per
//! prediction, with the indices where each detected a change.

pub mod adwin;
pub mod mix_cusum;
pub mod page_hinkley;

pub use adwin::{Adwin, AdwinParams};
pub use page_hinkley::{PageHinkley, PageHinkleyParams, Shift};

/// Both detectors and their detection indices (bounded for live use).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Detectors {
    page_hinkley: PageHinkley,
    adwin: Adwin,
    pub page_hinkley_hits: Vec<u64>,
    pub adwin_hits: Vec<u64>,
    max_hits: usize,
}

/// What one update found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detection {
    pub page_hinkley: Option<Shift>,
    pub adwin: bool,
}

impl Detectors {
    pub fn new(ph: PageHinkleyParams, adwin: AdwinParams, max_hits: usize) -> Self {
        Detectors {
            page_hinkley: PageHinkley::new(ph),
            adwin: Adwin::new(adwin),
            page_hinkley_hits: Vec::new(),
            adwin_hits: Vec::new(),
            max_hits,
        }
    }

    pub fn update(&mut self, index: u64, confidence: f64) -> Detection {
        let page_hinkley = self.page_hinkley.update(confidence);
        let adwin = self.adwin.update(confidence);
        if page_hinkley.is_some() {
            push_bounded(&mut self.page_hinkley_hits, index, self.max_hits);
        }
        if adwin {
            push_bounded(&mut self.adwin_hits, index, self.max_hits);
        }
        Detection {
            page_hinkley,
            adwin,
        }
    }
}

/// Keeps the most recent `max` values (a detector firing all day must not
/// grow memory without bound).
fn push_bounded(v: &mut Vec<u64>, x: u64, max: usize) {
    if v.len() >= max {
        let excess = v.len() + 1 - max;
        v.drain(..excess);
    }
    v.push(x);
}
