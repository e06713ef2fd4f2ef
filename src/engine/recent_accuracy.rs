//! Realized accuracy over the last N labelled predictions, in the order
//! their labels arrived. A window of the last W predictions holds few
//! labels when ground truth comes late (its predictions are newer than
//! any label); this counts every label as it is joined, whenever that is,
//! so the figure rests on N labels and follows what the model got right
//! lately. `accuracy_drop` decides on it.

use std::collections::VecDeque;

/// The outcomes of the last `capacity` labels joined after the baseline.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RecentOutcomes {
    capacity: usize,
    /// (prediction index, whether its label matched), oldest label first.
    ring: VecDeque<(u64, bool)>,
    correct: u64,
}

/// The figure as screens and the rule read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecentAccuracy {
    /// Labels counted (at most `over`) and how many matched.
    pub labelled: u64,
    pub correct: u64,
    /// N: the labels it is taken over once that many have come.
    pub over: u64,
}

impl RecentAccuracy {
    pub fn realized(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.correct as f64 / self.labelled as f64)
    }
}

impl RecentOutcomes {
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        RecentOutcomes {
            capacity,
            ring: VecDeque::with_capacity(capacity.min(1 << 16)),
            correct: 0,
        }
    }

    /// Counts a label for prediction `index`. A label that replaces an
    /// earlier one (`previous`: ground truth after an operator's approval)
    /// takes that one's place while it is held, so a prediction counts
    /// once; one that replaces a label already pushed out counts as new.
    pub fn record(&mut self, index: u64, correct: bool, previous: Option<bool>) {
        if previous.is_some()
            // Replacements are rare (one per operator decision at most): a
            // scan from the newest end is cheap enough.
            && let Some(held) = self.ring.iter_mut().rev().find(|(i, _)| *i == index)
        {
            self.correct = self.correct + u64::from(correct) - u64::from(held.1);
            held.1 = correct;
            return;
        }
        if self.ring.len() == self.capacity
            && let Some((_, was)) = self.ring.pop_front()
        {
            self.correct -= u64::from(was);
        }
        self.ring.push_back((index, correct));
        self.correct += u64::from(correct);
    }

    pub fn figures(&self) -> RecentAccuracy {
        RecentAccuracy {
            labelled: self.ring.len() as u64,
            correct: self.correct,
            over: self.capacity as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_last_n_labels_and_replacements_in_place() {
        let mut r = RecentOutcomes::new(4);
        assert_eq!(r.figures().realized(), None);
        for (i, right) in [true, true, false, true].into_iter().enumerate() {
            r.record(i as u64, right, None);
        }
        assert_eq!((r.figures().labelled, r.figures().correct), (4, 3));
        // Two more: the two oldest (both right) leave.
        r.record(10, false, None);
        r.record(11, false, None);
        assert_eq!((r.figures().labelled, r.figures().correct), (4, 1));
        assert_eq!(r.figures().realized(), Some(0.25));
        // Ground truth replacing an approval of prediction 3: in place.
        r.record(3, false, Some(true));
        assert_eq!((r.figures().labelled, r.figures().correct), (4, 0));
        // Replacing a label already pushed out: counted as a new one.
        r.record(0, true, Some(true));
        assert_eq!((r.figures().labelled, r.figures().correct), (4, 1));
        assert_eq!(r.figures().over, 4);
    }
}
