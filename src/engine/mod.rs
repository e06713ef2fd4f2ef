//! The engine: everything between a parsed event and an alert. Knows
//! nothing of terminals, async runtimes or files.

pub mod actions;
pub mod alert_log;
pub mod alerts;
pub mod baseline;
pub mod cbpe;
pub mod compare;
pub mod detectors;
pub mod history;
pub mod ingest;
pub mod join;
pub mod labels;
pub mod model;
pub mod review;
pub mod rules;
pub mod settings;
pub mod snapshot;
mod source_health;
pub mod stats;
pub mod window;

pub use actions::Decision;
pub use ingest::{Engine, InputCounters, LineKind, LineOrigin, MalformedRecord};
pub use settings::{BaselineSpec, EngineSettings};
