//! Status reporting shared by the sources: a state change is sent at once,
//! counter changes at most once a second, so a busy source does not flood
//! the channel with status events.

use std::time::Duration;

use tokio::sync::mpsc::Sender;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Instant;

use super::batching::Counters;
use super::{SourceEvent, SourceId, SourceState, SourceStatus};

/// Least time between two status events that only update counters.
pub(crate) const STATUS_EVERY: Duration = Duration::from_secs(1);
/// Retry delay of a state change that found the channel full (websockets).
const RETRY: Duration = Duration::from_millis(200);

/// The receiver is gone: the live session ended, so the source stops.
#[derive(Debug)]
pub(crate) struct Closed;

pub(crate) struct Reporter {
    pub status: SourceStatus,
    tx: Sender<SourceEvent>,
    sent: Option<SourceStatus>,
    sent_at: Option<Instant>,
    retry_at: Option<Instant>,
}

impl Reporter {
    pub fn new(id: SourceId, name: String, tx: Sender<SourceEvent>) -> Self {
        Reporter {
            status: SourceStatus::new(id, name),
            tx,
            sent: None,
            sent_at: None,
            retry_at: None,
        }
    }

    pub fn tx(&self) -> &Sender<SourceEvent> {
        &self.tx
    }

    pub fn set_state(&mut self, state: SourceState) {
        self.status.state = state;
    }

    /// Takes a reader's running counters into the status (the lines new
    /// since the last sync count as read now).
    pub(crate) fn sync(&mut self, counters: &Counters) {
        self.add_lines(counters.lines.saturating_sub(self.status.lines));
        self.status.errors = counters.errors;
    }

    /// Counts `n` lines read now.
    pub fn add_lines(&mut self, n: u64) {
        if n > 0 {
            self.status.lines += n;
            self.status.last_line_ms = Some(crate::record::time::now_ms());
        }
    }

    fn state_changed(&self) -> bool {
        self.sent
            .as_ref()
            .is_none_or(|s| s.state != self.status.state)
    }

    /// When the next status event is due, if one is.
    pub fn next_due(&self) -> Option<Instant> {
        if self.sent.as_ref() == Some(&self.status) {
            return None;
        }
        if let Some(at) = self.retry_at {
            return Some(at);
        }
        if self.state_changed() {
            return Some(Instant::now());
        }
        Some(self.sent_at.map_or_else(Instant::now, |t| t + STATUS_EVERY))
    }

    fn due_now(&self) -> bool {
        self.next_due().is_some_and(|t| t <= Instant::now())
    }

    /// Sends the status if due, waiting for room in the channel.
    pub async fn flush(&mut self) -> Result<(), Closed> {
        if self.due_now() {
            self.force().await?;
        }
        Ok(())
    }

    /// Sends the status now, waiting for room (a final state).
    pub async fn force(&mut self) -> Result<(), Closed> {
        let status = self.status.clone();
        self.tx
            .send(SourceEvent::Status(status.clone()))
            .await
            .map_err(|_| Closed)?;
        self.mark_sent(status);
        Ok(())
    }

    /// Sends the status if due without waiting; a full channel retries
    /// shortly (websockets never wait for the consumer).
    pub fn try_flush(&mut self) -> Result<(), Closed> {
        if !self.due_now() {
            return Ok(());
        }
        let status = self.status.clone();
        match self.tx.try_send(SourceEvent::Status(status.clone())) {
            Ok(()) => {
                self.mark_sent(status);
                Ok(())
            }
            Err(TrySendError::Full(_)) => {
                self.retry_at = Some(Instant::now() + RETRY);
                Ok(())
            }
            Err(TrySendError::Closed(_)) => Err(Closed),
        }
    }

    fn mark_sent(&mut self, status: SourceStatus) {
        self.sent = Some(status);
        self.sent_at = Some(Instant::now());
        self.retry_at = None;
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for (a
/// `select!` branch that never fires).
pub(crate) async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn state_changes_go_at_once_counters_once_a_second() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let mut r = Reporter::new(0, "x".into(), tx);
        r.flush().await.unwrap();
        assert!(rx.try_recv().is_ok(), "the first status is sent at once");
        r.add_lines(3);
        r.flush().await.unwrap();
        assert!(rx.try_recv().is_err(), "counters wait");
        let due = r.next_due().unwrap();
        assert!(due > Instant::now());
        r.set_state(SourceState::Following);
        r.flush().await.unwrap();
        assert!(matches!(rx.try_recv(), Ok(SourceEvent::Status(s)) if s.lines == 3));
        assert_eq!(r.next_due(), None);
        r.add_lines(1);
        let due = r.next_due().unwrap();
        assert!(due >= Instant::now() + STATUS_EVERY - Duration::from_millis(100));
        r.try_flush().unwrap();
        assert!(rx.try_recv().is_err());
    }
}
