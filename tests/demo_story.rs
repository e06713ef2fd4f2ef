//! The demo tells its story headless: three minutes of the simulated
//! stream (`demo --write --rate 0`), followed by `watch --no-tui` with the
//! demo's baseline and window, raise each alert at most once per model in
//! the drift episode, `accuracy_drop` among them on realized accuracy over
//! the last labelled predictions, which the status lines show with their
//! label count.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::no_tui::{sigterm, wait_line, watch};
use common::{modelwatch, run};
use serde_json::Value;

/// 60 s of traffic before the drift, 60 s of drift, 60 s after, at the
/// demo's 200 predictions a second.
const PREDICTIONS: u64 = 36_000;
const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn the_drift_episode_raises_each_alert_once_and_accuracy_drop() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.jsonl");
    let limit = PREDICTIONS.to_string();
    let wrote = run(
        modelwatch()
            .args(["demo", "--rate", "0", "--limit", &limit, "--write"])
            .arg(&file),
        LIMIT,
    );
    assert!(wrote.status.success(), "{}", common::text(&wrote.stderr));

    let (child, lines) = watch(
        dir.path(),
        &[
            "--from-start".as_ref(),
            "--baseline".as_ref(),
            "2000".as_ref(),
            "--window".as_ref(),
            "500".as_ref(),
            file.as_os_str(),
        ],
    );
    let mut fired: BTreeMap<(String, String), u32> = BTreeMap::new();
    let mut count = |v: &Value| {
        if v["type"] == "alert" && v["state"] == "fired" {
            let key = (
                v["model"].as_str().unwrap_or("-").to_string(),
                v["alert_kind"].as_str().unwrap().to_string(),
            );
            *fired.entry(key).or_default() += 1;
        }
    };
    let status = wait_line(&lines, LIMIT, "every prediction read", |v| {
        count(v);
        v["type"] == "status" && v["predictions"].as_u64() == Some(PREDICTIONS)
    });
    sigterm(&child.0);
    wait_line(&lines, LIMIT, "the summary", |v| {
        count(v);
        v["type"] == "summary"
    });

    for ((model, kind), times) in &fired {
        assert_eq!(
            *times, 1,
            "{kind} fired {times} times for {model}: {fired:?}"
        );
    }
    let router = "ticket-router@2.1";
    assert!(
        fired.contains_key(&(router.to_string(), "accuracy_drop".to_string())),
        "{fired:?}"
    );
    for kind in ["confidence_drift", "prediction_mix_drift"] {
        assert!(
            fired.contains_key(&(router.to_string(), kind.to_string())),
            "{kind}: {fired:?}"
        );
    }
    assert!(
        !fired.keys().any(|(model, _)| model == "fraud@3"),
        "the fraud model does not drift: {fired:?}"
    );

    // The status shows the figure the rule decided on, with its label count.
    let models = status["models"].as_array().unwrap();
    let line = models.iter().find(|m| m["name"] == router).unwrap();
    assert_eq!(line["realized_labels"], 1000, "{line}");
    let realized = line["realized_accuracy"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&realized), "{line}");
}
