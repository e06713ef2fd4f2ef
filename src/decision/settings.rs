//! Config of the audit log (`[audit]`) and the kill switch
//! (`[[kill_switch.actuator]]`). Everything is checked while the TOML is
//! read, so a bad actuator is a config error naming the file, never a
//! surprise at the moment the operator presses the button.
//!
//! ```toml
//! [audit]
//! path = "/var/lib/modelwatch/decisions.jsonl"
//! operator = "alice"
//!
//! [[kill_switch.actuator]]
//! kind = "flag_file"
//! path = "/run/modelwatch/{model}.killed"
//!
//! [[kill_switch.actuator]]
//! kind = "http"
//! url = "https://gateway.internal/models/{model}/state"
//! method = "PUT"
//! headers = { Authorization = "Bearer ${GATEWAY_TOKEN}" }
//! ca_file = "/etc/modelwatch/gateway-ca.pem"
//! timeout = "2s"
//!
//! [[kill_switch.actuator]]
//! kind = "command"
//! argv = ["/usr/local/bin/stop-model", "--", "{model}", "{state}"]
//! timeout = "5s"
//!
//! [[kill_switch.actuator]]
//! kind = "websocket"
//! timeout = "2s"
//!
//! [[kill_switch.actuator]]
//! kind = "nats_kv"
//! url = "nats://nats-1:4222,nats-2:4222"
//! bucket = "MW_KILL"
//! team = "fraud-oncall"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::template::{self, PLACEHOLDERS};
use crate::settings_syntax::check_header_name;

/// Longest actuator timeout accepted: a kill switch that may wait longer
/// than this is not one.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// `[audit]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// The audit log (JSON lines). `--audit-log` wins over it; default
    /// `audit.jsonl` in the per-user state directory.
    pub path: Option<PathBuf>,
    /// The operator recorded with every decision; default `$USER`.
    pub operator: Option<String>,
}

/// `[kill_switch]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KillSwitchConfig {
    /// `[[kill_switch.actuator]]` tables, run concurrently on every trip
    /// and reset. `--kill-file PATH` adds a flag-file actuator.
    #[serde(rename = "actuator", deserialize_with = "actuator_list")]
    pub actuators: Vec<ActuatorSpec>,
}

/// One actuator: `kind` selects the table's other keys. (Read through a
/// flat table rather than a tagged enum so errors keep their line.)
#[derive(Debug, Clone, PartialEq)]
pub enum ActuatorSpec {
    FlagFile(FlagFileSpec),
    Http(HttpSpec),
    Command(CommandSpec),
    Websocket(WebsocketSpec),
    NatsKv(NatsKvSpec),
}

/// `kind = "flag_file"`: a JSON file written atomically (temp file in the
/// same directory, fsync, rename, fsync of the directory), so a reader
/// sees the old file or the new one, never half of one. Its content:
/// `{"state":"tripped","model":..,"operator":..,"reason":..,"time":..,"request_id":..}`.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagFileSpec {
    /// The file. `{model}` is replaced by the model's name with every
    /// character other than `A-Za-z0-9._@-` turned into `_` (and a leading
    /// `.` escaped), so a model name can never leave the directory.
    pub path: PathBuf,
    /// What a reset does: `"remove"` (default) deletes the file, so
    /// "file exists" means "stopped" to the simplest reader; `"armed"`
    /// rewrites it with `"state":"armed"` for readers that parse it.
    pub on_reset: OnReset,
    /// Longest wait for the write to be durable (default 2s).
    pub timeout: Duration,
}

/// What a flag-file reset does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnReset {
    #[default]
    Remove,
    Armed,
}

