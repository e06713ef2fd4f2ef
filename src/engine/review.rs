//! The review queue: predictions a human should look at (low confidence or
//! a narrow top-two margin), bounded in count and bytes, oldest evicted.

use std::borrow::Cow;
use std::collections::VecDeque;

use serde::Serialize;

use super::labels::LabelTable;
use super::settings::ReviewSettings;

/// Why a case was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueReason {
    LowConfidence,
    NarrowMargin,
}

/// Where a case stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "label")]
pub enum CaseState {
    Pending,
    Approved,
    Overridden(String),
    Escalated,
    Skipped,
}

/// One case for a reviewer, as a screen shows it and a decision names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewItem {
    /// Unique within the process, stable while the queue moves.
    pub seq: u64,
    pub case_id: String,
    /// Whether `case_id` was generated (the event had no id).
    pub generated_id: bool,
    pub model: String,
    pub index: u64,
    pub ts_ms: i64,
    /// Wall-clock time it entered the queue.
    pub queued_ms: i64,
    pub confidence: f64,
    pub margin: Option<f64>,
    pub label: String,
    pub reason: QueueReason,
    /// The whole event as it arrived (untrusted: escape before showing).
    pub raw: Option<String>,
    pub state: CaseState,
}

/// A case as the queue keeps it: its label is the model's label id and
/// its model is the queue's, so neither is copied per case; the case id is
/// kept only when the event had one. [`ReviewQueue::item`] turns it into
/// the [`ReviewItem`] a screen or a decision works with.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QueuedCase {
    pub seq: u64,
    /// The event's id (`None`: generated from the model name and index).
    pub case_id: Option<Box<str>>,
    pub index: u64,
    pub ts_ms: i64,
    pub queued_ms: i64,
    pub confidence: f64,
    pub margin: Option<f64>,
    pub label: u32,
    pub reason: QueueReason,
    /// The event as it arrived, cut to [`MAX_RAW_BYTES`].
    pub raw: Option<Box<str>>,
    pub state: CaseState,
}

impl QueuedCase {
    /// The case id shown and audited (`model#index` when generated).
    pub fn case_id<'a>(&'a self, model: &str) -> Cow<'a, str> {
        match &self.case_id {
            Some(id) => Cow::Borrowed(id),
            None => Cow::Owned(format!("{model}#{}", self.index)),
        }
    }

    /// Bytes this case holds, for the queue's byte budget.
    fn bytes(&self) -> usize {
        std::mem::size_of::<QueuedCase>()
            + self.case_id.as_ref().map_or(0, |s| s.len())
            + self.raw.as_ref().map_or(0, |s| s.len())
            + match &self.state {
                CaseState::Overridden(label) => label.len(),
                _ => 0,
            }
    }
}

/// Most bytes of one raw event kept for the reviewer.
pub const MAX_RAW_BYTES: usize = 4096;

