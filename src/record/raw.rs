//! One line's fields as written, before they are resolved into an event.
//!
//! Deserialised by hand rather than derived: each alias lands in its
//! canonical slot (keeping the highest-priority non-null one), so the
//! record stays small, unknown fields are skipped without being built, and
//! a key given twice is refused by name.
//!
//! Owns the canonical keys: [`KEYS`] for field mappings, and the `probs`
//! aliases that [`class_probabilities`] reads from a stored event.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::event::{DEFAULT_MODEL, Event, Feedback, Prediction};
use super::fields::{Probs, Text, TsValue};
use super::malformed::{
    MAX_ID_BYTES, MAX_NAME_BYTES, Malformed, check_len, check_unit, truncate_for_reason,
};

/// A canonical field filled from one of several keys; lower rank wins.
#[derive(Debug)]
pub(crate) struct Slot<T> {
    value: Option<T>,
    rank: u8,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            value: None,
            rank: u8::MAX,
        }
    }
}

impl<T> Slot<T> {
    fn offer(&mut self, value: Option<T>, rank: u8) {
        if let Some(v) = value
            && rank < self.rank
        {
            self.value = Some(v);
            self.rank = rank;
        }
    }
}

#[derive(Debug, Default)]
struct RawRecord<'a> {
    kind: Option<Text<'a>>,
    ts: Slot<TsValue<'a>>,
    id: Slot<Text<'a>>,
    model: Option<Text<'a>>,
    version: Option<Text<'a>>,
    /// `prediction`, `predicted_label`, `prediction_label`.
    predicted: Slot<Text<'a>>,
    /// `label`: the prediction in a prediction, the truth in feedback.
    label: Option<Text<'a>>,
    confidence: Slot<f64>,
    probs: Slot<Probs<'a>>,
    /// `actual_label`, `truth`, `ground_truth`.
    truth: Slot<Text<'a>>,
    segment: Option<Text<'a>>,
    /// Whether the line has an `input` (its features are read elsewhere:
    /// `features`).
    has_input: bool,
}

/// Every key the canonical shape reads (fields and aliases), in the order
/// of [`Key`].
pub(crate) const KEYS: [&str; 25] = [
    "type",
    "ts",
    "timestamp",
    "time",
    "id",
    "request_id",
    "prediction_id",
    "inference_id",
    "model",
    "version",
    "prediction",
    "predicted_label",
    "prediction_label",
    "label",
    "confidence",
    "score",
    "prediction_score",
    "probs",
    "scores",
    "probabilities",
    "actual_label",
    "truth",
    "ground_truth",
    "segment",
    "input",
];

/// Whether a field is one the event itself is made of (an id, the model,
/// the prediction, its confidence or probabilities, a time, a label, under
/// any of their names), as opposed to context such as `segment` or `input`
/// that is carried for the reviewer.
pub fn is_core_field(name: &str) -> bool {
    name != "segment" && KEYS.contains(&name)
}

/// The keys a probability map may stand under (`probs` and its aliases).
const PROBS_KEYS: [&str; 3] = [KEYS[17], KEYS[18], KEYS[19]];

/// The class probabilities of an event as the parser reads them (`probs`
/// or an alias, every value in [0, 1]); empty when it has none or they are
/// not valid.
pub fn class_probabilities(event: &serde_json::Value) -> Vec<(String, f64)> {
    PROBS_KEYS
        .iter()
        .find_map(|k| event.get(*k))
        .and_then(|v| Probs::deserialize(v).ok())
        .map(|p| p.0.into_iter().map(|(l, x)| (l.into_owned(), x)).collect())
        .unwrap_or_default()
}

/// A key's position in [`KEYS`], or `None` for a key nobody reads.
struct Key(Option<u8>);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

struct KeySeed;

impl Visitor<'_> for KeySeed {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        // A match compiles to a switch on length and a compare; this runs
        // for every key of every line.
        let k = match v {
            "type" => 0,
            "ts" => 1,
            "timestamp" => 2,
            "time" => 3,
            "id" => 4,
            "request_id" => 5,
            "prediction_id" => 6,
            "inference_id" => 7,
            "model" => 8,
            "version" => 9,
            "prediction" => 10,
            "predicted_label" => 11,
            "prediction_label" => 12,
            "label" => 13,
            "confidence" => 14,
            "score" => 15,
            "prediction_score" => 16,
            "probs" => 17,
            "scores" => 18,
            "probabilities" => 19,
            "actual_label" => 20,
            "truth" => 21,
            "ground_truth" => 22,
            "segment" => 23,
            "input" => 24,
            _ => return Ok(Key(None)),
        };
        debug_assert_eq!(KEYS[k as usize], v);
        Ok(Key(Some(k)))
    }
}

/// The event a line holds, or why it holds none. Resolved inside the
/// visitor so that the record's fields are never moved as a whole.
pub(crate) struct Resolved<'a>(pub Result<Event<'a>, Malformed>);

