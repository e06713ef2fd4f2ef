//! Queries over a model's review queue: which cases match a text and in
//! what order, and the cases themselves by number. Paging and selection
//! are the dashboard's (`ui::review_page`); the engine only answers.

use super::model::ModelMonitor;
use super::review::{CaseState, QueuedCase, ReviewItem, ReviewQueue};

/// How the review queue is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReviewOrder {
    /// A queue: the case waiting longest first.
    #[default]
    OldestFirst,
    LowestConfidenceFirst,
    NewestFirst,
}

/// Which cases, in which order. Skipped cases always come after the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    pub order: ReviewOrder,
    /// Case-insensitive text that the id, label or model must contain.
    pub filter: Option<String>,
}

/// See [`super::Engine::find_cases`].
pub(super) fn find_cases(m: &ModelMonitor, query: &CaseQuery) -> Vec<u64> {
    let filter = query
        .filter
        .as_ref()
        .map(|f| f.to_lowercase())
        .filter(|f| !f.is_empty());
    // Every case in the queue is this model's: a filter matching its name
    // matches them all.
    let filter = filter.filter(|f| !contains_lowercase(&m.name, f));
    let matches = |i: &QueuedCase| {
        filter.as_ref().is_none_or(|f| {
            contains_lowercase(&i.case_id(&m.name), f)
                || contains_lowercase(m.labels.name(i.label), f)
        })
    };
    let mut order: Vec<&QueuedCase> = m.review.cases().filter(|i| matches(i)).collect();
    let skipped = |i: &QueuedCase| i.state == CaseState::Skipped;
    let within = |a: &QueuedCase, b: &QueuedCase| match query.order {
        ReviewOrder::OldestFirst => a.seq.cmp(&b.seq),
        ReviewOrder::NewestFirst => b.seq.cmp(&a.seq),
        ReviewOrder::LowestConfidenceFirst => a
            .confidence
            .total_cmp(&b.confidence)
            .then(b.seq.cmp(&a.seq)),
    };
    order.sort_by(|a, b| skipped(a).cmp(&skipped(b)).then_with(|| within(a, b)));
    order.iter().map(|c| c.seq).collect()
}

/// See [`super::Engine::cases`]: one pass over the queue for a page.
pub(super) fn cases(m: &ModelMonitor, seqs: &[u64]) -> Vec<ReviewItem> {
    let mut found: Vec<Option<&QueuedCase>> = vec![None; seqs.len()];
    for case in m.review.cases() {
        if let Some(i) = seqs.iter().position(|&s| s == case.seq) {
            found[i] = Some(case);
        }
    }
    found
        .into_iter()
        .flatten()
        .map(|c| ReviewQueue::item(c, &m.name, &m.labels))
        .collect()
}

/// Whether `hay`, lower-cased, contains `needle` (already lower-case);
/// without allocating for ASCII text, as this runs per case per frame.
fn contains_lowercase(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        hay.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::{Engine, EngineSettings, LineOrigin};
    use crate::record::Parser;

    /// Five predictions of model `m`, four of them under the review
    /// threshold (c0 0.3, c1 0.5, c2 0.1, c4 0.55), in that order.
    pub(crate) fn engine_with_cases() -> Engine {
        let mut e = Engine::new(EngineSettings::default());
        for (i, c) in [0.3, 0.5, 0.1, 0.9, 0.55].iter().enumerate() {
            let line = format!(r#"{{"id":"c{i}","model":"m","prediction":"x","confidence":{c}}}"#);
            let origin = LineOrigin {
                source: "t",
                line: i as u64,
            };
            e.ingest_line(&Parser::default(), line.as_bytes(), origin, 0);
        }
        e
    }

    fn ids(e: &Engine, query: &CaseQuery) -> Vec<String> {
        let seqs = e.find_cases("m", query);
        e.cases("m", &seqs).into_iter().map(|i| i.case_id).collect()
    }

    #[test]
    fn cases_follow_order_and_filter() {
        let e = engine_with_cases();
        // A queue by default: the case waiting longest first.
        assert_eq!(ids(&e, &CaseQuery::default()), ["c0", "c1", "c2", "c4"]);
        let order = |order| CaseQuery {
            order,
            filter: None,
        };
        assert_eq!(
            ids(&e, &order(ReviewOrder::NewestFirst)),
            ["c4", "c2", "c1", "c0"]
        );
        assert_eq!(
            ids(&e, &order(ReviewOrder::LowestConfidenceFirst)),
            ["c2", "c0", "c1", "c4"]
        );
        // The model's name matches every case; an empty filter is none.
        for (filter, total) in [("C2", 1), ("M", 4), ("", 4), ("zz", 0)] {
            let q = CaseQuery {
                filter: Some(filter.into()),
                ..CaseQuery::default()
            };
            assert_eq!(e.find_cases("m", &q).len(), total, "{filter:?}");
        }
        assert!(
            e.find_cases("no such model", &CaseQuery::default())
                .is_empty()
        );
        // Cases come in the order asked for; numbers no longer queued drop out.
        let seqs = e.find_cases("m", &CaseQuery::default());
        let asked = [seqs[2], 999, seqs[0]];
        let got: Vec<u64> = e.cases("m", &asked).iter().map(|i| i.seq).collect();
        assert_eq!(got, [seqs[2], seqs[0]]);
        assert!(contains_lowercase("Ünïcode-ID", "ünï") && !contains_lowercase("abc", "abcd"));
    }
}
