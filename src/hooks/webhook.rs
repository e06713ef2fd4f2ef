//! A webhook delivery: one POST, any 2xx delivers. `${VAR}` in the URL and
//! header values is expanded once at start (a missing variable stops the
//! start) and the values are scrubbed from every message; only header
//! names and the URL's scheme, host and path are ever shown. Redirects are
//! not followed. Each request runs on a thread of its own, bounded by the
//! timeout, so a server that never answers holds nothing the session needs.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, RootCerts, TlsConfig};

use super::Failure;
use super::settings::WebhookSpec;
use crate::decision::template::{display_url, expand_env, json_headers, redact};

/// Time past the timeout for the request to report it itself.
const GRACE: Duration = Duration::from_millis(250);

#[derive(Debug)]
pub struct Webhook {
    url: String,
    /// The URL as it may be shown.
    pub shown: String,
    headers: Vec<(String, String)>,
    secrets: Arc<Vec<String>>,
    agent: ureq::Agent,
    timeout: Duration,
}

impl Webhook {
    /// Expands the secrets and loads the trusted roots.
    pub fn prepare(
        spec: &WebhookSpec,
        timeout: Duration,
        global_ca: Option<&Path>,
    ) -> Result<Webhook, String> {
        let (url, mut secrets) = expand_env(&spec.url).map_err(|e| format!("url: {e}"))?;
        let headers = json_headers(&spec.headers, &mut secrets)?;
        let mut config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(concat!("modelwatch/", env!("CARGO_PKG_VERSION")));
        if url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        {
            let files = spec.ca_file.as_deref().into_iter().chain(global_ca);
            let certs = crate::tls_roots::trusted(files).map_err(|e| format!("CA file {e}"))?;
            let certs: Vec<Certificate<'static>> = certs
                .iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                .collect();
            let roots = RootCerts::Specific(Arc::new(certs));
            config = config.tls_config(TlsConfig::builder().root_certs(roots).build());
        }
        Ok(Webhook {
            shown: display_url(&spec.url),
            url,
            headers,
            secrets: Arc::new(secrets),
            agent: ureq::Agent::new_with_config(config.build()),
            timeout,
        })
    }

    /// POSTs `body`; `delivery_id` goes in `Idempotency-Key`.
    pub async fn post(&self, body: Vec<u8>, delivery_id: Option<&str>) -> Result<String, Failure> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let agent = self.agent.clone();
        let url = self.url.clone();
        let mut headers = self.headers.clone();
        if let Some(id) = delivery_id {
            headers.push(("Idempotency-Key".into(), id.to_string()));
        }
        let secrets = Arc::clone(&self.secrets);
        let timeout = self.timeout;
        let spawned = std::thread::Builder::new()
            .name("alert-hook-http".into())
            .spawn(move || {
                let _ = tx.send(send(&agent, &url, &headers, &body, timeout, &secrets));
            });
        if let Err(e) = spawned {
            return Err(Failure::retry(format!("cannot start a thread: {e}")));
        }
        match tokio::time::timeout(self.timeout + GRACE, rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(Failure::retry(
                "the request's thread ended without an answer",
            )),
            Err(_) => Err(Failure::retry(no_answer(timeout))),
        }
    }
}

fn no_answer(timeout: Duration) -> String {
    format!("no answer within {}", humantime::format_duration(timeout))
}

fn send(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
    secrets: &[String],
) -> Result<String, Failure> {
    let mut request = agent.post(url);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = match request.send(body) {
        Ok(r) => r,
        Err(ureq::Error::Timeout(_)) => return Err(Failure::retry(no_answer(timeout))),
        Err(e) => return Err(Failure::retry(redact(&e.to_string(), secrets))),
    };
    let status = response.status().as_u16();
    match status {
        200..=299 => Ok(format!("HTTP {status}")),
        // Worth another try: the server was busy, overloaded or failing.
        408 | 425 | 429 | 500..=599 => Err(Failure::retry(format!("HTTP {status}"))),
        300..=399 => Err(Failure::refused(format!(
            "HTTP {status}: redirect not followed"
        ))),
        _ => Err(Failure::refused(format!("HTTP {status}"))),
    }
}
