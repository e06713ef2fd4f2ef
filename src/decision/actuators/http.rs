//! HTTP: one request, any 2xx confirms; redirects are not followed (a 3xx
//! fails). `${VAR}` in the URL and header values is expanded when sent and
//! the values are scrubbed from every message; only header names and the
//! URL's scheme, host and path are ever shown. `https://` trusts what a
//! `wss://` source trusts: the system's roots plus the CA files.

use std::sync::Arc;
use std::time::Duration;

use ureq::http;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use crate::decision::kill_request::KillAction;
use crate::decision::settings::HttpSpec;
use crate::decision::template::{self, Escape, Values, display_url, expand_env, redact};

pub(super) fn describe(spec: &HttpSpec, action: KillAction) -> String {
    let headers = if spec.headers.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = spec.headers.keys().map(String::as_str).collect();
        format!(" (headers {})", names.join(", "))
    };
    let trust = if spec.ca_files.is_empty() {
        String::new()
    } else {
        let files: Vec<String> = spec
            .ca_files
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        format!(" (CA {})", files.join(", "))
    };
    format!(
        "http {} {}{headers}{trust}: state {}, expects 2xx within {}",
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
    /// Trusted roots, for `https://`.
    roots: Option<RootCerts>,
    timeout: Duration,
}

pub(super) async fn run(spec: &HttpSpec, values: &Values<'_>) -> Result<String, String> {
    let prepared = prepare(spec, values)?;
    super::blocking(spec.timeout + super::GRACE, "http", move || send(prepared)).await
}

fn prepare(spec: &HttpSpec, values: &Values<'_>) -> Result<Prepared, String> {
    let (url, mut secrets) = expand_env(&spec.url)?;
    let url = template::fill(&url, values, Escape::Url);
    let headers = template::json_headers(&spec.headers, &mut secrets)?;
    let body = matches!(spec.method.as_str(), "POST" | "PUT" | "PATCH")
        .then(|| template::fill(&spec.body, values, Escape::Json).into_bytes());
    let https = url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    let roots = if https {
        let certs = crate::tls_roots::trusted(spec.ca_files.iter().map(|p| p.as_path()))
            .map_err(|e| format!("CA file {e}"))?;
        let certs: Vec<Certificate<'static>> = certs
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned())
            .collect();
        Some(RootCerts::Specific(Arc::new(certs)))
    } else {
        None
    };
    Ok(Prepared {
        method: spec.method.clone(),
        url,
        headers,
        body,
        secrets,
        roots,
        timeout: spec.timeout,
    })
}

fn send(p: Prepared) -> Result<String, String> {
    let scrub = |m: String| redact(&m, &p.secrets);
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(p.timeout))
        .max_redirects(0)
        .http_status_as_error(false);
    if let Some(roots) = p.roots {
        config = config.tls_config(TlsConfig::builder().root_certs(roots).build());
    }
    let agent = ureq::Agent::new_with_config(config.build());
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
    let tls = match e {
        ureq::Error::Timeout(_) => return format!("no answer within {}", super::show(timeout)),
        ureq::Error::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    match tls {
        Some(tls @ rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
            format!("TLS: {tls} (a private CA is trusted through ca_file or --ca-file)")
        }
        Some(tls) => format!("TLS: {tls}"),
        None => e.to_string(),
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
            ca_files: Vec::new(),
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
