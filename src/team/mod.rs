//! Team mode on NATS JetStream (DESIGN §8): `nats://` URLs and the
//! connection to a NATS cluster (`link`), which the NATS source uses.
//!
//! This module knows nothing of the engine, the sources or the audit log.

pub mod link;
pub mod nats_url;
