//! The README's screenshots, drawn by the real render path from a fixed
//! state (the demo model's lines with fixed timestamps, a fixed clock) and
//! written as SVG. The test fails when `screenshots/` no longer matches what
//! the code draws; `UPDATE_SCREENSHOTS=1 cargo test --test screenshots`
//! redraws them. Drawing every built-in theme also checks that each loads
//! and renders, and that monochrome carries no colour at all.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use modelwatch::engine::Engine;
use modelwatch::ui::fixture;
use modelwatch::ui::review_page::Shown;
use modelwatch::ui::theme::{ColorDepth, Theme, built_in_names};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const FED: u64 = 14_000;
const CELL_W: f64 = 8.4;
const CELL_H: f64 = 17.0;
/// The terminal's own colours behind a theme: dark, or light for `light`.
const DARK: (&str, &str) = ("#1d1f21", "#d8dee9");
const LIGHT: (&str, &str) = ("#fafafa", "#24292e");

fn engine() -> Engine {
    fixture::demo_engine(7, FED)
}

/// Draws the dashboard with `theme` into a buffer of `w`×`h`.
fn draw(engine: &Engine, theme: Theme, w: u16, h: u16) -> Buffer {
    let mut app = fixture::app();
    app.theme = theme;
    app.page = 60;
    let snap = Shown::take(engine, app.model.as_deref(), &app.query());
    app.sync(&snap);
    let snap = Shown::take(engine, app.model.as_deref(), &app.query());
    let sources = fixture::sources(engine.counters().lines);
    let ctx = fixture::context(fixture::now_after(FED), &sources);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| modelwatch::ui::draw(f, &app, &snap, &ctx))
        .unwrap();
    terminal.backend().buffer().clone()
}

/// A colour as the xterm palette shows it.
fn css(color: Color, default: &str) -> String {
    const ANSI: [&str; 16] = [
        "#1d1f21", "#cc6666", "#b5bd68", "#f0c674", "#81a2be", "#b294bb", "#8abeb7", "#c5c8c6",
        "#666666", "#d54e53", "#b9ca4a", "#e7c547", "#7aa6da", "#c397d8", "#70c0b1", "#eaeaea",
    ];
    let cube = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
    match color {
        Color::Reset => default.to_string(),
        Color::Black => ANSI[0].into(),
        Color::Red => ANSI[1].into(),
        Color::Green => ANSI[2].into(),
        Color::Yellow => ANSI[3].into(),
        Color::Blue => ANSI[4].into(),
        Color::Magenta => ANSI[5].into(),
        Color::Cyan => ANSI[6].into(),
        Color::Gray => ANSI[7].into(),
        Color::DarkGray => ANSI[8].into(),
        Color::LightRed => ANSI[9].into(),
        Color::LightGreen => ANSI[10].into(),
        Color::LightYellow => ANSI[11].into(),
        Color::LightBlue => ANSI[12].into(),
        Color::LightMagenta => ANSI[13].into(),
        Color::LightCyan => ANSI[14].into(),
        Color::White => ANSI[15].into(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) if i < 16 => ANSI[i as usize].into(),
        Color::Indexed(i) if i < 232 => {
            let i = i - 16;
            format!(
                "#{:02x}{:02x}{:02x}",
                cube(i / 36),
                cube((i / 6) % 6),
                cube(i % 6)
            )
        }
        Color::Indexed(i) => {
            let v = 8 + (i - 232) * 10;
            format!("#{v:02x}{v:02x}{v:02x}")
        }
    }
}

