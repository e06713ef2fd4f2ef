//! The team's decisions a dashboard has seen, by case subject: bounded in
//! bytes (the oldest forgotten first), so a long shift or a hostile writer
//! cannot grow it. A case forgotten here is still decided in the stream:
//! publishing on it is refused by the cluster, and a look-up finds it.

use std::collections::{HashMap, VecDeque};

/// Longest operator name or label kept per decision.
const MAX_TEXT_BYTES: usize = 256;
/// Bookkeeping per entry besides its strings.
const ENTRY_OVERHEAD: usize = 96;

/// A decision of the team on one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenDecision {
    pub model: String,
    pub case_id: String,
    /// `approve`, `override` or `escalate`.
    pub decision: String,
    pub label: Option<String>,
    pub operator: String,
    pub stream_seq: u64,
}

impl SeenDecision {
    /// A decision as read from the stream at `stream_seq`.
    pub fn of(m: &super::decisions::DecisionMessage, stream_seq: u64) -> SeenDecision {
        SeenDecision {
            model: m.model.clone(),
            case_id: m.case_id.clone(),
            decision: m.decision.clone(),
            label: m.label.clone(),
            operator: m.operator.clone(),
            stream_seq,
        }
    }

    /// The same decision with its operator and label cut to a bounded size
    /// (they come from the stream: anyone on the team may have written them).
    pub fn bounded(mut self) -> SeenDecision {
        cut(&mut self.operator);
        if let Some(label) = &mut self.label {
            cut(label);
        }
        self
    }

    fn bytes(&self, subject: &str) -> usize {
        ENTRY_OVERHEAD
            + 2 * subject.len()
            + self.model.len()
            + self.case_id.len()
            + self.decision.len()
            + self.label.as_ref().map_or(0, String::len)
            + self.operator.len()
    }
}

fn cut(text: &mut String) {
    if text.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// Decisions by case subject, oldest forgotten first past `max_bytes`.
#[derive(Debug)]
pub struct SeenDecisions {
    by_subject: HashMap<String, SeenDecision>,
    order: VecDeque<String>,
    bytes: usize,
    max_bytes: usize,
}

impl SeenDecisions {
    pub fn new(max_bytes: usize) -> SeenDecisions {
        SeenDecisions {
            by_subject: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    /// Keeps `decision` (bounded); false when the subject was known.
    pub fn insert(&mut self, subject: &str, decision: SeenDecision) -> bool {
        if self.by_subject.contains_key(subject) {
            return false;
        }
        let decision = decision.bounded();
        self.bytes += decision.bytes(subject);
        self.by_subject.insert(subject.to_string(), decision);
        self.order.push_back(subject.to_string());
        while self.bytes > self.max_bytes {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(d) = self.by_subject.remove(&old) {
                self.bytes -= d.bytes(&old);
            }
        }
        true
    }

    pub fn get(&self, subject: &str) -> Option<&SeenDecision> {
        self.by_subject.get(subject)
    }

    pub fn len(&self) -> usize {
        self.by_subject.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_subject.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(case: &str, operator: &str) -> SeenDecision {
        SeenDecision {
            model: "m".into(),
            case_id: case.into(),
            decision: "approve".into(),
            label: Some("a".into()),
            operator: operator.into(),
            stream_seq: 1,
        }
    }

    #[test]
    fn bounded_in_bytes_oldest_forgotten_first() {
        let mut set = SeenDecisions::new(10_000);
        assert!(set.insert("s0", seen("c0", "alice")));
        assert!(!set.insert("s0", seen("c0", "bob")));
        assert_eq!(set.get("s0").unwrap().operator, "alice");
        for i in 1..1000 {
            set.insert(
                &format!("s{i}"),
                seen(&format!("c{i}"), &"é".repeat(1 << 16)),
            );
            assert!(set.bytes() <= 10_000);
        }
        assert!(set.get("s0").is_none() && set.get("s999").is_some());
        assert!(set.len() > 10 && !set.is_empty());
        assert!(set.get("s999").unwrap().operator.len() <= MAX_TEXT_BYTES);
    }
}
