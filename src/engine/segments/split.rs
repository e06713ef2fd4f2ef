//! One field's split of a model's traffic: the values counted while the
//! baseline is collected, then the largest of them watched as segments.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use super::segment::{Segment, SegmentBuilder};
use crate::record::features::Features;

/// Longest value kept as a segment's name; longer ones are cut (at a
/// character boundary) and count with whatever else shares the cut.
const MAX_VALUE_BYTES: usize = 256;

/// Where a split's value is read.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Field {
    /// The event's `segment`.
    Segment,
    /// An input feature, its value as text.
    Input(Box<str>),
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum SplitState {
    Collecting(Vec<SegmentBuilder>),
    Watching(Vec<Segment>),
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Split {
    /// As configured: `segment` or `input.NAME`.
    pub field: Arc<str>,
    source: Field,
    state: SplitState,
    /// Position of each value in `state`.
    index: HashMap<Arc<str>, usize>,
    /// Predictions with a value that is not watched (past `max_values`
    /// while collecting, or not among the largest after).
    pub unwatched: u64,
}

impl Split {
    pub fn new(field: &str) -> Self {
        let source = match field.strip_prefix("input.") {
            Some(name) => Field::Input(name.into()),
            None => Field::Segment,
        };
        Split {
            field: field.into(),
            source,
            state: SplitState::Collecting(Vec::new()),
            index: HashMap::new(),
            unwatched: 0,
        }
    }

    /// The prediction's value of this field, if it has one.
    pub fn value<'a>(
        &self,
        segment: Option<&'a str>,
        features: &Features<'a>,
    ) -> Option<Cow<'a, str>> {
        let value = match &self.source {
            Field::Segment => Cow::Borrowed(segment?),
            Field::Input(name) => features
                .iter()
                .find(|(n, _)| *n == &**name)?
                .1
                .category_text(),
        };
        Some(match value {
            Cow::Borrowed(s) => Cow::Borrowed(cut(s)),
            Cow::Owned(s) => Cow::Owned(cut(&s).to_owned()),
        })
    }

    /// A baseline prediction with this field's `value`.
    pub fn observe_baseline(
        &mut self,
        value: &str,
        (index, confidence, label, ts_ms): (u64, f64, u32, i64),
        max_values: usize,
        max_baseline: u64,
    ) {
        let SplitState::Collecting(builders) = &mut self.state else {
            return;
        };
        let at = match self.index.get(value) {
            Some(&at) => at,
            None if builders.len() < max_values => {
                let name: Arc<str> = value.into();
                self.index.insert(Arc::clone(&name), builders.len());
                builders.push(SegmentBuilder::new(name, max_baseline));
                builders.len() - 1
            }
            None => {
                self.unwatched += 1;
                return;
            }
        };
        builders[at].add(index, confidence, label, ts_ms);
    }

    /// Freezes the `top` largest values with at least `min_baseline`
    /// predictions into segments; the others are given up.
    pub fn freeze(&mut self, top: usize, min_baseline: u64, window: u64, window_start: u64) {
        let SplitState::Collecting(builders) = &mut self.state else {
            return;
        };
        let mut builders = std::mem::take(builders);
        // Largest first; equal sizes in the order first seen.
        builders.sort_by_key(|b| std::cmp::Reverse(b.size()));
        let segments: Vec<Segment> = builders
            .into_iter()
            .filter(|b| b.size() >= min_baseline)
            .take(top)
            .map(|b| b.freeze(&self.field, window, window_start))
            .collect();
        self.index = segments
            .iter()
            .enumerate()
            .map(|(i, s)| (Arc::clone(&s.value), i))
            .collect();
        self.state = SplitState::Watching(segments);
    }

    /// The watched segment of `value`, once frozen.
    pub fn segment_mut(&mut self, value: &str) -> Option<&mut Segment> {
        let SplitState::Watching(segments) = &mut self.state else {
            return None;
        };
        match self.index.get(value) {
            Some(&at) => segments.get_mut(at),
            None => {
                self.unwatched += 1;
                None
            }
        }
    }

    pub fn label(&mut self, index: u64, correct: bool, previous: Option<bool>) {
        match &mut self.state {
            SplitState::Collecting(builders) => {
                for b in builders {
                    b.label(index, correct, previous);
                }
            }
            SplitState::Watching(segments) => {
                for s in segments {
                    s.label(index, correct, previous);
                }
            }
        }
    }

    /// The watched segments (none while the baseline is collected).
    pub fn segments(&self) -> &[Segment] {
        match &self.state {
            SplitState::Watching(s) => s,
            SplitState::Collecting(_) => &[],
        }
    }

    pub fn segments_mut(&mut self) -> &mut [Segment] {
        match &mut self.state {
            SplitState::Watching(s) => s,
            SplitState::Collecting(_) => &mut [],
        }
    }
}

fn cut(s: &str) -> &str {
    if s.len() <= MAX_VALUE_BYTES {
        return s;
    }
    let mut end = MAX_VALUE_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(split: &mut Split, values: &[(&str, u64)], max_values: usize) {
        let mut index = 0;
        for &(value, n) in values {
            for _ in 0..n {
                split.observe_baseline(value, (index, 0.8, 0, 0), max_values, 1_000_000);
                index += 1;
            }
        }
    }

    #[test]
    fn the_largest_values_with_enough_baseline_are_watched() {
        let mut split = Split::new("segment");
        // d comes after max_values (3): not counted at all.
        feed(
            &mut split,
            &[("a", 50), ("b", 300), ("c", 250), ("d", 900)],
            3,
        );
        assert_eq!(split.unwatched, 900);
        split.freeze(2, 100, 1_000, 1_500);
        let names: Vec<&str> = split.segments().iter().map(|s| &*s.name).collect();
        assert_eq!(names, ["segment=b", "segment=c"]);
        assert!(split.segment_mut("a").is_none());
        assert_eq!(split.unwatched, 901);
        let b = split.segment_mut("b").unwrap();
        assert_eq!(
            (b.baseline.n(), b.baseline.start, b.baseline.end_exclusive),
            (300, 50, 350)
        );
    }

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        let split = Split::new("segment");
        let long = "é".repeat(MAX_VALUE_BYTES);
        let value = split.value(Some(&long), &Features::default()).unwrap();
        assert!(value.len() <= MAX_VALUE_BYTES && value.len() >= MAX_VALUE_BYTES - 1);
        assert!(long.starts_with(&*value));
        assert!(split.value(None, &Features::default()).is_none());
    }
}
