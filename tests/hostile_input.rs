//! No input may crash, stall or poison the engine: every hostile line is
//! counted as malformed with a reason, valid lines around it still count,
//! and no statistic comes out NaN or infinite.

mod common;

use std::io::Write;

use modelwatch::engine::settings::BaselineSpec;
use modelwatch::engine::{Engine, EngineSettings, LineOrigin};
use modelwatch::record::{Event, Parser};
use proptest::prelude::*;
use serde_json::Value;

fn prediction(i: usize, conf: f64) -> String {
    format!(
        r#"{{"id":"p{i}","model":"m","prediction":"{}","confidence":{conf}}}"#,
        ["a", "b"][i % 2]
    )
}

/// Report fields that are `Option`s: the only places a `null` may stand.
/// serde_json writes NaN and infinities as `null`, so a `null` anywhere
/// else is a figure that stopped being finite.
const MAY_BE_NULL: &[&str] = &[
    "confidence_mean",
    "confidence_std",
    "origin",
    "realized",
    "estimated",
    "estimated_method",
    "estimated_sampling_error",
    "calibration",
    "direction",
    "cleared_index",
];

/// The paths of `null`s that stand where a number must be.
fn unexpected_nulls(v: &Value, path: &str, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Null if !MAY_BE_NULL.contains(&key) => out.push(path.to_string()),
        Value::Array(xs) => xs
            .iter()
            .enumerate()
            .for_each(|(i, x)| unexpected_nulls(x, &format!("{path}[{i}]"), key, out)),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| unexpected_nulls(x, &format!("{path}.{k}"), k, out)),
        _ => {}
    }
}

fn non_finite_figures(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    unexpected_nulls(report, "", "", &mut out);
    out
}

#[test]
fn a_figure_gone_non_finite_is_caught() {
    let report = serde_json::to_value(serde_json::json!({
        "models": {"m": {"realized": null, "windows": [{"psi": f64::NAN, "cleared_index": null}]}}
    }))
    .unwrap();
    assert_eq!(non_finite_figures(&report), [".models.m.windows[0].psi"]);
}

