//! Dialogs: help, the confirmations (kill switch, reset, re-baseline) and
//! the label picker. Each is a [`Dialog`] state that, once confirmed,
//! yields its [`Effect`]. Esc always cancels; in a yes/no confirmation
//! every key but `y` and Enter cancels, so stray input never confirms.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::effect::Effect;
use crate::engine::Decision;
use crate::engine::alerts::Alert;
use crate::engine::review::ReviewItem;

/// Longest text typed into a dialog.
pub const MAX_TYPED: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    Help {
        scroll: u16,
    },
    /// One alert in full.
    AlertDetail {
        alert: Box<Alert>,
        scroll: u16,
    },
    /// Trip: `y` or Enter confirms.
    ConfirmTrip {
        model: String,
    },
    /// Reset: stronger than a trip, the model's name must be typed.
    ConfirmReset {
        model: String,
        typed: String,
    },
    ConfirmRebaseline {
        model: String,
    },
    PickLabel(LabelPicker),
    /// Every model, one row each (`names` in the fleet's order when opened).
    Models {
        names: Vec<String>,
        selected: usize,
    },
}

/// Override: choose one of the model's labels (j/k, Enter) or type one.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelPicker {
    /// The case as the operator saw it when pressing the key.
    pub case: ReviewItem,
    pub labels: Vec<String>,
    pub selected: usize,
    pub typed: String,
    /// Typing a new label (after Tab).
    pub typing: bool,
    /// Enter was pressed once on a new label: the next Enter records it.
    pub confirming_new: bool,
}

impl LabelPicker {
    pub fn new(case: ReviewItem, labels: Vec<String>) -> LabelPicker {
        // Start on the runner-up class when the event gave probabilities
        // (the likeliest other answer), else on a label other than the
        // model's: an override changes it.
        let own = labels.iter().position(|l| *l == case.label);
        let selected = runner_up(&case)
            .and_then(|r| labels.iter().position(|l| *l == r))
            .unwrap_or(match own {
                Some(i) if labels.len() > 1 => (i + 1) % labels.len(),
                _ => 0,
            });
        LabelPicker {
            case,
            labels,
            selected,
            typed: String::new(),
            typing: false,
            confirming_new: false,
        }
    }

    /// The label Enter would give.
    pub fn choice(&self) -> Option<&str> {
        if self.typing || !self.typed.is_empty() {
            let t = self.typed.trim();
            return (!t.is_empty()).then_some(t);
        }
        self.labels.get(self.selected).map(String::as_str)
    }

    /// The listed label a letter (`A`… as the list shows them) or a digit
    /// (`1`…) names.
    fn listed(&self, c: char) -> Option<usize> {
        let i = match c {
            'A'..='Z' => c as usize - 'A' as usize,
            'a'..='z' => c as usize - 'a' as usize,
            '1'..='9' => c as usize - '1' as usize,
            _ => return None,
        };
        // Letters repeat past 26 labels: then they name nothing.
        (i < self.labels.len() && self.labels.len() <= 26).then_some(i)
    }
}

/// The likeliest class other than the predicted one, from the case's
/// probabilities (read like the parser reads them).
fn runner_up(case: &ReviewItem) -> Option<String> {
    let event: serde_json::Value = serde_json::from_str(case.raw.as_deref()?).ok()?;
    let mut probs = crate::record::class_probabilities(&event);
    probs.retain(|(label, p)| *label != case.label && p.is_finite());
    probs
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(label, _)| label)
}

/// What a key did to a dialog.
#[derive(Debug, Clone, PartialEq)]
pub enum DialogOutcome {
    Stay,
    Close,
    /// Not accepted; say why and stay open.
    Refuse(String),
    Done(Effect),
    /// Show this model.
    ShowModel(String),
}

