//! `[[alerts.hook]]`: where alert transitions are delivered. Everything is
//! checked while the TOML is read, so a bad hook is a config error naming
//! the file and line, never a surprise when the first alert fires.
//!
//! ```toml
//! [[alerts.hook]]
//! kind = "webhook"
//! url = "http://alertmanager:9093/api/v2/alerts"
//! format = "alertmanager"            # or "json" (the --no-tui alert line)
//! headers = { Authorization = "Bearer ${AM_TOKEN}" }
//! labels = { team = "ml" }           # alertmanager: added to every alert
//! timeout = "5s"
//!
//! [[alerts.hook]]
//! kind = "command"
//! argv = ["/usr/local/bin/page-oncall", "--from", "modelwatch"]
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::decision::template::check_env_refs;
use crate::settings_syntax::check_header_name;

/// Longest wait for one delivery attempt.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// Most attempts of one delivery.
pub const MAX_ATTEMPTS: u32 = 20;

/// One hook: where deliveries go, and how they are retried and bounded.
#[derive(Debug, Clone, PartialEq)]
pub struct HookSpec {
    /// For logs and metrics: `name`, else `webhook-N` / `command-N`.
    pub name: String,
    pub target: HookTarget,
    /// Attempts of one delivery before it is given up (default 5).
    pub attempts: u32,
    /// Wait before the first retry; it doubles on each (default 1s), with
    /// jitter, up to `backoff_max` (default 1m).
    pub backoff: Duration,
    pub backoff_max: Duration,
    /// Longest wait for one attempt (default 5s).
    pub timeout: Duration,
    /// Transitions waiting for delivery, at most (default 1000 and 1 MiB):
    /// past that new ones are dropped and counted, never waited for.
    pub queue_items: usize,
    pub queue_bytes: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HookTarget {
    Webhook(WebhookSpec),
    Command(CommandHookSpec),
}

/// `kind = "webhook"`: a POST of the transition; any 2xx delivers it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSpec {
    /// `http://` or `https://`; `${VAR}` expanded from the environment when
    /// the session starts (only scheme, host and path are ever shown).
    pub url: String,
    pub format: BodyFormat,
    /// Extra headers; values may hold `${VAR}` (expanded at start; a missing
    /// variable stops the start). Values are never shown or logged.
    pub headers: BTreeMap<String, String>,
    /// A CA (PEM) trusted for `https://` besides the system roots and
    /// `--ca-file`.
    pub ca_file: Option<PathBuf>,
    /// `alertmanager`: labels added to every alert (for routing).
    pub labels: BTreeMap<String, String>,
    /// `alertmanager`: how often active alerts are sent again (default 1m;
    /// "0s" never), as Prometheus does, so Alertmanager does not resolve
    /// them on its own; each carries `endsAt` four of these ahead.
    pub resend: Duration,
}

/// The body of a webhook delivery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// The `--no-tui` alert line, plus `at` and `delivery_id`.
    #[default]
    Json,
    /// Alertmanager's `POST /api/v2/alerts`: a JSON array of alerts.
    Alertmanager,
}

/// `kind = "command"`: a program run directly (no shell), the transition
/// as JSON on its stdin and in `MODELWATCH_ALERT_*` variables; exit 0
/// delivers it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandHookSpec {
    /// Fixed text: nothing from an alert is ever put in the arguments.
    pub argv: Vec<String>,
}

/// `[[alerts.hook]]` tables as a list, each checked with its position.
pub fn hook_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<HookSpec>, D::Error> {
    let raw = Vec::<RawHook>::deserialize(d)?;
    let mut names: Vec<String> = Vec::new();
    let mut hooks = Vec::with_capacity(raw.len());
    for (i, raw) in raw.into_iter().enumerate() {
        let spec = HookSpec::from_raw(raw, i + 1)
            .map_err(|e| serde::de::Error::custom(format!("alerts.hook[{}]: {e}", i + 1)))?;
        if names.contains(&spec.name) {
            return Err(serde::de::Error::custom(format!(
                "alerts.hook[{}]: name {:?} is used twice",
                i + 1,
                spec.name
            )));
        }
        names.push(spec.name.clone());
        hooks.push(spec);
    }
    Ok(hooks)
}

