//! Lines parsed ahead of the engine, in batches that can cross threads.
//!
//! Parsing is half the cost of reading a log, and it needs nothing but the
//! line: `replay` parses on one core while the engine runs on the other.
//! The strings an event borrows are copied into the batch's arena, so a
//! batch owns everything it refers to and its buffers are reused.

use std::ops::Range;

use super::event::{Event, Feedback, Prediction};
use super::features::{FeatureArena, Features};
use super::lines::Line;
use super::malformed::Malformed;
use super::parse::Parser;

/// What one line turned out to be, borrowing from wherever it was parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedLine<'a> {
    Blank,
    Event(Event<'a>),
    Malformed(Malformed),
    /// Over the length bound: its length in bytes.
    TooLong(usize),
}

impl<'a> ParsedLine<'a> {
    /// Parses one line read by a [`super::lines::LineReader`].
    pub fn parse(parser: &Parser, line: &Line<'a>) -> Self {
        match *line {
            Line::TooLong { bytes } => ParsedLine::TooLong(bytes),
            Line::Text(text) if text.iter().all(u8::is_ascii_whitespace) => ParsedLine::Blank,
            Line::Text(text) => match parser.parse(text) {
                Ok(event) => ParsedLine::Event(event),
                Err(m) => ParsedLine::Malformed(m),
            },
        }
    }
}

type Span = Range<u32>;

#[derive(Debug, Clone)]
enum Item {
    Blank,
    TooLong(usize),
    Malformed(Malformed),
    Prediction {
        ts_ms: Option<i64>,
        id: Option<Span>,
        model: Span,
        label: Span,
        confidence: f64,
        margin: Option<f64>,
        segment: Option<Span>,
        has_input: bool,
        /// Its features in the batch's arena.
        features: Span,
    },
    Feedback {
        ts_ms: Option<i64>,
        id: Span,
        label: Span,
        model: Option<Span>,
    },
}

#[derive(Debug, Clone, Default)]
pub struct ParsedBatch {
    /// Which input the lines came from (an index the producer chose).
    pub source: usize,
    /// Line number of the first item.
    pub first_line: u64,
    text: String,
    raw: Vec<u8>,
    items: Vec<(Item, Span)>,
    features: FeatureArena,
}

impl ParsedBatch {
    pub fn clear(&mut self) {
        self.text.clear();
        self.raw.clear();
        self.items.clear();
        self.features.clear();
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes held (text, raw lines and items), to bound a batch by size.
    pub fn bytes(&self) -> usize {
        self.text.len()
            + self.raw.len()
            + self.items.len() * std::mem::size_of::<(Item, Span)>()
            + self.features.bytes()
    }

    fn text(&mut self, s: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        start..self.text.len() as u32
    }

    fn raw(&mut self, bytes: &[u8]) -> Span {
        let start = self.raw.len() as u32;
        self.raw.extend_from_slice(bytes);
        start..self.raw.len() as u32
    }

    /// Parses and stores one line. With `keep_raw`, the whole line is kept
    /// (the reviewer sees it); malformed lines always keep their start.
    pub fn push(&mut self, parser: &Parser, line: Line<'_>, keep_raw: bool) {
        let bytes: &[u8] = match line {
            Line::Text(t) => t,
            Line::TooLong { .. } => &[],
        };
        self.push_parsed(ParsedLine::parse(parser, &line), bytes, keep_raw);
    }

    /// Stores a line parsed already (by a source that needed to look at the
    /// event first); `bytes` is the line as read.
    pub fn push_parsed(&mut self, parsed: ParsedLine<'_>, bytes: &[u8], keep_raw: bool) {
        let item = match parsed {
            ParsedLine::Blank => Item::Blank,
            ParsedLine::TooLong(n) => Item::TooLong(n),
            ParsedLine::Malformed(m) => {
                let raw = self.raw(super::sanitize::excerpt(bytes));
                self.items.push((Item::Malformed(m), raw));
                return;
            }
            ParsedLine::Event(Event::Prediction(p)) => Item::Prediction {
                ts_ms: p.ts_ms,
                id: p.id.as_deref().map(|s| self.text(s)),
                model: self.text(&p.model),
                label: self.text(&p.label),
                confidence: p.confidence,
                margin: p.margin,
                segment: p.segment.as_deref().map(|s| self.text(s)),
                has_input: p.has_input,
                features: if p.has_input {
                    self.features.read_line(bytes)
                } else {
                    self.features.none()
                },
            },
            ParsedLine::Event(Event::Feedback(f)) => Item::Feedback {
                ts_ms: f.ts_ms,
                id: self.text(&f.id),
                label: self.text(&f.label),
                model: f.model.as_deref().map(|s| self.text(s)),
            },
        };
        let raw = if keep_raw { self.raw(bytes) } else { 0..0 };
        self.items.push((item, raw));
    }

    /// Each line's features, in the order of [`ParsedBatch::iter`] (none
    /// but for predictions), read from the line as it was stored.
    pub fn features(&self) -> impl Iterator<Item = Features<'_>> {
        self.items.iter().map(|(item, _)| match item {
            Item::Prediction { features, .. } => self.features.get(features.clone()),
            _ => Features::default(),
        })
    }

