//! A prediction stream whose confidence drifts and comes back: with
//! `--baseline 1000 --window 200` it fires `confidence_drift` (critical)
//! and `change_point`, then clears `confidence_drift`.

/// The arguments that make the stream behave as described.
pub const ARGS: [&str; 5] = ["--from-start", "--baseline", "1000", "--window", "200"];

/// Predictions in the stream.
pub const PREDICTIONS: u64 = 2_900;

/// The stream's lines for `model`: 1,000 confident predictions, 400 far
/// less confident, then 1,500 confident again.
pub fn lines(model: &str) -> String {
    let model = serde_json::to_string(model).unwrap();
    let spans = [(0.80, 1_000), (0.30, 400), (0.80, 1_500)];
    let mut out = String::new();
    let mut i: u64 = 0;
    for (low, n) in spans {
        for _ in 0..n {
            // Spread over 0.19 in a fixed pattern (no randomness).
            let c = low + ((i * 37) % 191) as f64 / 1000.0;
            let label = if i.is_multiple_of(3) { "a" } else { "b" };
            out.push_str(&format!(
                r#"{{"id":"{i}","model":{model},"prediction":"{label}","confidence":{c:.3}}}"#
            ));
            out.push('\n');
            i += 1;
        }
    }
    out
}
