//! The running sources of a live session: one tokio task each, stopped
//! together.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::ws_link::{ControlHandle, WsSource};
use super::ws_setup::{WsTarget, client_config};
use super::{SourceError, SourceEvent, SourceId, SourceOptions, SourceSpec};
use crate::record::Parser;

/// How long [`SourceSet::shutdown`] lets tasks finish (a websocket's close
/// handshake) before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);
/// Control messages queued for one websocket source, at most.
const CONTROL_QUEUE: usize = 16;

/// The live sources; dropping the set aborts them.
pub struct SourceSet {
    tasks: Vec<JoinHandle<()>>,
    controls: Vec<Option<ControlHandle>>,
    names: Vec<String>,
    stop: watch::Sender<bool>,
}

impl SourceSet {
    /// Starts one task per source (call inside a tokio runtime). Fails,
    /// before anything starts, on a bad URL or header, an unset `${VAR}`,
    /// or an unreadable `ca_file`.
    pub fn start(
        specs: Vec<SourceSpec>,
        options: SourceOptions,
        parser: Parser,
        tx: mpsc::Sender<SourceEvent>,
    ) -> Result<SourceSet, SourceError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SourceError {
                source: "sources".into(),
                message: "SourceSet::start needs a tokio runtime".into(),
            });
        }
        let options = Arc::new(options);
        let parser = Arc::new(parser);
        let tls = if specs.iter().any(is_wss) {
            Some(client_config(options.ca_file.as_deref())?)
        } else {
            None
        };
        // Check every source before starting any.
        let mut prepared = Vec::with_capacity(specs.len());
        let mut parsers = Vec::with_capacity(specs.len());
        for spec in specs {
            // A `[[sources.source]]` entry may give this source its own mapping.
            let own = spec
                .argument()
                .and_then(|arg| options.settings.entry(&arg))
                .and_then(|e| e.mapping.clone());
            parsers.push(match own {
                Some(mapping) => Arc::new(Parser::new(Some(mapping))),
                None => Arc::clone(&parser),
            });
            prepared.push(match spec {
                SourceSpec::WebSocket(url) => {
                    Prepared::WebSocket(WsTarget::prepare(&url, &options, tls.clone())?)
                }
                SourceSpec::File(path) => Prepared::File(path),
                SourceSpec::Nats(url) => Prepared::Nats(super::nats::prepare(&url, &options)?),
                SourceSpec::Stdin => Prepared::Stdin,
                SourceSpec::Demo(spec) => Prepared::Demo(spec),
            });
        }
        let (stop, shutdown) = watch::channel(false);
        let mut set = SourceSet {
            tasks: Vec::new(),
            controls: Vec::new(),
            names: Vec::new(),
            stop,
        };
        for (id, (source, parser)) in prepared.into_iter().zip(parsers).enumerate() {
            let (tx, shutdown) = (tx.clone(), shutdown.clone());
            let options = Arc::clone(&options);
            let (task, control, name) = match source {
                Prepared::File(path) => {
                    let name = path.display().to_string();
                    let task = super::file::run(id, path, options, parser, tx, shutdown);
                    (tokio::spawn(task), None, name)
                }
                Prepared::Nats(target) => {
                    let name = target.link.url.name.clone();
                    let source = super::nats::NatsSource {
                        id,
                        link: target.link,
                        subject: target.subject,
                        options,
                        parser,
                    };
                    let task = super::nats::run(source, tx, shutdown);
                    (tokio::spawn(task), None, name)
                }
                Prepared::Stdin => {
                    let task = super::stdin::run(id, options, parser, tx, shutdown);
                    (tokio::spawn(task), None, "stdin".to_string())
                }
                Prepared::Demo(spec) => {
                    let name = spec.name();
                    let task = super::demo::run(id, spec, options, parser, tx, shutdown);
                    (tokio::spawn(task), None, name)
                }
                Prepared::WebSocket(target) => {
                    let name = target.name.clone();
                    let (control_tx, control_rx) = mpsc::channel(CONTROL_QUEUE);
                    let source = WsSource {
                        id,
                        target,
                        options,
                        parser,
                    };
                    let task = super::websocket::run(source, tx, control_rx, shutdown);
                    let handle = ControlHandle { tx: control_tx };
                    (tokio::spawn(task), Some(handle), name)
                }
            };
            set.tasks.push(task);
            set.controls.push(control);
            set.names.push(name);
        }
        Ok(set)
    }

    /// The control handle of a websocket source; `None` for other sources.
    pub fn control(&self, id: SourceId) -> Option<ControlHandle> {
        self.controls.get(id).cloned().flatten()
    }

    /// Display names (credentials removed), indexed by source id.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether every source task has finished (stdin ended, ...).
    pub fn is_finished(&self) -> bool {
        self.tasks.iter().all(JoinHandle::is_finished)
    }

    /// Stops every source: websockets close their connection, then
    /// whatever has not finished within half a second is aborted.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut self.tasks);
        let aborts: Vec<_> = tasks.iter().map(JoinHandle::abort_handle).collect();
        let all = futures_util::future::join_all(tasks);
        if tokio::time::timeout(SHUTDOWN_GRACE, all).await.is_err() {
            for a in aborts {
                a.abort();
            }
        }
    }
}

impl Drop for SourceSet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

enum Prepared {
    File(std::path::PathBuf),
    Stdin,
    Demo(super::demo::DemoSpec),
    WebSocket(WsTarget),
    Nats(super::nats::NatsTarget),
}

fn is_wss(spec: &SourceSpec) -> bool {
    matches!(spec, SourceSpec::WebSocket(url) if url.get(..6).is_some_and(|s| s.eq_ignore_ascii_case("wss://")))
}