/// `kind = "http"`: one request; any 2xx confirms. Redirects are never
/// followed (a 3xx is a failure: the switch must not be moved elsewhere by
/// whoever answers). Tripping twice sends the same request twice (same
/// `{state}`, a new `{request_id}`): the endpoint must be idempotent.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSpec {
    /// `http://` or `https://` URL. `${VAR}` is expanded from the
    /// environment; `{model}` etc. are substituted percent-encoded (all but
    /// `A-Za-z0-9-._~`), so a value can never add a path segment or a
    /// query. Only scheme, host and path are ever shown or logged.
    pub url: String,
    /// POST (default), PUT, PATCH, DELETE or GET; the body is sent with
    /// POST, PUT and PATCH.
    pub method: String,
    /// Extra headers; values may hold `${VAR}` (expanded from the
    /// environment when the request is sent; a missing variable fails the
    /// actuator). Values are never shown or logged, only names.
    /// `Content-Type: application/json` is added unless given.
    pub headers: BTreeMap<String, String>,
    /// Body template. Placeholders `{model}`, `{state}` (`tripped` or
    /// `armed`), `{reason}`, `{request_id}`, `{operator}`, `{time}` are
    /// replaced by their values JSON-escaped (without quotes: write
    /// `"{model}"`); any other brace is left alone. Default: a JSON object
    /// with `type` `kill_switch` and every placeholder.
    pub body: String,
    /// CA certificates (PEM files) trusted for `https://` besides the
    /// system's roots: the table's `ca_file` (read when the config is
    /// loaded, so a bad file is a config error) and `--ca-file`. Read again
    /// for every request, so a renewed CA needs no restart.
    pub ca_files: Vec<PathBuf>,
    /// Longest wait for the whole exchange (default 2s).
    pub timeout: Duration,
}

/// `kind = "command"`: runs a program (no shell); exit status 0 confirms.
/// Tripping twice runs it twice with the same `{state}`.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandSpec {
    /// Program and arguments. The program (`argv[0]`) is fixed text: event
    /// data never chooses what runs. An argument that is exactly a
    /// placeholder (`"{model}"`, `"{state}"`, ...) is replaced by the value
    /// as one argument, whatever it holds (put `"--"` before them, so a
    /// model named `--all` is not read as an option); placeholders inside a
    /// longer element are refused, so event data can never be split or
    /// interpreted. The same values are in the environment as
    /// `MODELWATCH_MODEL`, `MODELWATCH_STATE`, `MODELWATCH_REASON`,
    /// `MODELWATCH_REQUEST_ID`, `MODELWATCH_OPERATOR`, `MODELWATCH_TIME`.
    pub argv: Vec<String>,
    /// The child is killed when it runs longer (default 5s).
    pub timeout: Duration,
}

/// `kind = "websocket"`: sends
/// `{"type":"kill_switch","state":"tripped"|"armed","model":..,"request_id":..}`
/// on the watched websocket source and waits for
/// `{"type":"kill_switch_ack","request_id":..}`.
#[derive(Debug, Clone, PartialEq)]
pub struct WebsocketSpec {
    /// Longest wait for the ack (default 2s).
    pub timeout: Duration,
}

/// `kind = "nats_kv"`: the team's kill switch in a JetStream key-value
/// bucket (`team::kill_kv`): a trip puts
/// `{"state":"tripped","model","by","at","reason","request_id"}` under the
/// key `TEAM.MODEL` (each a token: `A-Za-z0-9-_` kept, any other byte as
/// `=XX`), confirmed by the cluster's acknowledgement; a reset updates the
/// revision it read, so a trip landing in between makes it fail. Retried
/// within `timeout` while NATS cannot be reached; a trip not confirmed by
/// then is still retried (with capped backoff) while the process runs.
/// Every process configured with it watches the bucket, so a trip or reset
/// made anywhere in the team shows within a second.
#[derive(Debug, Clone, PartialEq)]
pub struct NatsKvSpec {
    /// `nats://[user:pass@]host:port` (several hosts separated by commas)
    /// or `tls://...`, without a subject.
    pub url: String,
    /// The bucket (default `MW_KILL`), created on first use: file storage,
    /// history kept, three replicas on a cluster.
    pub bucket: String,
    /// The team's part of the bucket (default `default`).
    pub team: String,
    /// A NATS credentials file, read when the config is loaded.
    pub credentials_file: Option<PathBuf>,
    /// A CA certificate (PEM) trusted for `tls://` besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Longest wait for the acknowledgement (default 5s).
    pub timeout: Duration,
}

impl FlagFileSpec {
    /// The actuator `--kill-file PATH` adds.
    pub fn from_path(path: PathBuf) -> Self {
        FlagFileSpec {
            path,
            on_reset: OnReset::default(),
            timeout: default_flag_timeout(),
        }
    }
}

impl ActuatorSpec {
    pub fn timeout(&self) -> Duration {
        match self {
            ActuatorSpec::FlagFile(s) => s.timeout,
            ActuatorSpec::Http(s) => s.timeout,
            ActuatorSpec::Command(s) => s.timeout,
            ActuatorSpec::Websocket(s) => s.timeout,
            ActuatorSpec::NatsKv(s) => s.timeout,
        }
    }

