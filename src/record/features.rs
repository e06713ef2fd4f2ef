//! A prediction's input features: the top-level scalars of its `input`
//! object, nested objects flattened one level as `a.b` (README, Input
//! features). What they mean — kinds, caps, statistics — is the engine's
//! business.
//!
//! The line parser leaves `input` alone, so a line without one costs
//! nothing. A prediction's features are read from its line
//! (`input_span`, `input_features`) where they are used: into a batch's
//! [`FeatureArena`] on the parsing thread, so that the engine thread reads
//! them ([`Features`]) without allocating.

use std::ops::Range;

pub use super::input_features::FeatureValue;
use super::input_features::{FeatureSink, read_input};
use super::input_span::{find_input, last_input};

/// A feature in a [`FeatureArena`]: byte ranges of its text.
type PackedFeature = (Range<u32>, FeatureValue<Range<u32>>);

/// The features of some predictions (a batch's), their strings in one
/// buffer.
#[derive(Debug, Clone, Default)]
pub struct FeatureArena {
    text: String,
    items: Vec<PackedFeature>,
}

impl FeatureSink for FeatureArena {
    fn push(&mut self, name: &str, value: FeatureValue<&str>) {
        let name = self.push_text(name);
        let value = value.map_text(|s| self.push_text(s));
        self.items.push((name, value));
    }
}

impl FeatureArena {
    /// An arena holding the features of one prediction's line, and where
    /// they are.
    pub fn of_line(line: &[u8]) -> (Self, Range<u32>) {
        let mut arena = FeatureArena::default();
        let at = arena.read_line(line);
        (arena, at)
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.items.clear();
    }

    /// Bytes held, to bound a batch by size.
    pub fn bytes(&self) -> usize {
        self.text.len() + self.items.len() * std::mem::size_of::<PackedFeature>()
    }

    /// Reads the features of a prediction's line in (its `input`, found as
    /// `input_span` says); where they are. An `input` that is not an
    /// object, or whose numbers overflow f64, has none.
    pub fn read_line(&mut self, line: &[u8]) -> Range<u32> {
        if let Some(guess) = last_input(line)
            && let Some(at) = self.read(guess)
        {
            return at;
        }
        find_input(line)
            .and_then(|input| self.read(input))
            .unwrap_or_else(|| self.none())
    }

    /// No features: an empty range.
    pub fn none(&self) -> Range<u32> {
        let at = self.items.len() as u32;
        at..at
    }

    /// Reads one `input` value in; `None` (and nothing kept) when it is not
    /// exactly one value serde_json takes.
    fn read(&mut self, input: &[u8]) -> Option<Range<u32>> {
        let (items, text) = (self.items.len(), self.text.len());
        if read_input(input, self) {
            Some(items as u32..self.items.len() as u32)
        } else {
            self.items.truncate(items);
            self.text.truncate(text);
            None
        }
    }

    fn push_text(&mut self, s: &str) -> Range<u32> {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        start..self.text.len() as u32
    }

    /// The features read at `at`.
    pub fn get(&self, at: Range<u32>) -> Features<'_> {
        Features {
            text: &self.text,
            items: &self.items[at.start as usize..at.end as usize],
        }
    }
}

/// One prediction's features as read, in the order its `input` gave them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Features<'a> {
    text: &'a str,
    items: &'a [PackedFeature],
}

impl<'a> Features<'a> {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Name and value of each feature.
    pub fn iter(self) -> impl Iterator<Item = (&'a str, FeatureValue<&'a str>)> {
        let text = self.text;
        let at = move |r: &Range<u32>| &text[r.start as usize..r.end as usize];
        self.items
            .iter()
            .map(move |(name, value)| (at(name), value.clone().map_text(|r| at(&r))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_is_read_into_the_arena() {
        let mut arena = FeatureArena::default();
        let none = arena.none();
        let at = arena.read_line(br#"{"input":{"a":1.5,"b":"x\u20ac","c":true,"d":null},"z":0}"#);
        assert_eq!((none, at.clone()), (0..0, 0..3));
        let got: Vec<_> = arena.get(at).iter().collect();
        assert_eq!(
            got,
            [
                ("a", FeatureValue::Number(1.5)),
                ("b", FeatureValue::Text("x€")),
                ("c", FeatureValue::Bool(true)),
            ]
        );
        assert_eq!(arena.get(0..3).len(), 3);
        assert!(Features::default().is_empty());
        // Read but holding nothing: not an object, or a number out of range.
        for json in ["[1]", r#"{"a":1,"b":1e400}"#] {
            let line = format!(r#"{{"prediction":"a","confidence":0.5,"input":{json}}}"#);
            let (arena, at) = FeatureArena::of_line(line.as_bytes());
            assert!(arena.get(at).is_empty() && arena.bytes() == 0, "{json}");
        }
        let (one, at) = FeatureArena::of_line(br#"{"input":{"k":"v"}}"#);
        assert_eq!(
            one.get(at).iter().next(),
            Some(("k", FeatureValue::Text("v")))
        );
        arena.clear();
        assert_eq!(arena.bytes(), 0);
    }
}
