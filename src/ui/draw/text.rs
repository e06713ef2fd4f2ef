//! Text helpers every panel uses: untrusted text made safe, fitted to a
//! cell width, and numbers in a few characters.

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use unicode_width::UnicodeWidthChar;

use crate::engine::alerts::Direction;
use crate::record::sanitize::escape_untrusted;
use crate::ui::theme::Theme;

/// Untrusted text (from the stream) as it may reach the terminal.
pub fn safe(s: &str) -> Cow<'_, str> {
    escape_untrusted(s)
}

/// Untrusted text made safe and cut to `width` cells (with `…`).
pub fn fit(s: &str, width: usize) -> String {
    cut(&safe(s), width)
}

/// Cuts trusted text to `width` cells, ending in `…` when cut.
pub fn cut(s: &str, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let mut used = 0;
    let mut out = String::with_capacity(s.len().min(width * 4));
    for (i, c) in s.char_indices() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > width.saturating_sub(1) {
            // Does the rest fit exactly?
            let rest: usize = s[i..]
                .chars()
                .map(|c| UnicodeWidthChar::width(c).unwrap_or(0))
                .sum();
            if used + rest <= width {
                out.push_str(&s[i..]);
            } else {
                out.push('…');
            }
            return out;
        }
        used += w;
        out.push(c);
    }
    out
}

/// `s` padded or cut to exactly `width` cells.
pub fn pad(s: &str, width: usize) -> String {
    let cut = cut(s, width);
    let w: usize = cut
        .chars()
        .map(|c| UnicodeWidthChar::width(c).unwrap_or(0))
        .sum();
    format!("{cut}{}", " ".repeat(width.saturating_sub(w)))
}

/// A count in at most five characters: 999, 12.3k, 4.1M.
pub fn count(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// A share as a percentage with one decimal.
pub fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", x * 100.0)
    } else {
        "–".into()
    }
}

/// A statistic in about five characters.
pub fn stat(x: f64) -> String {
    if !x.is_finite() {
        "–".into()
    } else if x == 0.0 || (1e-3..1e4).contains(&x.abs()) {
        format!("{x:.3}")
    } else {
        format!("{x:.0e}")
    }
}

/// A p-value: `<1e-300` style for the tiny ones.
pub fn p_value(p: f64) -> String {
    if !p.is_finite() {
        "–".into()
    } else if p >= 0.001 {
        format!("{p:.3}")
    } else if p <= 0.0 {
        "<1e-300".into()
    } else {
        format!("{p:.0e}")
    }
}

/// How long ago, in a few characters: `4s`, `12m`, `3h`, `2d`.
pub fn ago(ms: i64) -> String {
    let s = (ms.max(0)) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3_599 => format!("{}m", s / 60),
        3_600..=86_399 => format!("{}h", s / 3_600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Epoch milliseconds as `HH:MM:SS`, UTC.
pub fn clock(ms: i64) -> String {
    utc(ms, "%H:%M:%S")
}

/// Epoch milliseconds as `MM-DD HH:MM:SS`, UTC.
pub fn date_clock(ms: i64) -> String {
    utc(ms, "%m-%d %H:%M:%S")
}

fn utc(ms: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| "--:--:--".into(), |t| t.format(format).to_string())
}

/// A panel's frame: full borders when there is room, a top rule with the
/// title when `compact`. Focus shows as a `▶` and the focus style, never
/// by colour alone.
fn panel<'a>(title: &str, focused: bool, theme: &Theme, compact: bool) -> Block<'a> {
    let (marker, style) = if focused {
        ("▶ ", theme.border_focus)
    } else {
        ("", theme.border)
    };
    let title_style = if focused {
        theme.border_focus
    } else {
        theme.title
    };
    Block::default()
        .borders(if compact { Borders::TOP } else { Borders::ALL })
        .border_style(style)
        .title(Line::from(vec![
            Span::styled(format!("{marker}{title}"), title_style),
            Span::raw(" "),
        ]))
}

/// Draws a panel's frame in `area` and returns the area inside it.
pub fn open_panel(
    frame: &mut Frame<'_>,
    area: Rect,
    title: &str,
    focused: bool,
    theme: &Theme,
    compact: bool,
) -> Rect {
    let block = panel(title, focused, theme, compact);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// The arrow of a drift's direction.
pub fn arrow(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "↑",
        Direction::Down => "↓",
        Direction::Both => "↕",
    }
}

/// A horizontal bar of `width` cells for a share in [0, 1] (eighths).
pub fn bar(share: f64, width: usize) -> String {
    const EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
    let share = if share.is_finite() {
        share.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (share * width as f64 * 8.0).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) && s.chars().count() < width {
        s.push(EIGHTHS[eighths % 8 - 1]);
    }
    let used = s.chars().count();
    s.push_str(&" ".repeat(width.saturating_sub(used)));
    s
}

/// The letter that stands for label `id` wherever colour does too.
pub fn label_glyph(id: usize) -> char {
    (b'A' + (id % 26) as u8) as char
}

/// A label with its glyph and colour.
pub fn label_span(id: usize, name: &str, width: usize, theme: &Theme) -> Span<'static> {
    Span::styled(
        format!("{} {}", label_glyph(id), pad(&safe(name), width)),
        theme.label(id),
    )
}

/// The rectangle `w`×`h` centred in `area` (clipped to it).
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutting_respects_cell_widths() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abcd", 4), "abcd");
        assert_eq!(cut("東京都", 4), "東…");
        assert_eq!(cut("x", 0), "");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(fit("a\x1b[2Jb", 20), "a\\x1b[2Jb");
        assert_eq!(bar(0.5, 4), "██  ");
        assert_eq!(bar(f64::NAN, 2), "  ");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(ago(125_000), "2m");
        assert_eq!(p_value(3e-12), "3e-12");
        assert_eq!(clock(1_800_000_070_250), "08:01:10");
        assert_eq!(date_clock(1_800_000_070_250), "01-15 08:01:10");
        assert_eq!(clock(i64::MAX), "--:--:--");
    }
}
