//! Turning one line of JSON into an [`Event`], or a [`Malformed`] reason.
//!
//! The canonical shape (DESIGN §3, with its aliases) is parsed into a typed
//! struct that borrows from the line; nothing goes through
//! `serde_json::Value`. Policy for hostile input, in one place:
//!
//! * not a JSON object, truncated JSON, invalid UTF-8, `NaN`/`Infinity`
//!   tokens, numbers that overflow f64 (`1e400`), nesting deeper than
//!   serde_json's limit of 128, duplicate keys: malformed, with serde_json's
//!   message (which names the column);
//! * `confidence` or a `probs` value that is not a JSON number (`"0.9"`),
//!   or is outside [0, 1]: malformed; numbers are never guessed from strings;
//! * an empty object, or a line with neither prediction nor feedback fields:
//!   malformed;
//! * labels and ids given as numbers or booleans: used as their text;
//! * a `ts` that is neither RFC 3339 nor a number: malformed; a missing one
//!   means "arrival time".

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::event::{DEFAULT_MODEL, Event, Feedback, Prediction};
use super::mapping::FieldMapping;
use super::time::{parse_rfc3339_ms, ts_from_epoch_number};

/// Why a line was not an event. Kept short: it is shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub reason: String,
}

impl Malformed {
    pub fn new(reason: impl Into<String>) -> Self {
        Malformed {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Parses lines; holds the optional field mapping for non-canonical shapes.
#[derive(Debug, Clone, Default)]
pub struct Parser {
    mapping: Option<FieldMapping>,
}

impl Parser {
    pub fn new(mapping: Option<FieldMapping>) -> Self {
        Parser {
            mapping: mapping.filter(|m| !m.is_empty()),
        }
    }

    /// Parses one line (without its line terminator).
    pub fn parse<'a>(&self, line: &'a [u8]) -> Result<Event<'a>, Malformed> {
        match &self.mapping {
            None => parse_canonical(line),
            Some(mapping) => mapping.parse(line),
        }
    }
}

/// Parses the canonical shape with its aliases.
pub fn parse_canonical(line: &[u8]) -> Result<Event<'_>, Malformed> {
    let text = json_object_text(line)?;
    let raw: RawRecord<'_> = serde_json::from_str(text).map_err(json_error)?;
    raw.into_event()
}

