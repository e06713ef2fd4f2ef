//! Trouble on a model that is not on screen is never invisible, in a real
//! terminal: a followed file with two models, the second of which drifts.
//! The dashboard opens on the drifting one; on the calm one, in the help
//! and in the models view, the status bar names the critical alert; the
//! models view lists both and Enter goes back to the drifting one.

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use common::tmux::{Tmux, exit_status, quote};

const LIMIT: Duration = Duration::from_secs(20);

/// 1,200 predictions of each model: `calm` steady; `drifting` steady for
/// its 400-prediction baseline, then with its confidence collapsed.
fn two_models() -> String {
    let mut text = String::new();
    for i in 0..1200u64 {
        let jitter = (i * 37 % 20) as f64 / 100.0;
        let calm = 0.75 + jitter;
        let drifting = if i < 400 { calm } else { 0.25 + jitter };
        for (model, confidence) in [("calm", calm), ("drifting", drifting)] {
            writeln!(
                text,
                r#"{{"id":"{model}-{i}","model":"{model}","prediction":"x","confidence":{confidence:.2}}}"#
            )
            .unwrap();
        }
    }
    text
}

#[test]
fn the_second_models_critical_alert_shows_on_every_screen() {
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("two.jsonl");
    std::fs::write(&file, two_models()).unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_modelwatch"));
    let exit = dir.path().join("exit");
    let script = format!(
        "MODELWATCH_LOG_FILE={log} {bin} watch --from-start --baseline 400 --window 200 \
         --audit-log {audit} {file}; echo EXIT=$? > {exit}",
        log = quote(&dir.path().join("log")),
        bin = quote(&bin),
        audit = quote(&dir.path().join("audit.jsonl")),
        file = quote(&file),
        exit = quote(&exit),
    );
    tmux.start("mw", &script);
    // It opens on the model in trouble.
    tmux.wait_screen("mw", "the drifting model with its alert", LIMIT, |s| {
        s.contains("drifting (") && s.contains("CRITICAL confidence drift")
    });
    // Every other screen names it in the status bar.
    tmux.keys("mw", "m");
    tmux.wait_screen(
        "mw",
        "the calm model, the other's alert named",
        LIMIT,
        |s| {
            s.lines().next().is_some_and(|top| {
                top.contains("calm (") && top.contains("1 CRITICAL on 1 other model")
            })
        },
    );
    tmux.keys("mw", "?");
    tmux.wait_screen("mw", "the help, the alert still named", LIMIT, |s| {
        s.contains("Keys (from the live keymap")
            && s.lines().next().is_some_and(|t| t.contains("1 CRITICAL"))
    });
    tmux.keys("mw", "Escape");
    // Escape and a key sent at once read as Alt+key: wait for the help to close.
    tmux.wait_screen("mw", "the help closed", LIMIT, |s| {
        !s.contains("Keys (from the live keymap")
    });
    tmux.keys("mw", "M");
    let models = tmux.wait_screen("mw", "the models view", LIMIT, |s| {
        s.contains("rate/s") && s.contains("drifting") && s.contains("calm")
    });
    let row = models
        .lines()
        .find(|l| l.contains("drifting") && l.contains("frozen"))
        .unwrap_or_else(|| panic!("no row for the drifting model:\n{models}"));
    let crit: Vec<&str> = row.split_whitespace().collect();
    assert!(
        crit.windows(2).any(|w| w[0].ends_with('s') && w[1] == "1"),
        "one critical alert on the drifting model's row: {row}"
    );
    assert!(models.lines().next().unwrap().contains("1 CRITICAL"));
    // Enter on the drifting model's row shows it.
    tmux.keys("mw", "j");
    tmux.keys("mw", "Enter");
    tmux.wait_screen("mw", "back on the drifting model", LIMIT, |s| {
        s.lines().next().is_some_and(|t| t.contains("drifting (")) && !s.contains("rate/s")
    });
    tmux.keys("mw", "q");
    assert_eq!(exit_status("exit", &exit, LIMIT).trim(), "EXIT=0");
}
