//! Operator decisions: the hash-chained audit log, its verification and
//! label export, and the kill switch with its actuators.
//!
//! Everything a decision touches is written to the audit log (and
//! fsynced) before anything else happens; see [`audited`] for the calls the
//! session and the commands make.

pub(crate) mod actuators;
pub mod audit;
mod audit_file;
pub mod audit_record;
pub mod audited;
pub mod export;
pub mod kill_ledger;
pub mod kill_request;
pub mod kill_switch;
pub mod kill_watch;
pub mod settings;
pub mod template;
pub mod verify;