    /// Checks what serde cannot: a message naming the actuator and key.
    pub fn validate(&self) -> Result<(), String> {
        let t = self.timeout();
        if t.is_zero() || t > MAX_TIMEOUT {
            return Err(format!(
                "timeout must be above 0 and at most {}",
                humantime::format_duration(MAX_TIMEOUT)
            ));
        }
        match self {
            ActuatorSpec::FlagFile(s) => {
                if s.path.as_os_str().is_empty() || s.path.file_name().is_none() {
                    return Err("flag_file: path must name a file".into());
                }
                Ok(())
            }
            ActuatorSpec::Http(s) => {
                let lower = s.url.to_ascii_lowercase();
                if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                    return Err("http: url must start with http:// or https://".into());
                }
                if !["POST", "PUT", "PATCH", "DELETE", "GET"].contains(&s.method.as_str()) {
                    return Err(format!(
                        "http: method must be POST, PUT, PATCH, DELETE or GET, not {:?}",
                        s.method
                    ));
                }
                for (name, value) in &s.headers {
                    check_header_name(name).map_err(|e| format!("http: header: {e}"))?;
                    template::check_env_refs(value)
                        .map_err(|e| format!("http: header {name}: {e}"))?;
                }
                template::check_env_refs(&s.url).map_err(|e| format!("http: url: {e}"))
            }
            ActuatorSpec::Command(s) => check_argv(&s.argv).map_err(|e| format!("command: {e}")),
            ActuatorSpec::Websocket(_) => Ok(()),
            ActuatorSpec::NatsKv(s) => check_nats_kv(s).map_err(|e| format!("nats_kv: {e}")),
        }
    }
}

/// The URL (servers only), the bucket's name, the team, and the
/// credentials and CA files (read now, so a bad one is a config error).
fn check_nats_kv(s: &NatsKvSpec) -> Result<(), String> {
    let link =
        crate::team::link::Link::prepare(&s.url, s.credentials_file.as_deref(), s.ca_file.clone())?;
    link.url.servers_only().map_err(|e| format!("url: {e}"))?;
    let bucket_ok = !s.bucket.is_empty()
        && s.bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !bucket_ok {
        return Err(format!(
            "bucket {:?}: letters, digits, - and _ only",
            s.bucket
        ));
    }
    crate::team::settings::check_name(&s.team).map_err(|e| format!("team: {e}"))?;
    Ok(())
}

fn actuator_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ActuatorSpec>, D::Error> {
    Vec::<RawActuator>::deserialize(d)?
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            ActuatorSpec::try_from(raw).map_err(|e| {
                serde::de::Error::custom(format!("kill_switch.actuator[{}]: {e}", i + 1))
            })
        })
        .collect()
}

/// An actuator table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActuator {
    kind: Kind,
    path: Option<PathBuf>,
    on_reset: Option<OnReset>,
    timeout: Option<String>,
    url: Option<String>,
    method: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    body: Option<String>,
    #[serde(default, deserialize_with = "readable_ca_file")]
    ca_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "checked_argv")]
    argv: Option<Vec<String>>,
    bucket: Option<String>,
    team: Option<String>,
    credentials_file: Option<PathBuf>,
}

/// A program that names no placeholder, then arguments that are literal
/// text or exactly one placeholder.
fn check_argv(argv: &[String]) -> Result<(), String> {
    let Some(program) = argv.first().filter(|p| !p.is_empty()) else {
        return Err("argv must name a program".into());
    };
    template::check_program(program)?;
    argv.iter()
        .try_for_each(|arg| template::check_argv_element(arg))
}

/// `argv` is checked as it is read, so a mistake is reported with its line.
fn checked_argv<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let argv = Vec::<String>::deserialize(d)?;
    check_argv(&argv).map_err(|e| serde::de::Error::custom(format!("argv: {e}")))?;
    Ok(Some(argv))
}

/// A `ca_file` is read while the config is, so an unreadable or invalid
/// file is reported with the key's line.
fn readable_ca_file<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let path = PathBuf::deserialize(d)?;
    crate::tls_roots::read_ca_file(&path)
        .map_err(|e| serde::de::Error::custom(format!("ca_file {e}")))?;
    Ok(Some(path))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    FlagFile,
    Http,
    Command,
    Websocket,
    NatsKv,
}

