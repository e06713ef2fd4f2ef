//! What the dashboard asks of the session and the desk: the [`Effect`]s
//! that the app and its dialogs yield and the event loop carries out.

use crate::engine::Decision;
use crate::engine::alerts::Alert;
use crate::engine::review::ReviewItem;

/// Work for the session and the desk; the loop reports the outcome back
/// to the app (`App::notice`).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// `note`: the operator's note, recorded as the audit record's `reason`.
    Decide {
        shown: Box<ReviewItem>,
        decision: Decision,
        note: Option<String>,
    },
    Acknowledge(Alert),
    Trip {
        model: String,
        note: Option<String>,
    },
    Reset {
        model: String,
        typed: String,
    },
    Rebaseline {
        model: String,
    },
    Quit,
    Suspend,
}
