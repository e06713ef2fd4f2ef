//! The typed events one line (or websocket message) can hold.
//!
//! Strings borrow from the input line whenever JSON escaping allows it, so the
//! hot path of `replay` allocates almost nothing per event.

use std::borrow::Cow;

/// One model output.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction<'a> {
    /// Event time in epoch milliseconds; `None` when the line had no timestamp
    /// (the caller substitutes the arrival time).
    pub ts_ms: Option<i64>,
    /// Case id, needed to join feedback and to decide on a case.
    pub id: Option<Cow<'a, str>>,
    /// The model key: `model`, or `model@version` when a version is given.
    pub model: Cow<'a, str>,
    /// Predicted label, as text (`1` and `"1"` are the same label).
    pub label: Cow<'a, str>,
    /// Confidence in the predicted label, always finite and within [0, 1].
    pub confidence: f64,
    /// Top-1 minus top-2 probability when `probs` was given.
    pub margin: Option<f64>,
    /// Optional traffic segment (country, tenant, ...).
    pub segment: Option<Cow<'a, str>>,
    /// Whether the line has an `input`, whose scalars are the features
    /// (read from the line where they are used: `features`).
    pub has_input: bool,
}

/// Ground truth for an earlier prediction, joined by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback<'a> {
    pub ts_ms: Option<i64>,
    pub id: Cow<'a, str>,
    /// The true label, as text.
    pub label: Cow<'a, str>,
    /// Model key when the line names one (feedback usually does not).
    pub model: Option<Cow<'a, str>>,
}

/// What one valid line holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    Prediction(Prediction<'a>),
    Feedback(Feedback<'a>),
}

/// Name of the model used when an event does not say which model it came from.
pub const DEFAULT_MODEL: &str = "default";

impl Event<'_> {
    /// Detaches the event from the line it was parsed from.
    pub fn into_owned(self) -> Event<'static> {
        fn own(c: std::borrow::Cow<'_, str>) -> std::borrow::Cow<'static, str> {
            std::borrow::Cow::Owned(c.into_owned())
        }
        match self {
            Event::Prediction(p) => Event::Prediction(Prediction {
                ts_ms: p.ts_ms,
                id: p.id.map(own),
                model: own(p.model),
                label: own(p.label),
                confidence: p.confidence,
                margin: p.margin,
                segment: p.segment.map(own),
                has_input: p.has_input,
            }),
            Event::Feedback(f) => Event::Feedback(Feedback {
                ts_ms: f.ts_ms,
                id: own(f.id),
                label: own(f.label),
                model: f.model.map(own),
            }),
        }
    }
}
