//! Screens that take the place of the panels while the status bar, the
//! banner and the key line stay (so the kill switch's state is always in
//! view): the alert history (`H`: every alert of the model on screen and
//! of the input, newest first, filtered), the malformed lines (`L`) and the
//! model's input features and segments against their baselines (`f`).
//! Each screen is a [`Screen`] state that copies its page from the engine
//! ([`Screen::take`]) and handles the keys it owns ([`Screen::apply`]);
//! the others go on to the dashboard's actions (the kill switch, help).

use super::keymap::Action;
use super::list_page::{ListCursor, ListPage, step};
use super::review_page::Shown;
use crate::engine::Engine;
use crate::engine::MalformedRecord;
use crate::engine::alerts::{Alert, Severity};

/// A malformed line's identity: its source and line number.
pub type MalformedKey = (String, u64);

fn malformed_key(r: &MalformedRecord) -> MalformedKey {
    (r.source.clone(), r.line)
}

fn alert_key(a: &Alert) -> u64 {
    a.id
}

/// Which alerts the history lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlertFilter {
    pub active_only: bool,
    pub severity: Option<Severity>,
}

impl AlertFilter {
    pub fn matches(&self, a: &Alert) -> bool {
        (!self.active_only || a.is_active()) && self.severity.is_none_or(|s| a.severity == s)
    }

    /// The filter in words, for the screen's title.
    pub fn words(&self) -> String {
        match (self.active_only, self.severity) {
            (false, None) => "all".into(),
            (true, None) => "active".into(),
            (false, Some(s)) => s.as_str().into(),
            (true, Some(s)) => format!("active {}", s.as_str()),
        }
    }

    /// Any severity, then critical only, then warning only.
    fn next_severity(&mut self) {
        self.severity = match self.severity {
            None => Some(Severity::Critical),
            Some(Severity::Critical) => Some(Severity::Warning),
            Some(Severity::Warning) => None,
        };
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Screen {
    #[default]
    Dashboard,
    Alerts {
        filter: AlertFilter,
        cursor: ListCursor<u64>,
    },
    Malformed {
        cursor: ListCursor<MalformedKey>,
    },
    /// The features, then the segments: `cursor` is a row of the two
    /// lists as one (by place: the features re-rank at every check).
    Features {
        cursor: usize,
    },
}

/// What a screen copied for one frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ScreenPage {
    #[default]
    None,
    Alerts {
        filter: AlertFilter,
        page: ListPage<Alert>,
        /// Alerts in the logs before filtering, and how many the logs
        /// dropped (the oldest cleared ones) to stay bounded.
        all: usize,
        dropped: u64,
    },
    Malformed {
        page: ListPage<MalformedRecord>,
    },
    /// The snapshot's features and segments are the page.
    Features,
}

/// What a key did on a screen.
#[derive(Debug, Clone, PartialEq)]
pub enum ScreenOutcome {
    Stay,
    /// Back to the dashboard.
    Close,
    /// Show this alert in full.
    Detail(Alert),
    Acknowledge(Alert),
    /// Not on this screen; say why.
    Refuse(&'static str),
}

impl Screen {
    pub fn is_dashboard(&self) -> bool {
        *self == Screen::Dashboard
    }

    /// The screen an action opens from any screen: `H`, `L` and `f` open
    /// theirs, or go back to the dashboard when it is already open.
    pub fn toggled(&self, action: Action) -> Option<Screen> {
        match (action, self) {
            (Action::AlertHistory, Screen::Alerts { .. })
            | (Action::MalformedLines, Screen::Malformed { .. })
            | (Action::Features, Screen::Features { .. }) => Some(Screen::Dashboard),
            (Action::AlertHistory, _) => Some(Screen::Alerts {
                filter: AlertFilter::default(),
                cursor: ListCursor::default(),
            }),
            (Action::MalformedLines, _) => Some(Screen::Malformed {
                cursor: ListCursor::default(),
            }),
            (Action::Features, _) => Some(Screen::Features { cursor: 0 }),
            _ => None,
        }
    }

    /// Back to the top of the list (another model is on screen).
    pub fn restart(&mut self) {
        match self {
            Screen::Dashboard => {}
            Screen::Alerts { cursor, .. } => *cursor = ListCursor::default(),
            Screen::Malformed { cursor } => *cursor = ListCursor::default(),
            Screen::Features { cursor } => *cursor = 0,
        }
    }

