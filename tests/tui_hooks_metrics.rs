//! The dashboard feeds the alert hooks and the metrics as the headless
//! modes do: in a real terminal, a stream that fires and clears an alert
//! reaches a loopback webhook, and `/metrics` counts every prediction.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::drift;
use common::http_hook::{Answer, HookServer};
use common::tmux::{Tmux, exit_status, lines_flowing, quote};
use common::wait_until;

const LIMIT: Duration = Duration::from_secs(30);

/// The metrics address the log names (the dashboard logs to its file).
fn metrics_addr(log: &Path) -> String {
    wait_until("the metrics address in the log", LIMIT, || {
        let text = std::fs::read_to_string(log).ok()?;
        let line = text.lines().find(|l| l.contains("metrics served at"))?;
        let addr = line.split("addr=").nth(1)?;
        Some(addr.split_whitespace().next()?.to_string())
    })
}

fn scrape(addr: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn the_dashboard_delivers_alert_hooks_and_serves_metrics() {
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    std::fs::write(&file, drift::lines("fraud-v3")).unwrap();
    let server = HookServer::start(|_| Answer::Status(200));
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[alerts.hook]]\nkind = \"webhook\"\nurl = \"{}\"\n",
            server.url()
        ),
    )
    .unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_modelwatch"));
    let log = dir.path().join("log");
    let exit = dir.path().join("exit");
    let script = format!(
        "MODELWATCH_LOG_FILE={log} {bin} watch {args} --config {config} \
         --metrics-addr 127.0.0.1:0 --audit-log {audit} {file}; echo EXIT=$? > {exit}",
        log = quote(&log),
        bin = quote(&bin),
        args = drift::ARGS.join(" "),
        config = quote(&config),
        audit = quote(&dir.path().join("audit.jsonl")),
        file = quote(&file),
        exit = quote(&exit),
    );
    tmux.start("mw", &script);
    tmux.wait_screen("mw", "the dashboard", LIMIT, lines_flowing);
    wait_until("the fired and cleared drift alert delivered", LIMIT, || {
        let states: Vec<String> = server
            .delivered()
            .iter()
            .filter(|b| b["alert_kind"] == "confidence_drift")
            .map(|b| b["state"].as_str().unwrap().to_string())
            .collect();
        states == ["fired", "cleared"]
    });
    let addr = metrics_addr(&log);
    let want = format!(
        "modelwatch_predictions_total{{model=\"fraud-v3\"}} {}",
        drift::PREDICTIONS
    );
    wait_until("every prediction in the metrics", LIMIT, || {
        scrape(&addr).is_some_and(|m| m.contains(&want))
    });
    tmux.keys("mw", "q");
    assert_eq!(
        exit_status("the dashboard's exit", &exit, LIMIT).trim(),
        "EXIT=0"
    );
}