impl TryFrom<RawActuator> for ActuatorSpec {
    type Error = String;

    fn try_from(raw: RawActuator) -> Result<Self, String> {
        use Kind::{Command, FlagFile, Http, NatsKv};
        let keys: [(&str, bool, &[Kind]); 11] = [
            ("path", raw.path.is_some(), &[FlagFile]),
            ("on_reset", raw.on_reset.is_some(), &[FlagFile]),
            ("url", raw.url.is_some(), &[Http, NatsKv]),
            ("method", raw.method.is_some(), &[Http]),
            ("headers", raw.headers.is_some(), &[Http]),
            ("body", raw.body.is_some(), &[Http]),
            ("ca_file", raw.ca_file.is_some(), &[Http, NatsKv]),
            ("argv", raw.argv.is_some(), &[Command]),
            ("bucket", raw.bucket.is_some(), &[NatsKv]),
            ("team", raw.team.is_some(), &[NatsKv]),
            (
                "credentials_file",
                raw.credentials_file.is_some(),
                &[NatsKv],
            ),
        ];
        if let Some((key, ..)) = keys
            .iter()
            .find(|(_, set, kinds)| *set && !kinds.contains(&raw.kind))
        {
            return Err(format!(
                "key `{key}` does not apply to this kind of actuator"
            ));
        }
        let missing = |key: &str| format!("key `{key}` is required for this kind of actuator");
        let timeout = |default: Duration| match &raw.timeout {
            None => Ok(default),
            Some(t) => humantime::parse_duration(t)
                .map_err(|e| format!("bad timeout {t:?}: {e} (e.g. \"2s\")")),
        };
        let spec = match raw.kind {
            Kind::FlagFile => ActuatorSpec::FlagFile(FlagFileSpec {
                path: raw.path.ok_or_else(|| missing("path"))?,
                on_reset: raw.on_reset.unwrap_or_default(),
                timeout: timeout(default_flag_timeout())?,
            }),
            Kind::Http => ActuatorSpec::Http(HttpSpec {
                url: raw.url.ok_or_else(|| missing("url"))?,
                method: raw.method.unwrap_or_else(default_method),
                headers: raw.headers.unwrap_or_default(),
                body: raw.body.unwrap_or_else(default_body),
                ca_files: raw.ca_file.into_iter().collect(),
                timeout: timeout(default_net_timeout())?,
            }),
            Kind::Command => ActuatorSpec::Command(CommandSpec {
                argv: raw.argv.ok_or_else(|| missing("argv"))?,
                timeout: timeout(default_command_timeout())?,
            }),
            Kind::Websocket => ActuatorSpec::Websocket(WebsocketSpec {
                timeout: timeout(default_net_timeout())?,
            }),
            Kind::NatsKv => ActuatorSpec::NatsKv(NatsKvSpec {
                url: raw.url.ok_or_else(|| missing("url"))?,
                bucket: raw
                    .bucket
                    .unwrap_or_else(|| crate::team::kill_kv::DEFAULT_BUCKET.into()),
                team: raw.team.unwrap_or_else(|| "default".into()),
                credentials_file: raw.credentials_file,
                ca_file: raw.ca_file,
                timeout: timeout(default_kv_timeout())?,
            }),
        };
        spec.validate()?;
        Ok(spec)
    }
}

fn default_flag_timeout() -> Duration {
    Duration::from_secs(2)
}

fn default_net_timeout() -> Duration {
    Duration::from_secs(2)
}

fn default_kv_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_command_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_method() -> String {
    "POST".into()
}

