//! Frame cost of the dashboard at 200×50: the engine snapshot copied per
//! frame, the draw into ratatui's buffer, and a whole frame written
//! through the crossterm backend (diff and escape sequences) to a sink.
//! Prints p50 / p99 / max per step. `cargo bench --bench render`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use modelwatch::ui::review_page::Shown;
use modelwatch::ui::{draw, fixture};

const FRAMES: usize = 2_000;

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "{name:<34} p50 {:>8.1} µs   p99 {:>8.1} µs   max {:>8.1} µs   ({} frames)",
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        at(1.0).as_secs_f64() * 1e6,
        times.len()
    );
}

fn main() {
    // Filtered runs (`cargo bench other`) and `cargo test --benches` skip.
    if std::env::args().skip(1).any(|a| a == "--test") {
        return;
    }
    let predictions = 30_000;
    let engine = fixture::demo_engine(7, predictions);
    let now = fixture::now_after(predictions);
    let sources = fixture::sources(engine.counters().lines);
    let mut app = fixture::app();
    app.page = 50;
    let query = app.query();

    let mut snaps = Vec::with_capacity(FRAMES);
    let mut snap = Shown::take(&engine, None, &query);
    for _ in 0..FRAMES {
        let t = Instant::now();
        snap = black_box(Shown::take(&engine, None, &query));
        snaps.push(t.elapsed());
    }
    app.sync(&snap);
    report("engine snapshot (per frame)", snaps);

    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let mut draws = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        // The clock moves, so the "ago" labels change as they do live.
        let ctx = fixture::context(now + i as i64 * 67, &sources);
        let t = Instant::now();
        term.draw(|f| draw(f, &app, &snap, &ctx)).unwrap();
        draws.push(t.elapsed());
    }
    report("draw 200x50 (buffer + diff)", draws);

    let mut term = Terminal::with_options(
        CrosstermBackend::new(std::io::sink()),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 200, 50)),
        },
    )
    .unwrap();
    let mut frames = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        let ctx = fixture::context(now + i as i64 * 1_000, &sources);
        let t = Instant::now();
        let snap = Shown::take(&engine, None, &query);
        term.draw(|f| draw(f, &app, &snap, &ctx)).unwrap();
        frames.push(t.elapsed());
    }
    report("whole frame to crossterm (snap+draw)", frames);
}
