//! Making untrusted text safe to put on a terminal.
//!
//! Every string that came from a stream (labels, ids, model names, inputs,
//! malformed lines) goes through [`escape_untrusted`] before it is drawn or
//! written anywhere a terminal may read it. Control characters (C0, DEL, C1),
//! which start escape, OSC, DCS and CSI sequences, are shown as `\x1b`-style
//! escapes; bidi overrides and isolates, zero-width and other invisible format
//! characters (every one of general category Cf, and more) as `\u{202e}`;
//! and a run of more than
//! [`MAX_COMBINING_RUN`] zero-width combining marks is cut short with the
//! rest escaped, so one cell cannot swallow a screen.

use std::borrow::Cow;
use std::fmt::Write;

use unicode_width::UnicodeWidthChar;

/// Combining marks allowed on one base character before the rest are escaped.
pub const MAX_COMBINING_RUN: usize = 2;

/// Characters shown escaped although they are not control characters:
/// every format character (general category Cf), the line and paragraph
/// separators, and fillers and selectors that draw nothing.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                  // soft hyphen
        | '\u{034F}'                // combining grapheme joiner
        | '\u{0600}'..='\u{0605}'   // arabic number signs
        | '\u{061C}'                // arabic letter mark
        | '\u{06DD}' | '\u{070F}'   // arabic end of ayah, syriac abbreviation mark
        | '\u{0890}' | '\u{0891}' | '\u{08E2}'
        | '\u{115F}' | '\u{1160}'   // hangul fillers
        | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'   // mongolian selectors and vowel separator
        | '\u{200B}'..='\u{200F}'   // zero-width space/joiners, LRM, RLM
        | '\u{2028}'..='\u{202E}'   // line/paragraph separators, bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, bidi isolates
        | '\u{3164}'                // hangul filler
        | '\u{FE00}'..='\u{FE0F}'   // variation selectors
        | '\u{FEFF}'                // byte order mark / zero-width no-break space
        | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotation
        | '\u{110BD}' | '\u{110CD}' // kaithi number signs
        | '\u{13430}'..='\u{1343F}' // egyptian hieroglyph format controls
        | '\u{1BCA0}'..='\u{1BCA3}' // shorthand format controls
        | '\u{1D173}'..='\u{1D17A}' // musical symbol format controls
        | '\u{E0000}'..='\u{E007F}' // tag characters
        | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
    )
}

/// Whether a character can steer a terminal or hide itself there: control
/// characters (C0, DEL, C1) and invisible format characters. The JSON
/// writers escape these too (`record::safe_json`).
pub fn steers_terminal(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// Returns `s` with everything that could steer a terminal shown escaped.
pub fn escape_untrusted(s: &str) -> Cow<'_, str> {
    let clean = s
        .chars()
        .all(|c| !steers_terminal(c) && (c.is_ascii() || UnicodeWidthChar::width(c) != Some(0)));
    if clean {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut combining_run = 0usize;
    for c in s.chars() {
        if steers_terminal(c) {
            combining_run = 0;
            push_escaped(&mut out, c);
        } else if !c.is_ascii() && UnicodeWidthChar::width(c) == Some(0) {
            combining_run += 1;
            if combining_run > MAX_COMBINING_RUN {
                push_escaped(&mut out, c);
            } else {
                out.push(c);
            }
        } else {
            combining_run = 0;
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// Bytes of a malformed line kept for the operator.
pub const EXCERPT_BYTES: usize = 200;

/// The start of a malformed line kept for the operator: at most
/// [`EXCERPT_BYTES`], not cutting a UTF-8 character in two.
pub fn excerpt(line: &[u8]) -> &[u8] {
    let mut end = line.len().min(EXCERPT_BYTES);
    while end < line.len() && end > 0 && (line[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    &line[..end]
}

/// Escapes raw bytes that may not be UTF-8 (a malformed line as read).
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&escape_untrusted(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            escape_untrusted("fraud-v3 Zürich 東京"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(escape_untrusted("e\u{301}"), Cow::Owned(_)));
        assert_eq!(escape_untrusted("e\u{301}"), "e\u{301}");
    }

    #[test]
    fn control_and_invisible_characters_are_escaped() {
        assert_eq!(escape_untrusted("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(
            escape_untrusted("\x1b]52;c;SGVsbG8=\x07"),
            "\\x1b]52;c;SGVsbG8=\\x07"
        );
        assert_eq!(escape_untrusted("x\u{9b}31m"), "x\\x9b31m");
        assert_eq!(escape_untrusted("l\r\n\t"), "l\\r\\n\\t");
        assert_eq!(escape_untrusted("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(
            escape_untrusted("a\u{200b}b\u{feff}"),
            "a\\u{200b}b\\u{feff}"
        );
        assert_eq!(escape_untrusted("\u{7f}"), "\\x7f");
    }

    #[test]
    fn combining_pile_ups_are_cut_short() {
        let zalgo = format!("a{}", "\u{301}".repeat(10_000));
        let out = escape_untrusted(&zalgo);
        assert!(out.starts_with("a\u{301}\u{301}\\u{301}"));
        assert_eq!(out.matches('\u{301}').count(), MAX_COMBINING_RUN);
    }

    #[test]
    fn invalid_bytes_are_escaped() {
        assert_eq!(escape_bytes(b"ok\xff\x1b"), "ok\\xff\\x1b");
    }
}
