//! `modelwatch demo`: the live session on the built-in simulated model, or
//! that model served as a websocket (`--serve`) or written to a file.

use crate::cli::{DemoArgs, WatchFlags};
use crate::source::SourceSpec;
use crate::source::demo::DemoSpec;
use crate::source::serve;

use super::demo_team::LocalNats;
use super::session::run_live;
use super::settings::{DEMO_DEFAULTS, load_config};
use super::{Failure, Outcome};

pub fn run(args: &DemoArgs) -> Result<Outcome, Failure> {
    let spec = DemoSpec {
        seed: args.seed,
        rate: args.rate,
        limit: args.limit,
    };
    if let Some(addr) = &args.serve {
        return super::runtime()?.block_on(async {
            let listener = tokio::net::TcpListener::bind(addr.as_str())
                .await
                .map_err(|e| Failure(format!("{addr}: cannot listen: {e}")))?;
            let local = listener
                .local_addr()
                .map_err(|e| Failure(format!("{addr}: {e}")))?;
            eprintln!(
                "modelwatch demo: serving the simulated model on ws://{local} (Ctrl-C to stop)"
            );
            let _logs = super::logging::init();
            serve::serve(listener, spec, stopped()).await;
            Ok(Outcome::Ok)
        });
    }
    if let Some(path) = &args.write {
        return super::runtime()?.block_on(async {
            serve::write_to(path, spec, stopped())
                .await
                .map_err(|e| Failure(format!("{}: {e}", path.display())))?;
            Ok(Outcome::Ok)
        });
    }
    // The demo's source takes none of the input flags a file or
    // websocket would.
    let mut flags = WatchFlags {
        session: args.session.clone(),
        ..WatchFlags::default()
    };
    // `--team` with no cluster anywhere: a local one for the demo's life.
    let team = &flags.session.team;
    let _local_nats = if team.name.is_some()
        && team.nats.is_none()
        && load_config(&flags.session.config)?.team.nats.is_none()
    {
        let local = LocalNats::start()?;
        eprintln!(
            "modelwatch demo: team mode on a local nats-server at {} (stopped with the demo)",
            local.url
        );
        flags.session.team.nats = Some(local.url.clone());
        Some(local)
    } else {
        None
    };
    run_live(vec![SourceSpec::Demo(spec)], &flags, DEMO_DEFAULTS)
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stopped() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
