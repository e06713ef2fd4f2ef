//! Headless output: the `replay` report and (later) JSON lines for
//! `--no-tui`. Reads engine state; never changes it.

pub mod features;
pub mod replay;
pub mod segments;
pub mod stream;

pub use replay::{Report, build_report};
