//! `replay` against the reference answers in ../shared/data (scipy, river,
//! nannyml, evidently): every figure within the README's stated tolerances, and the
//! alert bar (none before the shift or on a control, the first within one
//! window of the shift). The stream with input features also has each
//! feature's figures checked against scipy, and `feature_drift` must name
//! exactly the features the shift moved.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn rel_close(a: f64, b: f64, rel: f64) -> bool {
    a == b || (a - b).abs() <= rel * a.abs().max(b.abs())
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Runs the real binary's `replay` on one stream with its R and C.
fn replay(stream: &str) -> (Value, Value) {
    replay_with_env(stream, &[])
}

/// The same with environment variables set (config keys).
fn replay_with_env(stream: &str, env: &[(&str, &str)]) -> (Value, Value) {
    let dir = data_dir().join(stream);
    let truth = load(&dir.join("truth.json"));
    let r = truth["reference_period"][1].as_u64().unwrap();
    let c = truth["chunk_or_window_size"].as_u64().unwrap();
    let out = common::modelwatch()
        .envs(env.iter().copied())
        .args([
            "replay",
            "--baseline",
            &r.to_string(),
            "--window",
            &c.to_string(),
        ])
        .arg(dir.join("stream.jsonl.gz"))
        .output()
        .expect("run modelwatch");
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("report is JSON");
    (truth, report)
}

fn the_model(report: &Value) -> &Value {
    let models = report["models"].as_object().unwrap();
    assert_eq!(models.len(), 1, "one model expected");
    models.values().next().unwrap()
}

