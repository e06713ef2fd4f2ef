//! The built-in simulated model behind `modelwatch demo`.
//!
//! Two models share the stream so that every panel has something to show:
//! a four-class support-ticket router and a binary fraud scorer. Each draws
//! a true class, scores it with softmax over noisy logits (so confidences
//! are roughly calibrated and a few cases are genuinely uncertain), and
//! sends ground truth for most predictions a few seconds of traffic later.
//! About a minute in, a drift episode begins: the router sees a new kind of
//! ticket (its confidence falls, its mix shifts, its accuracy drops), and
//! it recovers a minute later. Everything is a function of the seed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use super::batching::{BATCH_LINES, Counters, is_full, new_batch, push_line, send_batch};
use super::status::Reporter;
use super::{SourceEvent, SourceId, SourceOptions, SourceState};
use crate::record::Parser;
use crate::record::lines::Line;

/// Predictions into the stream where the drift episode starts and ends,
/// as seconds of traffic at the default rate.
const DRIFT_START_SECS: u64 = 60;
const DRIFT_SECS: u64 = 60;
/// Share of predictions whose ground truth arrives.
const FEEDBACK_SHARE: f64 = 0.8;

const ROUTER_CLASSES: [&str; 4] = ["billing", "technical", "account", "other"];
const ROUTER_PRIORS: [f64; 4] = [0.35, 0.35, 0.2, 0.1];
/// The router's logit for the true class, and the noise on every logit:
/// about 4% of its predictions fall below the review threshold (0.6).
const ROUTER_SIGNAL: f64 = 3.6;
const ROUTER_NOISE: f64 = 0.9;
/// During the drift: a product launch floods "technical" with tickets the
/// model was not trained on. It still calls most of them technical (the
/// mix shifts), less sure of each (confidence falls) and wrong more often
/// (accuracy falls about 8 points).
const ROUTER_DRIFT_PRIORS: [f64; 4] = [0.15, 0.65, 0.12, 0.08];
const ROUTER_DRIFT_SIGNAL: f64 = 2.0;
const SUBJECTS: [&str; 8] = [
    "Invoice shows the wrong amount",
    "App crashes on login",
    "Cannot reset my password",
    "Refund for double charge",
    "Sync stuck at 99%",
    "Change the email on my account",
    "Feature request: dark mode",
    "Where is my order?",
];
const CHANNELS: [&str; 3] = ["email", "chat", "web"];
const COUNTRIES: [&str; 6] = ["DE", "US", "FR", "GB", "NL", "JP"];

