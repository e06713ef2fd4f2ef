//! What a feature's value is, and reading a prediction's `input` into
//! features in one pass, without building a `serde_json::Value` or
//! allocating (but for names of nested fields).
//!
//! Policy: an `input` that is not an object has no features and is not an
//! error; top-level numbers, strings and booleans are features; a nested
//! object's scalars are features named `parent.key` (one level only);
//! arrays, nulls and anything nested deeper are skipped without recursion,
//! as fields nobody reads are. Names over [`MAX_NAME_BYTES`] are skipped,
//! and at most [`MAX_FEATURES_PER_EVENT`] features are kept from one line.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::fields::Text;
use super::malformed::MAX_NAME_BYTES;

/// One feature's value. `null` and arrays are not values (a null feature is
/// missing, an array is not a feature); strings keep their text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FeatureValue<S> {
    Number(f64),
    Text(S),
    Bool(bool),
}

impl<S> FeatureValue<S> {
    /// The same value with its text in another form.
    pub fn map_text<T>(self, f: impl FnOnce(S) -> T) -> FeatureValue<T> {
        match self {
            FeatureValue::Number(x) => FeatureValue::Number(x),
            FeatureValue::Text(s) => FeatureValue::Text(f(s)),
            FeatureValue::Bool(b) => FeatureValue::Bool(b),
        }
    }
}

impl<'a> FeatureValue<&'a str> {
    /// The value as a category's name: its text, `true`/`false`, or the
    /// number as Rust writes it. Counting, splitting into segments and
    /// marking a case all name categories by this one rule.
    pub fn category_text(self) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        match self {
            FeatureValue::Text(s) => Cow::Borrowed(s),
            FeatureValue::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
            FeatureValue::Number(x) => Cow::Owned(x.to_string()),
        }
    }
}

/// Where read features go.
pub(crate) trait FeatureSink {
    fn push(&mut self, name: &str, value: FeatureValue<&str>);
}

/// Most features read from one line; the rest of a wider `input` is skipped.
pub const MAX_FEATURES_PER_EVENT: usize = 1024;

/// Reads the features of one `input` value into `sink`; false when `json`
/// is not exactly one JSON value serde_json takes (more follows it, or a
/// number is out of f64's range), with what was read before that left in
/// `sink`.
pub(crate) fn read_input(json: &[u8], sink: &mut impl FeatureSink) -> bool {
    let mut count = 0;
    let mut de = serde_json::Deserializer::from_slice(json);
    let visitor = ValueVisitor {
        name: None,
        sink,
        count: &mut count,
    };
    de::Deserializer::deserialize_any(&mut de, visitor).is_ok() && de.end().is_ok()
}

/// Reads one value into the sink: the `input` object itself (`name`
/// None), a top-level field (`Some((name, false))`), or a field of a
/// nested object (`Some((name, true))`).
struct ValueVisitor<'v, S> {
    name: Option<(&'v str, bool)>,
    sink: &'v mut S,
    count: &'v mut usize,
}

impl<'de, S: FeatureSink> DeserializeSeed<'de> for ValueVisitor<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<S: FeatureSink> ValueVisitor<'_, S> {
    fn push<E>(self, value: FeatureValue<&str>) -> Result<(), E> {
        if let Some((name, _)) = self.name {
            self.sink.push(name, value);
            *self.count += 1;
        }
        Ok(())
    }
}

impl<'de, S: FeatureSink> Visitor<'de> for ValueVisitor<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.push(FeatureValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.push(FeatureValue::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.push(FeatureValue::Number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        // `+ 0.0`: -0.0 and 0.0 are one value.
        self.push(FeatureValue::Number(v + 0.0))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.push(FeatureValue::Text(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let parent = match self.name {
            None => None,
            Some((parent, false)) => Some(parent),
            // Deeper than one level: not a feature.
            Some((_, true)) => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(());
            }
        };
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let name = match parent {
                None => key,
                Some(p) => Cow::Owned(format!("{p}.{key}")),
            };
            if name.len() > MAX_NAME_BYTES || *self.count >= MAX_FEATURES_PER_EVENT {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            map.next_value_seed(ValueVisitor {
                name: Some((&name, parent.is_some())),
                sink: &mut *self.sink,
                count: &mut *self.count,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FeatureValue::{Bool, Number, Text as T};

    type Owned = Vec<(String, FeatureValue<String>)>;

    impl FeatureSink for Owned {
        fn push(&mut self, name: &str, value: FeatureValue<&str>) {
            Vec::push(self, (name.to_string(), value.map_text(str::to_string)));
        }
    }

    fn read(json: &str) -> Owned {
        let mut got = Owned::new();
        assert!(read_input(json.as_bytes(), &mut got), "{json}");
        got
    }

    fn owned(pairs: &[(&str, FeatureValue<&str>)]) -> Owned {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.map_text(str::to_string)))
            .collect()
    }

    #[test]
    fn scalars_are_features_and_nested_objects_flatten_one_level() {
        let got = read(
            r#"{"x":1,"y":-2.5,"z":-0.0,"s":"a\u20ac","b":false,"n":null,"arr":[1,{"z":2}],
                "o":{"p":3,"q":"t","deep":{"r":1},"l":[1]},"e":{}}"#,
        );
        assert_eq!(
            got,
            owned(&[
                ("x", Number(1.0)),
                ("y", Number(-2.5)),
                ("z", Number(0.0)),
                ("s", T("a€")),
                ("b", Bool(false)),
                ("o.p", Number(3.0)),
                ("o.q", T("t")),
            ])
        );
        let Number(zero) = got[2].1 else { panic!() };
        assert!(zero.is_sign_positive());
    }

    #[test]
    fn an_input_that_is_not_an_object_has_no_features() {
        for json in ["[1,2,{\"a\":1}]", "\"text\"", "3", "true", "null"] {
            assert!(read(json).is_empty(), "{json}");
        }
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(read(&deep).is_empty());
        let deep = format!(
            "{{\"a\":{{\"b\":{}1{}}}}}",
            "[".repeat(500),
            "]".repeat(500)
        );
        assert!(read(&deep).is_empty());
    }

    #[test]
    fn long_names_and_wide_inputs_are_cut() {
        let long = "k".repeat(MAX_NAME_BYTES + 1);
        let got = read(&format!(r#"{{"{long}":1,"ok":2,"p":{{"{long}":3}}}}"#));
        assert_eq!(got, owned(&[("ok", Number(2.0))]));
        let wide: Vec<String> = (0..MAX_FEATURES_PER_EVENT + 10)
            .map(|i| format!("\"f{i}\":{i}"))
            .collect();
        let got = read(&format!("{{{}}}", wide.join(",")));
        assert_eq!(got.len(), MAX_FEATURES_PER_EVENT);
        assert_eq!(
            got.last().unwrap().0,
            format!("f{}", MAX_FEATURES_PER_EVENT - 1)
        );
    }

    #[test]
    fn a_number_out_of_range_stops_the_read() {
        let mut got = Owned::new();
        assert!(!read_input(br#"{"a":1,"b":1e400,"c":2}"#, &mut got));
        assert_eq!(got, owned(&[("a", Number(1.0))]));
        assert!(!read_input(br#"{"a":1} ,"more":2"#, &mut Owned::new()));
    }
}
