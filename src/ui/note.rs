//! The operator's note on an override, an escalation or a kill-switch
//! trip: free text, optional, recorded as the audit record's `reason`.
//!
//! It is typed or pasted, so it is text only: characters that could steer
//! a terminal or hide themselves (control and invisible format characters)
//! are dropped, a line break or tab in a paste becomes one space, and the
//! note stops growing at [`MAX_NOTE`] characters. Nothing typed or pasted
//! into it ever confirms anything: only the dialog's own keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::record::sanitize::steers_terminal;

/// Longest note, in characters.
pub const MAX_NOTE: usize = 500;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Note {
    text: String,
    chars: usize,
}

impl Note {
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What the audit record carries: the note trimmed, `None` when empty.
    pub fn reason(&self) -> Option<String> {
        let t = self.text.trim();
        (!t.is_empty()).then(|| t.to_string())
    }

    /// Appends a typed character (dropped when it is not text or the note
    /// is full).
    pub fn push(&mut self, c: char) {
        if self.chars < MAX_NOTE && !steers_terminal(c) {
            self.text.push(c);
            self.chars += 1;
        }
    }

    /// Appends pasted text: line breaks and tabs become one space, other
    /// control and invisible characters are dropped.
    pub fn paste(&mut self, text: &str) {
        for c in text.chars() {
            if matches!(c, '\n' | '\r' | '\t') {
                if !self.text.is_empty() && !self.text.ends_with(' ') {
                    self.push(' ');
                }
            } else {
                self.push(c);
            }
        }
    }

    pub fn pop(&mut self) {
        if self.text.pop().is_some() {
            self.chars -= 1;
        }
    }

    /// Typing: a character or Backspace. True when the key was taken.
    pub fn on_key(&mut self, ev: &KeyEvent) -> bool {
        if ev
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return false;
        }
        match ev.code {
            KeyCode::Char(c) => self.push(c),
            KeyCode::Backspace => self.pop(),
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_text_only_and_capped() {
        let mut n = Note::default();
        n.paste("rollback\x1b[2J at 03:00\r\n\tsee\u{202e} INC-42\x07");
        assert_eq!(n.text(), "rollback[2J at 03:00 see INC-42");
        assert_eq!(
            n.reason().as_deref(),
            Some("rollback[2J at 03:00 see INC-42")
        );
        n.on_key(&KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
        assert!(n.text().ends_with("INC-4"));
        // Ctrl and Alt chords are not text.
        let ctrl_y = KeyEvent::new(KeyCode::Char('y'), KeyModifiers::CONTROL);
        assert!(!n.on_key(&ctrl_y));
        assert!(!n.text().ends_with('y'));
        // Capped in characters, whatever their width in bytes.
        let mut n = Note::default();
        n.paste(&"東".repeat(MAX_NOTE + 50));
        assert_eq!(n.text().chars().count(), MAX_NOTE);
        n.push('x');
        assert_eq!(n.text().chars().count(), MAX_NOTE);
        // Blank is no note at all.
        let mut n = Note::default();
        n.paste(" \n\t ");
        assert_eq!(n.reason(), None);
    }
}
