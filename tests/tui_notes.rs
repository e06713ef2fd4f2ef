//! Notes and the malformed lines in a real terminal (tmux, the real
//! binary on a followed file): a hostile line (a screen clear and a title
//! change) is counted on the dashboard and listed escaped by `L`, never
//! acted on by the terminal; an override with a typed and pasted note, and
//! a kill-switch trip with a note, carry it as the audit record's `reason`,
//! and the log still verifies.

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use common::tmux::{Tmux, exit_status, quote, records};
use common::wait_until;

const LIMIT: Duration = Duration::from_secs(20);

/// Queued cases of one model with two labels, and one hostile line that is
/// not an event.
fn stream() -> Vec<u8> {
    let mut text = String::new();
    for i in 0..40u64 {
        let label = if i % 2 == 0 { "spam" } else { "ham" };
        writeln!(
            text,
            r#"{{"id":"case-{i}","model":"mail","prediction":"{label}","confidence":0.3}}"#
        )
        .unwrap();
    }
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"\x1b[2J\x1b]0;pwned\x07HOSTILE-LINE\n");
    bytes
}

#[test]
fn notes_are_recorded_and_malformed_lines_shown_escaped() {
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mail.jsonl");
    std::fs::write(&file, stream()).unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_modelwatch"));
    let (audit, flag, exit) = (
        dir.path().join("audit.jsonl"),
        dir.path().join("flag"),
        dir.path().join("exit"),
    );
    let [log, bin, audit_q, flag_q, file, exit_q] =
        [&dir.path().join("log"), &bin, &audit, &flag, &file, &exit].map(|p| quote(p));
    let script = format!(
        "MODELWATCH_LOG_FILE={log} {bin} watch --from-start --audit-log {audit_q} \
         --kill-file {flag_q} {file}; echo EXIT=$? > {exit_q}"
    );
    tmux.start("mw", &script);
    tmux.wait_screen("mw", "queued cases and the malformed count", LIMIT, |s| {
        s.contains("▶case-") && s.contains("⚠ 1 malformed: L")
    });

    // The hostile line, escaped, on its own screen; the terminal did not
    // take its title from it.
    tmux.keys("mw", "L");
    tmux.wait_screen("mw", "the hostile line escaped", LIMIT, |s| {
        s.contains("\\x1b[2J\\x1b]0;pwned\\x07HOSTILE-LINE")
    });
    let title = tmux.run(&["display-message", "-p", "-t", "mw", "#{pane_title}"]);
    assert!(
        !String::from_utf8_lossy(&title.stdout).contains("pwned"),
        "{title:?}"
    );
    tmux.keys("mw", "Escape");
    tmux.wait_screen("mw", "the dashboard again", LIMIT, |s| {
        s.contains("Review:") && !s.contains("Malformed lines:")
    });

    // Override: Tab, Tab to the note; typed, then pasted (a line break in
    // the paste is a space, not Enter); Enter records the label and note.
    tmux.keys("mw", "o");
    tmux.wait_screen("mw", "the label picker", LIMIT, |s| {
        s.contains("letter picks")
    });
    // Types a note and waits for it on screen.
    let write_note = |text: &str| {
        tmux.type_text("mw", text);
        tmux.wait_screen("mw", text, LIMIT, |s| s.contains(&format!("note: {text}")));
    };
    tmux.keys("mw", "Tab");
    tmux.keys("mw", "Tab");
    write_note("phishing, see INC-7");
    tmux.paste("mw", "\nfrom the mail log");
    tmux.wait_screen("mw", "the paste in the note", LIMIT, |s| {
        s.contains("INC-7 from the mail log")
    });
    assert!(
        records(&audit).is_empty(),
        "a paste recorded something: {:?}",
        records(&audit)
    );
    tmux.keys("mw", "Enter");
    let overridden = wait_until("the override record", LIMIT, || {
        records(&audit)
            .into_iter()
            .find(|r| r["action"] == "override")
    });
    assert_eq!(
        overridden["reason"], "phishing, see INC-7 from the mail log",
        "{overridden}"
    );
    assert_ne!(overridden["label"], overridden["shown"]["prediction"]);

    // The kill switch: Tab writes a note, Enter goes back to the question,
    // which arms again before y trips.
    tmux.keys("mw", "K");
    tmux.wait_screen("mw", "the trip dialog", LIMIT, |s| {
        s.contains("Tab adds a note")
    });
    tmux.keys("mw", "Tab");
    write_note("phishing wave");
    tmux.keys("mw", "Enter");
    tmux.wait_screen("mw", "the question armed again", LIMIT, |s| {
        s.contains("y / Enter") && s.contains("note: phishing wave")
    });
    tmux.keys("mw", "y");
    tmux.wait_screen("mw", "TRIPPED", LIMIT, |s| s.contains("KILL: TRIPPED"));
    let trip = wait_until("the trip record", LIMIT, || {
        records(&audit)
            .into_iter()
            .find(|r| r["action"] == "kill_switch_trip")
    });
    assert_eq!(trip["reason"], "phishing wave", "{trip}");
    let flag_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&flag).unwrap()).unwrap();
    assert_eq!(flag_json["reason"], "phishing wave", "{flag_json}");

    tmux.keys("mw", "q");
    assert_eq!(exit_status("exit", &exit, LIMIT).trim(), "EXIT=0");
    let verify = common::run(common::modelwatch().arg("verify-log").arg(&audit), LIMIT);
    let said = common::text(&verify.stdout);
    assert!(verify.status.success(), "verify-log: {said}");
}
