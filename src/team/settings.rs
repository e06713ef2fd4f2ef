//! `[team]` and `--team`/`--nats`/`--nats-creds`: the team this process is
//! part of on a NATS cluster. With a team, the kill switch is shared through
//! the `MW_KILL` bucket (a `nats_kv` actuator is implied), and review
//! decisions and alerts through the team's streams (DESIGN §8).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::link::Link;
use super::nats_url::NatsUrl;
use crate::settings_syntax::positive_duration;

/// Longest team name: it is one token of every subject and key.
const MAX_NAME_BYTES: usize = 64;

/// The `[team]` section as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeamConfig {
    /// The cluster: `nats://host:port[,host:port]` or `tls://...`, no subject.
    pub nats: Option<String>,
    /// The team's name (default `default`).
    pub name: Option<String>,
    /// A NATS credentials file.
    pub credentials_file: Option<PathBuf>,
    /// A CA certificate (PEM) trusted for `tls://` besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Longest wait for the cluster's acknowledgement of a write (default 5s).
    pub timeout: Option<String>,
}

impl TeamConfig {
    pub fn validate(&self) -> Result<(), String> {
        if let Some(name) = &self.name {
            check_name(name).map_err(|e| format!("team.name: {e}"))?;
        }
        if let Some(url) = &self.nats {
            NatsUrl::parse(url)
                .and_then(|u| u.servers_only())
                .map_err(|e| format!("team.nats: {e}"))?;
        }
        if let Some(t) = &self.timeout {
            positive_duration(t).map_err(|e| format!("team.timeout: {e}"))?;
        }
        Ok(())
    }
}

/// The team's flags, which win over `[team]`.
#[derive(Debug, Clone, Default)]
pub struct TeamOverrides<'a> {
    pub name: Option<&'a str>,
    pub nats: Option<&'a str>,
    pub credentials_file: Option<&'a Path>,
}

/// A team resolved from `[team]` and the flags: where its cluster is and
/// what it is called.
#[derive(Debug, Clone)]
pub struct Team {
    pub name: String,
    /// The cluster's servers as given (for a `nats_kv` actuator's `url`).
    pub url: String,
    pub credentials_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    /// Longest wait for an acknowledgement.
    pub timeout: Duration,
    pub link: Link,
}

impl Team {
    /// The team, or `None` when neither `[team] nats` nor `--nats` names a
    /// cluster (a name alone does not make a team: it would share nothing).
    /// `ca_file` is `--ca-file`, used when `[team]` names none.
    pub fn resolve(
        config: &TeamConfig,
        flags: &TeamOverrides<'_>,
        ca_file: Option<&Path>,
    ) -> Result<Option<Team>, String> {
        let Some(url) = flags.nats.or(config.nats.as_deref()) else {
            if flags.name.is_some() {
                return Err("--team needs a cluster: --nats URL or [team] nats".into());
            }
            return Ok(None);
        };
        let name = flags
            .name
            .or(config.name.as_deref())
            .unwrap_or("default")
            .to_string();
        check_name(&name).map_err(|e| format!("team name: {e}"))?;
        let credentials_file = flags
            .credentials_file
            .map(Path::to_path_buf)
            .or_else(|| config.credentials_file.clone());
        let ca_file = config
            .ca_file
            .clone()
            .or_else(|| ca_file.map(Path::to_path_buf));
        let timeout = match &config.timeout {
            Some(t) => positive_duration(t).map_err(|e| format!("team.timeout: {e}"))?,
            None => Duration::from_secs(5),
        };
        let link = Link::prepare(url, credentials_file.as_deref(), ca_file.clone())
            .map_err(|e| format!("team: {e}"))?;
        link.url
            .servers_only()
            .map_err(|e| format!("team cluster: {e}"))?;
        Ok(Some(Team {
            name,
            url: url.to_string(),
            credentials_file,
            ca_file,
            timeout,
            link,
        }))
    }
}

/// A team's name, wherever it is given (`[team]`, `--team`, a `nats_kv`
/// actuator's `team`): one key and subject token, so short, and printable.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(format!("1 to {MAX_NAME_BYTES} bytes"));
    }
    if name.chars().any(char::is_control) {
        return Err("no control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(nats: Option<&str>, name: Option<&str>) -> TeamConfig {
        TeamConfig {
            nats: nats.map(str::to_string),
            name: name.map(str::to_string),
            ..TeamConfig::default()
        }
    }

    #[test]
    fn flags_win_and_a_name_alone_is_an_error() {
        let none = TeamOverrides::default();
        assert!(
            Team::resolve(&TeamConfig::default(), &none, None)
                .unwrap()
                .is_none()
        );
        let t = Team::resolve(&config(Some("nats://h:4222"), Some("a")), &none, None)
            .unwrap()
            .unwrap();
        assert_eq!((t.name.as_str(), t.url.as_str()), ("a", "nats://h:4222"));
        let flags = TeamOverrides {
            name: Some("b"),
            nats: Some("nats://g:4222"),
            credentials_file: None,
        };
        let t = Team::resolve(&config(Some("nats://h:4222"), Some("a")), &flags, None)
            .unwrap()
            .unwrap();
        assert_eq!((t.name.as_str(), t.url.as_str()), ("b", "nats://g:4222"));
        let only_name = TeamOverrides {
            name: Some("b"),
            ..TeamOverrides::default()
        };
        let err = Team::resolve(&TeamConfig::default(), &only_name, None).unwrap_err();
        assert!(err.contains("--nats"), "{err}");
    }

    #[test]
    fn bad_sections_name_the_key() {
        let e = config(Some("nats://h:4222/subject"), None)
            .validate()
            .unwrap_err();
        assert!(e.starts_with("team.nats"), "{e}");
        let e = config(None, Some("")).validate().unwrap_err();
        assert!(e.starts_with("team.name"), "{e}");
        let e = config(None, Some(&"x".repeat(1 << 20)))
            .validate()
            .unwrap_err();
        assert!(e.starts_with("team.name") && e.len() < 100, "{e}");
        let bad = TeamConfig {
            timeout: Some("0s".into()),
            ..TeamConfig::default()
        };
        assert!(bad.validate().unwrap_err().starts_with("team.timeout"));
    }
}
