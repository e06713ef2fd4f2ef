//! Event timestamps: RFC 3339 text or epoch seconds/milliseconds, held as
//! epoch milliseconds.

use chrono::{DateTime, SecondsFormat, Utc};

/// Numbers below this are epoch seconds, above it epoch milliseconds
/// (1e11 s is the year 5138; 1e11 ms is 1973).
const SECONDS_LIMIT: f64 = 1e11;

/// Parses RFC 3339 (`2026-11-25T10:00:00.123Z`, offsets allowed).
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Interprets a JSON number as epoch seconds (below 1e11) or milliseconds.
pub fn ts_from_epoch_number(x: f64) -> Option<i64> {
    if !x.is_finite() {
        return None;
    }
    let ms = if x.abs() < SECONDS_LIMIT {
        x * 1000.0
    } else {
        x
    };
    let ms = ms.round();
    if ms.abs() > 8.0e15 {
        return None;
    }
    let ms = ms as i64;
    DateTime::from_timestamp_millis(ms).map(|_| ms)
}

/// Formats epoch milliseconds as RFC 3339 UTC with milliseconds.
pub fn format_ms(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => String::from("invalid-time"),
    }
}

/// The wall clock in epoch milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_forms() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_rfc3339_ms("1970-01-01T01:00:01.5+01:00"), Some(1500));
        assert_eq!(
            parse_rfc3339_ms("2026-11-25T10:00:00.123Z"),
            Some(1_795_600_800_123)
        );
        assert_eq!(parse_rfc3339_ms("2026-11-25"), None);
        assert_eq!(parse_rfc3339_ms("2026-13-25T10:00:00Z"), None);
    }

    #[test]
    fn epoch_numbers() {
        assert_eq!(ts_from_epoch_number(1.5), Some(1500));
        assert_eq!(
            ts_from_epoch_number(1_700_000_000.0),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            ts_from_epoch_number(1_700_000_000_123.0),
            Some(1_700_000_000_123)
        );
        assert_eq!(ts_from_epoch_number(1e300), None);
        assert_eq!(ts_from_epoch_number(f64::NAN), None);
    }

    #[test]
    fn formats_round_trip() {
        let ms = 1_795_600_800_123;
        assert_eq!(format_ms(ms), "2026-11-25T10:00:00.123Z");
        assert_eq!(parse_rfc3339_ms(&format_ms(ms)), Some(ms));
    }
}
