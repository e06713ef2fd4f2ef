//! An engine resumed from checkpoints (encoded and decoded as the file
//! holds them) computes exactly what an uninterrupted engine does, on the
//! reference stream with features, segments, feedback and a drift: the same report
//! (windows, baseline, detectors, alerts), the same screens and the same
//! alert transitions.

use std::io::{BufRead, BufReader};
use std::path::Path;

use flate2::read::GzDecoder;
use modelwatch::checkpoint::{self, Checkpoint};
use modelwatch::engine::segments::settings::SegmentSettings;
use modelwatch::engine::settings::BaselineSpec;
use modelwatch::engine::state::shape;
use modelwatch::engine::{Engine, EngineSettings, LineOrigin};
use modelwatch::record::Parser;
use modelwatch::report::build_report;

/// The traffic split by two input features too, so segments are saved
/// and resumed with everything else.
fn settings() -> EngineSettings {
    EngineSettings {
        baseline: BaselineSpec::Count(50_000),
        window: 5_000,
        segments: SegmentSettings {
            fields: vec!["input.workday".into(), "input.salary_range".into()],
            ..SegmentSettings::default()
        },
        ..EngineSettings::default()
    }
}

fn lines() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/f_nannyml_features/stream.jsonl.gz");
    let file = std::fs::File::open(&path).expect("the reference stream");
    BufReader::new(GzDecoder::new(file))
        .lines()
        .map(|l| l.expect("a line"))
        .collect()
}

fn feed(e: &mut Engine, parser: &Parser, n: usize, line: &str) {
    let origin = LineOrigin {
        source: "stream",
        line: n as u64 + 1,
    };
    // Arrival time follows the line, as a live session's clock would.
    e.ingest_line(parser, line.as_bytes(), origin, 1_000 * n as i64);
}

/// What the engine shows: its report, every model's screen and the
/// transitions it holds.
fn everything(e: &mut Engine) -> String {
    let report = serde_json::to_string(&build_report(e)).unwrap();
    let screens: Vec<String> = e
        .models()
        .iter()
        .map(|m| format!("{:?}", e.snapshot(Some(&m.name))))
        .collect();
    let transitions = format!("{:?}", e.take_transitions());
    format!("{report}\n{screens:?}\n{:?}\n{transitions}", e.fleet())
}

#[test]
fn a_resumed_engine_computes_what_an_uninterrupted_one_does() {
    let lines = lines();
    let parser = Parser::default();
    let mut straight = Engine::new(settings());
    let mut resumed = Engine::new(settings());
    // Cuts in the baseline, in the first windows, and after the shift.
    let cuts = [20_011, 100_003, 160_007];
    for (n, line) in lines.iter().enumerate() {
        if cuts.contains(&n) {
            let c = Checkpoint {
                taken_ms: 0,
                shape: shape(resumed.settings()),
                sources: Vec::new(),
                engine: resumed.state(),
            };
            let back = checkpoint::decode(&checkpoint::encode(&c).unwrap()).unwrap();
            checkpoint::check_shape(&back.shape, &shape(&settings())).unwrap();
            resumed = Engine::new(settings());
            resumed.resume(back.engine).unwrap();
        }
        feed(&mut straight, &parser, n, line);
        feed(&mut resumed, &parser, n, line);
    }
    let (a, b) = (everything(&mut straight), everything(&mut resumed));
    assert!(
        a.contains("\"feature_drift\""),
        "the stream drifts: {a:.300}"
    );
    assert!(a.contains("\"input.workday\""), "segments are reported");
    assert!(
        a == b,
        "the resumed engine differs:\n{a:.2000}\n---\n{b:.2000}"
    );
}

#[test]
fn a_checkpoint_under_other_settings_names_them() {
    let narrow = EngineSettings {
        window: 500,
        ..settings()
    };
    let err = checkpoint::check_shape(&shape(&settings()), &shape(&narrow)).unwrap_err();
    assert!(err.contains("window 5000 (now 500)"), "{err}");
    assert!(checkpoint::check_shape(&shape(&narrow), &shape(&narrow)).is_ok());
    // Alert thresholds and review settings may change between runs.
    let mut relaxed = settings();
    relaxed.alerts.confidence_drift.max_p_value = 1e-3;
    relaxed.review.below = 0.9;
    assert!(checkpoint::check_shape(&shape(&settings()), &shape(&relaxed)).is_ok());
}

#[test]
fn a_damaged_checkpoint_is_refused_saying_why() {
    let mut e = Engine::new(settings());
    let parser = Parser::default();
    for (n, line) in lines().iter().take(2_000).enumerate() {
        feed(&mut e, &parser, n, line);
    }
    let c = Checkpoint {
        taken_ms: 0,
        shape: shape(e.settings()),
        sources: Vec::new(),
        engine: e.state(),
    };
    let bytes = checkpoint::encode(&c).unwrap();
    // A flipped bit is found (the gzip CRC), unless deflate never reads
    // it: then the checkpoint is the one written.
    let shown = |state| {
        let mut back = Engine::new(settings());
        back.resume(state).unwrap();
        everything(&mut back)
    };
    let written = shown(c.engine.clone());
    let mut refused = 0;
    for at in (40..bytes.len()).step_by(4_999) {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x40;
        match checkpoint::decode(&flipped) {
            Err(e) => {
                assert!(e.starts_with("corrupt"), "{e}");
                refused += 1;
            }
            Ok(same) => assert!(shown(same.engine) == written, "byte {at} changed it"),
        }
    }
    assert!(refused > 0);
    let cut = &bytes[..bytes.len() - 9];
    assert!(checkpoint::decode(cut).unwrap_err().starts_with("corrupt"));
    let newer = String::from_utf8_lossy(&bytes).replacen("checkpoint 1\n", "checkpoint 9\n", 1);
    let err = checkpoint::decode(newer.as_bytes()).unwrap_err();
    assert!(err.contains("format version 9"), "{err}");
    assert_eq!(
        checkpoint::decode(b"{\"json\":true}\n").unwrap_err(),
        "not a modelwatch checkpoint"
    );
}
