//! JSON that is safe to read in a terminal.
//!
//! Operators read the JSON modelwatch writes (`--no-tui` lines, the
//! `replay` report, baselines, exported labels, the audit log) with `tail`,
//! `less` or `jq` in a terminal. serde_json escapes only C0 controls, so a
//! stream could send DEL, a one-byte CSI (U+009B) or a bidi override through
//! it to the operator's terminal. Every JSON writer goes through this
//! formatter, which also writes each character that
//! [`steers_terminal`](super::sanitize::steers_terminal) as `\uXXXX`: still
//! valid JSON, the same value when parsed.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

use super::sanitize::steers_terminal;

/// A serde_json formatter that escapes what could steer a terminal and
/// otherwise writes what `F` writes.
#[derive(Debug, Clone, Default)]
pub struct TerminalSafe<F>(pub F);

/// Writes `value` as compact JSON.
pub fn to_writer<W: Write, T: Serialize + ?Sized>(out: W, value: &T) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, TerminalSafe(CompactFormatter));
    value.serialize(&mut ser)
}

/// Writes `value` as indented JSON.
pub fn to_writer_pretty<W: Write, T: Serialize + ?Sized>(
    out: W,
    value: &T,
) -> serde_json::Result<()> {
    let pretty = TerminalSafe(PrettyFormatter::new());
    let mut ser = serde_json::Serializer::with_formatter(out, pretty);
    value.serialize(&mut ser)
}

/// `value` as compact JSON bytes.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    to_writer(&mut out, value)?;
    Ok(out)
}

/// `value` as compact JSON text.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let bytes = to_vec(value)?;
    // The serializer writes UTF-8 only (and this formatter only ASCII escapes).
    Ok(String::from_utf8(bytes).expect("serde_json writes UTF-8"))
}

/// Writes `c` as `\uXXXX`, or as a surrogate pair beyond the BMP.
fn write_unicode_escape<W: ?Sized + Write>(out: &mut W, c: char) -> io::Result<()> {
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        write!(out, "\\u{unit:04x}")?;
    }
    Ok(())
}

impl<F: Formatter> Formatter for TerminalSafe<F> {
    /// serde_json hands over runs that need no JSON escape; ASCII below DEL
    /// passes through untouched, which is nearly all text.
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        out: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let Some(first) = bytes.iter().position(|&b| b >= 0x7F) else {
            return out.write_all(bytes);
        };
        let mut written = 0;
        for (at, c) in fragment[first..].char_indices() {
            if steers_terminal(c) {
                let at = first + at;
                out.write_all(&bytes[written..at])?;
                write_unicode_escape(out, c)?;
                written = at + c.len_utf8();
            }
        }
        out.write_all(&bytes[written..])
    }

    // Layout is the inner formatter's (compact or pretty).
    fn begin_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.0.begin_array(out)
    }
    fn end_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.0.end_array(out)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(out, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.0.end_array_value(out)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.0.begin_object(out)
    }
    fn end_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.0.end_object(out)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(out, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.0.end_object_key(out)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.0.begin_object_value(out)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.0.end_object_value(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Characters that must never reach a terminal raw.
    const HOSTILE: &[char] = &[
        '\u{1b}',
        '\u{7f}',
        '\u{80}',
        '\u{85}',
        '\u{9b}',
        '\u{9f}',
        '\u{61c}',
        '\u{200b}',
        '\u{200d}',
        '\u{200e}',
        '\u{200f}',
        '\u{2028}',
        '\u{2029}',
        '\u{202a}',
        '\u{202e}',
        '\u{2066}',
        '\u{2069}',
        '\u{feff}',
        '\u{e0001}',
        '\u{1d173}',
    ];

    #[test]
    fn terminal_steering_characters_are_escaped_and_round_trip() {
        for &c in HOSTILE {
            let text = format!("a{c}b é 東 ✓");
            let value = serde_json::json!({ text.clone(): [text.clone()] });
            for json in [
                to_string(&value).unwrap(),
                String::from_utf8({
                    let mut v = Vec::new();
                    to_writer_pretty(&mut v, &value).unwrap();
                    v
                })
                .unwrap(),
            ] {
                assert!(!json.contains(c), "{c:?} raw in {json}");
                assert!(json.contains("é 東 ✓"), "{json}");
                let back: serde_json::Value = serde_json::from_str(&json).unwrap();
                assert_eq!(back, value, "{json}");
            }
        }
    }

    #[test]
    fn plain_text_is_written_as_serde_json_writes_it() {
        let value =
            serde_json::json!({"model": "fraud@3", "label": "Zürich \"q\"\n", "n": [1, 2.5]});
        assert_eq!(
            to_string(&value).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
        assert_eq!(
            to_string("\u{9b}\u{1d173}").unwrap(),
            r#""\u009b\ud834\udd73""#
        );
        let mut pretty = Vec::new();
        to_writer_pretty(&mut pretty, &value).unwrap();
        assert_eq!(pretty, serde_json::to_vec_pretty(&value).unwrap());
    }
}
