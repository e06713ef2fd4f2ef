//! The kill switch in a real terminal (tmux), as an operator and an
//! accident would use it: a paste never trips or decides; one flag file
//! shared by two models keeps each model's truth; a trip from the CLI shows
//! on an open dashboard within a second; a tripped model is still TRIPPED
//! after a restart and in `--no-tui` status; and an audit log that cannot
//! be written leaves the switch working with a banner.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::tmux::{Tmux, exit_status, lines_flowing, quote, records};
use common::wait_until;

const LIMIT: Duration = Duration::from_secs(20);

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_modelwatch"))
}

/// The demo dashboard on `audit` with one flag file for every model.
fn demo_script(dir: &Path, audit: &Path, flag: &Path, exit: &Path) -> String {
    format!(
        "MODELWATCH_LOG_FILE={log} {bin} demo --seed 7 --audit-log {audit} --kill-file {flag}; \
         echo EXIT=$? > {exit}",
        log = quote(&dir.join("modelwatch.log")),
        bin = quote(&bin()),
        audit = quote(audit),
        flag = quote(flag),
        exit = quote(exit),
    )
}

fn flag_json(flag: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(flag).unwrap()).unwrap()
}

fn trip_on_screen(tmux: &Tmux) {
    tmux.keys("mw", "K");
    tmux.wait_screen("mw", "the armed dialog", LIMIT, |s| s.contains("y / Enter"));
    tmux.keys("mw", "y");
    tmux.wait_screen("mw", "TRIPPED", LIMIT, |s| s.contains("KILL: TRIPPED"));
}

#[test]
fn a_paste_never_trips_or_decides() {
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let (audit, flag) = (dir.path().join("audit.jsonl"), dir.path().join("flag"));
    let exit = dir.path().join("exit");
    tmux.start("mw", &demo_script(dir.path(), &audit, &flag, &exit));
    tmux.wait_screen("mw", "a queued case", LIMIT, |s| {
        s.contains("KILL: ARMED") && (s.contains("▶t-") || s.contains("▶f-"))
    });
    let set = tmux.run(&["set-buffer", "Key rotation done, yes yes"]);
    assert!(set.status.success(), "{set:?}");
    let pasted = tmux.run(&["paste-buffer", "-p", "-t", "mw"]);
    assert!(pasted.status.success(), "{pasted:?}");
    tmux.wait_screen("mw", "the paste refused", LIMIT, |s| {
        s.contains("paste ignored")
    });
    // Once more with the dialog open: the paste closes it, never answers it.
    tmux.keys("mw", "K");
    tmux.wait_screen("mw", "the armed dialog", LIMIT, |s| s.contains("y / Enter"));
    tmux.run(&["paste-buffer", "-p", "-t", "mw"]);
    tmux.wait_screen("mw", "the dialog closed", LIMIT, |s| {
        !s.contains("y / Enter")
    });
    tmux.keys("mw", "q");
    assert_eq!(exit_status("exit", &exit, LIMIT).trim(), "EXIT=0");
    assert!(!flag.exists(), "a paste tripped the switch");
    assert!(
        records(&audit).is_empty(),
        "a paste was recorded: {:?}",
        records(&audit)
    );
}