/// A hook table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHook {
    kind: Kind,
    name: Option<String>,
    url: Option<String>,
    format: Option<BodyFormat>,
    headers: Option<BTreeMap<String, String>>,
    ca_file: Option<PathBuf>,
    labels: Option<BTreeMap<String, String>>,
    resend: Option<String>,
    argv: Option<Vec<String>>,
    attempts: Option<u32>,
    backoff: Option<String>,
    backoff_max: Option<String>,
    timeout: Option<String>,
    queue_items: Option<usize>,
    queue_bytes: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Webhook,
    Command,
}

fn duration(key: &str, value: Option<&String>, default: Duration) -> Result<Duration, String> {
    match value {
        None => Ok(default),
        Some(t) => {
            humantime::parse_duration(t).map_err(|e| format!("bad {key} {t:?}: {e} (e.g. \"2s\")"))
        }
    }
}

impl HookSpec {
    fn from_raw(raw: RawHook, position: usize) -> Result<HookSpec, String> {
        let webhook_keys = [
            ("url", raw.url.is_some()),
            ("format", raw.format.is_some()),
            ("headers", raw.headers.is_some()),
            ("ca_file", raw.ca_file.is_some()),
            ("labels", raw.labels.is_some()),
            ("resend", raw.resend.is_some()),
        ];
        let misplaced = match raw.kind {
            Kind::Webhook => raw.argv.is_some().then_some("argv"),
            Kind::Command => webhook_keys.iter().find(|(_, set)| *set).map(|(k, _)| *k),
        };
        if let Some(key) = misplaced {
            return Err(format!("key `{key}` does not apply to this kind of hook"));
        }
        let missing = |key: &str| format!("key `{key}` is required for this kind of hook");
        let (target, default_name) = match raw.kind {
            Kind::Webhook => {
                let format = raw.format.unwrap_or_default();
                if format != BodyFormat::Alertmanager
                    && (raw.labels.is_some() || raw.resend.is_some())
                {
                    return Err("`labels` and `resend` apply to format = \"alertmanager\"".into());
                }
                let spec = WebhookSpec {
                    url: raw.url.ok_or_else(|| missing("url"))?,
                    format,
                    headers: raw.headers.unwrap_or_default(),
                    ca_file: raw.ca_file,
                    labels: raw.labels.unwrap_or_default(),
                    resend: duration("resend", raw.resend.as_ref(), Duration::from_secs(60))?,
                };
                check_webhook(&spec)?;
                (HookTarget::Webhook(spec), "webhook")
            }
            Kind::Command => {
                let argv = raw.argv.ok_or_else(|| missing("argv"))?;
                if argv.first().is_none_or(|p| p.is_empty()) {
                    return Err("argv must name a program".into());
                }
                (HookTarget::Command(CommandHookSpec { argv }), "command")
            }
        };
        let spec = HookSpec {
            name: raw
                .name
                .unwrap_or_else(|| format!("{default_name}-{position}")),
            target,
            attempts: raw.attempts.unwrap_or(5),
            backoff: duration("backoff", raw.backoff.as_ref(), Duration::from_secs(1))?,
            backoff_max: duration(
                "backoff_max",
                raw.backoff_max.as_ref(),
                Duration::from_secs(60),
            )?,
            timeout: duration("timeout", raw.timeout.as_ref(), Duration::from_secs(5))?,
            queue_items: raw.queue_items.unwrap_or(1000),
            queue_bytes: raw.queue_bytes.unwrap_or(1 << 20),
        };
        spec.check_limits()?;
        Ok(spec)
    }

    fn check_limits(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            return Err("name must be 1-64 of A-Za-z0-9 . _ -".into());
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(format!(
                "timeout must be above 0 and at most {}",
                humantime::format_duration(MAX_TIMEOUT)
            ));
        }
        if !(1..=MAX_ATTEMPTS).contains(&self.attempts) {
            return Err(format!("attempts must be 1 to {MAX_ATTEMPTS}"));
        }
        if self.backoff.is_zero() || self.backoff_max < self.backoff {
            return Err("backoff must be above 0 and backoff_max at least backoff".into());
        }
        if self.queue_items == 0 || self.queue_bytes < 4096 {
            return Err("queue_items must be at least 1 and queue_bytes at least 4096".into());
        }
        Ok(())
    }
}