fn escape_xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The buffer as an SVG "terminal window": one rect per background run,
/// one text span per cell run of the same style.
fn svg(buf: &Buffer, (background, foreground): (&str, &str)) -> String {
    let (w, h) = (buf.area.width, buf.area.height);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}" viewBox="0 0 {:.0} {:.0}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14">"#,
        w as f64 * CELL_W + 16.0,
        h as f64 * CELL_H + 16.0,
        w as f64 * CELL_W + 16.0,
        h as f64 * CELL_H + 16.0
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" rx="6" fill="{background}"/>"#
    );
    let _ = writeln!(
        out,
        r#"<g transform="translate(8,8)" xml:space="preserve">"#
    );
    for y in 0..h {
        let mut x = 0;
        while x < w {
            let cell = &buf[(x, y)];
            let reverse = cell.modifier.contains(Modifier::REVERSED);
            let (mut fg, mut bg) = (css(cell.fg, foreground), css(cell.bg, background));
            if reverse {
                std::mem::swap(&mut fg, &mut bg);
            }
            // Extend the run while the style stays the same.
            let mut end = x + 1;
            while end < w {
                let next = &buf[(end, y)];
                if next.fg != cell.fg || next.bg != cell.bg || next.modifier != cell.modifier {
                    break;
                }
                end += 1;
            }
            let text: String = (x..end).map(|i| buf[(i, y)].symbol()).collect();
            let (px, py) = (x as f64 * CELL_W, y as f64 * CELL_H);
            if bg != background {
                let _ = writeln!(
                    out,
                    r#"<rect x="{px:.1}" y="{py:.1}" width="{:.1}" height="{CELL_H:.1}" fill="{bg}"/>"#,
                    (end - x) as f64 * CELL_W
                );
            }
            if !text.trim().is_empty() {
                let weight = if cell.modifier.contains(Modifier::BOLD) {
                    r#" font-weight="bold""#
                } else {
                    ""
                };
                let opacity = if cell.modifier.contains(Modifier::DIM) {
                    r#" fill-opacity="0.6""#
                } else {
                    ""
                };
                let decoration = if cell.modifier.contains(Modifier::UNDERLINED) {
                    r#" text-decoration="underline""#
                } else {
                    ""
                };
                // ASCII runs as one element; anything else (braille, blocks,
                // box drawing) one cell at a time, so a font with other
                // widths cannot shift the row.
                let mut i = x;
                while i < end {
                    let ascii = buf[(i, y)].symbol().is_ascii();
                    let mut j = i + 1;
                    while ascii && j < end && buf[(j, y)].symbol().is_ascii() {
                        j += 1;
                    }
                    let piece: String = (i..j).map(|k| buf[(k, y)].symbol()).collect();
                    if !piece.trim().is_empty() {
                        let _ = writeln!(
                            out,
                            r#"<text x="{:.1}" y="{:.1}" fill="{fg}"{weight}{opacity}{decoration}>{}</text>"#,
                            i as f64 * CELL_W,
                            py + CELL_H - 4.0,
                            escape_xml(&piece)
                        );
                    }
                    i = j;
                }
            }
            x = end;
        }
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// Compares with (or, with UPDATE_SCREENSHOTS=1, writes) a screenshot.
fn check(name: &str, drawn: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("screenshots")
        .join(name);
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, drawn).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run UPDATE_SCREENSHOTS=1 cargo test --test screenshots",
            path.display()
        )
    });
    assert!(
        committed == drawn,
        "{} no longer matches what the code draws; run UPDATE_SCREENSHOTS=1 cargo test --test screenshots and review the change",
        path.display()
    );
}

#[test]
fn readme_screenshots_match_the_render_path() {
    let engine = engine();
    let theme = Theme::load("default", &BTreeMap::new(), ColorDepth::TrueColor).unwrap();
    check("dashboard.svg", &svg(&draw(&engine, theme, 140, 40), DARK));
}

#[test]
fn every_built_in_theme_loads_and_renders() {
    let engine = engine();
    for name in built_in_names() {
        let theme = Theme::load(name, &BTreeMap::new(), ColorDepth::TrueColor)
            .unwrap_or_else(|e| panic!("theme {name}: {e}"));
        let buf = draw(&engine, theme, 100, 30);
        let text: String = buf.content().iter().map(|c| c.symbol()).collect();
        assert!(
            text.contains("Review") && text.contains("KILL"),
            "theme {name} drew the dashboard"
        );
        if name == "monochrome" {
            assert!(
                buf.content()
                    .iter()
                    .all(|c| matches!(c.fg, Color::Reset) && matches!(c.bg, Color::Reset)),
                "monochrome uses no colour"
            );
        }
        let terminal = if name == "light" { LIGHT } else { DARK };
        check(&format!("theme-{name}.svg"), &svg(&buf, terminal));
    }
}
