//! Team mode on NATS JetStream (DESIGN §8): what the NATS source and the
//! shared kill switch have in common — `nats://` URLs and the connection to
//! a NATS cluster (`link`) — and the shared kill switch's KV bucket
//! (`kill_kv`: key encoding, trip, reset with the expected revision, and a
//! watch every dashboard keeps on the bucket), the team's alerts and
//! acknowledgements in the stream `MW_ALERTS` (`alerts*`), and the team's
//! review decisions in the `MW_DECISIONS` stream (`decisions`: subjects,
//! publish once per case; `decisions_watch`: what a dashboard sees of them).
//!
//! This module knows nothing of the sources or the audit log, and of the
//! engine only its alerts (`alerts*`): the NATS source (`source::nats`), the
//! `nats_kv` actuator, the kill watch and the session's sinks use it.

pub mod alerts;
pub mod alerts_publish;
pub mod alerts_sync;
pub mod alerts_watch;
pub mod decisions;
pub mod decisions_seen;
pub mod decisions_watch;
pub mod kill_kv;
pub mod kill_kv_watch;
pub mod link;
pub mod nats_url;
pub mod open;
pub mod settings;
