//! Turning one line of JSON into an [`Event`], or a [`Malformed`] reason.
//!
//! The canonical shape (README, Events, with its aliases) is parsed into a typed
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
//!   means "arrival time";
//! * a model name, version, label, `probs` key or segment longer than
//!   [`MAX_NAME_BYTES`], an id longer than [`MAX_ID_BYTES`], an empty model
//!   name: malformed, naming the field and the cap (the caps and checks are
//!   in [`super::malformed`], shared by the canonical shape and field
//!   mappings). Whatever is kept of an event is then bounded in bytes.
//!
//! [`MAX_NAME_BYTES`]: super::malformed::MAX_NAME_BYTES
//! [`MAX_ID_BYTES`]: super::malformed::MAX_ID_BYTES

use super::event::Event;
use super::malformed::{Malformed, json_error, json_object_text};
use super::mapping::FieldMapping;
use super::raw::Resolved;

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
    let Resolved(event) = serde_json::from_str(text).map_err(json_error)?;
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::event::{DEFAULT_MODEL, Feedback, Prediction};
    use crate::record::malformed::{MAX_ID_BYTES, MAX_NAME_BYTES, MAX_REASON_BYTES};
    use std::borrow::Cow;

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
    fn fields_over_their_caps_are_malformed_naming_field_and_cap() {
        let name = "n".repeat(MAX_NAME_BYTES);
        let long = "n".repeat(MAX_NAME_BYTES + 1);
        let id = "i".repeat(MAX_ID_BYTES);
        let long_id = "i".repeat(MAX_ID_BYTES + 1);
        let at_caps = format!(
            r#"{{"id":"{id}","model":"{name}","version":"{name}","prediction":"{name}","confidence":0.5,"probs":{{"{name}":0.5}},"segment":"{name}"}}"#
        );
        assert_eq!(pred(&at_caps).label, name);
        let cases = [
            (
                format!(r#"{{"model":"{long}","prediction":"a","confidence":0.5}}"#),
                "model name of 257 bytes is over the 256-byte cap",
            ),
            (
                format!(r#"{{"version":"{long}","prediction":"a","confidence":0.5}}"#),
                "model version of 257 bytes",
            ),
            (
                format!(r#"{{"prediction":"{long}","confidence":0.5}}"#),
                "predicted label of 257 bytes",
            ),
            (
                format!(r#"{{"probs":{{"{long}":0.5}}}}"#),
                "probs key of 257 bytes is over the 256-byte cap",
            ),
            (
                format!(r#"{{"prediction":"a","confidence":0.5,"segment":"{long}"}}"#),
                "segment of 257 bytes",
            ),
            (
                format!(r#"{{"id":"{long_id}","prediction":"a","confidence":0.5}}"#),
                "id of 1025 bytes is over the 1024-byte cap",
            ),
            (
                format!(r#"{{"type":"feedback","id":"{long_id}","label":"a"}}"#),
                "id of 1025 bytes",
            ),
            (
                format!(r#"{{"type":"feedback","id":"x","label":"{long}"}}"#),
                "feedback label of 257 bytes is over the 256-byte cap",
            ),
            (
                r#"{"model":"","prediction":"a","confidence":0.5}"#.to_string(),
                "empty model name",
            ),
        ];
        for (line, reason) in cases {
            let got = malformed(line.as_bytes());
            assert!(got.contains(reason), "{got} (expected {reason})");
        }
    }

    #[test]
    fn reasons_quoting_huge_values_are_cut_short() {
        let huge = "x".repeat(1 << 20);
        let got = malformed(format!(r#"{{"prediction":"a","confidence":"{huge}"}}"#).as_bytes());
        assert!(
            got.starts_with("unexpected shape: invalid type: string"),
            "{got}"
        );
        assert!(got.len() <= MAX_REASON_BYTES + '…'.len_utf8() && got.ends_with('…'));
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
