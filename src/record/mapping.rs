//! Field mappings for payloads that are not in the canonical shape
//! (KServe, Seldon, OpenInference and home-grown loggers).
//!
//! Each canonical field can be taken from a JSON pointer instead of its
//! top-level key. This is the slow, generic path: the line is parsed into a
//! `serde_json::Value` once, the mapped fields are picked out, and the result
//! goes through the same validation as the canonical shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::event::Event;
use super::malformed::{Malformed, json_error, json_object_text};
use super::raw::{KEYS as CANONICAL_KEYS, Resolved};

/// Canonical field name → JSON pointer (`/outputs/0/data/0`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// Pointers by canonical field name: `ts`, `id`, `model`, `version`,
    /// `prediction`, `confidence`, `probs`, `label`, `truth`, `type`, `segment`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Names for the classes when `probs` is an array of numbers (index i
    /// gets `class_names[i]`, or its index as text when there is none).
    #[serde(default)]
    pub class_names: Vec<String>,
}

/// The canonical keys a mapping may point at.
pub const MAPPABLE_FIELDS: &[&str] = &[
    "ts",
    "id",
    "model",
    "version",
    "prediction",
    "confidence",
    "probs",
    "label",
    "truth",
    "type",
    "segment",
];

impl FieldMapping {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.class_names.is_empty()
    }

    /// Checks field names and pointer syntax; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (field, pointer) in &self.fields {
            if !MAPPABLE_FIELDS.contains(&field.as_str()) {
                return Err(format!(
                    "unknown field {field:?} in mapping (expected one of {})",
                    MAPPABLE_FIELDS.join(", ")
                ));
            }
            if !(pointer.is_empty() || pointer.starts_with('/')) {
                return Err(format!(
                    "mapping for {field:?}: {pointer:?} is not a JSON pointer (it must start with '/')"
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn parse<'a>(&self, line: &'a [u8]) -> Result<Event<'a>, Malformed> {
        let value: Value = serde_json::from_str(json_object_text(line)?).map_err(json_error)?;
        let Value::Object(top) = &value else {
            return Err(Malformed::new("unexpected shape: not a JSON object"));
        };
        let mut picked = Map::new();
        for key in CANONICAL_KEYS {
            if let Some(v) = top.get(key) {
                picked.insert(key.to_string(), v.clone());
            }
        }
        for (field, pointer) in &self.fields {
            let target = if field == "truth" {
                "actual_label"
            } else {
                field
            };
            match value.pointer(pointer) {
                Some(v) => picked.insert(target.to_string(), v.clone()),
                None => picked.remove(target),
            };
        }
        if let Some(Value::Array(items)) = picked.get("probs") {
            let named: Map<String, Value> = items
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let name = self
                        .class_names
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| i.to_string());
                    (name, p.clone())
                })
                .collect();
            picked.insert("probs".to_string(), Value::Object(named));
        }
        let picked = Value::Object(picked);
        let Resolved(event) = Resolved::deserialize(&picked).map_err(json_error)?;
        event.map(Event::into_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::parse::Parser;

    fn mapping(pairs: &[(&str, &str)]) -> FieldMapping {
        FieldMapping {
            fields: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            class_names: vec!["legit".into(), "fraud".into()],
        }
    }

    #[test]
    fn kserve_v2_response() {
        let m = mapping(&[
            ("model", "/model_name"),
            ("version", "/model_version"),
            ("probs", "/outputs/0/data"),
        ]);
        m.validate().unwrap();
        let line = br#"{"model_name":"fraud","model_version":"2","id":"r1","outputs":[{"name":"p","datatype":"FP32","shape":[2],"data":[0.2,0.8]}]}"#;
        match Parser::new(Some(m)).parse(line).unwrap() {
            Event::Prediction(p) => {
                assert_eq!(p.model, "fraud@2");
                assert_eq!(p.id.as_deref(), Some("r1"));
                assert_eq!((p.label.as_ref(), p.confidence), ("fraud", 0.8));
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn openinference_feedback_and_missing_pointer() {
        let m = mapping(&[
            ("id", "/context/span_id"),
            ("truth", "/attributes/ground_truth"),
        ]);
        let p = Parser::new(Some(m));
        let line = br#"{"context":{"span_id":"s1"},"attributes":{"ground_truth":"spam"}}"#;
        match p.parse(line).unwrap() {
            Event::Feedback(f) => assert_eq!((f.id.as_ref(), f.label.as_ref()), ("s1", "spam")),
            e => panic!("{e:?}"),
        }
        assert!(p.parse(br#"{"context":{}}"#).is_err());
        assert!(p.parse(b"[]").is_err());
    }

    #[test]
    fn mapped_fields_have_the_same_caps() {
        let p = Parser::new(Some(mapping(&[("model", "/m"), ("probs", "/p")])));
        let long = "x".repeat(crate::record::malformed::MAX_NAME_BYTES + 1);
        let line = format!(r#"{{"m":"{long}","p":[0.2,0.8]}}"#);
        let reason = p.parse(line.as_bytes()).unwrap_err().reason;
        assert!(
            reason.contains("model name of 257 bytes is over the 256-byte cap"),
            "{reason}"
        );
        assert_eq!(
            p.parse(br#"{"m":"","p":[0.2,0.8]}"#).unwrap_err().reason,
            "empty model name"
        );
        let named = Parser::new(Some(FieldMapping {
            fields: [("probs".to_string(), "/p".to_string())].into(),
            class_names: vec![long.clone(), "b".into()],
        }));
        let reason = named.parse(br#"{"p":[0.2,0.8]}"#).unwrap_err().reason;
        assert!(reason.contains("probs key of 257 bytes"), "{reason}");
    }

    #[test]
    fn validation_names_the_field() {
        assert!(
            mapping(&[("bogus", "/x")])
                .validate()
                .unwrap_err()
                .contains("bogus")
        );
        assert!(
            mapping(&[("id", "x")])
                .validate()
                .unwrap_err()
                .contains("JSON pointer")
        );
    }
}
