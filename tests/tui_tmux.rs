//! The dashboard end to end in a real pseudo-terminal: the real binary in
//! a detached tmux session (120×40), read with `capture-pane`, driven with
//! `send-keys`. Checks that the panels show, that `a` writes an approve
//! record to the audit log, that `K` `y` trips the kill switch (the flag
//! file exists and the screen says TRIPPED), and that `q` exits with
//! status 0.
//!
//! tmux is required: without it this test fails (CI installs it).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::tmux::{Tmux, exit_status, lines_flowing, quote, records};
use common::wait_until;

#[test]
fn dashboard_in_a_real_terminal() {
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_modelwatch"));
    let audit = dir.path().join("audit.jsonl");
    let flag = dir.path().join("killed.flag");
    let exit = dir.path().join("exit");
    let log = dir.path().join("modelwatch.log");
    let script = format!(
        "MODELWATCH_LOG_FILE={log} {bin} demo --seed 7 --audit-log {audit} --kill-file {flag}; \
         echo EXIT=$? > {exit}",
        log = quote(&log),
        bin = quote(&bin),
        audit = quote(&audit),
        flag = quote(&flag),
        exit = quote(&exit),
    );
    tmux.start("mw", &script);

    // The panels show.
    let limit = Duration::from_secs(20);
    tmux.wait_screen("mw", "the panels", limit, |s| {
        [
            "KILL: ARMED",
            "Confidence",
            "Prediction mix",
            "Drift",
            "Alerts",
            "Accuracy",
            "Review",
            "Case",
        ]
        .iter()
        .all(|p| s.contains(p))
    });
    // A case is queued and selected (the review queue has the focus).
    tmux.wait_screen("mw", "a queued case", limit, |s| {
        s.contains("▶t-") || s.contains("▶f-")
    });

    // a approves it: an approve record in the audit log, then the screen says so.
    tmux.keys("mw", "a");
    let approve = wait_until("an approve record", limit, || {
        records(&audit)
            .into_iter()
            .find(|r| r["action"] == "approve")
    });
    assert_eq!(approve["seq"], 1);
    assert!(approve["case_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(
        approve["shown"]["confidence"]
            .as_f64()
            .is_some_and(|c| c < 0.6),
        "{approve}"
    );
    assert_eq!(approve["label"], approve["shown"]["prediction"]);
    tmux.wait_screen("mw", "the approval shown", limit, |s| {
        s.contains("approved (audit #1)")
    });

    // A second dashboard on the same audit log starts: nothing holds the
    // log between appends.
    let script2 = format!(
        "MODELWATCH_LOG_FILE={log} {bin} demo --read-only --audit-log {audit}; sleep 30",
        log = quote(&log),
        bin = quote(&bin),
        audit = quote(&audit),
    );
    tmux.start("second", &script2);
    tmux.wait_screen("second", "the second dashboard", limit, |s| {
        s.contains("Review") && s.contains("KILL: ARMED")
    });

    // K then y trips the switch: the flag file, then TRIPPED on screen.
    tmux.keys("mw", "K");
    tmux.wait_screen("mw", "the kill-switch dialog", limit, |s| {
        s.contains("Stop the model") && s.contains("flag file") && s.contains("y / Enter")
    });
    tmux.keys("mw", "y");
    let flag_text = wait_until("the flag file", limit, || {
        std::fs::read_to_string(&flag).ok()
    });
    let flag_json: serde_json::Value = serde_json::from_str(&flag_text).unwrap();
    assert_eq!(flag_json["state"], "tripped");
    tmux.wait_screen("mw", "TRIPPED", limit, |s| s.contains("KILL: TRIPPED"));
    let kinds: Vec<String> = records(&audit)
        .iter()
        .map(|r| r["action"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(kinds.contains(&"kill_switch_trip".to_string()), "{kinds:?}");

    // q quits with status 0.
    tmux.keys("mw", "q");
    let status = exit_status("the dashboard to exit", &exit, limit);
    assert_eq!(status.trim(), "EXIT=0");
    // The log the dashboard wrote is intact.
    let verify = common::modelwatch()
        .arg("verify-log")
        .arg(&audit)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{verify:?}");
}

/// A failing actuator shows KILL: NOT CONFIRMED and what failed; SIGTERM
/// while a (slow) trip is in flight waits for it: the slow actuator
/// finishes, the result is audited, and the exit status is 1 (the trip was
/// not confirmed by every actuator).
#[test]
fn not_confirmed_on_screen_and_sigterm_waits_for_the_trip() {
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_modelwatch"));
    let audit = dir.path().join("audit.jsonl");
    let mark = dir.path().join("slow-actuator-ran");
    let exit = dir.path().join("exit");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[kill_switch.actuator]]\nkind = \"command\"\n\
             argv = [\"sh\", \"-c\", \"sleep 1; touch \\\"$0\\\"\", \"{}\"]\ntimeout = \"10s\"\n\n\
             [[kill_switch.actuator]]\nkind = \"command\"\nargv = [\"false\"]\n",
            mark.display()
        ),
    )
    .unwrap();
    let script = format!(
        "MODELWATCH_LOG_FILE={log} {bin} demo --seed 3 --config {config} --audit-log {audit} & \
         echo $! > {pid}; wait $!; echo EXIT=$? > {exit}",
        log = quote(&dir.path().join("log")),
        bin = quote(&bin),
        config = quote(&config),
        audit = quote(&audit),
        pid = quote(&dir.path().join("pid")),
        exit = quote(&exit),
    );
    tmux.start("mw", &script);
    let limit = Duration::from_secs(20);
    tmux.wait_screen("mw", "the panels, lines read", limit, |s| {
        s.contains("KILL: ARMED") && s.contains("Review") && lines_flowing(s)
    });
    let pid = std::fs::read_to_string(dir.path().join("pid"))
        .unwrap()
        .trim()
        .to_string();

    // Round one: one actuator fails, and the screen says so.
    tmux.keys("mw", "K");
    tmux.wait_screen("mw", "the armed dialog", limit, |s| s.contains("y / Enter"));
    tmux.keys("mw", "y");
    let screen = tmux.wait_screen("mw", "NOT CONFIRMED", limit, |s| {
        s.contains("KILL: NOT CONFIRMED")
    });
    assert!(screen.contains("FAIL command"), "{screen}");
    assert!(!screen.contains("KILL: TRIPPED"), "{screen}");

    // Round two: SIGTERM at once; the slow actuator still completes.
    std::fs::remove_file(&mark).unwrap();
    tmux.keys("mw", "K");
    tmux.wait_screen("mw", "the armed dialog", limit, |s| s.contains("y / Enter"));
    tmux.keys("mw", "y");
    tmux.wait_screen("mw", "TRIPPING", limit, |s| s.contains("KILL: TRIPPING"));
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = exit_status("the dashboard to exit", &exit, limit);
    // A dashboard that ends with a trip not confirmed exits 1.
    assert_eq!(status.trim(), "EXIT=1");
    assert!(mark.exists(), "the slow actuator was cut short");
    let results: Vec<String> = records(&audit)
        .iter()
        .filter(|r| r["action"] == "kill_switch_result")
        .map(|r| r["result"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(results, ["not_confirmed", "not_confirmed"]);
}

/// The colour parameters of every SGR sequence (`ESC [ ... m`) in `text`:
/// foreground/background 30–37, 38;…, 40–47, 48;…, 90–97, 100–107.
fn colour_codes(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for seq in text.split('\u{1b}').skip(1) {
        let Some(body) = seq.strip_prefix('[') else {
            continue;
        };
        let Some(end) = body.find('m') else {
            continue;
        };
        let params = &body[..end];
        if params.split(';').any(|p| {
            matches!(
                p.parse::<u32>(),
                Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
            )
        }) {
            found.push(params.to_string());
        }
    }
    found
}

#[test]
fn no_color_means_no_colour_escape_codes_on_a_real_terminal() {
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let bin = quote(Path::new(env!("CARGO_BIN_EXE_modelwatch")));
    let log = quote(&dir.path().join("modelwatch.log"));
    let capture = |session: &str| {
        let out = tmux.run(&["capture-pane", "-e", "-p", "-t", session]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for (session, no_color) in [("colour", ""), ("plain", "1")] {
        let script = format!(
            "TERM=xterm-256color COLORTERM=truecolor NO_COLOR={no_color} MODELWATCH_LOG_FILE={log} \
             {bin} demo --seed 7 --read-only; sleep 30"
        );
        tmux.start(session, &script);
        tmux.wait_screen(session, "the dashboard", Duration::from_secs(20), |s| {
            s.contains("Review") && s.contains("KILL")
        });
    }
    let coloured = capture("colour");
    assert!(
        !colour_codes(&coloured).is_empty(),
        "the default theme uses colour"
    );
    let plain = capture("plain");
    assert!(plain.contains("Review"), "{plain}");
    let codes = colour_codes(&plain);
    assert!(codes.is_empty(), "NO_COLOR still drew colours: {codes:?}");
    // Selection and state are still carried: by reverse video and bold.
    assert!(
        plain.contains("\u{1b}[7m") || plain.contains(";7m") || plain.contains("[7;"),
        "reverse video for the selection"
    );
}