    /// The lines in order: (line number, what it is, its raw bytes as kept).
    pub fn iter(&self) -> impl Iterator<Item = (u64, ParsedLine<'_>, &[u8])> {
        let s = |span: &Span| &self.text[span.start as usize..span.end as usize];
        self.items.iter().enumerate().map(move |(i, (item, raw))| {
            let parsed = match item {
                Item::Blank => ParsedLine::Blank,
                Item::TooLong(n) => ParsedLine::TooLong(*n),
                Item::Malformed(m) => ParsedLine::Malformed(m.clone()),
                Item::Prediction {
                    ts_ms,
                    id,
                    model,
                    label,
                    confidence,
                    margin,
                    segment,
                    has_input,
                    features: _,
                } => ParsedLine::Event(Event::Prediction(Prediction {
                    ts_ms: *ts_ms,
                    id: id.as_ref().map(|x| s(x).into()),
                    model: s(model).into(),
                    label: s(label).into(),
                    confidence: *confidence,
                    margin: *margin,
                    segment: segment.as_ref().map(|x| s(x).into()),
                    has_input: *has_input,
                })),
                Item::Feedback {
                    ts_ms,
                    id,
                    label,
                    model,
                } => ParsedLine::Event(Event::Feedback(Feedback {
                    ts_ms: *ts_ms,
                    id: s(id).into(),
                    label: s(label).into(),
                    model: model.as_ref().map(|x| s(x).into()),
                })),
            };
            let raw = &self.raw[raw.start as usize..raw.end as usize];
            (self.first_line + i as u64, parsed, raw)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind_of_line() {
        let parser = Parser::default();
        let lines: Vec<&[u8]> = vec![
            br#"{"id":"a\"1","model":"m","version":"2","prediction":"x","confidence":0.4,"probs":{"x":0.4,"y":0.35,"z":0.25},"segment":"EU","input":{"k":"v\u00e9","n":2,"o":{"b":true}}}"#,
            br#"{"type":"feedback","id":"a\"1","label":"y"}"#,
            b"   ",
            b"{oops",
        ];
        let mut batch = ParsedBatch {
            first_line: 10,
            ..ParsedBatch::default()
        };
        for l in &lines {
            batch.push(&parser, Line::Text(l), true);
        }
        batch.push(&parser, Line::TooLong { bytes: 5_000_000 }, true);
        let got: Vec<_> = batch.iter().collect();
        let features: Vec<_> = batch.features().collect();
        let first: Vec<_> = features[0].iter().map(|(name, _)| name).collect();
        assert_eq!(first, ["k", "n", "o.b"]);
        assert!(features[1..].iter().all(Features::is_empty));
        assert_eq!(got.len(), 5);
        for (i, l) in lines.iter().enumerate() {
            let direct = ParsedLine::parse(&parser, &Line::Text(l));
            assert_eq!(got[i].1, direct, "line {i}");
            assert_eq!(got[i].0, 10 + i as u64);
        }
        assert_eq!(got[0].2, lines[0]);
        assert_eq!(got[3].2, b"{oops");
        assert_eq!(got[4].1, ParsedLine::TooLong(5_000_000));
        batch.clear();
        assert!(batch.is_empty());
    }
}
