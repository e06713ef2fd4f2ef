//! The override dialog: pick one of the model's labels (a letter, or j/k
//! and Enter) or type a new one, with an optional note. Tab moves between
//! the list, the new label and the note; whatever field has the focus,
//! Enter records the label chosen with the note typed.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::dialog::{DialogOutcome, MAX_TYPED, paste_into};
use super::effect::Effect;
use super::note::Note;
use crate::engine::Decision;
use crate::engine::review::ReviewItem;

/// Where the picker's keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PickerField {
    /// The model's labels: letters pick, j/k move.
    #[default]
    List,
    /// A label no event used yet.
    NewLabel,
    Note,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelPicker {
    /// The case as the operator saw it when pressing the key.
    pub case: ReviewItem,
    pub labels: Vec<String>,
    pub selected: usize,
    pub typed: String,
    pub field: PickerField,
    pub note: Note,
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
            field: PickerField::List,
            note: Note::default(),
            confirming_new: false,
        }
    }

    /// The label Enter would give: the new one typed, else the listed one.
    pub fn choice(&self) -> Option<&str> {
        if self.field == PickerField::NewLabel || !self.typed.is_empty() {
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

    /// Pasted text goes into the note when it has the focus, else it is a
    /// new label.
    pub fn paste(&mut self, text: &str) {
        if self.field == PickerField::Note {
            self.note.paste(text);
        } else {
            self.field = PickerField::NewLabel;
            paste_into(&mut self.typed, text, MAX_TYPED);
        }
    }

    fn decide(&self, label: &str) -> DialogOutcome {
        DialogOutcome::Done(Effect::Decide {
            shown: Box::new(self.case.clone()),
            decision: Decision::Override(label.to_string()),
            note: self.note.reason(),
        })
    }

    fn move_selection(&mut self, forward: bool) {
        let n = self.labels.len();
        if n > 0 {
            self.field = PickerField::List;
            self.typed.clear();
            self.selected = if forward {
                (self.selected + 1) % n
            } else {
                (self.selected + n - 1) % n
            };
        }
    }

    pub fn on_key(&mut self, ev: KeyEvent) -> DialogOutcome {
        if !matches!(ev.code, KeyCode::Enter) {
            self.confirming_new = false;
        }
        let typing = !ev.modifiers.contains(KeyModifiers::CONTROL);
        match ev.code {
            KeyCode::Enter if self.field == PickerField::NewLabel || !self.typed.is_empty() => {
                match self.choice().map(str::to_owned) {
                    // A label no event used is easy to mistype: it needs a
                    // second Enter.
                    Some(label) if self.labels.contains(&label) => self.decide(&label),
                    Some(label) if self.confirming_new => self.decide(&label),
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
                Some(label) => self.decide(label),
                None => DialogOutcome::Refuse("pick a label, or Tab to type a new one".into()),
            },
            KeyCode::Tab | KeyCode::BackTab => {
                let forward = ev.code == KeyCode::Tab;
                self.field = match (self.field, forward) {
                    (PickerField::List, true) | (PickerField::Note, false) => PickerField::NewLabel,
                    (PickerField::NewLabel, true) | (PickerField::List, false) => PickerField::Note,
                    (PickerField::Note, true) | (PickerField::NewLabel, false) => PickerField::List,
                };
                DialogOutcome::Stay
            }
            KeyCode::Down => {
                self.move_selection(true);
                DialogOutcome::Stay
            }
            KeyCode::Up => {
                self.move_selection(false);
                DialogOutcome::Stay
            }
            _ if self.field == PickerField::Note => {
                self.note.on_key(&ev);
                DialogOutcome::Stay
            }
            KeyCode::Backspace => {
                self.typed.pop();
                DialogOutcome::Stay
            }
            KeyCode::Char(c) if self.field == PickerField::NewLabel && typing => {
                if self.typed.chars().count() < MAX_TYPED {
                    self.typed.push(c);
                }
                DialogOutcome::Stay
            }
            KeyCode::Char('j') => {
                self.move_selection(true);
                DialogOutcome::Stay
            }
            KeyCode::Char('k') => {
                self.move_selection(false);
                DialogOutcome::Stay
            }
            // A listed label's letter or number picks it.
            KeyCode::Char(c) if self.field == PickerField::List => match self.listed(c) {
                Some(i) => self.decide(&self.labels[i]),
                None => DialogOutcome::Refuse(format!(
                    "{c:?} names no listed label; Tab types a new one"
                )),
            },
            _ => DialogOutcome::Stay,
        }
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

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
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

    /// Tab Tab reaches the note; letters there are text, not picks; Enter
    /// records the listed label with the note.
    #[test]
    fn a_note_rides_with_the_label() {
        let labels: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let mut p = LabelPicker::new(case(None), labels);
        p.on_key(key(KeyCode::Tab));
        p.on_key(key(KeyCode::Tab));
        assert_eq!(p.field, PickerField::Note);
        for c in "b is right".chars() {
            assert_eq!(p.on_key(key(KeyCode::Char(c))), DialogOutcome::Stay);
        }
        p.paste("\x1b[2J, see\nticket");
        match p.on_key(key(KeyCode::Enter)) {
            DialogOutcome::Done(Effect::Decide {
                decision: Decision::Override(label),
                note,
                ..
            }) => {
                assert_eq!(label, "b");
                assert_eq!(note.as_deref(), Some("b is right[2J, see ticket"));
            }
            other => panic!("{other:?}"),
        }
        // No note: the override records none.
        let mut p = LabelPicker::new(case(None), ["a", "b"].map(String::from).to_vec());
        assert!(matches!(
            p.on_key(key(KeyCode::Char('B'))),
            DialogOutcome::Done(Effect::Decide { note: None, .. })
        ));
    }
}
