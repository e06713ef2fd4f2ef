//! The review queue works like a queue in a real terminal: `s` skips to
//! the next case (the skipped one goes to the back), so three presses are
//! three different cases, each recorded once; `o` and a listed label's
//! letter record that label.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::tmux::{Tmux, exit_status, quote, records};
use common::wait_until;

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn skip_moves_on_to_the_next_case() {
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_modelwatch"));
    let audit = dir.path().join("audit.jsonl");
    let exit = dir.path().join("exit");
    let script = format!(
        "MODELWATCH_LOG_FILE={log} {bin} demo --seed 7 --audit-log {audit}; echo EXIT=$? > {exit}",
        log = quote(&dir.path().join("log")),
        bin = quote(&bin),
        audit = quote(&audit),
        exit = quote(&exit),
    );
    tmux.start("mw", &script);
    tmux.wait_screen("mw", "a few queued cases", LIMIT, |s| {
        s.contains("oldest first") && s.matches("pending").count() >= 4
    });
    for n in 1..=3 {
        tmux.keys("mw", "s");
        tmux.wait_screen("mw", "the skip recorded", LIMIT, |s| {
            s.contains(&format!("skipped (audit #{n})"))
        });
    }
    let skipped: Vec<String> = wait_until("three skip records", LIMIT, || {
        let r = records(&audit);
        (r.len() >= 3).then(|| {
            r.iter()
                .map(|r| r["case_id"].as_str().unwrap_or("").to_string())
                .collect()
        })
    });
    let mut distinct = skipped.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        3,
        "the same case skipped twice: {skipped:?}"
    );

    // `o` then a listed label's letter records that label.
    tmux.keys("mw", "o");
    let picker = tmux.wait_screen("mw", "the label picker", LIMIT, |s| {
        s.contains("letter picks")
    });
    let listed_a = picker
        .lines()
        .find_map(|l| {
            let at = l.find("│ A ").or_else(|| l.find("│▶A "))?;
            let rest = l[at..].trim_start_matches('│');
            let rest = rest.trim_start_matches(['▶', ' ']).strip_prefix("A ")?;
            rest.split_whitespace().next().map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no label A in the picker:\n{picker}"));
    tmux.keys("mw", "A");
    let overridden = wait_until("the override record", LIMIT, || {
        records(&audit)
            .into_iter()
            .find(|r| r["action"] == "override")
    });
    assert_eq!(overridden["label"], listed_a.as_str(), "{overridden}");
    tmux.keys("mw", "q");
    assert_eq!(exit_status("exit", &exit, LIMIT).trim(), "EXIT=0");
}
