//! The review queue: predictions a human should look at (low confidence or
//! a narrow top-two margin), bounded in count and bytes, oldest evicted.

use std::collections::VecDeque;

use serde::Serialize;

use super::settings::ReviewSettings;

/// Why a case was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueReason {
    LowConfidence,
    NarrowMargin,
}

/// Where a case stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "label")]
pub enum CaseState {
    Pending,
    Approved,
    Overridden(String),
    Escalated,
    Skipped,
}

/// One case for a reviewer.
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

/// Most bytes of one raw event kept for the reviewer.
pub const MAX_RAW_BYTES: usize = 4096;

#[derive(Debug, Clone)]
pub struct ReviewQueue {
    settings: ReviewSettings,
    items: VecDeque<ReviewItem>,
    bytes: usize,
    pub queued_total: u64,
    pub evicted: u64,
    pub decided: u64,
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
            decided: 0,
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

    pub fn keeps_input(&self) -> bool {
        self.settings.keep_input
    }

    pub fn push(&mut self, mut item: ReviewItem) {
        if let Some(raw) = &mut item.raw
            && raw.len() > MAX_RAW_BYTES
        {
            let mut cut = MAX_RAW_BYTES;
            while !raw.is_char_boundary(cut) {
                cut -= 1;
            }
            raw.truncate(cut);
            raw.push_str("…(truncated)");
        }
        self.queued_total += 1;
        self.bytes += item_bytes(&item);
        self.items.push_back(item);
        while self.items.len() > self.settings.capacity.max(1)
            || self.bytes > self.settings.max_bytes
        {
            match self.items.pop_front() {
                Some(old) => {
                    self.bytes -= item_bytes(&old);
                    self.evicted += 1;
                }
                None => break,
            }
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn items(&self) -> impl DoubleEndedIterator<Item = &ReviewItem> + ExactSizeIterator {
        self.items.iter()
    }

    /// Records a decision on a case: a skipped case goes to the back of the
    /// queue, any other decision takes it out. False when the case is no
    /// longer queued.
    pub fn decide(&mut self, seq: u64, state: CaseState) -> bool {
        let Some(pos) = self.items.iter().position(|i| i.seq == seq) else {
            return false;
        };
        if state == CaseState::Skipped {
            if let Some(mut item) = self.items.remove(pos) {
                item.state = state;
                self.items.push_back(item);
            }
            return true;
        }
        if let Some(item) = self.items.remove(pos) {
            self.bytes -= item_bytes(&item);
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

fn item_bytes(item: &ReviewItem) -> usize {
    std::mem::size_of::<ReviewItem>()
        + item.case_id.len()
        + item.model.len()
        + item.label.len()
        + item.raw.as_ref().map_or(0, String::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(seq: u64, raw: usize) -> ReviewItem {
        ReviewItem {
            seq,
            case_id: format!("c{seq}"),
            generated_id: false,
            model: "m".into(),
            index: seq,
            ts_ms: 0,
            queued_ms: 0,
            confidence: 0.3,
            margin: None,
            label: "a".into(),
            reason: QueueReason::LowConfidence,
            raw: Some("x".repeat(raw)),
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
            q.push(item(s, 10));
        }
        assert_eq!((q.len(), q.evicted, q.queued_total), (3, 2, 5));
        assert_eq!(q.items().next().unwrap().seq, 2);
        let mut q = ReviewQueue::new(ReviewSettings {
            capacity: 100,
            max_bytes: 3 * (MAX_RAW_BYTES + 400),
            ..ReviewSettings::default()
        });
        for s in 0..10 {
            q.push(item(s, 1 << 20));
        }
        assert!(q.len() <= 3 && q.evicted >= 7);
        assert!(
            q.items()
                .all(|i| i.raw.as_ref().unwrap().len() < MAX_RAW_BYTES + 20)
        );
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
        q.push(item(1, 0));
        assert_eq!(q.items().next().unwrap().state, CaseState::Pending);
        assert!(q.decide(1, CaseState::Approved));
        assert!(!q.decide(1, CaseState::Approved));
        assert!(q.was_decided(1) && !q.was_decided(2));
        assert_eq!((q.len(), q.decided), (0, 1));
    }
}
