//! `[sources.nats]`: how every `nats://` / `tls://` source connects and
//! holds what the engine has not taken yet.
//!
//! ```toml
//! [sources.nats]
//! credentials_file = "/etc/modelwatch/watcher.creds"
//! queue_bytes = 33554432
//! ```

use std::num::NonZeroU64;
use std::path::PathBuf;

use serde::Deserialize;

/// The `[sources.nats]` section. Every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsSettings {
    /// A NATS credentials file (JWT and seed, as `nsc` writes it), read
    /// when a source starts; a missing or invalid file stops the command
    /// before anything starts. User and password may instead be given in
    /// the URL (`nats://user:pass@host:4222/...`). Default: none.
    pub credentials_file: Option<PathBuf>,
    /// Milliseconds allowed to connect (TCP, TLS, the server's greeting).
    /// Default 5000.
    pub connect_timeout_ms: NonZeroU64,
    /// First reconnect delay; it doubles on each failed attempt (each wait
    /// 50–100% of the nominal delay). Default 500.
    pub reconnect_initial_ms: NonZeroU64,
    /// Cap of the reconnect delay; also the wait after the server refused
    /// the credentials or the certificate. Default 30000.
    pub reconnect_max_ms: NonZeroU64,
    /// Largest message read, in bytes; bigger ones are skipped and counted
    /// in `errors`. Default: `input.max_line_bytes` (1 MiB).
    pub max_message_bytes: Option<NonZeroU64>,
    /// Bytes of parsed lines held while the engine is busy. A core
    /// subscription never stops reading, so lines are dropped (counted in
    /// `dropped`, with an `ingest_overload` alert) once this is full; a
    /// JetStream consumer stops fetching instead (the stream keeps the
    /// messages: nothing is lost). Default 33554432 (32 MiB).
    pub queue_bytes: NonZeroU64,
}

impl Default for NatsSettings {
    fn default() -> Self {
        let n = |v: u64| NonZeroU64::new(v).unwrap_or(NonZeroU64::MIN);
        NatsSettings {
            credentials_file: None,
            connect_timeout_ms: n(5_000),
            reconnect_initial_ms: n(500),
            reconnect_max_ms: n(30_000),
            max_message_bytes: None,
            queue_bytes: n(32 << 20),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_defaults() {
        let s: NatsSettings =
            toml::from_str("credentials_file = \"/x.creds\"\nqueue_bytes = 1024\n").unwrap();
        assert_eq!(s.credentials_file, Some(PathBuf::from("/x.creds")));
        assert_eq!(s.queue_bytes.get(), 1024);
        assert_eq!(s.reconnect_max_ms.get(), 30_000);
        assert!(toml::from_str::<NatsSettings>("queue_bytes = 0").is_err());
        assert!(toml::from_str::<NatsSettings>("creds = \"x\"").is_err());
    }
}