/// Checks that a line is UTF-8 (also inside fields nobody reads) and starts
/// like a JSON object (serde would otherwise accept an array for a struct).
pub(crate) fn json_object_text(line: &[u8]) -> Result<&str, Malformed> {
    let text = std::str::from_utf8(line)
        .map_err(|e| Malformed::new(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    match text.trim_start().as_bytes().first() {
        Some(b'{') => Ok(text),
        None => Err(Malformed::new("empty line")),
        Some(_) => Err(Malformed::new("not a JSON object")),
    }
}

pub(crate) fn json_error(e: serde_json::Error) -> Malformed {
    let what = match e.classify() {
        serde_json::error::Category::Data => "unexpected shape",
        serde_json::error::Category::Eof => "truncated JSON",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Io => "unreadable",
    };
    Malformed::new(format!("{what}: {e}"))
}

/// Every field the canonical shape knows, aliases as separate fields so that
/// `label` can mean the prediction in one event and the truth in another.
#[derive(Deserialize, Default)]
pub(crate) struct RawRecord<'a> {
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub ts: Option<TsValue<'a>>,
    #[serde(borrow, default)]
    pub timestamp: Option<TsValue<'a>>,
    #[serde(borrow, default)]
    pub time: Option<TsValue<'a>>,
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub request_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub prediction_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub inference_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub model: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub version: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub prediction: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub predicted_label: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub prediction_label: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub label: Option<Text<'a>>,
    #[serde(default)]
    pub confidence: Option<f64>,
    #[serde(default)]
    pub score: Option<f64>,
    #[serde(default)]
    pub prediction_score: Option<f64>,
    #[serde(borrow, default)]
    pub probs: Option<Probs<'a>>,
    #[serde(borrow, default)]
    pub scores: Option<Probs<'a>>,
    #[serde(borrow, default)]
    pub probabilities: Option<Probs<'a>>,
    #[serde(borrow, default)]
    pub actual_label: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub truth: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub ground_truth: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub segment: Option<Text<'a>>,
}

impl<'a> RawRecord<'a> {
    pub(crate) fn into_event(self) -> Result<Event<'a>, Malformed> {
        let kind = self.kind.map(|k| k.0);
        let predicted = first([self.prediction, self.predicted_label, self.prediction_label]);
        let confidence = self.confidence.or(self.score).or(self.prediction_score);
        let probs = first([self.probs, self.scores, self.probabilities]);
        let truth = first([self.actual_label, self.truth, self.ground_truth]);
        let has_prediction_fields = predicted.is_some() || confidence.is_some() || probs.is_some();
        let is_feedback = match kind.as_deref() {
            Some("feedback") => true,
            Some("prediction") | None => truth.is_some() && !has_prediction_fields,
            Some(other) => {
                return Err(Malformed::new(format!(
                    "unknown event type {:?}",
                    truncate_for_reason(other)
                )));
            }
        };
        let ts_ms = match first([self.ts, self.timestamp, self.time]) {
            None => None,
            Some(ts) => Some(ts.to_ms()?),
        };
        let id = first([
            self.id,
            self.request_id,
            self.prediction_id,
            self.inference_id,
        ])
        .map(|t| t.0);
        let model = match (self.model, self.version) {
            (Some(m), Some(v)) => Some(Cow::Owned(format!("{}@{}", m.0, v.0))),
            (Some(m), None) => Some(m.0),
            (None, Some(v)) => Some(Cow::Owned(format!("{DEFAULT_MODEL}@{}", v.0))),
            (None, None) => None,
        };

        if is_feedback {
            let label = truth
                .or(self.label)
                .ok_or_else(|| Malformed::new("feedback without a label"))?;
            let id = id.ok_or_else(|| Malformed::new("feedback without an id"))?;
            return Ok(Event::Feedback(Feedback {
                ts_ms,
                id,
                label: label.0,
                model,
            }));
        }

        let predicted = predicted.or(self.label).map(|t| t.0);
        if predicted.is_none() && confidence.is_none() && probs.is_none() {
            return Err(Malformed::new(
                "neither a prediction nor feedback: no prediction, confidence, probs or label fields",
            ));
        }
        let probs = match probs {
            Some(p) if p.0.is_empty() => return Err(Malformed::new("probs is empty")),
            p => p,
        };
        if let Some(c) = confidence {
            check_unit("confidence", c)?;
        }
        let (label, confidence, margin) = match (predicted, confidence, probs) {
            (Some(label), Some(conf), probs) => {
                let margin = probs.map(|p| p.margin());
                (label, conf, margin)
            }
            (Some(label), None, Some(probs)) => {
                let conf = probs.get(&label).unwrap_or_else(|| probs.arg_max().1);
                (label, conf, Some(probs.margin()))
            }
            (None, conf, Some(probs)) => {
                let margin = probs.margin();
                let (top_label, top_p) = probs.arg_max();
                (top_label.clone(), conf.unwrap_or(top_p), Some(margin))
            }
            (Some(_), None, None) => {
                return Err(Malformed::new("prediction without confidence or probs"));
            }
            (None, Some(_), None) => {
                return Err(Malformed::new(
                    "confidence without a predicted label or probs",
                ));
            }
            (None, None, None) => unreachable!("checked above"),
        };
        Ok(Event::Prediction(Prediction {
            ts_ms,
            id,
            model: model.unwrap_or(Cow::Borrowed(DEFAULT_MODEL)),
            label,
            // `+ 0.0` turns -0.0 into 0.0 so that bit patterns sort like values.
            confidence: confidence + 0.0,
            margin,
            segment: self.segment.map(|s| s.0),
        }))
    }
}

fn first<T, const N: usize>(options: [Option<T>; N]) -> Option<T> {
    options.into_iter().flatten().next()
}

fn check_unit(what: &str, x: f64) -> Result<(), Malformed> {
    if (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        Err(Malformed::new(format!("{what} {x} is outside [0, 1]")))
    }
}

pub(crate) fn truncate_for_reason(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// A label, id, model name or type: a JSON string, or a number or boolean
/// taken as its text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                // Debug keeps the ".0" of whole numbers, as JSON writers do.
                Ok(Text(Cow::Owned(format!("{v:?}"))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(if v { "true" } else { "false" })))
            }
        }
        d.deserialize_any(TextVisitor)
    }
}

/// A `probs` object: label → probability, each a number in [0, 1].
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Probs<'a>(pub Vec<(Cow<'a, str>, f64)>);

impl<'a> Probs<'a> {
    fn get(&self, label: &str) -> Option<f64> {
        self.0.iter().find(|(l, _)| l == label).map(|(_, p)| *p)
    }

    /// The most probable label; the first one listed wins a tie.
    fn arg_max(&self) -> (&Cow<'a, str>, f64) {
        let mut best = &self.0[0];
        for entry in &self.0[1..] {
            if entry.1 > best.1 {
                best = entry;
            }
        }
        (&best.0, best.1)
    }