/// The start of a raw event as kept for the reviewer: at most
/// [`MAX_RAW_BYTES`] (whole characters), marked when cut.
pub fn kept_raw(raw: &[u8]) -> Box<str> {
    let cut_short = raw.len() > MAX_RAW_BYTES;
    let mut text = String::from_utf8_lossy(&raw[..raw.len().min(MAX_RAW_BYTES)]).into_owned();
    if cut_short || text.len() > MAX_RAW_BYTES {
        let mut cut = MAX_RAW_BYTES.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("…(truncated)");
    }
    text.into_boxed_str()
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ReviewQueue {
    /// The process's own (`review.*`), never a checkpoint's.
    #[serde(skip)]
    settings: ReviewSettings,
    items: VecDeque<QueuedCase>,
    bytes: usize,
    pub queued_total: u64,
    /// Cases evicted (oldest first), for the count or the byte budget.
    pub evicted: u64,
    /// Of those, the ones evicted because the queue's bytes were over
    /// `review.max_bytes`.
    pub evicted_over_bytes: u64,
    pub decided: u64,
    /// Cases that qualified but were left out by `review.sample`.
    pub sampled_out: u64,
    /// The sample's running share: a case is queued each time it reaches 1.
    sample_credit: f64,
    /// Cases decided lately (bounded), so a decision is never taken twice.
    recently_decided: VecDeque<u64>,
}

/// Decided cases remembered to refuse a second decision on one of them.
const DECIDED_REMEMBERED: usize = 4096;

impl ReviewQueue {
    pub fn new(settings: ReviewSettings) -> Self {
        ReviewQueue {
            settings,
            items: VecDeque::new(),
            bytes: 0,
            queued_total: 0,
            evicted: 0,
            evicted_over_bytes: 0,
            decided: 0,
            sampled_out: 0,
            sample_credit: 0.0,
            recently_decided: VecDeque::new(),
        }
    }

    pub fn threshold(&self) -> f64 {
        self.settings.below
    }

    /// Whether a prediction belongs in the queue, and why.
    #[inline]
    pub fn reason(&self, confidence: f64, margin: Option<f64>) -> Option<QueueReason> {
        if confidence < self.settings.below {
            return Some(QueueReason::LowConfidence);
        }
        match (self.settings.margin_below, margin) {
            (Some(limit), Some(m)) if m < limit => Some(QueueReason::NarrowMargin),
            _ => None,
        }
    }

    /// Whether a case that qualifies is queued under `review.sample`:
    /// evenly spread, so the queued share is the sample exactly.
    pub fn admit(&mut self) -> bool {
        self.sample_credit += self.settings.sample;
        if self.sample_credit >= 1.0 - 1e-9 {
            self.sample_credit -= 1.0;
            true
        } else {
            self.sampled_out += 1;
            false
        }
    }

    /// Applies this process's review settings to a queue restored from a
    /// checkpoint (they decide only which new cases are queued and kept).
    pub fn set_settings(&mut self, settings: ReviewSettings) {
        self.settings = settings;
    }

    pub fn keeps_input(&self) -> bool {
        self.settings.keep_input
    }

    /// Bytes the queue holds (cases, their ids and raw events).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Queues a case, evicting the oldest while the queue is over its count
    /// or its byte budget.
    pub fn push(&mut self, case: QueuedCase) {
        self.queued_total += 1;
        self.bytes += case.bytes();
        self.items.push_back(case);
        loop {
            let over_count = self.items.len() > self.settings.capacity.max(1);
            let over_bytes = self.bytes > self.settings.max_bytes;
            if !(over_count || over_bytes) {
                break;
            }
            let Some(old) = self.items.pop_front() else {
                break;
            };
            self.bytes -= old.bytes();
            self.evicted += 1;
            self.evicted_over_bytes += u64::from(over_bytes && !over_count);
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn cases(&self) -> impl DoubleEndedIterator<Item = &QueuedCase> + ExactSizeIterator {
        self.items.iter()
    }

    /// A case as screens and decisions see it.
    pub fn item(case: &QueuedCase, model: &str, labels: &LabelTable) -> ReviewItem {
        ReviewItem {
            seq: case.seq,
            case_id: case.case_id(model).into_owned(),
            generated_id: case.case_id.is_none(),
            model: model.to_string(),
            index: case.index,
            ts_ms: case.ts_ms,
            queued_ms: case.queued_ms,
            confidence: case.confidence,
            margin: case.margin,
            label: labels.name(case.label).to_string(),
            reason: case.reason,
            raw: case.raw.as_deref().map(str::to_string),
            state: case.state.clone(),
        }
    }

    /// Records a decision on a case: a skipped case goes to the back of the
    /// queue, any other decision takes it out. False when the case is no
    /// longer queued.
    pub fn decide(&mut self, seq: u64, state: CaseState) -> bool {
        let Some(pos) = self.items.iter().position(|i| i.seq == seq) else {
            return false;
        };
        let Some(mut case) = self.items.remove(pos) else {
            return false;
        };
        self.bytes -= case.bytes();
        if state == CaseState::Skipped {
            case.state = state;
            self.bytes += case.bytes();
            self.items.push_back(case);
            return true;
        }
        self.decided += 1;
        if self.recently_decided.len() >= DECIDED_REMEMBERED {
            self.recently_decided.pop_front();
        }
        self.recently_decided.push_back(seq);
        true
    }

    /// Whether the case was decided (approved, overridden or escalated).
    pub fn was_decided(&self, seq: u64) -> bool {
        self.recently_decided.contains(&seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(seq: u64, raw: usize) -> QueuedCase {
        QueuedCase {
            seq,
            case_id: Some(format!("c{seq}").into()),
            index: seq,
            ts_ms: 0,
            queued_ms: 0,
            confidence: 0.3,
            margin: None,
            label: 0,
            reason: QueueReason::LowConfidence,
            raw: Some(kept_raw("x".repeat(raw).as_bytes())),
            state: CaseState::Pending,
        }
    }

    #[test]
    fn bounded_by_count_and_bytes() {
        let mut q = ReviewQueue::new(ReviewSettings {
            capacity: 3,
            max_bytes: 1 << 20,
            ..ReviewSettings::default()
        });
        for s in 0..5 {
            q.push(case(s, 10));
        }
        assert_eq!((q.len(), q.evicted, q.queued_total), (3, 2, 5));
        assert_eq!(q.evicted_over_bytes, 0);
        assert_eq!(q.cases().next().unwrap().seq, 2);
        let mut q = ReviewQueue::new(ReviewSettings {
            capacity: 100,
            max_bytes: 3 * (MAX_RAW_BYTES + 400),
            ..ReviewSettings::default()
        });
        for s in 0..10 {
            q.push(case(s, 1 << 20));
        }
        assert!(q.len() <= 3 && q.evicted >= 7);
        assert_eq!(q.evicted_over_bytes, q.evicted);
        assert!(q.bytes() <= 3 * (MAX_RAW_BYTES + 400));
        assert!(
            q.cases()
                .all(|i| i.raw.as_ref().unwrap().len() < MAX_RAW_BYTES + 20)
        );
    }

    #[test]
    fn raw_events_are_cut_on_a_character_boundary() {
        let raw = "é".repeat(MAX_RAW_BYTES);
        let kept = kept_raw(raw.as_bytes());
        assert!(kept.ends_with("…(truncated)") && kept.len() < MAX_RAW_BYTES + 20);
        assert_eq!(&*kept_raw(b"{\"a\":1}"), "{\"a\":1}");
    }

    #[test]
    fn items_carry_the_model_and_label_names_and_generated_ids() {
        let mut labels = LabelTable::default();
        let fraud = labels.intern("fraud");
        let mut c = case(7, 3);
        c.label = fraud;
        let item = ReviewQueue::item(&c, "m@1", &labels);
        assert_eq!((item.case_id.as_str(), item.model.as_str()), ("c7", "m@1"));
        assert_eq!((item.label.as_str(), item.generated_id), ("fraud", false));
        c.case_id = None;
        let item = ReviewQueue::item(&c, "m@1", &labels);
        assert_eq!((item.case_id.as_str(), item.generated_id), ("m@1#7", true));
    }

    #[test]
    fn decisions_remove_cases_and_reasons_follow_thresholds() {
        let mut q = ReviewQueue::new(ReviewSettings {
            margin_below: Some(0.2),
            ..ReviewSettings::default()
        });
        assert_eq!(q.reason(0.5, None), Some(QueueReason::LowConfidence));
        assert_eq!(q.reason(0.7, Some(0.1)), Some(QueueReason::NarrowMargin));
        assert_eq!(q.reason(0.7, Some(0.4)), None);
        q.push(case(1, 0));
        q.push(case(2, 0));
        assert_eq!(q.cases().next().unwrap().state, CaseState::Pending);
        assert!(q.decide(1, CaseState::Skipped));
        assert_eq!(q.cases().last().unwrap().seq, 1);
        assert!(q.decide(1, CaseState::Approved));
        assert!(!q.decide(1, CaseState::Approved));
        assert!(q.was_decided(1) && !q.was_decided(2));
        assert!(q.decide(2, CaseState::Overridden("b".into())));
        assert_eq!((q.len(), q.decided, q.bytes()), (0, 2, 0));
    }

    #[test]
    fn a_sample_queues_that_share_evenly() {
        let mut q = ReviewQueue::new(ReviewSettings {
            sample: 0.25,
            ..ReviewSettings::default()
        });
        let admitted: Vec<bool> = (0..8).map(|_| q.admit()).collect();
        assert_eq!(
            admitted,
            [false, false, false, true, false, false, false, true]
        );
        assert_eq!(q.sampled_out, 6);
        let mut all = ReviewQueue::new(ReviewSettings::default());
        assert!((0..100).all(|_| all.admit()));
        assert_eq!(all.sampled_out, 0);
    }
}
