//! `nats://[user:pass@]host:port[,host:port...]/SUBJECT` and `tls://...`:
//! the servers to connect to and the subject a source reads. Credentials in
//! the URL are used to connect and never shown.

/// A parsed NATS URL.
#[derive(Clone, PartialEq, Eq)]
pub struct NatsUrl {
    /// One `scheme://[userinfo@]host:port` per server.
    pub servers: Vec<String>,
    /// The path, percent-decoded: a subject for a source (`None` when the
    /// URL has no path).
    pub subject: Option<String>,
    /// Display form, credentials removed.
    pub name: String,
}

impl std::fmt::Debug for NatsUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsUrl")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Whether `arg` is a NATS URL (`nats://` or `tls://`, any case).
pub fn is_nats_url(arg: &str) -> bool {
    let lower = arg.get(..7).unwrap_or(arg).to_ascii_lowercase();
    lower.starts_with("nats://") || lower.starts_with("tls://")
}

impl NatsUrl {
    /// A cluster's URL (a team's, a `nats_kv` actuator's): servers, no
    /// subject.
    pub fn servers_only(&self) -> Result<(), String> {
        match self.subject {
            Some(_) => Err("servers only, no /SUBJECT".into()),
            None => Ok(()),
        }
    }

    /// Parses a NATS URL; errors never repeat a credential.
    pub fn parse(url: &str) -> Result<NatsUrl, String> {
        let (scheme, rest) = url
            .split_once("://")
            .filter(|(s, _)| s.eq_ignore_ascii_case("nats") || s.eq_ignore_ascii_case("tls"))
            .ok_or_else(|| "a NATS URL starts with nats:// or tls://".to_string())?;
        let scheme = scheme.to_ascii_lowercase();
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        if authority.contains(['?', '#']) || path.is_some_and(|p| p.contains(['?', '#'])) {
            return Err("a NATS URL has no query or fragment".into());
        }
        let (userinfo, hosts) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let name = match userinfo {
            Some(_) => format!("{scheme}://***@{hosts}{}", &rest[authority.len()..]),
            None => format!("{scheme}://{rest}"),
        };
        let mut servers = Vec::new();
        for host in hosts.split(',') {
            if host.is_empty() || host.contains(char::is_whitespace) {
                return Err("a NATS URL needs host:port (several separated by commas)".into());
            }
            servers.push(match userinfo {
                Some(user) => format!("{scheme}://{user}@{host}"),
                None => format!("{scheme}://{host}"),
            });
        }
        let subject = match path {
            None => None,
            Some(p) => {
                let subject = percent_decode(p)?;
                check_subject(&subject, true)?;
                Some(subject)
            }
        };
        Ok(NatsUrl {
            servers,
            subject,
            name,
        })
    }
}

/// A subject: dot-separated non-empty tokens without whitespace; with
/// `wildcards`, `*` may be a whole token and `>` the whole last one.
pub fn check_subject(subject: &str, wildcards: bool) -> Result<(), String> {
    if subject.is_empty() {
        return Err("the URL's path must name a subject, e.g. /predictions.>".into());
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (i, token) in tokens.iter().enumerate() {
        let last = i + 1 == tokens.len();
        let bad = token.is_empty()
            || token.chars().any(|c| c.is_whitespace() || c.is_control())
            || (token.len() > 1 && token.contains(['*', '>']))
            || (*token == ">" && (!last || !wildcards))
            || (*token == "*" && !wildcards);
        if bad {
            return Err(format!(
                "invalid subject {subject:?}: tokens are separated by single dots, \
                 hold no spaces, and `*` is a whole token, `>` the whole last one"
            ));
        }
    }
    Ok(())
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "a % in the subject must start a %XX escape".to_string())?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the subject is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_servers_and_a_subject_without_showing_credentials() {
        let u = NatsUrl::parse("nats://alice:s3cret@h1:4222,h2:4223/preds.>").unwrap();
        assert_eq!(
            u.servers,
            ["nats://alice:s3cret@h1:4222", "nats://alice:s3cret@h2:4223"]
        );
        assert_eq!(u.subject.as_deref(), Some("preds.>"));
        assert_eq!(u.name, "nats://***@h1:4222,h2:4223/preds.>");
        assert!(!format!("{u:?}").contains("s3cret"));
        let u = NatsUrl::parse("TLS://h:1/a.*.c%20d").unwrap_err();
        assert!(u.contains("invalid subject"), "{u}");
        let u = NatsUrl::parse("TLS://h:1/a.*.c").unwrap();
        assert_eq!(u.servers, ["tls://h:1"]);
        assert_eq!(NatsUrl::parse("nats://h:1").unwrap().subject, None);
        for bad in [
            "ws://h/x",
            "nats:///x",
            "nats://h/",
            "nats://h/a..b",
            "nats://h/a.>.b",
            "nats://h/a>",
            "nats://h/x?y=1",
            "nats://h/%zz",
            "nats://h1,,h2/x",
        ] {
            let e = NatsUrl::parse(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        let e = NatsUrl::parse("nats://u:pw@h/a..b").unwrap_err();
        assert!(!e.contains("pw"), "{e}");
        assert!(is_nats_url("NATS://h/x") && is_nats_url("tls://h/x"));
        assert!(!is_nats_url("nats.log") && !is_nats_url("ws://h"));
    }

    #[test]
    fn wildcards_only_where_allowed() {
        assert!(check_subject("a.*.c", true).is_ok());
        assert!(check_subject("a.>", true).is_ok());
        assert!(check_subject("a.*", false).is_err());
        assert!(check_subject("a.b-c_d", false).is_ok());
        assert!(check_subject("", true).is_err());
    }
}
