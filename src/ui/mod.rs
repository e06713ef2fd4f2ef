//! The operator's terminal dashboard (ratatui + crossterm).
//!
//! ```text
//!  KILL: ARMED │ PAUSED +340 new │ ticket-router@2.1 (1/2) │ 200/s │ demo (seed 7) following 12.3k lines  ← status.rs
//!  ⚠ ACTIONS REFUSED: read-only mode / KILL: NOT CONFIRMED + per-actuator lines (only when there is one)   ← status.rs
//! ┌Confidence──────────────────────────┐┌Prediction mix: window vs baseline──────┐
//! │now ⣿ .81 [.55–.97] · base • .85 …  ││A billing   ████▌   35.1% base 34.8%    │  chart.rs, mix.rs
//! │1 ⠉⠒⠤⣀ mean, p10–p90 band, baseline, ││B technical ██▌     30.2% base 35.0% ▼  │
//! │  ▀▀▀▀ review threshold             ││AABBBBAC… mix over time (when roomy)     │
//! └────────────────────────────────────┘└────────────────────────────────────────┘
//! ┌Drift: window vs baseline──────┐┌Alerts: 1 active, 2 recent──┐┌Accuracy────────┐
//! │KS   D .142 p 3e-12 ↓ ALERT for 340 ││CRITICAL confidence drift ↓ ││realized  last …│  drift.rs, alerts.rs
//! │PSI, chi², JS, W1 norm, PH, ADWIN   ││warning  malformed burst …  ││estimated win … │  (3 columns ≥ 120 wide,
//! └───────────────────────────────┘└────────────────────────────┘└────────────────┘   accuracy under alerts below)
//! ┌▶ Review: 12 in queue · 0 evicted · conf <0.60 ┐┌Case──────────────────────────────┐
//! │▶t-0000123  A billing   0.412  12s pending      ││id, model, label, conf, waited     │  review.rs
//! │ t-0000119  B technical 0.501  14s skipped      ││A billing ████ 41.2% (probs bars)  │
//! │                                                ││input: pretty JSON, escaped        │
//! └────────────────────────────────────────────────┘└───────────────────────────────────┘
//!  a approve  o override  K KILL  ? help  e escalate  s skip …  ⚠ 3 malformed: L  ← hints.rs: from the keymap (or the last outcome)
//! ```
//! Dialogs (help, kill switch, reset, re-baseline, label picker, escalation
//! note) draw over it (`draw/overlay.rs`); the alert history (`H`) and the
//! malformed lines (`L`) take the panels' place under the same status bar
//! and key line (`screen.rs`, `draw/history.rs`, `draw/malformed.rs`);
//! below 60×20 a "terminal too small" screen that still names the kill
//! switch's state.
//!
//! Shape: [`app::App`] is the state, changed only by [`keymap::Action`]s
//! and dialog input, asking for work through [`effect::Effect`]s;
//! [`draw::draw`] is a pure function of the app, an engine
//! [`Snapshot`](crate::engine::snapshot::Snapshot) (copied once per frame,
//! not at all while paused) and a [`draw::ScreenContext`]; [`run`] is the
//! `select!` loop that connects them to the live session and the desk.
//! Every string from the stream is escaped (`record::sanitize`) before it
//! reaches the terminal.

pub mod app;
pub mod dialog;
pub mod draw;
pub mod effect;
mod event_loop;
#[doc(hidden)]
pub mod fixture;
pub mod keymap;
pub mod label_picker;
pub mod list_page;
pub mod note;
pub mod review_page;
pub mod screen;
pub mod settings;
mod terminal;
pub mod theme;

#[cfg(test)]
mod features_tests;
#[cfg(test)]
mod fleet_tests;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod render_tests;
#[cfg(test)]
mod screen_tests;
#[cfg(test)]
mod segments_tests;

pub use draw::{ScreenContext, draw};
pub use event_loop::{UiExit, run};
pub use settings::{UiConfig, UiSettings};
