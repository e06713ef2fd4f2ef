//! Placeholders in actuator templates (`{model}` ...), `${VAR}` expansion
//! from the environment, and scrubbing secrets out of messages.
//!
//! Substitution is a single left-to-right pass: a value that itself holds
//! `{model}` or `${VAR}` is inserted as it is, never expanded again.

use crate::settings_syntax::expand_vars;

/// The placeholders every template may use.
pub const PLACEHOLDERS: [&str; 6] = ["model", "state", "reason", "request_id", "operator", "time"];

/// Values of the placeholders for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values<'a> {
    pub model: &'a str,
    /// `tripped` or `armed`.
    pub state: &'a str,
    pub reason: &'a str,
    pub request_id: &'a str,
    pub operator: &'a str,
    /// RFC 3339 UTC.
    pub time: &'a str,
}

impl Values<'_> {
    pub fn get(&self, name: &str) -> Option<&str> {
        Some(match name {
            "model" => self.model,
            "state" => self.state,
            "reason" => self.reason,
            "request_id" => self.request_id,
            "operator" => self.operator,
            "time" => self.time,
            _ => return None,
        })
    }

    /// `(NAME, value)` pairs for a child's environment.
    pub fn env(&self) -> [(String, &str); 6] {
        PLACEHOLDERS.map(|p| {
            (
                format!("MODELWATCH_{}", p.to_ascii_uppercase()),
                self.get(p).unwrap_or(""),
            )
        })
    }
}

/// How a substituted value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// As it is.
    Plain,
    /// As the inside of a JSON string (quotes, backslashes and control
    /// characters escaped), for templates like `{"model":"{model}"}`.
    Json,
    /// Percent-encoded except `A-Za-z0-9-._~`, for URLs: a value can
    /// never add a path segment, query or host.
    Url,
}

