//! Records: what one line of input means. Parsing (with field aliases and
//! mappings), line splitting with a length bound, timestamps, and escaping
//! of untrusted text. Knows nothing of statistics or terminals.

pub mod batch;
pub mod event;
mod fields;
pub mod lines;
pub mod mapping;
pub mod parse;
mod raw;
pub mod sanitize;
pub mod time;

pub use event::{DEFAULT_MODEL, Event, Feedback, Prediction};
pub use fields::class_probabilities;
pub use mapping::FieldMapping;
pub use parse::{Malformed, Parser};
