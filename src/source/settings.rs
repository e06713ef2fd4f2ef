//! Settings of the live sources: the `[sources]` section of the config file,
//! `-H` header parsing, `${VAR}` expansion and credential redaction.
//!
//! ```toml
//! [sources]
//! poll_interval_ms = 250      # --poll: how often a followed file is checked
//! rotate_grace_ms = 2000      # a rotated file is still read this long
//!
//! [sources.websocket]
//! ping_interval_ms = 15000
//! pong_timeout_ms = 10000
//! queue_bytes = 33554432     # lines waiting for the engine, at most
//!
//! [[sources.source]]
//! url = "wss://models.internal/stream"
//! headers = { Authorization = "Bearer ${TOKEN}" }
//! subscribe = '{"type":"subscribe","model":"fraud-v3"}'
//! ```

use std::collections::BTreeMap;
use std::num::NonZeroU64;
use std::time::Duration;

use serde::Deserialize;

pub use crate::settings_syntax::check_header_name;
use crate::settings_syntax::expand_vars;

/// The `[sources]` section. Every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourcesConfig {
    /// Milliseconds between two checks of a followed file when polling
    /// (`--poll`, or when the file watcher cannot be created). Default 250.
    pub poll_interval_ms: NonZeroU64,
    /// Milliseconds a file renamed or deleted away (log rotation) is still
    /// read for late writes before it is closed. Default 2000.
    pub rotate_grace_ms: u64,
    /// Settings shared by every websocket source.
    pub websocket: WebSocketSettings,
    /// Settings shared by every NATS source (`[sources.nats]`).
    pub nats: super::nats_settings::NatsSettings,
    /// Per-source settings, `[[sources.source]]` tables matched to a
    /// source by its URL, exactly as given on the command line.
    #[serde(rename = "source")]
    pub sources: Vec<SourceEntry>,
}

impl Default for SourcesConfig {
    fn default() -> Self {
        SourcesConfig {
            poll_interval_ms: nonzero(250),
            rotate_grace_ms: 2000,
            websocket: WebSocketSettings::default(),
            nats: super::nats_settings::NatsSettings::default(),
            sources: Vec::new(),
        }
    }
}

impl SourcesConfig {
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.get())
    }

    pub fn rotate_grace(&self) -> Duration {
        Duration::from_millis(self.rotate_grace_ms)
    }

    /// The `[[sources.source]]` entry for this URL, if any.
    pub fn entry(&self, url: &str) -> Option<&SourceEntry> {
        self.sources.iter().find(|e| e.url == url)
    }
}

/// `[sources.websocket]`: connection behaviour of every websocket source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSocketSettings {
    /// Milliseconds allowed for TCP connect, TLS and the websocket
    /// handshake. Default 10000.
    pub connect_timeout_ms: NonZeroU64,
    /// A ping is sent after this many milliseconds without any frame from
    /// the server. Default 15000.
    pub ping_interval_ms: NonZeroU64,
    /// The server is taken for dead (and the source reconnects) when
    /// nothing arrives this many milliseconds after a ping, or when it has
    /// not read what was sent to it (the answers to its pings) for as long.
    /// Default 10000.
    pub pong_timeout_ms: NonZeroU64,
    /// First reconnect delay in milliseconds; it doubles on each failed
    /// attempt (with jitter: each wait is 50-100% of the nominal delay).
    /// Default 500.
    pub reconnect_initial_ms: NonZeroU64,
    /// Cap of the reconnect delay in milliseconds; also the wait after the
    /// server refused the credentials (HTTP 401/403) or the certificate was
    /// refused. Default 30000.
    pub reconnect_max_ms: NonZeroU64,
    /// A connection that stayed up this many milliseconds resets the delay
    /// to its first value. Default 30000.
    pub stable_after_ms: u64,
    /// Largest message read, in bytes; bigger ones are skipped and counted
    /// in `errors` (messages over four times this end the connection).
    /// Default: `input.max_line_bytes` (1 MiB).
    pub max_message_bytes: Option<NonZeroU64>,
    /// How many recent event ids are remembered to drop duplicates a server
    /// sends again after a reconnect (0 disables). Default 65536.
    pub dedup_ids: usize,
    /// Bytes of parsed lines a websocket source holds while the engine is
    /// busy; reading never pauses, so lines are dropped (counted in
    /// `dropped`, with an `ingest_overload` alert) only once this is full.
    /// Default 33554432 (32 MiB).
    pub queue_bytes: NonZeroU64,
}

impl Default for WebSocketSettings {
    fn default() -> Self {
        WebSocketSettings {
            connect_timeout_ms: nonzero(10_000),
            ping_interval_ms: nonzero(15_000),
            pong_timeout_ms: nonzero(10_000),
            reconnect_initial_ms: nonzero(500),
            reconnect_max_ms: nonzero(30_000),
            stable_after_ms: 30_000,
            max_message_bytes: None,
            dedup_ids: 65_536,
            queue_bytes: nonzero(32 << 20),
        }
    }
}

