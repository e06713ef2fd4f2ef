//! Sources of lines: files (read to the end or followed), and later
//! websockets, stdin and the demo generator. Sources know nothing of
//! statistics.

pub mod input;