impl<'de> Deserialize<'de> for Resolved<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RecordVisitor;
        impl<'de> Visitor<'de> for RecordVisitor {
            type Value = Resolved<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut r = RawRecord::default();
                let mut seen = 0u32;
                while let Some(Key(key)) = map.next_key_seed(KeySeed)? {
                    let Some(k) = key else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    if k == 24 {
                        // Noted, not read: see `RawRecord::has_input`.
                        r.has_input = true;
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    if seen & (1 << k) != 0 {
                        return Err(de::Error::custom(format_args!(
                            "duplicate field `{}`",
                            KEYS[k as usize]
                        )));
                    }
                    seen |= 1 << k;
                    match k {
                        0 => r.kind = map.next_value()?,
                        1..=3 => r.ts.offer(map.next_value()?, k - 1),
                        4..=7 => r.id.offer(map.next_value()?, k - 4),
                        8 => r.model = map.next_value()?,
                        9 => r.version = map.next_value()?,
                        10..=12 => r.predicted.offer(map.next_value()?, k - 10),
                        13 => r.label = map.next_value()?,
                        14..=16 => r.confidence.offer(map.next_value()?, k - 14),
                        17..=19 => r.probs.offer(map.next_value()?, k - 17),
                        20..=22 => r.truth.offer(map.next_value()?, k - 20),
                        _ => r.segment = map.next_value()?,
                    }
                }
                Ok(Resolved(r.resolve()))
            }
        }
        d.deserialize_map(RecordVisitor)
    }
}

impl<'a> RawRecord<'a> {
    /// Decides what the line is and checks it (README, Events).
    fn resolve(&mut self) -> Result<Event<'a>, Malformed> {
        let kind = self.kind.take().map(|k| k.0);
        let predicted = self.predicted.value.take();
        let confidence = self.confidence.value.take();
        let probs = self.probs.value.take();
        let truth = self.truth.value.take();
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
        let ts_ms = match self.ts.value.take() {
            None => None,
            Some(ts) => Some(ts.to_ms()?),
        };
        let id = self.id.value.take().map(|t| t.0);
        if let Some(id) = &id {
            check_len("id", id, MAX_ID_BYTES)?;
        }
        let (name, version) = (self.model.take(), self.version.take());
        if let Some(name) = &name {
            if name.0.is_empty() {
                return Err(Malformed::new("empty model name"));
            }
            check_len("model name", &name.0, MAX_NAME_BYTES)?;
        }
        if let Some(version) = &version {
            check_len("model version", &version.0, MAX_NAME_BYTES)?;
        }
        let model = match (name, version) {
            (Some(m), Some(v)) => Some(Cow::Owned(format!("{}@{}", m.0, v.0))),
            (Some(m), None) => Some(m.0),
            (None, Some(v)) => Some(Cow::Owned(format!("{DEFAULT_MODEL}@{}", v.0))),
            (None, None) => None,
        };

        if is_feedback {
            let label = truth
                .or(self.label.take())
                .ok_or_else(|| Malformed::new("feedback without a label"))?;
            check_len("feedback label", &label.0, MAX_NAME_BYTES)?;
            let id = id.ok_or_else(|| Malformed::new("feedback without an id"))?;
            return Ok(Event::Feedback(Feedback {
                ts_ms,
                id,
                label: label.0,
                model,
            }));
        }

        let predicted = predicted.or(self.label.take()).map(|t| t.0);
        if predicted.is_none() && confidence.is_none() && probs.is_none() {
            return Err(Malformed::new(
                "neither a prediction nor feedback: no prediction, confidence, probs or label fields",
            ));
        }
        if probs.as_ref().is_some_and(|p| p.0.is_empty()) {
            return Err(Malformed::new("probs is empty"));
        }
        if let Some(c) = confidence {
            check_unit("confidence", c)?;
        }
        let (label, confidence, margin) = match (predicted, confidence, probs) {
            (Some(label), Some(conf), probs) => (label, conf, probs.map(|p| p.margin())),
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
        check_len("predicted label", &label, MAX_NAME_BYTES)?;
        let segment = self.segment.take().map(|s| s.0);
        if let Some(segment) = &segment {
            check_len("segment", segment, MAX_NAME_BYTES)?;
        }
        Ok(Event::Prediction(Prediction {
            ts_ms,
            id,
            model: model.unwrap_or(Cow::Borrowed(DEFAULT_MODEL)),
            label,
            // `+ 0.0` turns -0.0 into 0.0 so that bit patterns sort like values.
            confidence: confidence + 0.0,
            margin,
            segment,
            has_input: self.has_input,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key match and [`KEYS`] must agree on every position: the
    /// mapping code reads one, the parser the other.
    #[test]
    fn every_key_is_matched_at_its_position() {
        for (i, name) in KEYS.iter().enumerate() {
            let key: Result<Key, de::value::Error> = KeySeed.visit_str(name);
            assert_eq!(key.unwrap().0, Some(i as u8), "{name}");
        }
        let other: Result<Key, de::value::Error> = KeySeed.visit_str("unrelated");
        assert_eq!(other.unwrap().0, None);
    }

    #[test]
    fn class_probabilities_read_like_the_parser() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"scores":{"a":0.7,"b":0.3},"probs":null}"#).unwrap();
        assert!(class_probabilities(&v).is_empty(), "probs comes first");
        let v: serde_json::Value = serde_json::from_str(r#"{"scores":{"a":0.7,"b":0.3}}"#).unwrap();
        assert_eq!(
            class_probabilities(&v),
            [("a".to_string(), 0.7), ("b".to_string(), 0.3)]
        );
        let v: serde_json::Value = serde_json::from_str(r#"{"probs":{"a":1.5}}"#).unwrap();
        assert!(class_probabilities(&v).is_empty(), "out of range");
    }
}
