//! HTTP: one request, any 2xx confirms; redirects are not followed (a 3xx
//! fails). `${VAR}` in the URL and header values is expanded when sent and
//! the values are scrubbed from every message; only header names and the
//! URL's scheme, host and path are ever shown.

use std::time::Duration;

use ureq::http;

use crate::decision::kill_switch::KillAction;
use crate::decision::settings::HttpSpec;
use crate::decision::template::{self, Escape, Values, display_url, expand_env, redact};

pub(super) fn describe(spec: &HttpSpec, action: KillAction) -> String {
    let headers = if spec.headers.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = spec.headers.keys().map(String::as_str).collect();
        format!(" (headers {})", names.join(", "))
    };
    format!(
        "http {} {}{headers}: state {}, expects 2xx within {}",
        spec.method,
        display_url(&spec.url),
        action.target_state(),
        super::show(spec.timeout)
    )
}

/// A request ready to send (secrets expanded).
struct Prepared {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    secrets: Vec<String>,
    timeout: Duration,
}

pub(super) async fn run(spec: &HttpSpec, values: &Values<'_>) -> Result<String, String> {
    let prepared = prepare(spec, values)?;
    super::blocking(spec.timeout + super::GRACE, "http", move || send(prepared)).await
}

fn prepare(spec: &HttpSpec, values: &Values<'_>) -> Result<Prepared, String> {
    let (url, mut secrets) = expand_env(&spec.url)?;
    let url = template::fill(&url, values, Escape::Url);
    let mut headers = Vec::with_capacity(spec.headers.len() + 1);
    for (name, value) in &spec.headers {
        let (value, s) = expand_env(value).map_err(|e| format!("header {name}: {e}"))?;
        secrets.extend(s);
        // Header values hold credentials: all of it is secret.
        secrets.push(value.clone());
        headers.push((name.clone(), value));
    }
    if !spec
        .headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let body = matches!(spec.method.as_str(), "POST" | "PUT" | "PATCH")
        .then(|| template::fill(&spec.body, values, Escape::Json).into_bytes());
    Ok(Prepared {
        method: spec.method.clone(),
        url,
        headers,
        body,
        secrets,
        timeout: spec.timeout,
    })
}

fn send(p: Prepared) -> Result<String, String> {
    let scrub = |m: String| redact(&m, &p.secrets);
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(p.timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .build(),
    );
    let mut builder = http::Request::builder()
        .method(p.method.as_str())
        .uri(p.url.as_str());
    for (name, value) in &p.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let sent = match p.body {
        Some(body) => builder
            .body(body)
            .map_err(|e| scrub(format!("bad request: {e}")))
            .and_then(|r| agent.run(r).map_err(|e| describe_error(&e, p.timeout))),
        None => builder
            .body(())
            .map_err(|e| scrub(format!("bad request: {e}")))
            .and_then(|r| agent.run(r).map_err(|e| describe_error(&e, p.timeout))),
    };
    let response = sent.map_err(scrub)?;
    let status = response.status();
    if status.is_success() {
        Ok(format!("HTTP {}", status.as_u16()))
    } else if status.is_redirection() {
        Err(format!(
            "HTTP {}: redirect not followed (the actuator must answer itself)",
            status.as_u16()
        ))
    } else {
        Err(format!("HTTP {}", status.as_u16()))
    }
}

fn describe_error(e: &ureq::Error, timeout: Duration) -> String {
    match e {
        ureq::Error::Timeout(_) => format!("no answer within {}", super::show(timeout)),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> HttpSpec {
        HttpSpec {
            url: "https://h/${PATH}/{model}?k=1".into(),
            method: "PUT".into(),
            headers: [("X-Key".to_string(), "k ${PATH}".to_string())].into(),
            body: crate::decision::settings::default_body(),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn secrets_are_expanded_for_sending_but_never_described() {
        let values = Values {
            model: "m\"1",
            state: "tripped",
            reason: "r",
            request_id: "id",
            operator: "op",
            time: "t",
        };
        let path = std::env::var("PATH").unwrap();
        let p = prepare(&spec(), &values).unwrap();
        assert_eq!(p.url, format!("https://h/{path}/m%221?k=1"));
        assert!(p.secrets.contains(&format!("k {path}")));
        let body: serde_json::Value = serde_json::from_slice(&p.body.unwrap()).unwrap();
        assert_eq!(body["model"], "m\"1");
        assert_eq!(body["type"], "kill_switch");
        let d = describe(&spec(), KillAction::Trip);
        assert_eq!(
            d,
            "http PUT https://h/${PATH}/{model}?… (headers X-Key): state tripped, expects 2xx within 1s"
        );
        assert!(!d.contains(&path));
    }
}
