//! What a websocket source needs before its first connection: the request
//! (URL, headers with `${VAR}` expanded, basic auth from the URL's user
//! info), the subscription message, the TLS configuration (system roots
//! plus `--ca-file`) and the protocol's size limits. Everything is checked
//! when the source starts, so a mistake is one clear error instead of a
//! reconnect loop.

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

use super::settings::{SourceEntry, check_header_name, expand_env, redact_url};
use super::{SourceError, SourceOptions};

/// A websocket source ready to connect.
pub(crate) struct WsTarget {
    /// The URL as given (may hold credentials: never shown).
    url: String,
    /// Display name, credentials removed.
    pub name: String,
    /// Extra handshake headers, values marked sensitive.
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Sent after every connect.
    pub subscribe: Option<String>,
    /// `Some` for `wss://`.
    pub tls: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for WsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsTarget")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl WsTarget {
    /// Checks the URL, expands and checks headers and the subscription.
    pub fn prepare(
        url: &str,
        options: &SourceOptions,
        tls: Option<Arc<ClientConfig>>,
    ) -> Result<WsTarget, SourceError> {
        let name = redact_url(url);
        let fail = |message: String| SourceError {
            source: name.clone(),
            message,
        };
        url.into_client_request()
            .map_err(|e| fail(format!("invalid websocket URL: {e}")))?;
        let entry = options.settings.entry(url);
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        if let Some(auth) = basic_auth(url) {
            headers.push((
                HeaderName::from_static("authorization"),
                sensitive(&auth).map_err(fail)?,
            ));
        }
        // Later entries replace earlier ones: config, then -H flags.
        let config_headers = entry
            .into_iter()
            .flat_map(|e: &SourceEntry| e.headers.iter());
        let flag_headers = options.headers.iter().map(|(n, v)| (n, v));
        for (raw_name, raw_value) in config_headers.chain(flag_headers) {
            check_header_name(raw_name).map_err(fail)?;
            let header = HeaderName::from_bytes(raw_name.as_bytes())
                .map_err(|_| fail(format!("invalid header name {raw_name}")))?;
            let value =
                expand_env(raw_value).map_err(|e| fail(format!("header {raw_name}: {e}")))?;
            let value = sensitive(&value).map_err(|e| fail(format!("header {raw_name}: {e}")))?;
            headers.retain(|(n, _)| *n != header);
            headers.push((header, value));
        }
        let subscribe = match entry.and_then(|e| e.subscribe.as_deref()) {
            Some(message) => {
                Some(expand_env(message).map_err(|e| fail(format!("subscribe message: {e}")))?)
            }
            None => None,
        };
        let tls = if url
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("wss://"))
        {
            tls
        } else {
            None
        };
        Ok(WsTarget {
            url: url.to_string(),
            name,
            headers,
            subscribe,
            tls,
        })
    }

    /// A fresh handshake request (requests cannot be cloned).
    pub fn request(&self) -> Result<Request, String> {
        let mut request = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| format!("invalid websocket URL: {e}"))?;
        let map = request.headers_mut();
        for (name, value) in &self.headers {
            map.insert(name.clone(), value.clone());
        }
        Ok(request)
    }
}

fn sensitive(value: &str) -> Result<HeaderValue, String> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| "value has characters not allowed in a header".to_string())?;
    v.set_sensitive(true);
    Ok(v)
}

/// `Basic` authorization from `user:password@` in the URL, if present.
fn basic_auth(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let plain = format!("{}:{}", percent_decode(user), percent_decode(password));
    Some(format!("Basic {}", base64(plain.as_bytes())))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|&b| hex(b)),
            bytes.get(i + 2).and_then(|&b| hex(b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Bytes waiting to be sent, at most, besides the subscription message.
/// The source sends little (pongs, control messages); more than this
/// waiting means the server stopped reading.
const MAX_UNSENT_BYTES: usize = 256 << 10;

/// The protocol's limits for a source: messages are read up to four times
/// `max_message_bytes` (bigger ones end the connection), and what waits to
/// be sent is bounded, so a server that never reads (say one flooding
/// pings and never taking the pongs) cannot grow memory.
pub(crate) fn protocol_config(
    max_message_bytes: usize,
    subscribe: Option<&str>,
) -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    let max_message = max_message_bytes.saturating_mul(4);
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        // Written out at once: what the source sends is small and rare.
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_UNSENT_BYTES.saturating_add(subscribe.map_or(0, str::len)))
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message))
}

/// TLS for `wss://`: the system's root certificates plus those of
/// `ca_file` (PEM). Certificates are always verified.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, SourceError> {
    let roots = crate::tls_roots::root_store(ca_file).map_err(|message| SourceError {
        source: "--ca-file".into(),
        message,
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SourceError {
            source: "TLS".into(),
            message: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_basic_auth() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(
            basic_auth("ws://Aladdin:open%20sesame@h:1/x").as_deref(),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        assert_eq!(basic_auth("ws://h/x@y"), None);
        assert_eq!(basic_auth("ws://h"), None);
    }

    #[test]
    fn headers_merge_expand_and_hide() {
        let mut options = SourceOptions::default();
        options.settings.sources.push(SourceEntry {
            url: "ws://h/s".into(),
            headers: [
                ("X-A".to_string(), "config".to_string()),
                ("X-B".into(), "b".into()),
            ]
            .into(),
            subscribe: Some("{\"sub\":1}".into()),
            ..SourceEntry::default()
        });
        options.headers = vec![("x-a".into(), "flag".into())];
        let t = WsTarget::prepare("ws://h/s", &options, None).unwrap();
        let r = t.request().unwrap();
        assert_eq!(r.headers()["x-a"], "flag", "flags win over the config");
        assert_eq!(r.headers()["x-b"], "b");
        assert!(r.headers()["x-a"].is_sensitive());
        assert_eq!(t.subscribe.as_deref(), Some("{\"sub\":1}"));
        assert!(!format!("{t:?}").contains("flag"));

        options.headers = vec![("X-T".into(), "${MODELWATCH_SURELY_UNSET_VAR}".into())];
        let e = WsTarget::prepare("ws://h/s", &options, None).unwrap_err();
        assert!(e.message.contains("MODELWATCH_SURELY_UNSET_VAR"), "{e}");
        options.headers = vec![("X-T".into(), "bad\nvalue".into())];
        let e = WsTarget::prepare("ws://u:pw@h/s", &options, None).unwrap_err();
        assert!(!e.to_string().contains("value") || !e.to_string().contains("bad"));
        assert!(!e.to_string().contains("pw"), "{e}");
        assert!(WsTarget::prepare("ws://", &SourceOptions::default(), None).is_err());
    }
}