/// The default HTTP body: every placeholder, as JSON.
pub fn default_body() -> String {
    let mut body = String::from(r#"{"type":"kill_switch""#);
    for name in PLACEHOLDERS {
        body.push_str(&format!(r#","{name}":"{{{name}}}""#));
    }
    body.push('}');
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Wrap {
        kill_switch: KillSwitchConfig,
    }

    fn parse(text: &str) -> Result<KillSwitchConfig, String> {
        toml::from_str::<Wrap>(text)
            .map(|w| w.kill_switch)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_kind_parses_with_defaults() {
        let c = parse(
            r#"
[[kill_switch.actuator]]
kind = "flag_file"
path = "/run/{model}.killed"
[[kill_switch.actuator]]
kind = "http"
url = "https://h/x"
headers = { Authorization = "Bearer ${TOKEN}" }
[[kill_switch.actuator]]
kind = "command"
argv = ["/bin/stop", "{model}"]
timeout = "250ms"
[[kill_switch.actuator]]
kind = "websocket"
[[kill_switch.actuator]]
kind = "nats_kv"
url = "nats://n1:4222,n2:4222"
"#,
        )
        .unwrap();
        assert_eq!(c.actuators.len(), 5);
        let ActuatorSpec::NatsKv(kv) = &c.actuators[4] else {
            panic!("{:?}", c.actuators[4])
        };
        assert_eq!(
            (kv.bucket.as_str(), kv.team.as_str()),
            ("MW_KILL", "default")
        );
        assert_eq!(kv.timeout, Duration::from_secs(5));
        let ActuatorSpec::Http(h) = &c.actuators[1] else {
            panic!("{:?}", c.actuators[1])
        };
        assert_eq!(h.method, "POST");
        assert_eq!(h.timeout, Duration::from_secs(2));
        assert!(h.body.contains(r#""model":"{model}""#));
        assert_eq!(c.actuators[2].timeout(), Duration::from_millis(250));
    }

    #[test]
    fn bad_tables_are_refused_with_a_reason() {
        let bad = [
            ("kind = \"flag_file\"\npath = \"/x\"\ncolour = 1", "colour"),
            ("kind = \"teleport\"", "teleport"),
            ("kind = \"flag_file\"\nurl = \"http://h\"", "does not apply"),
            ("kind = \"http\"", "`url` is required"),
            ("kind = \"http\"\nurl = \"ftp://h\"", "http://"),
            (
                "kind = \"http\"\nurl = \"http://h\"\nmethod = \"BREW\"",
                "method",
            ),
            ("kind = \"command\"\nargv = []", "argv"),
            (
                "kind = \"command\"\nargv = [\"sh\", \"-c\", \"stop {model}\"]",
                "whole",
            ),
            (
                "kind = \"command\"\nargv = [\"x\"]\ntimeout = \"0s\"",
                "timeout",
            ),
            (
                "kind = \"command\"\nargv = [\"x\"]\ntimeout = \"soon\"",
                "soon",
            ),
            ("kind = \"http\"\nurl = \"http://h/${\"", "${"),
            (
                "kind = \"command\"\nargv = [\"{model}\", \"x\"]",
                "fixed text",
            ),
            (
                "kind = \"http\"\nurl = \"https://h\"\nca_file = \"/nonexistent/ca.pem\"",
                "ca_file /nonexistent/ca.pem: cannot read",
            ),
            (
                "kind = \"http\"\nurl = \"http://h\"\nheaders = { \"X(1)\" = \"v\" }",
                "invalid header name",
            ),
            ("kind = \"nats_kv\"", "`url` is required"),
            ("kind = \"nats_kv\"\nurl = \"http://h\"", "nats://"),
            ("kind = \"nats_kv\"\nurl = \"nats://h/x.y\"", "no /SUBJECT"),
            (
                "kind = \"nats_kv\"\nurl = \"nats://h\"\nbucket = \"a.b\"",
                "bucket",
            ),
            (
                "kind = \"nats_kv\"\nurl = \"nats://h\"\ncredentials_file = \"/nonexistent/x.creds\"",
                "/nonexistent/x.creds",
            ),
            (
                "kind = \"http\"\nurl = \"http://h\"\nteam = \"t\"",
                "does not apply",
            ),
        ];
        for (table, needle) in bad {
            let e = parse(&format!("[[kill_switch.actuator]]\n{table}\n")).unwrap_err();
            assert!(e.contains(needle), "{table}: {e}");
        }
    }

    #[test]
    fn an_http_ca_file_is_read_with_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        std::fs::write(&ca, params.self_signed(&key).unwrap().pem()).unwrap();
        let table = |kind: &str| {
            format!(
                "[[kill_switch.actuator]]\nkind = {kind}\nca_file = {:?}\n",
                ca.display().to_string()
            )
        };
        let c = parse(&table("\"http\"\nurl = \"https://h\"")).unwrap();
        let ActuatorSpec::Http(h) = &c.actuators[0] else {
            panic!("{:?}", c.actuators[0])
        };
        assert_eq!(h.ca_files, std::slice::from_ref(&ca));
        let e = parse(&table("\"websocket\"")).unwrap_err();
        assert!(e.contains("`ca_file` does not apply"), "{e}");
    }
}