/// Replaces each `{name}` of a known placeholder; other braces stay.
pub fn fill(template: &str, values: &Values<'_>, escape: Escape) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let known = after
            .find('}')
            .and_then(|close| values.get(&after[..close]).map(|v| (close, v)));
        match known {
            Some((close, value)) => {
                match escape {
                    Escape::Plain => out.push_str(value),
                    Escape::Json => push_json_escaped(&mut out, value),
                    Escape::Url => push_percent_encoded(&mut out, value),
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Appends `s` escaped as the inside of a JSON string.
pub fn push_json_escaped(out: &mut String, s: &str) {
    let quoted = crate::record::safe_json::to_string(s).unwrap_or_default();
    out.push_str(&quoted[1..quoted.len() - 1]);
}

/// Appends `s` percent-encoded (RFC 3986 unreserved characters kept).
pub fn push_percent_encoded(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// A command's argument: exactly one placeholder, or literal text.
pub fn check_argv_element(arg: &str) -> Result<(), String> {
    if let Some(name) = arg.strip_prefix('{').and_then(|a| a.strip_suffix('}')) {
        return if PLACEHOLDERS.contains(&name) {
            Ok(())
        } else {
            Err(format!("unknown placeholder {arg:?}"))
        };
    }
    match placeholder_in(arg) {
        Some(p) => Err(format!(
            "placeholder {{{p}}} in {arg:?}: placeholders must be whole argv elements"
        )),
        None => Ok(()),
    }
}

/// A command's program (`argv[0]`): fixed text, never chosen by event data.
pub fn check_program(program: &str) -> Result<(), String> {
    match placeholder_in(program) {
        Some(p) => Err(format!(
            "the program (argv[0]) must be fixed text, not hold {{{p}}}: put data in later arguments"
        )),
        None => Ok(()),
    }
}

/// The first known placeholder `text` holds anywhere.
fn placeholder_in(text: &str) -> Option<&'static str> {
    PLACEHOLDERS
        .into_iter()
        .find(|p| text.contains(&format!("{{{p}}}")))
}

/// Fills a command's argv: whole-element placeholders only, and never in
/// the program (both checked when the config was read).
pub fn fill_argv(argv: &[String], values: &Values<'_>) -> Vec<String> {
    let Some((program, args)) = argv.split_first() else {
        return Vec::new();
    };
    std::iter::once(program.clone())
        .chain(args.iter().map(|arg| {
            arg.strip_prefix('{')
                .and_then(|a| a.strip_suffix('}'))
                .and_then(|name| values.get(name))
                .map_or_else(|| arg.clone(), str::to_owned)
        }))
        .collect()
}

/// Checks that every `${` opens a well-formed `${NAME}`.
pub fn check_env_refs(s: &str) -> Result<(), String> {
    expand_vars(s, |_| Some(String::new())).map(|_| ())
}

/// Expands `${NAME}` from the environment. Returns the text and the values
/// inserted (secrets, to scrub from any message). A missing variable is an
/// error naming it (never its value).
pub fn expand_env(s: &str) -> Result<(String, Vec<String>), String> {
    let mut secrets = Vec::new();
    let text = expand_vars(s, |name| {
        let v = std::env::var(name).ok()?;
        if !v.is_empty() {
            secrets.push(v.clone());
        }
        Some(v)
    })?;
    Ok((text, secrets))
}

/// Header values with `${VAR}` expanded from the environment (each whole
/// value then added to `secrets`: header values hold credentials), and
/// `Content-Type: application/json` unless one is given.
pub fn json_headers(
    headers: &std::collections::BTreeMap<String, String>,
    secrets: &mut Vec<String>,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::with_capacity(headers.len() + 1);
    for (name, value) in headers {
        let (value, s) = expand_env(value).map_err(|e| format!("header {name}: {e}"))?;
        secrets.extend(s);
        secrets.push(value.clone());
        out.push((name.clone(), value));
    }
    if !headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("content-type"))
    {
        out.push(("Content-Type".into(), "application/json".into()));
    }
    Ok(out)
}

/// Replaces every secret in a message by `<redacted>`.
pub fn redact(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_owned();
    for s in secrets.iter().filter(|s| s.len() >= 3) {
        out = out.replace(s.as_str(), "<redacted>");
    }
    out
}

/// A URL as it may be shown: scheme, host and path; no user info, query
/// or fragment (where tokens hide).
pub fn display_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let full_len = rest.len();
    let end = rest.find(['?', '#']).unwrap_or(full_len);
    let rest = &rest[..end];
    let rest = match rest.find('/') {
        Some(slash) => {
            let (authority, path) = rest.split_at(slash);
            format!("{}{path}", strip_userinfo(authority))
        }
        None => strip_userinfo(rest).to_owned(),
    };
    let hidden = if end < full_len { "?…" } else { "" };
    format!("{scheme}://{rest}{hidden}")
}

fn strip_userinfo(authority: &str) -> &str {
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

/// A model name made safe as (part of) a file name: characters other than
/// `A-Za-z0-9._@-` become `_`, a leading `.` becomes `_`, so `..` and `/`
/// cannot climb out of the directory. When that changed the name (or it
/// was longer than 120 characters), `-` and 12 hex digits of its SHA-256
/// follow, so distinct names never share a file (`fraud/v3`, `fraud v3`
/// and `fraud_v3` stay three models).
pub fn file_safe(model: &str) -> String {
    let mut s: String = model
        .chars()
        .take(120)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        s.insert(0, '_');
    }
    if s != model {
        s.push('-');
        s.push_str(&super::audit_record::hash_hex(model.as_bytes())[..12]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values<'static> {
        Values {
            model: "fraud\"v3",
            state: "tripped",
            reason: "line1\nline2 \\ {model}",
            request_id: "ks-1",
            operator: "alice",
            time: "2026-01-01T00:00:00.000Z",
        }
    }

    #[test]
    fn placeholders_are_json_escaped_once_and_other_braces_stay() {
        let t = r#"{"model":"{model}","why":"{reason}","x":{"y":"{nope}"},"s":"{state}"}"#;
        let out = fill(t, &values(), Escape::Json);
        assert_eq!(
            out,
            r#"{"model":"fraud\"v3","why":"line1\nline2 \\ {model}","x":{"y":"{nope}"},"s":"tripped"}"#
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["why"], "line1\nline2 \\ {model}");
        assert_eq!(
            fill("http://h/m/{model}?r={reason}", &values(), Escape::Url),
            "http://h/m/fraud%22v3?r=line1%0Aline2%20%5C%20%7Bmodel%7D"
        );
        assert_eq!(fill("{model", &values(), Escape::Plain), "{model");
        assert_eq!(fill("{{model}}", &values(), Escape::Plain), "{fraud\"v3}");
        assert_eq!(fill("é{state}ü", &values(), Escape::Plain), "étrippedü");
    }

    #[test]
    fn argv_placeholders_are_whole_elements_only() {
        assert!(check_argv_element("{model}").is_ok());
        assert!(check_argv_element("--force").is_ok());
        assert!(check_argv_element("{}").is_err());
        assert!(check_argv_element("--model={model}").is_err());
        assert!(check_argv_element("{colour}").is_err());
        let argv = ["stop".to_string(), "{reason}".into(), "{x".into()];
        assert_eq!(
            fill_argv(&argv, &values()),
            ["stop", "line1\nline2 \\ {model}", "{x"]
        );
        for program in ["{model}", "/opt/{state}/stop", "{request_id}"] {
            let e = check_program(program).unwrap_err();
            assert!(e.contains("fixed text"), "{program}: {e}");
            let argv = [program.to_string(), "{model}".into()];
            assert_eq!(fill_argv(&argv, &values())[0], program);
        }
        assert!(check_program("/usr/local/bin/stop-{x}").is_ok());
        assert!(fill_argv(&[], &values()).is_empty());
    }

    #[test]
    fn env_expansion_names_missing_variables_and_collects_secrets() {
        // SAFETY-free: a variable unique to this test.
        let name = "MODELWATCH_TEST_TEMPLATE_TOKEN";
        assert_eq!(
            expand_env(&format!("Bearer ${{{name}}}")).unwrap_err(),
            format!("environment variable {name} is not set")
        );
        assert_eq!(expand_env("a $b ${").unwrap_err(), "unclosed ${");
        assert!(expand_env("${1A}").is_err());
        let (text, secrets) = expand_env("${PATH}/x $ y").unwrap();
        let path = std::env::var("PATH").unwrap();
        assert_eq!(text, format!("{path}/x $ y"));
        assert_eq!(secrets, [path]);
        assert!(check_env_refs("${OK_1} and $plain").is_ok());
    }

    #[test]
    fn secrets_are_redacted_and_urls_trimmed() {
        let msg = redact(
            "failed: token s3cr3t in https://h/?k=s3cr3t",
            &["s3cr3t".into()],
        );
        assert_eq!(msg, "failed: token <redacted> in https://h/?k=<redacted>");
        assert_eq!(
            display_url("https://user:pw@h:8443/a/b?token=x#f"),
            "https://h:8443/a/b?…"
        );
        assert_eq!(display_url("http://h"), "http://h");
        assert_eq!(display_url("http://h/p"), "http://h/p");
    }

    #[test]
    fn model_names_cannot_leave_the_directory() {
        assert!(file_safe("../../etc/passwd").starts_with("_.._.._etc_passwd-"));
        assert_eq!(file_safe("fraud-v3@1.2"), "fraud-v3@1.2");
        assert!(file_safe(".hidden").starts_with("_.hidden-"));
        let names = ["fraud/v3", "fraud v3", "fraud_v3", "fraud\u{0}v3"];
        let files: std::collections::HashSet<String> = names.iter().map(|n| file_safe(n)).collect();
        assert_eq!(files.len(), names.len(), "{files:?}");
        assert_eq!(file_safe("fraud_v3"), "fraud_v3");
        assert!(!file_safe(&"m".repeat(5000)).contains('/'));
        assert!(file_safe(&"m".repeat(5000)).len() < 140);
    }
}
