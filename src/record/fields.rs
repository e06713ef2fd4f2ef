//! Deserialisers for the values of event fields: texts that may be
//! numbers or booleans, probability maps, and timestamps.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use smallvec::SmallVec;

use super::malformed::{MAX_NAME_BYTES, Malformed, over_cap, truncate_for_reason};
use super::time::{parse_rfc3339_ms, ts_from_epoch_number};

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

/// A `probs` object: label → probability, each a number in [0, 1]. Up to
/// four classes are held without allocating.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Probs<'a>(pub SmallVec<[(Cow<'a, str>, f64); 4]>);

impl<'a> Probs<'a> {
    pub(crate) fn get(&self, label: &str) -> Option<f64> {
        self.0.iter().find(|(l, _)| l == label).map(|(_, p)| *p)
    }

    /// The most probable label; the first one listed wins a tie.
    pub(crate) fn arg_max(&self) -> (&Cow<'a, str>, f64) {
        let mut best = &self.0[0];
        for entry in &self.0[1..] {
            if entry.1 > best.1 {
                best = entry;
            }
        }
        (&best.0, best.1)
    }

    /// Top-1 minus top-2 probability (the top one when there is only one).
    pub(crate) fn margin(&self) -> f64 {
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

impl<'de> Deserialize<'de> for Probs<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ProbsVisitor;
        impl<'de> Visitor<'de> for ProbsVisitor {
            type Value = Probs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of label to probability")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = SmallVec::new();
                while let Some(label) = map.next_key::<Text<'de>>()? {
                    if label.0.len() > MAX_NAME_BYTES {
                        let why = over_cap("probs key", label.0.len(), MAX_NAME_BYTES);
                        return Err(de::Error::custom(why));
                    }
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