/// Feedback waiting to be sent: (due at prediction number, id, true label).
type Due = Reverse<(u64, String, &'static str)>;

pub struct DemoModel {
    rng: fastrand::Rng,
    /// Predictions emitted so far.
    emitted: u64,
    /// Predictions per second the drift schedule is laid out for.
    rate: u64,
    feedback: BinaryHeap<Due>,
    id_prefix: String,
}

impl DemoModel {
    /// `rate` (predictions per second, 0 meaning "as fast as possible")
    /// only places the drift episode in time.
    pub fn new(seed: u64, rate: u64) -> Self {
        DemoModel {
            rng: fastrand::Rng::with_seed(seed),
            emitted: 0,
            rate: if rate == 0 { 200 } else { rate },
            feedback: BinaryHeap::new(),
            id_prefix: String::new(),
        }
    }

    /// Prefixes every id (a server run's ids must not repeat those of an
    /// earlier run, or clients that reconnect would drop them as duplicates).
    pub fn with_id_prefix(mut self, prefix: &str) -> Self {
        self.id_prefix = prefix.to_string();
        self
    }

    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    fn drifting(&self) -> bool {
        let start = DRIFT_START_SECS * self.rate;
        (start..start + DRIFT_SECS * self.rate).contains(&self.emitted)
    }

    /// Appends the next prediction, and any feedback now due, as JSON lines
    /// (each with its newline) to `out`; `now_ms` is its timestamp.
    pub fn next_lines(&mut self, now_ms: i64, out: &mut String) {
        let n = self.emitted;
        self.emitted += 1;
        let ts = crate::record::time::format_ms(now_ms);
        let (id, truth) = if n % 5 == 4 {
            self.fraud_line(n, &ts, out)
        } else {
            self.router_line(n, &ts, out)
        };
        if self.rng.f64() < FEEDBACK_SHARE {
            // Ground truth 2–15 seconds of traffic later.
            let delay = self.rate * 2 + self.rng.u64(0..self.rate * 13);
            self.feedback.push(Reverse((n + delay, id, truth)));
        }
        while let Some(Reverse((due, _, _))) = self.feedback.peek() {
            if *due > n {
                break;
            }
            let Some(Reverse((_, id, label))) = self.feedback.pop() else {
                break;
            };
            let _ = writeln!(
                out,
                r#"{{"type":"feedback","id":"{id}","label":"{label}","ts":"{ts}"}}"#
            );
        }
    }

    fn router_line(&mut self, n: u64, ts: &str, out: &mut String) -> (String, &'static str) {
        let drifting = self.drifting();
        let priors = if drifting {
            ROUTER_DRIFT_PRIORS
        } else {
            ROUTER_PRIORS
        };
        let truth = pick(&mut self.rng, &priors);
        // Unfamiliar tickets blur the signal for the technical class.
        let signal = if drifting && truth == 1 {
            ROUTER_DRIFT_SIGNAL
        } else {
            ROUTER_SIGNAL
        };
        let probs = self.scores(truth, signal, ROUTER_NOISE, ROUTER_CLASSES.len());
        let predicted = arg_max(&probs);
        let id = format!("{}t-{n:07}", self.id_prefix);
        let subject = SUBJECTS[self.rng.usize(0..SUBJECTS.len())];
        let channel = CHANNELS[self.rng.usize(0..CHANNELS.len())];
        let _ = write!(
            out,
            r#"{{"ts":"{ts}","id":"{id}","model":"ticket-router","version":"2.1","prediction":"{}","confidence":{:.4},"probs":{{"#,
            ROUTER_CLASSES[predicted], probs[predicted]
        );
        for (i, (class, p)) in ROUTER_CLASSES.iter().zip(&probs).enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(out, r#"{sep}"{class}":{p:.4}"#);
        }
        let _ = writeln!(
            out,
            r#"}},"segment":"{channel}","input":{{"subject":"{subject}","channel":"{channel}","chars":{}}}}}"#,
            40 + self.rng.u32(0..900)
        );
        (id, ROUTER_CLASSES[truth])
    }

    fn fraud_line(&mut self, n: u64, ts: &str, out: &mut String) -> (String, &'static str) {
        const CLASSES: [&str; 2] = ["legit", "fraud"];
        let truth = usize::from(self.rng.f64() < 0.08);
        let probs = self.scores(truth, 3.5, 1.0, 2);
        let predicted = arg_max(&probs);
        let id = format!("{}f-{n:07}", self.id_prefix);
        let country = COUNTRIES[self.rng.usize(0..COUNTRIES.len())];
        let amount = (self.rng.f64() * 400.0 * 100.0).round() / 100.0;
        let _ = writeln!(
            out,
            r#"{{"ts":"{ts}","id":"{id}","model":"fraud","version":"3","prediction":"{}","confidence":{:.4},"probs":{{"legit":{:.4},"fraud":{:.4}}},"segment":"{country}","input":{{"amount":{amount},"country":"{country}"}}}}"#,
            CLASSES[predicted], probs[predicted], probs[0], probs[1]
        );
        (id, CLASSES[truth])
    }

    /// Softmax over logits: `signal` for the true class plus Gaussian noise.
    fn scores(&mut self, truth: usize, signal: f64, noise: f64, classes: usize) -> Vec<f64> {
        let logits: Vec<f64> = (0..classes)
            .map(|c| if c == truth { signal } else { 0.0 } + noise * normal(&mut self.rng))
            .collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        let total: f64 = exps.iter().sum();
        // Rounded to 4 decimals as a real logger would; the top one is what
        // the prediction reports.
        exps.iter()
            .map(|e| ((e / total) * 1e4).round() / 1e4)
            .collect()
    }
}

fn pick(rng: &mut fastrand::Rng, weights: &[f64]) -> usize {
    let mut x = rng.f64() * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

fn arg_max(xs: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in xs.iter().enumerate() {
        if *x > xs[best] {
            best = i;
        }
    }
    best
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut fastrand::Rng) -> f64 {
    let u = rng.f64().max(f64::MIN_POSITIVE);
    let v = rng.f64();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// The demo source as given to [`super::SourceSet::start`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSpec {
    pub seed: u64,
    /// Predictions per second; 0 for as fast as possible.
    pub rate: u64,
    /// Stop after this many predictions.
    pub limit: Option<u64>,
}

impl DemoSpec {
    pub fn name(&self) -> String {
        format!("demo (seed {})", self.seed)
    }
}

/// How often a paced demo emits (predictions spread evenly over ticks).
pub(crate) const TICK: Duration = Duration::from_millis(20);

/// Paces the model: how many predictions are owed now, or `None` when the
/// limit is reached.
pub(crate) struct Pacer {
    spec: DemoSpec,
    /// Predictions per turn when unpaced (rate 0).
    burst: u64,
    started: Instant,
}

impl Pacer {
    pub(crate) fn new(spec: DemoSpec, burst: u64) -> Pacer {
        Pacer {
            spec,
            burst,
            started: Instant::now(),
        }
    }

    /// Restarts the clock as if `emitted` predictions had just been paced
    /// (after a pause, so nothing is owed for the time paused).
    pub(crate) fn resume(&mut self, emitted: u64) {
        self.started =
            Instant::now() - Duration::from_secs_f64(emitted as f64 / self.spec.rate.max(1) as f64);
    }

    pub(crate) fn owed(&self, emitted: u64) -> Option<u64> {
        if self.spec.limit.is_some_and(|l| emitted >= l) {
            return None;
        }
        let owed = if self.spec.rate == 0 {
            self.burst
        } else {
            ((self.started.elapsed().as_secs_f64() * self.spec.rate as f64) as u64)
                .saturating_sub(emitted)
        };
        Some(match self.spec.limit {
            Some(limit) => owed.min(limit - emitted),
            None => owed,
        })
    }
}

/// Runs the simulated model as a source: lines at `rate` per second,
/// parsed into batches like any other source's.
pub(crate) async fn run(
    id: SourceId,
    spec: DemoSpec,
    options: Arc<SourceOptions>,
    parser: Arc<Parser>,
    tx: mpsc::Sender<SourceEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut reporter = Reporter::new(id, spec.name(), tx);
    reporter.set_state(SourceState::Following);
    let mut model = DemoModel::new(spec.seed, spec.rate);
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let pacer = Pacer::new(spec, BATCH_LINES as u64);
    let mut text = String::new();
    let mut counters = Counters::default();
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = ticks.tick() => {}
        }
        // Predictions owed by now at the given rate (a batch's worth when
        // unpaced); the limit ends the source below, once sent.
        let owed = pacer.owed(model.emitted()).unwrap_or(0);
        let now = crate::record::time::now_ms();
        text.clear();
        for _ in 0..owed {
            model.next_lines(now, &mut text);
        }
        let mut batch = new_batch(id, counters.lines + 1);
        for line in text.lines() {
            push_line(
                &mut batch,
                &mut counters,
                &parser,
                Line::Text(line.as_bytes()),
                options.keep_raw,
            );
            if is_full(&batch) {
                let full = std::mem::replace(&mut batch, new_batch(id, counters.lines + 1));
                if !send_batch(reporter.tx(), full, None, &mut shutdown).await {
                    return;
                }
                reporter.sync(&counters);
            }
        }
        if !batch.is_empty() && !send_batch(reporter.tx(), batch, None, &mut shutdown).await {
            return;
        }
        reporter.sync(&counters);
        if spec.limit.is_some_and(|limit| model.emitted() >= limit) {
            reporter.set_state(SourceState::Ended);
            let _ = reporter.force().await;
            return;
        }
        if reporter.flush().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Event, Parser};

    fn lines(seed: u64, n: usize) -> Vec<String> {
        let mut m = DemoModel::new(seed, 200);
        let mut out = String::new();
        for i in 0..n {
            m.next_lines(1_800_000_000_000 + i as i64 * 5, &mut out);
        }
        out.lines().map(str::to_string).collect()
    }

    #[test]
    fn deterministic_valid_and_varied() {
        assert_eq!(lines(7, 500), lines(7, 500));
        assert_ne!(lines(7, 500), lines(8, 500));
        let parser = Parser::default();
        let (mut predictions, mut feedback, mut low, mut models) =
            (0, 0, 0, std::collections::BTreeSet::new());
        for line in lines(7, 3_000) {
            match parser.parse(line.as_bytes()) {
                Ok(Event::Prediction(p)) => {
                    predictions += 1;
                    low += usize::from(p.confidence < 0.6);
                    models.insert(p.model.into_owned());
                }
                Ok(Event::Feedback(_)) => feedback += 1,
                Err(e) => panic!("demo line is malformed: {e}: {line}"),
            }
        }
        assert_eq!(predictions, 3_000);
        // Ground truth comes 2–15 s later: over half of 15 s of traffic is labelled.
        assert!(feedback > 800, "{feedback}");
        // Low-confidence cases appear within the first 3 s (600 predictions).
        assert!(low > 0);
        let early_low = lines(7, 600).iter().filter(|l| {
            matches!(parser.parse(l.as_bytes()), Ok(Event::Prediction(p)) if p.confidence < 0.6)
        }).count();
        assert!(early_low >= 5, "{early_low}");
        assert_eq!(models.len(), 2);
    }

    #[test]
    fn drift_episode_lowers_router_confidence() {
        let rate = 50;
        let mut m = DemoModel::new(3, rate);
        let parser = Parser::default();
        let mean_conf = |m: &mut DemoModel, n: u64| {
            let mut out = String::new();
            for _ in 0..n {
                m.next_lines(0, &mut out);
            }
            let confs: Vec<f64> = out
                .lines()
                .filter_map(|l| match parser.parse(l.as_bytes()) {
                    Ok(Event::Prediction(p)) if p.model == "ticket-router@2.1" => {
                        Some(p.confidence)
                    }
                    _ => None,
                })
                .collect();
            confs.iter().sum::<f64>() / confs.len() as f64
        };
        let before = mean_conf(&mut m, DRIFT_START_SECS * rate);
        let during = mean_conf(&mut m, DRIFT_SECS * rate);
        let after = mean_conf(&mut m, DRIFT_SECS * rate);
        assert!(during < before - 0.05, "{before} {during}");
        assert!(after > during + 0.05, "{during} {after}");
    }
}