#[test]
fn replay_survives_a_file_of_hostile_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    let mut valid = 0;
    let write_valid = |f: &mut std::fs::File, i: usize| {
        writeln!(f, "{}", prediction(i, 0.5 + (i % 50) as f64 / 100.0)).unwrap();
    };
    for i in 0..300 {
        write_valid(&mut f, i);
        valid += 1;
    }
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let hostile: Vec<Vec<u8>> = vec![
        br#"{"prediction":"a","confidence":NaN}"#.to_vec(),
        br#"{"prediction":"a","confidence":Infinity}"#.to_vec(),
        br#"{"prediction":"a","confidence":-Infinity}"#.to_vec(),
        br#"{"prediction":"a","confidence":1e400}"#.to_vec(),
        br#"{"prediction":"a","confidence":-0.1}"#.to_vec(),
        br#"{"prediction":"a","confidence":1.5}"#.to_vec(),
        br#"{"prediction":"a","confidence":"0.9"}"#.to_vec(),
        b"{}".to_vec(),
        b"{\"prediction\":\"a\",\"confi".to_vec(),
        format!(r#"{{"prediction":{deep},"confidence":0.5}}"#).into_bytes(),
        b"{\"prediction\":\"\xff\xfe\",\"confidence\":0.5}".to_vec(),
        b"\x00\x01\x02\x1b[2J\x1b]52;c;SGVsbG8=\x07".to_vec(),
        b"[1,2,3]".to_vec(),
        b"null".to_vec(),
        // Ten megabytes on one line.
        {
            let mut big = br#"{"prediction":"a","confidence":0.5,"input":""#.to_vec();
            big.extend(std::iter::repeat_n(b'x', 10 << 20));
            big.extend_from_slice(b"\"}");
            big
        },
    ];
    let mut rng = common::xorshift::Xorshift::new(0x2545_f491_4f6c_dd1d);
    for line in &hostile {
        f.write_all(line).unwrap();
        f.write_all(b"\n").unwrap();
    }
    // Random bytes, newline-free so each is one line.
    for _ in 0..200 {
        let len = (rng.next_u64() % 300) as usize + 1;
        let bytes: Vec<u8> = (0..len)
            .map(|_| match (rng.next_u64() >> 32) as u8 {
                b'\n' => b' ',
                b => b,
            })
            .collect();
        f.write_all(&bytes).unwrap();
        f.write_all(b"\n").unwrap();
    }
    // Valid lines that only look odd: CRLF, a byte order mark, a blank line.
    f.write_all(format!("{}\r\n", prediction(1000, 0.7)).as_bytes())
        .unwrap();
    f.write_all(format!("\u{feff}{}\n", prediction(1001, 0.7)).as_bytes())
        .unwrap();
    f.write_all(b"\n").unwrap();
    valid += 2;
    for i in 2000..2300 {
        write_valid(&mut f, i);
        valid += 1;
    }
    drop(f);

    let out = common::modelwatch()
        .args(["replay", "--baseline", "200", "--window", "100"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let input = &report["input"];
    assert_eq!(input["predictions"], valid as u64, "{input}");
    assert_eq!(input["blank"], 1);
    let malformed = input["malformed"].as_u64().unwrap();
    // Every hostile line and random line is malformed (a random line that
    // happens to be a valid event is astronomically unlikely).
    assert_eq!(malformed, (hostile.len() + 200) as u64, "{input}");
    assert_eq!(input["too_long"], 1);
    assert_eq!(non_finite_figures(&report), Vec::<String>::new());
}

#[test]
fn replay_reports_unreadable_input_in_one_line_with_exit_2() {
    let out = common::modelwatch()
        .args(["replay", "/nonexistent/predictions.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/predictions.jsonl"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("broken.jsonl.gz");
    // A gzip header followed by garbage: a read error, named with its line.
    std::fs::write(
        &gz,
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage that is not deflate",
    )
    .unwrap();
    let out = common::modelwatch()
        .arg("replay")
        .arg(&gz)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.jsonl.gz") && err.lines().count() == 1,
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(Event::Prediction(p)) = Parser::default().parse(&bytes) {
            prop_assert!(p.confidence.is_finite() && (0.0..=1.0).contains(&p.confidence));
        }
    }

    #[test]
    fn parsing_json_like_text_never_panics(
        text in r#"\{("(id|prediction|confidence|probs|label|type|ts|score)":(-?[0-9.e+]{1,8}|"[a-z]{0,5}"|\{"[a-z]":[0-9.]{1,4}\}|null|true),?){0,6}\}"#
    ) {
        if let Ok(Event::Prediction(p)) = Parser::default().parse(text.as_bytes()) {
            prop_assert!(p.confidence.is_finite() && (0.0..=1.0).contains(&p.confidence));
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn statistics_stay_finite_whatever_the_confidences(
        confs in proptest::collection::vec(prop_oneof![Just(0.0), Just(1.0), Just(1e-300), 0.0f64..=1.0], 1..600),
        labels in proptest::collection::vec(0usize..4, 600),
    ) {
        let settings = EngineSettings {
            baseline: BaselineSpec::Count(50),
            window: 40,
            ..EngineSettings::default()
        };
        let mut engine = Engine::new(settings);
        for (i, c) in confs.iter().enumerate() {
            let line = format!(r#"{{"id":"x{i}","prediction":"l{}","confidence":{c}}}"#, labels[i]);
            engine.ingest_line(&Parser::default(), line.as_bytes(), LineOrigin { source: "t", line: i as u64 }, 0);
            if i % 3 == 0 {
                let fb = format!(r#"{{"type":"feedback","id":"x{}","label":"l{}"}}"#, i / 2, labels[i / 2]);
                engine.ingest_line(&Parser::default(), fb.as_bytes(), LineOrigin { source: "t", line: i as u64 }, 0);
            }
        }
        let report = serde_json::to_value(modelwatch::report::build_report(&engine)).unwrap();
        // serde_json writes NaN as null: every figure of a window must be a number.
        for model in report["models"].as_object().unwrap().values() {
            for w in model["windows"].as_array().unwrap() {
                for path in ["/confidence/mean", "/confidence/p10", "/confidence/p90", "/psi", "/js",
                    "/wasserstein", "/wasserstein_norm", "/ks/statistic", "/ks/p_value",
                    "/chi2/statistic", "/chi2/p_value", "/accuracy/estimated"] {
                    prop_assert!(w.pointer(path).is_some_and(Value::is_number), "{} of {}", path, w);
                }
            }
        }
        prop_assert_eq!(non_finite_figures(&report), Vec::<String>::new());
    }
}