impl Dialog {
    pub fn on_key(&mut self, ev: KeyEvent) -> DialogOutcome {
        if ev.code == KeyCode::Esc {
            return DialogOutcome::Close;
        }
        match self {
            Dialog::Help { scroll } | Dialog::AlertDetail { scroll, .. } => match ev.code {
                KeyCode::Char('j') | KeyCode::Down => {
                    *scroll = scroll.saturating_add(1);
                    DialogOutcome::Stay
                }
                KeyCode::Char('k') | KeyCode::Up => {
                    *scroll = scroll.saturating_sub(1);
                    DialogOutcome::Stay
                }
                KeyCode::Char('?' | 'q') | KeyCode::Enter => DialogOutcome::Close,
                _ => DialogOutcome::Stay,
            },
            Dialog::Models { names, selected } => match ev.code {
                KeyCode::Char('j') | KeyCode::Down => {
                    *selected = (*selected + 1).min(names.len().saturating_sub(1));
                    DialogOutcome::Stay
                }
                KeyCode::Char('k') | KeyCode::Up => {
                    *selected = selected.saturating_sub(1);
                    DialogOutcome::Stay
                }
                KeyCode::Enter => names.get(*selected).map_or(DialogOutcome::Close, |n| {
                    DialogOutcome::ShowModel(n.clone())
                }),
                KeyCode::Char('M' | 'q') => DialogOutcome::Close,
                _ => DialogOutcome::Stay,
            },
            Dialog::ConfirmTrip { model } => confirm(ev, || Effect::Trip {
                model: model.clone(),
            }),
            Dialog::ConfirmRebaseline { model } => confirm(ev, || Effect::Rebaseline {
                model: model.clone(),
            }),
            Dialog::ConfirmReset { model, typed } => match ev.code {
                KeyCode::Enter if typed == model => DialogOutcome::Done(Effect::Reset {
                    model: model.clone(),
                    typed: typed.clone(),
                }),
                KeyCode::Enter => DialogOutcome::Refuse(
                    "reset not confirmed: type the model's name exactly, then Enter".into(),
                ),
                KeyCode::Backspace => {
                    typed.pop();
                    DialogOutcome::Stay
                }
                KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
                    if typed.chars().count() < MAX_TYPED {
                        typed.push(c);
                    }
                    DialogOutcome::Stay
                }
                _ => DialogOutcome::Stay,
            },
            Dialog::PickLabel(p) => p.on_key(ev),
        }
    }
}

impl LabelPicker {
    fn on_key(&mut self, ev: KeyEvent) -> DialogOutcome {
        let n = self.labels.len();
        let decide = |label: &str, case: &ReviewItem| {
            DialogOutcome::Done(Effect::Decide {
                shown: case.clone(),
                decision: Decision::Override(label.to_string()),
            })
        };
        if !matches!(ev.code, KeyCode::Enter) {
            self.confirming_new = false;
        }
        match ev.code {
            KeyCode::Enter if self.typing || !self.typed.is_empty() => {
                match self.choice().map(str::to_owned) {
                    // A label no event used is easy to mistype: it needs a
                    // second Enter.
                    Some(label) if self.labels.contains(&label) => decide(&label, &self.case),
                    Some(label) if self.confirming_new => decide(&label, &self.case),
                    Some(label) => {
                        self.confirming_new = true;
                        DialogOutcome::Refuse(format!(
                            "{label:?} is a new label: Enter again to record it, Esc to cancel"
                        ))
                    }
                    None => DialogOutcome::Refuse("type the new label, or Tab for the list".into()),
                }
            }
            KeyCode::Enter => match self.choice() {
                Some(label) => decide(label, &self.case),
                None => DialogOutcome::Refuse("pick a label, or Tab to type a new one".into()),
            },
            KeyCode::Tab => {
                self.typing = !self.typing;
                DialogOutcome::Stay
            }
            KeyCode::Down if n > 0 => {
                self.typing = false;
                self.typed.clear();
                self.selected = (self.selected + 1) % n;
                DialogOutcome::Stay
            }
            KeyCode::Up if n > 0 => {
                self.typing = false;
                self.typed.clear();
                self.selected = (self.selected + n - 1) % n;
                DialogOutcome::Stay
            }
            KeyCode::Backspace => {
                self.typed.pop();
                DialogOutcome::Stay
            }
            KeyCode::Char(c) if self.typing && !ev.modifiers.contains(KeyModifiers::CONTROL) => {
                if self.typed.chars().count() < MAX_TYPED {
                    self.typed.push(c);
                }
                DialogOutcome::Stay
            }
            KeyCode::Char('j') if n > 0 => {
                self.selected = (self.selected + 1) % n;
                DialogOutcome::Stay
            }
            KeyCode::Char('k') if n > 0 => {
                self.selected = (self.selected + n - 1) % n;
                DialogOutcome::Stay
            }
            // A listed label's letter or number picks it.
            KeyCode::Char(c) => match self.listed(c) {
                Some(i) => decide(&self.labels[i], &self.case),
                None => DialogOutcome::Refuse(format!(
                    "{c:?} names no listed label; Tab types a new one"
                )),
            },
            _ => DialogOutcome::Stay,
        }
    }
}

