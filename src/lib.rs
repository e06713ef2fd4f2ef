//! modelwatch: watch a machine-learning model's predictions live.
//!
//! Layers, imports only going down: `main` → `commands` (with `cli`, read
//! from the command line by `argv`, and `config`, which gathers the
//! settings types of the layers below) → `ui`, `metrics` and `hooks` (sinks
//! beside `report`) and `report` → `live` → `checkpoint` → `source` and
//! `decision` → `team` (NATS: the team's streams and bucket) → `engine` →
//! `record`,
//! with `durable` (crash-safe file writes), `settings_syntax` and
//! `tls_roots` (the certificates TLS clients trust) under all.

pub mod argv;
pub(crate) mod backoff;
pub mod bounded_queue;
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod config;
pub mod decision;
pub mod durable;
pub mod engine;
pub mod hooks;
pub mod live;
pub mod metrics;
pub mod record;
pub mod report;
pub mod settings_syntax;
pub mod source;
pub mod team;
pub mod tls_roots;
pub mod ui;