    /// Copies the page this screen shows: `model`'s alerts and the input's
    /// (newest first), or the malformed lines kept (newest first).
    pub fn take(&self, engine: &Engine, model: Option<&str>, rows: usize) -> ScreenPage {
        match self {
            Screen::Dashboard => ScreenPage::None,
            Screen::Alerts { filter, cursor } => {
                let logs = model
                    .and_then(|m| engine.model(m))
                    .map(|m| &m.alerts)
                    .into_iter()
                    .chain([engine.input_alerts()]);
                let (mut all, mut dropped) = (0, 0);
                let mut list: Vec<&Alert> = Vec::new();
                for log in logs {
                    all += log.alerts.len();
                    dropped += log.dropped;
                    list.extend(log.alerts.iter().filter(|a| filter.matches(a)));
                }
                list.sort_by(|a, b| b.ts_ms.cmp(&a.ts_ms).then(b.id.cmp(&a.id)));
                ScreenPage::Alerts {
                    filter: *filter,
                    page: ListPage::around(&list, alert_key, cursor, rows),
                    all,
                    dropped,
                }
            }
            Screen::Malformed { cursor } => {
                let list: Vec<&MalformedRecord> = engine.malformed().rev().collect();
                ScreenPage::Malformed {
                    page: ListPage::around(&list, malformed_key, cursor, rows),
                }
            }
            Screen::Features { .. } => ScreenPage::Features,
        }
    }

    /// Follows the page just copied.
    pub fn sync(&mut self, shown: &ScreenPage) {
        match (self, shown) {
            (Screen::Alerts { cursor, .. }, ScreenPage::Alerts { page, .. }) => {
                cursor.sync(page, alert_key)
            }
            (Screen::Malformed { cursor }, ScreenPage::Malformed { page }) => {
                cursor.sync(page, malformed_key)
            }
            _ => {}
        }
    }

    /// Whether `shown` is not what this screen should show: another
    /// screen's, another filter's, or a page the selection has left.
    pub fn needs_page(&self, shown: &ScreenPage) -> bool {
        match (self, shown) {
            (Screen::Dashboard, ScreenPage::None) => false,
            (
                Screen::Alerts { filter, cursor },
                ScreenPage::Alerts {
                    filter: shown_filter,
                    page,
                    ..
                },
            ) => filter != shown_filter || cursor.left_page(page),
            (Screen::Malformed { cursor }, ScreenPage::Malformed { page }) => {
                cursor.left_page(page)
            }
            (Screen::Features { .. }, ScreenPage::Features) => false,
            _ => true,
        }
    }

    /// An action while this screen is open; `None` when it is not the
    /// screen's own (the dashboard handles it).
    pub fn apply(&mut self, action: Action, frame: &Shown) -> Option<ScreenOutcome> {
        let shown = &frame.screen;
        if self.is_dashboard() {
            return None;
        }
        let moved = match action {
            Action::MoveDown => Some(1),
            Action::MoveUp => Some(-1),
            Action::PageDown => Some(10),
            Action::PageUp => Some(-10),
            Action::Top => Some(isize::MIN / 2),
            Action::Bottom => Some(isize::MAX / 2),
            _ => None,
        };
        if let Some(delta) = moved {
            match (self, shown) {
                (Screen::Alerts { cursor, .. }, ScreenPage::Alerts { page, .. }) => {
                    cursor.move_by(page, delta, alert_key)
                }
                (Screen::Malformed { cursor }, ScreenPage::Malformed { page }) => {
                    cursor.move_by(page, delta, malformed_key)
                }
                (Screen::Features { cursor }, _) => {
                    let rows = frame
                        .snap
                        .model
                        .as_ref()
                        .map_or(0, |m| m.features.rows.len() + m.segments.rows.len());
                    if rows > 0 {
                        *cursor = step(*cursor, delta, rows);
                    }
                }
                _ => {}
            }
            return Some(ScreenOutcome::Stay);
        }
        let selected_alert = match shown {
            ScreenPage::Alerts { page, .. } if matches!(self, Screen::Alerts { .. }) => {
                page.selected_row().cloned()
            }
            _ => None,
        };
        Some(match action {
            // q backs out of a screen, as it closes a dialog (ctrl-c quits).
            Action::Quit => ScreenOutcome::Close,
            Action::FilterActive | Action::FilterSeverity => match self {
                Screen::Alerts { filter, cursor } => {
                    if action == Action::FilterActive {
                        filter.active_only = !filter.active_only;
                    } else {
                        filter.next_severity();
                    }
                    *cursor = ListCursor::default();
                    ScreenOutcome::Stay
                }
                _ => ScreenOutcome::Refuse("c and F filter the alert history (H)"),
            },
            Action::AlertDetail | Action::Acknowledge => match selected_alert {
                Some(a) if action == Action::AlertDetail => ScreenOutcome::Detail(a),
                Some(a) => ScreenOutcome::Acknowledge(a),
                None if matches!(self, Screen::Alerts { .. }) => {
                    ScreenOutcome::Refuse("no alert selected")
                }
                None => ScreenOutcome::Refuse("alerts are in the alert history (H)"),
            },
            Action::Approve
            | Action::Override
            | Action::Escalate
            | Action::Skip
            | Action::SwitchOrder
            | Action::Filter
            | Action::NextPanel
            | Action::PrevPanel => {
                ScreenOutcome::Refuse("the review queue is on the dashboard: Esc goes back to it")
            }
            _ => return None,
        })
    }
}