/// A yes/no dialog: `y` or Enter does `effect`; any other key closes it.
fn confirm(ev: KeyEvent, effect: impl FnOnce() -> Effect) -> DialogOutcome {
    match ev.code {
        KeyCode::Char('y' | 'Y') | KeyCode::Enter
            if ev.modifiers.difference(KeyModifiers::SHIFT).is_empty() =>
        {
            DialogOutcome::Done(effect())
        }
        _ => DialogOutcome::Close,
    }
}

impl Dialog {
    /// Whether it has a text field (a paste goes there).
    pub fn text_field(&mut self) -> Option<&mut String> {
        match self {
            Dialog::ConfirmReset { typed, .. } => Some(typed),
            Dialog::PickLabel(p) => {
                p.typing = true;
                Some(&mut p.typed)
            }
            _ => None,
        }
    }

    /// Whether it confirms with one key (and so waits out the arming delay).
    pub fn is_yes_no(&self) -> bool {
        matches!(
            self,
            Dialog::ConfirmTrip { .. } | Dialog::ConfirmRebaseline { .. }
        )
    }
}

/// Appends pasted `text` to a text field of at most `max` characters:
/// control characters (newlines included) are dropped, never acted on.
pub fn paste_into(field: &mut String, text: &str, max: usize) {
    let room = max.saturating_sub(field.chars().count());
    field.extend(text.chars().filter(|c| !c.is_control()).take(room));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::review::{CaseState, QueueReason};

    fn case(raw: Option<&str>) -> ReviewItem {
        ReviewItem {
            seq: 1,
            case_id: "c".into(),
            generated_id: false,
            model: "m".into(),
            index: 0,
            ts_ms: 0,
            queued_ms: 0,
            confidence: 0.5,
            margin: None,
            label: "a".into(),
            reason: QueueReason::LowConfidence,
            raw: raw.map(str::to_owned),
            state: CaseState::Pending,
        }
    }

    #[test]
    fn the_picker_starts_on_the_runner_up_class() {
        let labels: Vec<String> = ["c", "a", "b"].map(String::from).to_vec();
        let raw = r#"{"prediction":"a","probs":{"a":0.5,"b":0.2,"c":0.3}}"#;
        let p = LabelPicker::new(case(Some(raw)), labels.clone());
        assert_eq!(p.choice(), Some("c"));
        // Without probabilities: the label after the model's.
        let p = LabelPicker::new(case(None), labels);
        assert_eq!(p.choice(), Some("b"));
        let p = LabelPicker::new(case(None), ["a", "c"].map(String::from).to_vec());
        assert_eq!(p.choice(), Some("c"));
    }
}