fn check_webhook(spec: &WebhookSpec) -> Result<(), String> {
    let lower = spec.url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err("url must start with http:// or https://".into());
    }
    check_env_refs(&spec.url).map_err(|e| format!("url: {e}"))?;
    for (name, value) in &spec.headers {
        check_header_name(name).map_err(|e| format!("header: {e}"))?;
        check_env_refs(value).map_err(|e| format!("header {name}: {e}"))?;
    }
    if let Some(path) = &spec.ca_file {
        crate::tls_roots::read_ca_file(path).map_err(|e| format!("ca_file {e}"))?;
    }
    // Alertmanager's label names: [a-zA-Z_][a-zA-Z0-9_]*, and not ours.
    for name in spec.labels.keys() {
        let valid = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid || ["alertname", "model", "severity"].contains(&name.as_str()) {
            return Err(format!(
                "label {name:?}: a label name is [a-zA-Z_][a-zA-Z0-9_]* and not alertname, model or severity"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Wrap {
        #[serde(deserialize_with = "hook_list")]
        hook: Vec<HookSpec>,
    }

    fn parse(text: &str) -> Result<Vec<HookSpec>, String> {
        toml::from_str::<Wrap>(text)
            .map(|w| w.hook)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn both_kinds_parse_with_defaults() {
        let hooks = parse(
            r#"
[[hook]]
kind = "webhook"
url = "http://127.0.0.1:9093/api/v2/alerts"
format = "alertmanager"
headers = { Authorization = "Bearer ${AM_TOKEN}" }
labels = { team = "ml" }
[[hook]]
kind = "command"
name = "pager"
argv = ["/usr/bin/logger", "-t", "modelwatch"]
attempts = 3
timeout = "250ms"
"#,
        )
        .unwrap();
        assert_eq!(hooks[0].name, "webhook-1");
        assert_eq!(hooks[0].attempts, 5);
        assert_eq!(hooks[0].timeout, Duration::from_secs(5));
        let HookTarget::Webhook(w) = &hooks[0].target else {
            panic!("{:?}", hooks[0])
        };
        assert_eq!(w.format, BodyFormat::Alertmanager);
        assert_eq!(w.resend, Duration::from_secs(60));
        assert_eq!(hooks[1].name, "pager");
        assert_eq!(hooks[1].timeout, Duration::from_millis(250));
        assert_eq!(hooks[1].queue_items, 1000);
    }

    #[test]
    fn bad_tables_are_refused_with_a_reason() {
        let bad = [
            ("kind = \"webhook\"", "`url` is required"),
            ("kind = \"webhook\"\nurl = \"ftp://h\"", "http://"),
            ("kind = \"command\"\nargv = []", "program"),
            (
                "kind = \"command\"\nargv = [\"x\"]\nurl = \"http://h\"",
                "`url` does not apply",
            ),
            (
                "kind = \"webhook\"\nurl = \"http://h\"\nargv = [\"x\"]",
                "`argv` does not apply",
            ),
            (
                "kind = \"webhook\"\nurl = \"http://h\"\nlabels = { a = \"b\" }",
                "alertmanager",
            ),
            ("kind = \"pager\"", "pager"),
            (
                "kind = \"command\"\nargv = [\"x\"]\nattempts = 0",
                "attempts",
            ),
            (
                "kind = \"command\"\nargv = [\"x\"]\ntimeout = \"2h\"",
                "timeout",
            ),
            (
                "kind = \"command\"\nargv = [\"x\"]\nbackoff = \"soon\"",
                "soon",
            ),
            ("kind = \"command\"\nargv = [\"x\"]\nname = \"a b\"", "name"),
            (
                "kind = \"command\"\nargv = [\"x\"]\nqueue_bytes = 10",
                "queue_bytes",
            ),
            ("kind = \"command\"\nargv = [\"x\"]\ncolour = 1", "colour"),
            ("kind = \"webhook\"\nurl = \"http://h/${\"", "${"),
            (
                "kind = \"webhook\"\nurl = \"http://h\"\nheaders = { \"X(1)\" = \"v\" }",
                "invalid header name",
            ),
            (
                "kind = \"webhook\"\nurl = \"http://h\"\nformat = \"alertmanager\"\nlabels = { severity = \"x\" }",
                "severity",
            ),
            (
                "kind = \"webhook\"\nurl = \"https://h\"\nca_file = \"/nonexistent/ca.pem\"",
                "ca_file /nonexistent/ca.pem",
            ),
        ];
        for (table, needle) in bad {
            let e = parse(&format!("[[hook]]\n{table}\n")).unwrap_err();
            assert!(e.contains(needle), "{table}: {e}");
        }
        let twice = "[[hook]]\nkind = \"command\"\nargv = [\"x\"]\nname = \"a\"\n".repeat(2);
        assert!(parse(&twice).unwrap_err().contains("used twice"));
    }
}
