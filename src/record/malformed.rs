//! Why a line is not an event: the [`Malformed`] reason, the byte caps on
//! names and ids, and the checks and messages every path that reads an
//! event (the canonical shape, its field values and field mappings) shares.

use std::fmt;

/// Longest model name, model version, label, `probs` key or segment.
pub const MAX_NAME_BYTES: usize = 256;
/// Longest id.
pub const MAX_ID_BYTES: usize = 1024;
/// Longest reason kept: serde_json's messages quote whole values.
pub const MAX_REASON_BYTES: usize = 240;

/// Why a line was not an event. Kept short: it is shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub reason: String,
}

impl Malformed {
    /// A reason, cut to [`MAX_REASON_BYTES`] (ending in `…` when cut).
    pub fn new(reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        if reason.len() > MAX_REASON_BYTES {
            let mut cut = MAX_REASON_BYTES;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
            reason.push('…');
            reason.shrink_to_fit();
        }
        Malformed { reason }
    }
}

/// The message for a field over its cap.
pub(crate) fn over_cap(field: &str, len: usize, cap: usize) -> String {
    format!("{field} of {len} bytes is over the {cap}-byte cap")
}

/// Checks a field's length against its cap (one check for every path).
pub(crate) fn check_len(field: &str, value: &str, cap: usize) -> Result<(), Malformed> {
    if value.len() > cap {
        Err(Malformed::new(over_cap(field, value.len(), cap)))
    } else {
        Ok(())
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
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

pub(crate) fn check_unit(what: &str, x: f64) -> Result<(), Malformed> {
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
