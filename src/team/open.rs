//! Opening a team stream or bucket, creating it when it does not exist
//! yet: each request bounded on its own (a cluster just started, or busy
//! creating it for another process, can leave one unanswered, and asking
//! again soon finds it), with as many replicas as the cluster has, up to
//! three (a smaller cluster refuses more), until `limit`.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

/// Longest wait for one request about a stream or bucket.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// `get()` when it answers, else `create(replicas)` with 3, 2, then 1
/// replicas, again and again until `limit`; `what` names it in the error.
pub async fn get_or_create<T, GetErr, CreateErr, Get, GetFut, Create, CreateFut>(
    what: &str,
    limit: Duration,
    get: Get,
    create: Create,
) -> Result<T, String>
where
    Get: Fn() -> GetFut,
    GetFut: Future<Output = Result<T, GetErr>>,
    Create: Fn(usize) -> CreateFut,
    CreateFut: Future<Output = Result<T, CreateErr>>,
    CreateErr: Display,
{
    let wait = REQUEST_TIMEOUT.min(limit);
    let mut last = String::from("no answer");
    let opened = tokio::time::timeout(limit, async {
        loop {
            if let Ok(Ok(found)) = tokio::time::timeout(wait, get()).await {
                return found;
            }
            for replicas in [3, 2, 1] {
                match tokio::time::timeout(wait, create(replicas)).await {
                    Ok(Ok(made)) => return made,
                    Ok(Err(e)) => last = e.to_string(),
                    Err(_) => last = "no answer".into(),
                }
            }
            tokio::time::sleep(REQUEST_TIMEOUT / 8).await;
        }
    })
    .await;
    opened.map_err(|_| {
        format!(
            "{what}: not opened within {}: {last}",
            humantime::format_duration(limit)
        )
    })
}

/// The stream `config(replicas)` describes, opened or created.
pub async fn stream(
    js: &async_nats::jetstream::Context,
    config: impl Fn(usize) -> async_nats::jetstream::stream::Config,
    limit: Duration,
) -> Result<async_nats::jetstream::stream::Stream, String> {
    let name = config(1).name;
    get_or_create(
        &format!("stream {name}"),
        limit,
        || js.get_stream(&name),
        |replicas| js.create_stream(config(replicas)),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn found_at_once_or_made_with_as_many_replicas_as_the_cluster_takes() {
        let found = get_or_create(
            "s",
            Duration::from_secs(1),
            || async { Ok::<_, String>(0) },
            |_| async { Err::<usize, _>("not asked") },
        )
        .await;
        assert_eq!(found, Ok(0));
        let asked = Cell::new(Vec::new());
        let made = get_or_create(
            "s",
            Duration::from_secs(1),
            || async { Err::<usize, _>("no such stream") },
            |replicas| {
                let mut seen = asked.take();
                seen.push(replicas);
                asked.set(seen);
                async move {
                    if replicas == 1 {
                        Ok(replicas)
                    } else {
                        Err(format!("insufficient resources for {replicas}"))
                    }
                }
            },
        )
        .await;
        assert_eq!(made, Ok(1));
        assert_eq!(asked.take(), vec![3, 2, 1]);
    }

    #[tokio::test]
    async fn a_cluster_that_refuses_is_named_with_its_last_answer() {
        let refused = get_or_create(
            "stream MW_X",
            Duration::from_millis(300),
            || async { Err::<usize, _>("no such stream") },
            |replicas| async move { Err::<usize, _>(format!("no room for {replicas}")) },
        )
        .await;
        assert_eq!(
            refused,
            Err("stream MW_X: not opened within 300ms: no room for 1".into())
        );
        let silent = get_or_create(
            "bucket MW_Y",
            Duration::from_millis(300),
            std::future::pending::<Result<usize, String>>,
            |_| std::future::pending::<Result<usize, String>>(),
        )
        .await;
        assert_eq!(
            silent,
            Err("bucket MW_Y: not opened within 300ms: no answer".into())
        );
    }
}
