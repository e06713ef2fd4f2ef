//! NATS KV: the team's kill switch (`team::kill_kv`). A trip is confirmed
//! when the cluster acknowledged the put; a reset updates the revision it
//! read (a trip in between makes it fail, never silently re-armed). While
//! NATS cannot be reached the write is retried within the actuator's
//! timeout; a trip still not confirmed then is retried in the background
//! (capped backoff) until the cluster acknowledges it or a newer request for
//! the same key replaces it, so the bucket ends up saying what the
//! operator asked even when NATS was down at the time. The connection is
//! kept between runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::backoff::reconnect_delay;
use crate::decision::kill_request::KillAction;
use crate::decision::settings::NatsKvSpec;
use crate::decision::template::Values;
use crate::team::kill_kv::{KillStore, KillValue, ResetError, key_for};
use crate::team::link::Link;

/// Retry delays within a run: short, the operator is waiting.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(1);
/// Cap of the background retry's delay.
const BACKGROUND_MAX: Duration = Duration::from_secs(5);

pub(super) fn describe(spec: &NatsKvSpec, model: &str, action: KillAction) -> String {
    let url = crate::team::nats_url::NatsUrl::parse(&spec.url)
        .map(|u| u.name)
        .unwrap_or_default();
    let what = match action {
        KillAction::Trip => "put tripped",
        KillAction::Reset => "update armed over the revision read",
    };
    format!(
        "nats_kv {url} bucket {} key {}: {what}, acknowledged within {}",
        spec.bucket,
        key_for(&spec.team, model),
        super::show(spec.timeout)
    )
}

/// The connection an actuator keeps between runs, and its requests.
#[derive(Default)]
pub(crate) struct KvConn {
    /// The link, prepared once (its credentials and CA files read once).
    link: OnceLock<Result<Link, String>>,
    store: tokio::sync::Mutex<Option<KillStore>>,
    /// The newest request for each key through this actuator: a
    /// background retry stops once a newer one exists.
    newest: Mutex<HashMap<String, u64>>,
    /// Requests made, numbering them (never twice the same number).
    requests: AtomicU64,
}

/// Why one attempt failed.
enum Attempt {
    /// Worth retrying (NATS unreachable, no answer).
    Retry(String),
    /// Retrying would not help (the revision moved, a bad key).
    Final(String),
}

impl KvConn {
    /// The bucket, connecting first when needed.
    async fn store(&self, spec: &NatsKvSpec, limit: Duration) -> Result<KillStore, String> {
        let mut cached = self.store.lock().await;
        if let Some(store) = cached.as_ref() {
            return Ok(store.clone());
        }
        let prepared = self.link.get_or_init(|| {
            Link::prepare(
                &spec.url,
                spec.credentials_file.as_deref(),
                spec.ca_file.clone(),
            )
        });
        let mut link = prepared.clone()?;
        link.connect_timeout = limit.max(Duration::from_millis(100));
        let client = link.connect(None).await.map_err(|e| e.to_string())?;
        let store = KillStore::open(&client, &spec.bucket, limit).await?;
        *cached = Some(store.clone());
        Ok(store)
    }

    async fn attempt(
        &self,
        spec: &NatsKvSpec,
        action: KillAction,
        key: &str,
        value: &KillValue,
        limit: Duration,
    ) -> Result<String, Attempt> {
        let store = self.store(spec, limit).await.map_err(Attempt::Retry)?;
        let write = async {
            match action {
                KillAction::Trip => store
                    .put(key, value)
                    .await
                    .map(|rev| format!("{key} = tripped, revision {rev} acknowledged"))
                    .map_err(Attempt::Retry),
                KillAction::Reset => match store.reset(key, value).await {
                    Ok(rev) => Ok(format!("{key} = armed, revision {rev} acknowledged")),
                    Err(e @ ResetError::Stale { .. }) => Err(Attempt::Final(e.to_string())),
                    Err(ResetError::Other(e)) => Err(Attempt::Retry(e)),
                },
            }
        };
        match tokio::time::timeout(limit, write).await {
            Ok(r) => r,
            Err(_) => Err(Attempt::Retry(format!(
                "no acknowledgement within {}",
                super::show(limit)
            ))),
        }
    }

    fn newest(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.newest.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Numbers a new request for `key`, the newest for it from now on.
    fn next_request(&self, key: &str) -> u64 {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let mut newest = self.newest();
        if newest.len() >= 4096 && !newest.contains_key(key) {
            // Bounded: a retry whose key was forgotten stops.
            newest.clear();
        }
        newest.insert(key.to_string(), n);
        n
    }

    fn is_newest(&self, key: &str, request: u64) -> bool {
        self.newest().get(key) == Some(&request)
    }
}

pub(super) async fn run(
    spec: &NatsKvSpec,
    action: KillAction,
    values: &Values<'_>,
    conn: Arc<KvConn>,
) -> Result<String, String> {
    let key = key_for(&spec.team, values.model);
    let value = KillValue {
        state: action.target_state().to_string(),
        model: values.model.to_string(),
        by: values.operator.to_string(),
        at: values.time.to_string(),
        reason: values.reason.to_string(),
        request_id: values.request_id.to_string(),
    };
    let generation = conn.next_request(&key);
    let deadline = Instant::now() + spec.timeout;
    let mut attempts = 0;
    let last = loop {
        attempts += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        let attempt = conn.attempt(spec, action, &key, &value, left);
        let outcome = tokio::time::timeout(left, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(Attempt::Retry(format!(
                    "no answer within {}",
                    super::show(spec.timeout)
                )))
            });
        match outcome {
            Ok(done) => return Ok(done),
            Err(Attempt::Final(why)) => return Err(why),
            Err(Attempt::Retry(why)) => {
                let pause = reconnect_delay(RETRY_FIRST, RETRY_MAX, attempts);
                if Instant::now() + pause >= deadline {
                    break why;
                }
                tokio::time::sleep(pause).await;
            }
        }
    };
    if action == KillAction::Trip {
        let spec = spec.clone();
        tokio::spawn(async move {
            retry_in_background(spec, key, value, generation, conn).await;
        });
        return Err(format!(
            "not yet confirmed ({last}; {attempts} attempts): still retrying every {} at most",
            super::show(BACKGROUND_MAX)
        ));
    }
    Err(format!("not confirmed ({last}; {attempts} attempts)"))
}

/// Retries a trip until the cluster acknowledges it, or a newer request
/// for the key replaces it.
async fn retry_in_background(
    spec: NatsKvSpec,
    key: String,
    value: KillValue,
    generation: u64,
    conn: Arc<KvConn>,
) {
    let mut attempt = 0;
    while conn.is_newest(&key, generation) {
        attempt += 1;
        tokio::time::sleep(reconnect_delay(RETRY_MAX, BACKGROUND_MAX, attempt)).await;
        match conn
            .attempt(&spec, KillAction::Trip, &key, &value, spec.timeout)
            .await
        {
            Ok(done) => {
                tracing::info!(key = %key, request_id = %value.request_id, %done,
                    "kill switch: the team bucket confirmed the trip late");
                return;
            }
            Err(Attempt::Final(why) | Attempt::Retry(why)) => {
                tracing::warn!(key = %key, error = %why, "kill switch: the team bucket still unreachable");
            }
        }
    }
}
