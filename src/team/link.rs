//! A connection to a NATS cluster, as the NATS source and the shared kill
//! switch make it: the servers of a `nats://` URL, a credentials file
//! (read once, when the link is prepared, so a bad file is a config error),
//! extra CA certificates for `tls://`, and reconnects with capped
//! exponential backoff and jitter once connected (the client reconnects by
//! itself and subscriptions resume). The first connection is the caller's
//! to retry: it decides what the operator sees meanwhile.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_nats::jetstream::consumer::pull::{Ordered, OrderedConfig};
use async_nats::{Client, ConnectErrorKind, ConnectOptions, Event};
use tokio::sync::mpsc;

use super::nats_url::NatsUrl;
use crate::backoff::reconnect_delay;
use crate::record::time::now_ms;

/// How a link connects. Cheap to clone.
#[derive(Clone)]
pub struct Link {
    pub url: NatsUrl,
    /// The credentials file's content (a secret: never shown).
    credentials: Option<Arc<String>>,
    ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub reconnect_initial: Duration,
    pub reconnect_max: Duration,
    /// Epoch ms of the client's next reconnect attempt, as its delay
    /// callback last decided (for the status).
    next_attempt_ms: Arc<AtomicI64>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("url", &self.url.name)
            .field("credentials", &self.credentials.is_some())
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

/// Why a connection attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// Credentials, permissions or the certificate refused: retrying soon
    /// would not help.
    Refused(String),
    Other(String),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::Refused(m) | LinkError::Other(m) => f.write_str(m),
        }
    }
}

impl Link {
    /// Checks the URL and reads the credentials file (errors name it).
    pub fn prepare(
        url: &str,
        credentials_file: Option<&std::path::Path>,
        ca_file: Option<PathBuf>,
    ) -> Result<Link, String> {
        let url = NatsUrl::parse(url)?;
        let credentials = match credentials_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("credentials file {}: {e}", path.display()))?;
                // Parsed now, so a file that is not a credentials file is
                // refused before anything starts.
                ConnectOptions::with_credentials(&text).map_err(|_| {
                    format!(
                        "credentials file {}: not a NATS credentials file (JWT and seed)",
                        path.display()
                    )
                })?;
                Some(Arc::new(text))
            }
            None => None,
        };
        if let Some(path) = &ca_file {
            crate::tls_roots::read_ca_file(path).map_err(|e| format!("CA file {e}"))?;
        }
        Ok(Link {
            url,
            credentials,
            ca_file,
            connect_timeout: Duration::from_secs(5),
            reconnect_initial: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            next_attempt_ms: Arc::new(AtomicI64::new(0)),
        })
    }

    /// When the client will next try to reconnect (epoch ms; 0 before any).
    pub fn next_attempt_ms(&self) -> i64 {
        self.next_attempt_ms.load(Ordering::Relaxed)
    }

    /// Connects once (within `connect_timeout`); `events` receives the
    /// client's connection events from then on (dropped when full).
    pub async fn connect(&self, events: Option<mpsc::Sender<Event>>) -> Result<Client, LinkError> {
        let mut options = ConnectOptions::new()
            .name("modelwatch")
            .connection_timeout(self.connect_timeout)
            .max_reconnects(None);
        if let Some(creds) = &self.credentials {
            options = options
                .credentials(creds)
                .map_err(|_| LinkError::Other("credentials file unreadable".into()))?;
        }
        if let Some(path) = &self.ca_file {
            options = options.add_root_certificates(path.clone());
        }
        let (initial, max) = (self.reconnect_initial, self.reconnect_max);
        let next = Arc::clone(&self.next_attempt_ms);
        options = options.reconnect_delay_callback(move |attempts| {
            // The client asks before every attempt: the first goes at once.
            let delay = match attempts {
                0 | 1 => Duration::ZERO,
                n => reconnect_delay(initial, max, n - 1),
            };
            next.store(
                now_ms().saturating_add(delay.as_millis() as i64),
                Ordering::Relaxed,
            );
            delay
        });
        if let Some(tx) = events {
            options = options.event_callback(move |event| {
                let _ = tx.try_send(event);
                std::future::ready(())
            });
        }
        let servers: Vec<async_nats::ServerAddr> = self
            .url
            .servers
            .iter()
            .map(|s| s.parse())
            .collect::<Result<_, _>>()
            .map_err(|e: std::io::Error| LinkError::Other(self.scrub(e.to_string())))?;
        options.connect(servers).await.map_err(|e| {
            if let Some(cert) = refused_certificate(&e) {
                return LinkError::Refused(format!("TLS certificate refused: {cert}"));
            }
            let message = self.scrub(e.to_string());
            match e.kind() {
                ConnectErrorKind::Authentication
                | ConnectErrorKind::AuthorizationViolation
                | ConnectErrorKind::Tls => LinkError::Refused(message),
                _ => LinkError::Other(message),
            }
        })
    }

    /// A message without the URL's credentials.
    pub fn scrub(&self, message: String) -> String {
        let mut message = message;
        for server in &self.url.servers {
            if let Some(userinfo) = server
                .split_once("://")
                .and_then(|(_, rest)| rest.rsplit_once('@'))
                .map(|(u, _)| u)
                .filter(|u| !u.is_empty())
            {
                message = message.replace(userinfo, "***");
            }
        }
        message
    }
}

/// The messages of an ordered consumer made on `stream` (it makes itself
/// again after a gap or a lost server).
pub async fn ordered_messages(
    stream: &async_nats::jetstream::stream::Stream,
    config: OrderedConfig,
) -> Result<Ordered, String> {
    let consumer = stream
        .create_consumer(config)
        .await
        .map_err(|e| e.to_string())?;
    consumer.messages().await.map_err(|e| e.to_string())
}

/// The certificate error behind a failed connection, if that is what it
/// was (the client reports it as an I/O error).
fn refused_certificate(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(e);
    while let Some(err) = cause {
        let tls = err.downcast_ref::<rustls::Error>().or_else(|| {
            err.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(cert)) = tls {
            return Some(format!("{cert:?}"));
        }
        cause = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preparing_reads_the_files_and_never_shows_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let link = Link::prepare("nats://bob:pw@h:1/x", None, None).unwrap();
        assert_eq!(
            link.scrub("cannot reach nats://bob:pw@h:1".into()),
            "cannot reach nats://***@h:1"
        );
        assert!(!format!("{link:?}").contains("pw"));
        let missing = dir.path().join("none.creds");
        let e = Link::prepare("nats://h:1/x", Some(&missing), None).unwrap_err();
        assert!(e.contains("none.creds"), "{e}");
        let junk = dir.path().join("junk.creds");
        std::fs::write(&junk, "not a creds file").unwrap();
        let e = Link::prepare("nats://h:1/x", Some(&junk), None).unwrap_err();
        assert!(e.contains("not a NATS credentials file"), "{e}");
        let e = Link::prepare("nats://h:1/x", None, Some(dir.path().join("ca.pem"))).unwrap_err();
        assert!(e.contains("ca.pem"), "{e}");
    }
}
