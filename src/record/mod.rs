//! Records: what one line of input means. Parsing (with field aliases and
//! mappings), line splitting with a length bound, timestamps, escaping
//! of untrusted text, and JSON output that cannot steer a terminal. Knows
//! nothing of statistics.
//!
//! Inside, imports go one way: [`malformed`] (reasons and caps) ← `fields`
//! (field values) ← `raw` (the canonical shape and its keys) ← [`mapping`]
//! ← [`parse`] (the [`Parser`]) ← [`batch`]; beside the parser, features:
//! `input_span` (where `input` is in a line) and [`input_features`]
//! (reading it) ← [`features`] (a batch's arena of them) ← [`batch`].

pub mod batch;
pub mod event;
pub mod features;
mod fields;
pub mod input_features;
mod input_span;
pub mod lines;
pub mod malformed;
pub mod mapping;
pub mod parse;
mod raw;
pub mod safe_json;
pub mod sanitize;
pub mod time;

pub use event::{DEFAULT_MODEL, Event, Feedback, Prediction};
pub use malformed::Malformed;
pub use mapping::FieldMapping;
pub use parse::Parser;
pub use raw::{class_probabilities, is_core_field};
