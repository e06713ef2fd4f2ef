//! A producer that stops is an alert: `watch --no-tui` on a file that
//! stops growing raises `silence` for its model and for the file itself
//! once `alerts.silence_after` passes, and clears both when lines come
//! again.

mod common;

use std::io::Write as _;
use std::time::Duration;

use common::no_tui::{sigterm, wait_line, watch};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(20);

fn silence(v: &Value, state: &str) -> bool {
    v["type"] == "alert" && v["alert_kind"] == "silence" && v["state"] == state
}

#[test]
fn a_file_that_stops_growing_raises_silence_for_its_model_and_itself() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    let line = |i: u32| format!(r#"{{"id":"{i}","model":"m","prediction":"x","confidence":0.9}}"#);
    std::fs::write(&file, format!("{}\n{}\n", line(0), line(1))).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[alerts]\nsilence_after = \"2s\"\n").unwrap();
    let (child, lines) = watch(
        dir.path(),
        &[
            "--from-start".as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
            file.as_os_str(),
        ],
    );
    let mut fired = Vec::new();
    wait_line(
        &lines,
        LIMIT,
        "silence fired for the model and the file",
        |v| {
            if silence(v, "fired") {
                fired.push(v.clone());
            }
            fired.len() == 2
        },
    );
    let model = fired
        .iter()
        .find(|v| v["model"] == "m")
        .expect("the model's");
    let detail = |v: &Value| v["detail"].as_str().unwrap().to_string();
    assert!(detail(model).contains("m sent no prediction"), "{model}");
    let source = fired
        .iter()
        .find(|v| v["model"].is_null())
        .expect("the file's");
    assert!(
        detail(source).contains(&format!("source {} sent nothing", file.display()))
            && detail(source).contains("silence_after 2s"),
        "{source}"
    );
    // The producer comes back: both clear.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    writeln!(f, "{}", line(2)).unwrap();
    let mut cleared = 0;
    wait_line(&lines, LIMIT, "silence cleared for both", |v| {
        cleared += usize::from(silence(v, "cleared"));
        cleared == 2
    });
    sigterm(&child.0);
}
