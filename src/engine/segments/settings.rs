//! `[segments]`: which fields split a model's traffic into segments, and
//! the caps that bound what each split keeps.

use serde::{Deserialize, Serialize};

/// Longest field name a split may be given.
const MAX_FIELD_BYTES: usize = 256;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentSettings {
    pub enabled: bool,
    /// What splits the traffic: `segment` (the event's field) or
    /// `input.NAME` (an input feature, its value as text).
    pub fields: Vec<String>,
    /// Segments watched per field: the largest in the baseline.
    pub top: usize,
    /// Distinct values counted per field while the baseline is collected;
    /// values first seen after these are not watched.
    pub max_values: usize,
    /// Predictions a segment needs in the baseline to be watched.
    pub min_baseline: u64,
}

impl Default for SegmentSettings {
    fn default() -> Self {
        SegmentSettings {
            enabled: true,
            fields: vec!["segment".into()],
            top: 8,
            max_values: 64,
            min_baseline: 200,
        }
    }
}

impl SegmentSettings {
    pub fn validate(&self) -> Result<(), String> {
        if self.fields.len() > 8 {
            return Err(format!(
                "segments.fields: at most 8 fields, not {}",
                self.fields.len()
            ));
        }
        for f in &self.fields {
            if f.is_empty() || f.len() > MAX_FIELD_BYTES {
                return Err(format!(
                    "segments.fields: a field name must be 1 to {MAX_FIELD_BYTES} bytes"
                ));
            }
            if f != "segment" && f.strip_prefix("input.").is_none_or(str::is_empty) {
                return Err(format!(
                    "segments.fields: {:?} is neither \"segment\" nor \"input.NAME\"",
                    crate::record::sanitize::escape_untrusted(f)
                ));
            }
        }
        if !(1..=64).contains(&self.top) {
            return Err(format!("segments.top: 1 to 64, not {}", self.top));
        }
        if self.max_values < self.top || self.max_values > 1024 {
            return Err(format!(
                "segments.max_values: from segments.top ({}) to 1024, not {}",
                self.top, self.max_values
            ));
        }
        Ok(())
    }
}