    /// Top-1 minus top-2 probability (the top one when there is only one).
    fn margin(&self) -> f64 {
        let (mut top, mut second) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for &(_, p) in &self.0 {
            if p > top {
                second = top;
                top = p;
            } else if p > second {
                second = p;
            }
        }
        if second.is_finite() {
            top - second
        } else {
            top
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Probs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ProbsVisitor;
        impl<'de> Visitor<'de> for ProbsVisitor {
            type Value = Probs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of label to probability")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4).min(64));
                while let Some(label) = map.next_key::<Text<'de>>()? {
                    let p: f64 = map.next_value()?;
                    if !(0.0..=1.0).contains(&p) {
                        return Err(de::Error::custom(format_args!(
                            "probability {p} for {:?} is outside [0, 1]",
                            truncate_for_reason(&label.0)
                        )));
                    }
                    out.push((label.0, p + 0.0));
                }
                Ok(Probs(out))
            }
        }
        d.deserialize_map(ProbsVisitor)
    }
}

/// A timestamp as written: RFC 3339 text or epoch seconds/milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TsValue<'a> {
    Text(Cow<'a, str>),
    Number(f64),
}

impl TsValue<'_> {
    pub(crate) fn to_ms(&self) -> Result<i64, Malformed> {
        match self {
            TsValue::Text(s) => parse_rfc3339_ms(s).ok_or_else(|| {
                Malformed::new(format!(
                    "ts {:?} is not RFC 3339 or epoch seconds/milliseconds",
                    truncate_for_reason(s)
                ))
            }),
            TsValue::Number(x) => ts_from_epoch_number(*x)
                .ok_or_else(|| Malformed::new(format!("ts {x} is out of range"))),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for TsValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TsVisitor;
        impl<'de> Visitor<'de> for TsVisitor {
            type Value = TsValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 string or epoch seconds/milliseconds")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(TsValue::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TsValue::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(TsValue::Number(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(TsValue::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(TsValue::Number(v))
            }
        }
        d.deserialize_any(TsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(line: &str) -> Prediction<'_> {
        match parse_canonical(line.as_bytes()) {
            Ok(Event::Prediction(p)) => p,
            other => panic!("expected a prediction from {line}, got {other:?}"),
        }
    }

    fn malformed(line: &[u8]) -> String {
        match parse_canonical(line) {
            Err(m) => m.reason,
            Ok(e) => panic!("expected malformed, got {e:?}"),
        }
    }

    #[test]
    fn canonical_prediction() {
        let p = pred(
            r#"{"ts":"2026-11-25T10:00:00.123Z","id":"req-123","model":"fraud-v3","version":"3.1","prediction":"fraud","confidence":0.93,"probs":{"fraud":0.93,"legit":0.07},"segment":"EU","input":{"amount":125.5}}"#,
        );
        assert_eq!(p.model, "fraud-v3@3.1");
        assert_eq!(p.id.as_deref(), Some("req-123"));
        assert_eq!(p.label, "fraud");
        assert_eq!(p.confidence, 0.93);
        assert!((p.margin.unwrap() - 0.86).abs() < 1e-12);
        assert_eq!(p.segment.as_deref(), Some("EU"));
        assert_eq!(p.ts_ms, Some(1_795_600_800_123));
        assert!(matches!(p.label, Cow::Borrowed(_)));
    }

    #[test]
    fn aliases_and_probs_only() {
        let p = pred(r#"{"request_id":7,"predicted_label":1,"score":0.7}"#);
        assert_eq!(p.id.as_deref(), Some("7"));
        assert_eq!(p.label, "1");
        assert_eq!(p.model, DEFAULT_MODEL);
        let p = pred(r#"{"probabilities":{"a":0.2,"b":0.5,"c":0.3}}"#);
        assert_eq!((p.label.as_ref(), p.confidence), ("b", 0.5));
        assert!((p.margin.unwrap() - 0.2).abs() < 1e-12);
        // A given prediction takes its own probability from probs.
        let p = pred(r#"{"label":"c","scores":{"a":0.2,"b":0.5,"c":0.3}}"#);
        assert_eq!((p.label.as_ref(), p.confidence), ("c", 0.3));
        let p = pred(r#"{"prediction_label":true,"prediction_score":1}"#);
        assert_eq!((p.label.as_ref(), p.confidence), ("true", 1.0));
        let p = pred(
            r#"{"inference_id":"x","prediction":2.5,"confidence":0.5,"timestamp":1700000000}"#,
        );
        assert_eq!(p.label, "2.5");
        assert_eq!(p.ts_ms, Some(1_700_000_000_000));
        let p = pred(r#"{"prediction":"a","confidence":0.5,"time":1700000000123}"#);
        assert_eq!(p.ts_ms, Some(1_700_000_000_123));
    }

    #[test]
    fn feedback_forms() {
        fn fb(line: &str) -> Feedback<'_> {
            match parse_canonical(line.as_bytes()) {
                Ok(Event::Feedback(f)) => f,
                other => panic!("expected feedback from {line}, got {other:?}"),
            }
        }
        let f =
            fb(r#"{"type":"feedback","id":"req-123","label":"legit","ts":"2026-11-28T09:00:00Z"}"#);
        assert_eq!((f.id.as_ref(), f.label.as_ref()), ("req-123", "legit"));
        let f = fb(r#"{"prediction_id":5,"actual_label":0}"#);
        assert_eq!((f.id.as_ref(), f.label.as_ref()), ("5", "0"));
        let f = fb(r#"{"id":"a","ground_truth":"x","model":"m"}"#);
        assert_eq!(f.model.as_deref(), Some("m"));
        assert!(malformed(br#"{"type":"feedback","label":"x"}"#).contains("without an id"));
        assert!(malformed(br#"{"type":"feedback","id":"x"}"#).contains("without a label"));
    }

    #[test]
    fn hostile_inputs_are_malformed_with_reasons() {
        assert!(malformed(b"").contains("empty"));
        assert!(malformed(b"[1,2]").contains("not a JSON object"));
        assert!(malformed(b"\"just a string\"").contains("not a JSON object"));
        assert!(malformed(b"{\"prediction\":\"a\",\"confidence\":0.5").contains("truncated"));
        assert!(malformed(br#"{"prediction":"a","confidence":NaN}"#).contains("invalid JSON"));
        assert!(malformed(br#"{"prediction":"a","confidence":Infinity}"#).contains("invalid JSON"));
        assert!(malformed(br#"{"prediction":"a","confidence":1e400}"#).contains("out of range"));
        assert!(malformed(br#"{"prediction":"a","confidence":-0.1}"#).contains("outside [0, 1]"));
        assert!(malformed(br#"{"prediction":"a","confidence":1.5}"#).contains("outside [0, 1]"));
        assert!(malformed(br#"{"prediction":"a","confidence":"0.9"}"#).contains("invalid type"));
        assert!(malformed(br#"{"probs":{"a":1.2}}"#).contains("outside [0, 1]"));
        assert!(malformed(br#"{"probs":{}}"#).contains("empty"));
        assert!(malformed(b"{}").contains("neither"));
        assert!(malformed(br#"{"prediction":"a"}"#).contains("without confidence"));
        assert!(malformed(br#"{"type":"heartbeat"}"#).contains("unknown event type"));
        assert!(
            malformed(br#"{"prediction":"a","confidence":0.5,"ts":"yesterday"}"#)
                .contains("RFC 3339")
        );
        assert!(
            malformed(b"{\"prediction\":\"\xff\",\"confidence\":0.5}").contains("invalid UTF-8")
        );
        // Deep nesting where a value is read is refused at its first bracket.
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let line = format!(r#"{{"prediction":{deep},"confidence":0.5}}"#);
        assert!(malformed(line.as_bytes()).contains("unexpected shape"));
        let line = format!(r#"{{"prediction":"a","confidence":0.5,"probs":{{"a":{deep}}}}}"#);
        assert!(malformed(line.as_bytes()).contains("unexpected shape"));
        assert!(
            malformed(br#"{"prediction":"a","prediction":"b","confidence":0.5}"#)
                .contains("duplicate")
        );
    }

    #[test]
    fn deep_nesting_in_ignored_fields_is_skipped_without_recursion() {
        for depth in [200, 1_000_000] {
            let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let line = format!(r#"{{"prediction":"a","confidence":0.5,"features":{deep}}}"#);
            assert_eq!(pred(&line).label, "a");
        }
    }

    #[test]
    fn unknown_fields_are_ignored_and_negative_zero_is_zero() {
        let p = pred(
            r#"{"prediction":"a","confidence":-0.0,"features":{"x":[1,{"y":null}]},"extra":1}"#,
        );
        assert_eq!(p.confidence.to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn escaped_strings_are_owned_and_unescaped() {
        let p = pred(r#"{"prediction":"a\u001b[2J","confidence":0.5}"#);
        assert_eq!(p.label, "a\u{1b}[2J");
    }
}