#[test]
fn each_model_keeps_its_own_truth_across_processes_and_restarts() {
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let (audit, flag) = (dir.path().join("audit.jsonl"), dir.path().join("flag"));
    let exit = dir.path().join("exit");
    tmux.start("mw", &demo_script(dir.path(), &audit, &flag, &exit));
    tmux.wait_screen("mw", "the panels, lines read", LIMIT, |s| {
        s.contains("KILL: ARMED") && s.contains("Review") && lines_flowing(s)
    });
    // Trip the model on screen (A), then the other (B), then reset B.
    trip_on_screen(&tmux);
    let a = flag_json(&flag)["model"].as_str().unwrap().to_string();
    tmux.keys("mw", "m");
    tmux.wait_screen("mw", "the other model, armed", LIMIT, |s| {
        s.contains("KILL: ARMED")
    });
    trip_on_screen(&tmux);
    let b = flag_json(&flag)["model"].as_str().unwrap().to_string();
    assert_ne!(a, b);
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(flag_json(&flag)["tripped"], serde_json::json!(both));
    tmux.keys("mw", "R");
    tmux.wait_screen("mw", "the reset dialog", LIMIT, |s| {
        s.contains("RESET KILL SWITCH")
    });
    tmux.keys("mw", &b);
    tmux.keys("mw", "Enter");
    tmux.wait_screen("mw", "B re-armed", LIMIT, |s| s.contains("KILL: ARMED"));
    // A is still stopped: the flag file is there and names A alone.
    let f = flag_json(&flag);
    assert_eq!(
        (f["state"].as_str(), f["tripped"].clone()),
        (Some("tripped"), serde_json::json!([a]))
    );

    // `modelwatch trip` from a script while the dashboard is open on the
    // same log: exit 0, and the dashboard shows it within a second.
    let out = common::run(
        common::modelwatch()
            .args(["trip", "--model", &b, "--reason", "cron"])
            .arg("--kill-file")
            .arg(&flag)
            .arg("--audit-log")
            .arg(&audit),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let since = Instant::now();
    tmux.wait_screen(
        "mw",
        "the CLI trip on screen",
        Duration::from_secs(1),
        |s| s.contains("KILL: TRIPPED"),
    );
    eprintln!("CLI trip shown after {:?}", since.elapsed());
    let verify = common::run(common::modelwatch().arg("verify-log").arg(&audit), LIMIT);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        common::text(&verify.stdout)
    );

    // A restart shows both models TRIPPED from the log and the flag file.
    tmux.keys("mw", "q");
    assert_eq!(exit_status("exit", &exit, LIMIT).trim(), "EXIT=0");
    std::fs::remove_file(&exit).unwrap();
    let _ = tmux.run(&["kill-session", "-t", "mw"]);
    tmux.start("mw", &demo_script(dir.path(), &audit, &flag, &exit));
    tmux.wait_screen("mw", "TRIPPED after the restart", LIMIT, |s| {
        s.contains("KILL: TRIPPED")
    });
    tmux.keys("mw", "m");
    tmux.wait_screen("mw", "the other model TRIPPED too", LIMIT, |s| {
        s.contains("KILL: TRIPPED")
    });
    tmux.keys("mw", "q");
    assert_eq!(exit_status("exit", &exit, LIMIT).trim(), "EXIT=0");

    // `--no-tui` status carries each model's kill state.
    let mut child = common::modelwatch()
        .args(["watch", "--no-tui", "-", "--audit-log"])
        .arg(&audit)
        .arg("--kill-file")
        .arg(&flag)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for (i, model) in [&a, &b, &"other".to_string()].iter().enumerate() {
        writeln!(
            stdin,
            r#"{{"id":"{i}","model":"{model}","prediction":"x","confidence":0.9}}"#
        )
        .unwrap();
    }
    drop(stdin);
    let out = common::finish(child, LIMIT);
    let summary = common::text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["type"] == "summary")
        .expect("a summary line");
    let kill_of = |name: &str| {
        summary["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .map(|m| m["kill"].clone())
    };
    assert_eq!(kill_of(&a), Some("tripped".into()), "{summary}");
    assert_eq!(kill_of(&b), Some("tripped".into()), "{summary}");
    assert_eq!(kill_of("other"), Some("armed".into()), "{summary}");
}

/// An audit log in a directory this user cannot write: the dashboard still
/// starts, says decisions are not recorded, refuses them, and trips.
#[test]
fn an_unwritable_audit_log_leaves_the_switch_working() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let set_mode = |p: &Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    set_mode(dir.path(), 0o755);
    let ro = dir.path().join("ro");
    let rw = dir.path().join("rw");
    std::fs::create_dir(&ro).unwrap();
    std::fs::create_dir(&rw).unwrap();
    set_mode(&ro, 0o555);
    set_mode(&rw, 0o777);
    let (audit, flag, exit) = (ro.join("audit.jsonl"), rw.join("flag"), rw.join("exit"));
    // As root the directory's mode does not bite: run as nobody, from a
    // copy of the binary nobody can reach whatever the checkout's modes.
    let (as_user, program) = if unsafe { libc::geteuid() } == 0 {
        let copy = rw.join("modelwatch");
        std::fs::copy(bin(), &copy).unwrap();
        set_mode(&copy, 0o755);
        (
            "setpriv --reuid=65534 --regid=65534 --clear-groups -- ",
            copy,
        )
    } else {
        ("", bin())
    };
    let script = format!(
        "HOME={rw} XDG_STATE_HOME={rw} MODELWATCH_LOG_FILE={log} {as_user}{bin} demo --seed 7 \
         --audit-log {audit} --kill-file {flag}; echo EXIT=$? > {exit}",
        rw = quote(&rw),
        log = quote(&rw.join("log")),
        bin = quote(&program),
        audit = quote(&audit),
        flag = quote(&flag),
        exit = quote(&exit),
    );
    tmux.start("mw", &script);
    tmux.wait_screen("mw", "the banner", LIMIT, |s| {
        s.contains("decisions are not being recorded") && s.contains("Review")
    });
    tmux.wait_screen("mw", "a queued case", LIMIT, |s| {
        s.contains("▶t-") || s.contains("▶f-")
    });
    tmux.keys("mw", "a");
    tmux.wait_screen("mw", "the decision refused", LIMIT, |s| {
        s.contains("not recorded, nothing done")
    });
    trip_on_screen(&tmux);
    tmux.wait_screen("mw", "the missing record said", LIMIT, |s| {
        s.contains("could not be written")
    });
    assert_eq!(flag_json(&flag)["state"], "tripped");
    wait_until("nothing in the read-only directory", LIMIT, || {
        std::fs::read_dir(&ro).unwrap().count() == 0
    });
    tmux.keys("mw", "q");
    assert_eq!(exit_status("exit", &exit, LIMIT).trim(), "EXIT=0");
}