/// `[[sources.source]]`: settings of one websocket source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceEntry {
    /// The source as given on the command line: a websocket URL, or a
    /// file path (or `-`) for a `mapping` of its own.
    pub url: String,
    /// Extra handshake headers (`${VAR}` expanded from the environment when
    /// the source starts). `-H` flags with the same name take precedence.
    pub headers: BTreeMap<String, String>,
    /// A text message sent after every (re)connect, e.g. a subscription
    /// request (`${VAR}` expanded as in headers).
    pub subscribe: Option<String>,
    /// This source's own field mapping (replacing `[input.mapping]` for
    /// it), for a source whose payloads have another shape.
    pub mapping: Option<crate::record::FieldMapping>,
}

fn nonzero(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap_or(NonZeroU64::MIN)
}

/// Parses a `-H 'NAME: VALUE'` argument. Errors never repeat the value.
pub fn parse_header(arg: &str) -> Result<(String, String), String> {
    let Some((name, value)) = arg.split_once(':') else {
        return Err("a header must be given as 'NAME: VALUE'".into());
    };
    let name = name.trim();
    check_header_name(name)?;
    Ok((name.to_string(), value.trim().to_string()))
}

/// Expands `${NAME}` from the environment. Anything else, including a lone
/// `$` or `$NAME`, is kept as written.
pub fn expand_env(text: &str) -> Result<String, String> {
    expand_vars(text, |name| std::env::var(name).ok())
}

/// Query parameters whose value is hidden in displayed URLs (matched as
/// substrings of the lower-cased name).
const SECRET_PARAMS: &[&str] = &[
    "token",
    "key",
    "secret",
    "pass",
    "pwd",
    "auth",
    "sig",
    "credential",
    "session",
    "jwt",
    "code",
];

/// A URL fit for display and logs: user info and the values of query
/// parameters that look like credentials replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = match authority.rfind('@') {
        Some(i) => format!("***@{}", &authority[i + 1..]),
        None => authority.to_string(),
    };
    let (before_fragment, fragment) = match tail.find('#') {
        Some(i) => tail.split_at(i),
        None => (tail, ""),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    let mut out = format!("{scheme}{host}{path}");
    if let Some(query) = query {
        out.push('?');
        let parts: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_secret_param(k) => format!("{k}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    out.push_str(fragment);
    out
}

fn is_secret_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|s| lower.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_without_echoing_values() {
        assert_eq!(
            parse_header("Authorization:  Bearer ${T} ").unwrap(),
            ("Authorization".into(), "Bearer ${T}".into())
        );
        assert_eq!(
            parse_header("X-Empty:").unwrap(),
            ("X-Empty".into(), "".into())
        );
        let e = parse_header("Bearer s3cret").unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
        let e = parse_header("Bad Name: s3cret").unwrap_err();
        assert!(!e.contains("s3cret") && !e.contains("Bad"), "{e}");
        assert!(parse_header(": v").is_err());
    }

    #[test]
    fn env_expansion() {
        let env = |n: &str| match n {
            "TOKEN" => Some("abc".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(
            expand_vars("Bearer ${TOKEN}", env).unwrap(),
            "Bearer abc".to_string()
        );
        assert_eq!(
            expand_vars("${TOKEN}-${EMPTY}-$TOKEN-$", env).unwrap(),
            "abc--$TOKEN-$"
        );
        assert_eq!(expand_vars("plain", env).unwrap(), "plain");
        let e = expand_vars("x ${MISSING}", env).unwrap_err();
        assert!(e.contains("MISSING"), "{e}");
        assert!(expand_vars("${TOKEN", env).is_err());
        assert!(expand_vars("${1X}", env).is_err());
        assert!(expand_vars("${}", env).is_err());
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_url("wss://user:pa55@host:9/s?model=a&token=xyz&api_key=k#f"),
            "wss://***@host:9/s?model=a&token=***&api_key=***#f"
        );
        assert_eq!(redact_url("ws://h/p"), "ws://h/p");
        assert_eq!(redact_url("ws://u@h"), "ws://***@h");
        assert_eq!(redact_url("ws://h?Auth=1&x"), "ws://h?Auth=***&x");
        // An @ in the path is not user info.
        assert_eq!(redact_url("ws://h/a@b"), "ws://h/a@b");
    }

    #[test]
    fn config_keys_and_defaults() {
        let c: SourcesConfig = toml::from_str(
            "rotate_grace_ms = 100\n[websocket]\nping_interval_ms = 200\n\
             [[source]]\nurl = \"ws://h/x\"\nheaders = { A = \"b\" }\nsubscribe = \"hi\"\n",
        )
        .unwrap();
        assert_eq!(c.rotate_grace(), Duration::from_millis(100));
        assert_eq!(c.poll_interval(), Duration::from_millis(250));
        assert_eq!(c.websocket.ping_interval_ms.get(), 200);
        assert_eq!(c.websocket.pong_timeout_ms.get(), 10_000);
        assert_eq!(c.websocket.queue_bytes.get(), 32 << 20);
        let e = c.entry("ws://h/x").unwrap();
        assert_eq!(e.headers.get("A").map(String::as_str), Some("b"));
        assert_eq!(e.subscribe.as_deref(), Some("hi"));
        assert!(c.entry("ws://h/y").is_none());
        assert!(toml::from_str::<SourcesConfig>("poll_interval_ms = 0").is_err());
        assert!(toml::from_str::<SourcesConfig>("[websocket]\npong = 1").is_err());
        assert!(toml::from_str::<SourcesConfig>("[websocket]\nqueue_bytes = 0").is_err());
    }
}
