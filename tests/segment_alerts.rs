//! `segment_drift` and the report's segments through the real binary: the
//! traffic split by `segment` (and by an input feature named in
//! `[segments] fields`), each of the largest segments held against its own
//! baseline; one alert names the segment that drifts, never the others.

mod common;

use std::time::Duration;

use serde_json::Value;

/// Where the shift from 9,000 happens.
#[derive(Clone, Copy, PartialEq)]
enum Shift {
    None,
    Eu,
    Everywhere,
}

/// Baseline 6,000 and window 1,000 over three segments of 50/35/15%: from
/// 9,000 confidence falls and the mix moves where `shift` says.
fn stream(shift: Shift, seed: u64) -> String {
    let mut rng = common::xorshift::Xorshift::new(
        0x2545_f491_4f6c_dd1du64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15),
    );
    let mut uniform = || rng.uniform();
    let mut out = String::new();
    for i in 0..14_000u64 {
        let u = uniform();
        let (segment, tier) = match u {
            u if u < 0.5 => ("EU", "gold"),
            u if u < 0.85 => ("US", "silver"),
            _ => ("APAC", "gold"),
        };
        let moved = i >= 9_000
            && match shift {
                Shift::None => false,
                Shift::Eu => segment == "EU",
                Shift::Everywhere => true,
            };
        let confidence = if moved { 0.55 } else { 0.7 } + 0.3 * uniform();
        let label = if uniform() < if moved { 0.85 } else { 0.5 } {
            "a"
        } else {
            "b"
        };
        out.push_str(&format!(
            r#"{{"id":"r{i}","prediction":"{label}","confidence":{confidence:.4},"segment":"{segment}","input":{{"tier":"{tier}"}}}}"#
        ));
        out.push('\n');
        if i % 2 == 0 {
            let right = uniform() < if moved { 0.6 } else { 0.9 };
            let truth = if right {
                label
            } else if label == "a" {
                "b"
            } else {
                "a"
            };
            out.push_str(&format!(
                r#"{{"type":"feedback","id":"r{i}","label":"{truth}"}}"#
            ));
            out.push('\n');
        }
    }
    out
}

fn replay(text: &str, config: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let (path, conf) = (dir.path().join("s.jsonl"), dir.path().join("c.toml"));
    std::fs::write(&path, text).unwrap();
    std::fs::write(&conf, config).unwrap();
    let out = common::run(
        common::modelwatch()
            .args([
                "replay",
                "--baseline",
                "6000",
                "--window",
                "1000",
                "--config",
            ])
            .arg(&conf)
            .arg(&path),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn segment_alerts(report: &Value) -> Vec<&Value> {
    report["models"]["default"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "segment_drift")
        .collect()
}

#[test]
fn one_alert_names_the_segment_that_drifts() {
    let report = replay(&stream(Shift::Eu, 1), "");
    let alerts = segment_alerts(&report);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = alerts[0];
    assert_eq!(a["segments"], serde_json::json!(["segment=EU"]), "{a}");
    let at = a["index"].as_u64().unwrap();
    assert!((9_000..9_600).contains(&at), "fired at {at}");
    assert!(a["cleared_index"].is_null(), "{a}");
    // The baseline's segments, largest first in volume, each with its own
    // figures; each window's parts add up to the window.
    let m = &report["models"]["default"];
    let base = &m["baseline"]["segments"]["segment"];
    let sizes: Vec<u64> = ["EU", "US", "APAC"]
        .iter()
        .map(|s| base[s]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), 6_000);
    assert!(sizes[0] > sizes[1] && sizes[1] > sizes[2], "{sizes:?}");
    for w in m["windows"].as_array().unwrap() {
        let parts = &w["segments"]["segment"];
        let n: u64 = ["EU", "US", "APAC"]
            .iter()
            .map(|s| parts[s]["n"].as_u64().unwrap())
            .sum();
        assert_eq!(n, w["n"].as_u64().unwrap(), "{w}");
    }
    // After the shift EU's window is far from its baseline, the others not.
    let late = &m["windows"][5]["segments"]["segment"];
    assert!(
        late["EU"]["wasserstein_norm"].as_f64().unwrap() > 0.3,
        "{late}"
    );
    assert!(
        late["US"]["ks"]["p_value"].as_f64().unwrap() > 1e-3,
        "{late}"
    );
    assert!(
        late["EU"]["accuracy"]["labelled"].as_u64().unwrap() > 0,
        "{late}"
    );
}

#[test]
fn no_segment_alert_without_drift_and_input_fields_split_too() {
    for seed in 0..3 {
        let report = replay(
            &stream(Shift::None, seed),
            "[segments]\nfields = [\"segment\", \"input.tier\"]\n",
        );
        assert!(segment_alerts(&report).is_empty(), "seed {seed}");
        let base = &report["models"]["default"]["baseline"]["segments"];
        let tiers = &base["input.tier"];
        assert_eq!(
            tiers["gold"]["n"].as_u64().unwrap() + tiers["silver"]["n"].as_u64().unwrap(),
            6_000,
            "{base}"
        );
    }
    // With drift, the tier holding EU drifts too; the alert names both.
    let report = replay(
        &stream(Shift::Eu, 1),
        "[segments]\nfields = [\"segment\", \"input.tier\"]\n",
    );
    let alerts = segment_alerts(&report);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let names: Vec<&str> = alerts[0]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(names.contains(&"segment=EU"), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n.contains("US") || n.contains("APAC") || n.contains("silver")),
        "{names:?}"
    );
}

#[test]
fn a_shift_everywhere_is_the_models_news_not_a_segments() {
    let report = replay(&stream(Shift::Everywhere, 2), "");
    assert!(
        segment_alerts(&report).is_empty(),
        "{:?}",
        segment_alerts(&report)
    );
    let kinds: Vec<&str> = report["models"]["default"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"confidence_drift"), "{kinds:?}");
}