fn window(model: &Value, start: u64) -> &Value {
    model["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["start"].as_u64() == Some(start))
        .unwrap_or_else(|| panic!("no window starting at {start}"))
}

/// Checks a stream's figures and alerts; its truth and report.
fn check_stream(stream: &str) -> (Value, Value) {
    let dir = data_dir().join(stream);
    let (truth, report) = replay(stream);
    let model = the_model(&report);
    let scipy = load(&dir.join("scipy.json"));
    let mut checked = 0;
    for sw in scipy["windows"].as_array().unwrap() {
        let w = window(model, sw["start"].as_u64().unwrap());
        let at = sw["start"].as_u64().unwrap();
        assert_eq!(w["n"], sw["n"], "n at {at}");
        assert_eq!(w["end_exclusive"], sw["end_exclusive"], "end at {at}");
        let d = f(&w["ks"]["statistic"]);
        assert!(
            (d - f(&sw["ks_statistic"])).abs() <= 1e-9,
            "KS D at {at}: {d} vs {}",
            sw["ks_statistic"]
        );
        let (p, sp) = (f(&w["ks"]["p_value"]), f(&sw["ks_pvalue"]));
        if sp >= 1e-6 {
            assert!(rel_close(p, sp, 0.05), "KS p at {at}: {p} vs {sp}");
        } else {
            assert!(
                p < 1e-6,
                "KS p at {at}: {p} should be below 1e-6 (scipy {sp})"
            );
        }
        let c2 = &sw["chi2_pred_label"];
        assert!(
            rel_close(f(&w["chi2"]["statistic"]), f(&c2["statistic"]), 1e-6),
            "chi2 at {at}"
        );
        assert_eq!(w["chi2"]["dof"], c2["dof"], "dof at {at}");
        let (cp, scp) = (f(&w["chi2"]["p_value"]), f(&c2["pvalue"]));
        if scp >= 1e-12 {
            assert!(rel_close(cp, scp, 1e-6), "chi2 p at {at}: {cp} vs {scp}");
        } else {
            assert!(cp < 1e-12, "chi2 p at {at}");
        }
        assert!(
            (f(&w["psi"]) - f(&sw["psi_confidence"])).abs() <= 1e-9,
            "PSI at {at}"
        );
        let mix: std::collections::BTreeMap<String, u64> =
            serde_json::from_value(w["mix"].clone()).unwrap();
        let want: std::collections::BTreeMap<String, u64> =
            serde_json::from_value(sw["pred_label_counts"].clone()).unwrap();
        let nonzero = |m: std::collections::BTreeMap<String, u64>| -> Vec<(String, u64)> {
            m.into_iter().filter(|(_, c)| *c > 0).collect()
        };
        assert_eq!(nonzero(mix), nonzero(want), "label counts at {at}");
        checked += 1;
    }
    assert!(checked > 0);

    let nannyml = load(&dir.join("nannyml.json"));
    for ch in nannyml["realized_accuracy"]["chunks"].as_array().unwrap() {
        if ch["chunk/period"] != "analysis" {
            continue;
        }
        let w = window(model, ch["global_start_index"].as_u64().unwrap());
        let got = f(&w["accuracy"]["realized"]);
        assert!(
            (got - f(&ch["accuracy/value"])).abs() <= 1e-9,
            "accuracy at {}",
            w["start"]
        );
    }
    for ch in nannyml["univariate_drift_default"]["chunks"]
        .as_array()
        .unwrap()
    {
        if ch["chunk/period"] != "analysis" {
            continue;
        }
        let w = window(model, ch["global_start_index"].as_u64().unwrap());
        let (js, want) = (f(&w["js"]), f(&ch["prediction/jensen_shannon/value"]));
        assert!(
            rel_close(js, want, 1e-9) || (js - want).abs() < 1e-12,
            "JS at {}: {js} vs {want}",
            w["start"]
        );
    }
    let evidently = load(&dir.join("evidently.json"));
    for ew in evidently["windows"].as_array().unwrap() {
        let w = window(model, ew["start"].as_u64().unwrap());
        let (got, want) = (
            f(&w["wasserstein_norm"]),
            f(&ew["confidence"]["drift_score"]),
        );
        assert!(
            rel_close(got, want, 1e-6),
            "normed Wasserstein at {}: {got} vs {want}",
            w["start"]
        );
    }

    let river = load(&dir.join("river.json"));
    assert_eq!(
        model["detectors"]["page_hinkley"],
        river["PageHinkley"]["detections"]
    );
    assert_eq!(model["detectors"]["adwin"], river["ADWIN"]["detections"]);

    let alerts: Vec<u64> = model["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["index"].as_u64().unwrap())
        .collect();
    match truth["shift"]["start_index"].as_u64() {
        None => assert!(alerts.is_empty(), "alerts on a control stream: {alerts:?}"),
        Some(start) => {
            let window_size = truth["chunk_or_window_size"].as_u64().unwrap();
            assert!(
                alerts.iter().all(|&i| i >= start),
                "alert before the shift at {start}: {alerts:?}"
            );
            let first = alerts
                .iter()
                .min()
                .copied()
                .expect("an alert after the shift");
            assert!(
                first - start < window_size,
                "first alert {first} is a window or more after {start}"
            );
            // Faster than river's ADWIN, which has no baseline.
            let adwin = river["ADWIN"]["detections"][0].as_u64().unwrap();
            assert!(first <= adwin, "first alert at {first}, ADWIN at {adwin}");
            // One persistent shift is one alert per kind, and none clears.
            let kinds: Vec<&str> = model["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["kind"].as_str().unwrap())
                .collect();
            let mut unique = kinds.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), kinds.len(), "a kind fired twice: {kinds:?}");
            assert!(
                model["alerts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|a| a["cleared_index"].is_null()),
                "an alert cleared during a persistent shift: {}",
                model["alerts"]
            );
        }
    }
    (truth, report)
}

fn feature_drift_alerts(model: &Value) -> Vec<&Value> {
    model["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "feature_drift")
        .collect()
}

#[test]
fn nannyml_binary_stream_matches_references() {
    let (_, report) = check_stream("a_nannyml_binary");
    assert!(feature_drift_alerts(the_model(&report)).is_empty());
}

#[test]
fn digits_control_stream_matches_references() {
    let (_, report) = check_stream("c_digits_control");
    assert!(feature_drift_alerts(the_model(&report)).is_empty());
}

/// Within the data README's tolerances: relative `rel`, or both below
/// `floor` when the reference is.
fn p_close(got: f64, want: f64, rel: f64, floor: f64) -> bool {
    if want >= floor {
        rel_close(got, want, rel)
    } else {
        got < floor
    }
}

#[test]
fn input_features_match_scipy_and_feature_drift_names_the_moved_ones() {
    let stream = "f_nannyml_features";
    let (truth, report) = check_stream(stream);
    let model = the_model(&report);
    let scipy = load(&data_dir().join(stream).join("scipy.json"));
    let mut checked = 0;
    for sw in scipy["features"]["windows"].as_array().unwrap() {
        let at = sw["start"].as_u64().unwrap();
        let w = &window(model, at)["features"];
        for (name, s) in sw["features"].as_object().unwrap() {
            let r = &w[name];
            let ctx = format!("{name} at {at}");
            assert_eq!(r["kind"], s["kind"], "{ctx}");
            if s["kind"] == "numeric" {
                let d = f(&r["ks"]["statistic"]);
                assert!((d - f(&s["ks_statistic"])).abs() <= 1e-9, "KS D of {ctx}");
                let (p, sp) = (f(&r["ks"]["p_value"]), f(&s["ks_pvalue"]));
                assert!(p_close(p, sp, 0.05, 1e-6), "KS p of {ctx}: {p} vs {sp}");
                for key in ["wasserstein", "wasserstein_norm"] {
                    assert!(rel_close(f(&r[key]), f(&s[key]), 1e-6), "{key} of {ctx}");
                }
            } else {
                let (c, sc) = (&r["chi2"], &s["chi2"]);
                assert!(
                    rel_close(f(&c["statistic"]), f(&sc["statistic"]), 1e-6),
                    "chi2 of {ctx}"
                );
                assert_eq!(c["dof"], sc["dof"], "dof of {ctx}");
                let (p, sp) = (f(&c["p_value"]), f(&sc["pvalue"]));
                assert!(p_close(p, sp, 1e-6, 1e-12), "chi2 p of {ctx}: {p} vs {sp}");
                assert!((f(&r["js"]) - f(&s["js"])).abs() <= 1e-6, "JS of {ctx}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 70, "seven features in ten windows");

    // The features the shift moved by the rule's effect sizes (evidently's
    // 0.1), measured on the truth's before/after figures.
    let shift = &truth["shift"];
    let moved: std::collections::BTreeSet<&str> = shift["measured"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, m)| match m.get("mean_change_in_std_before") {
            Some(effect) => f(effect).abs() >= 0.1,
            None => js_of_shares(&m["share_before"], &m["share_after"]) >= 0.1,
        })
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(moved.len() >= 2 && moved.len() < 7, "{moved:?}");
    let alerts = feature_drift_alerts(model);
    assert!(!alerts.is_empty(), "no feature_drift alert");
    let start = shift["start_index"].as_u64().unwrap();
    let mut named = std::collections::BTreeSet::new();
    for a in &alerts {
        assert!(
            a["index"].as_u64().unwrap() >= start,
            "before the shift: {a}"
        );
        for name in a["features"].as_array().unwrap() {
            named.insert(name.as_str().unwrap());
        }
    }
    assert_eq!(named, moved);
}

/// Jensen–Shannon distance, base 2, of two share maps over their union.
fn js_of_shares(a: &Value, b: &Value) -> f64 {
    let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
    let share = |m: &serde_json::Map<String, Value>, k: &str| m.get(k).map_or(0.0, f);
    let kl = |p: f64, m: f64| if p > 0.0 { p * (p / m).ln() } else { 0.0 };
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let divergence: f64 = keys
        .iter()
        .map(|k| {
            let (p, q) = (share(a, k), share(b, k));
            let m = (p + q) / 2.0;
            (kl(p, m) + kl(q, m)) / 2.0
        })
        .sum();
    (divergence / 2f64.ln()).sqrt()
}

/// nannyml's CBPE estimate for each analysis chunk, by start index.
fn nannyml_cbpe(stream: &str) -> Vec<(u64, f64, f64)> {
    let nannyml = load(&data_dir().join(stream).join("nannyml.json"));
    nannyml["cbpe_estimated_accuracy"]["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|ch| ch["chunk/period"] == "analysis")
        .map(|ch| {
            (
                ch["global_start_index"].as_u64().unwrap(),
                f(&ch["accuracy/value"]),
                f(&ch["accuracy/sampling_error"]),
            )
        })
        .collect()
}

#[test]
fn binary_cbpe_estimate_matches_nannyml() {
    let (_, report) = replay("a_nannyml_binary");
    let model = the_model(&report);
    let chunks = nannyml_cbpe("a_nannyml_binary");
    assert_eq!(chunks.len(), 10);
    for (start, want, want_error) in chunks {
        let acc = &window(model, start)["accuracy"];
        assert_eq!(acc["estimated_method"], "cbpe", "method at {start}");
        let got = f(&acc["estimated"]);
        assert!(
            (got - want).abs() <= 0.005,
            "estimated accuracy at {start}: {got} vs nannyml's {want}"
        );
        let error = f(&acc["estimated_sampling_error"]);
        assert!(
            rel_close(error, want_error, 1e-6),
            "sampling error at {start}: {error} vs {want_error}"
        );
    }
    assert_eq!(model["baseline"]["calibration"]["score"], "binary");
}

#[test]
fn top_label_cbpe_tracks_realized_accuracy_on_the_digits_control() {
    let (_, report) = replay("c_digits_control");
    let model = the_model(&report);
    let (mut ours, mut theirs, mut n) = (0.0, 0.0, 0.0);
    for (start, nannyml, _) in nannyml_cbpe("c_digits_control") {
        let acc = &window(model, start)["accuracy"];
        assert_eq!(acc["estimated_method"], "cbpe", "method at {start}");
        let realized = f(&acc["realized"]);
        ours += (f(&acc["estimated"]) - realized).abs();
        theirs += (nannyml - realized).abs();
        n += 1.0;
    }
    assert_eq!(n, 40.0);
    let (ours, theirs) = (ours / n, theirs / n);
    assert!(
        ours <= 0.02 && ours < theirs,
        "mean |estimated - realized| {ours} (nannyml's {theirs})"
    );
    assert_eq!(model["baseline"]["calibration"]["score"], "top_label");
}

#[test]
fn too_few_baseline_labels_fall_back_to_mean_confidence() {
    let (_, report) = replay_with_env(
        "a_nannyml_binary",
        &[("MODELWATCH_LABELS__CBPE_MIN_LABELS", "1000000")],
    );
    let model = the_model(&report);
    assert_eq!(model["baseline"]["calibration"], Value::Null);
    for w in model["windows"].as_array().unwrap() {
        let acc = &w["accuracy"];
        assert_eq!(acc["estimated_method"], "mean_confidence");
        assert_eq!(acc["estimated"], w["confidence"]["mean"]);
        assert_eq!(acc["estimated_sampling_error"], Value::Null);
    }
}

#[test]
fn baseline_file_gives_the_same_figures_as_a_counted_baseline() {
    // Baseline from the first 50,000 predictions of the stream (with their
    // feedback lines), then replay the rest against the file.
    let dir = data_dir().join("a_nannyml_binary");
    let tmp = tempfile::tempdir().unwrap();
    let mut head = Vec::new();
    let mut tail = Vec::new();
    let text = {
        use std::io::Read;
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(
            std::fs::File::open(dir.join("stream.jsonl.gz")).unwrap(),
        )
        .read_to_string(&mut s)
        .unwrap();
        s
    };
    let mut predictions = 0;
    for line in text.lines() {
        let is_prediction = !line.contains("\"feedback\"");
        if is_prediction {
            predictions += 1;
        }
        if predictions <= 50_000 {
            head.push(line);
        } else {
            tail.push(line);
        }
    }
    std::fs::write(tmp.path().join("head.jsonl"), head.join("\n")).unwrap();
    std::fs::write(tmp.path().join("tail.jsonl"), tail.join("\n")).unwrap();
    let snap = tmp.path().join("baseline.json");
    let status = common::modelwatch()
        .args(["baseline", "--baseline", "50000"])
        .arg(tmp.path().join("head.jsonl"))
        .arg("-o")
        .arg(&snap)
        .status()
        .unwrap();
    assert!(status.success());
    let run = |args: &[&str], files: &[PathBuf]| -> Value {
        let out = common::modelwatch()
            .args(args)
            .args(files)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let counted = run(
        &["replay", "--baseline", "50000", "--window", "5000"],
        &[tmp.path().join("head.jsonl"), tmp.path().join("tail.jsonl")],
    );
    let from_file = run(
        &[
            "replay",
            "--window",
            "5000",
            "--baseline-file",
            snap.to_str().unwrap(),
        ],
        &[tmp.path().join("tail.jsonl")],
    );
    let (a, b) = (the_model(&counted), the_model(&from_file));
    let (wa, wb) = (
        a["windows"].as_array().unwrap(),
        b["windows"].as_array().unwrap(),
    );
    assert_eq!(wa.len(), wb.len());
    for (x, y) in wa.iter().zip(wb) {
        for key in [
            "ks",
            "chi2",
            "psi",
            "js",
            "wasserstein",
            "wasserstein_norm",
            "mix",
            "confidence",
        ] {
            assert_eq!(x[key], y[key], "{key} of window {}", x["start"]);
        }
        assert_eq!(x["n"], y["n"]);
        // The file carries the calibration data its labels gave (those
        // that came within the head): CBPE, close to the counted run's.
        let (ex, ey) = (&x["accuracy"], &y["accuracy"]);
        assert_eq!(ey["estimated_method"], "cbpe", "window {}", y["start"]);
        assert!(
            (f(&ex["estimated"]) - f(&ey["estimated"])).abs() <= 0.005,
            "estimated accuracy of window {}: {} vs {}",
            x["start"],
            ex["estimated"],
            ey["estimated"]
        );
    }
}
