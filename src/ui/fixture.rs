//! A fixed dashboard state for tests and benchmarks: the demo model's
//! lines with fixed timestamps fed into an engine, fixed sources and a
//! fixed clock. Not part of the API.

use super::review_page::Shown;
use crate::decision::kill_switch::SwitchState;
use crate::engine::settings::BaselineSpec;
use crate::engine::{Engine, EngineSettings, LineOrigin};
use crate::live::desk::KillView;
use crate::record::Parser;
use crate::source::demo::DemoModel;
use crate::source::{SourceState, SourceStatus};

use super::app::App;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::draw::{ScreenContext, draw};
use super::settings::UiSettings;

/// Time of the first demo line (epoch ms).
pub const T0: i64 = 1_800_000_000_000;
/// Milliseconds between predictions (200 a second, the demo's rate).
pub const STEP_MS: i64 = 5;

/// An engine with the demo's settings (`--baseline 2000 --window 500`)
/// after `predictions` predictions of `DemoModel::new(seed, 200)`.
pub fn demo_engine(seed: u64, predictions: u64) -> Engine {
    let settings = EngineSettings {
        baseline: BaselineSpec::Count(2_000),
        window: 500,
        ..EngineSettings::default()
    };
    let mut engine = Engine::new(settings);
    let mut model = DemoModel::new(seed, 200);
    let mut text = String::new();
    let mut line_no = 0u64;
    for i in 0..predictions {
        let now = T0 + i as i64 * STEP_MS;
        text.clear();
        model.next_lines(now, &mut text);
        for line in text.lines() {
            line_no += 1;
            let origin = LineOrigin {
                source: "demo (seed 7)",
                line: line_no,
            };
            engine.ingest_line(&Parser::default(), line.as_bytes(), origin, now);
        }
    }
    engine.tick(now_after(predictions));
    engine
}

/// The fixed clock after `predictions` predictions.
pub fn now_after(predictions: u64) -> i64 {
    T0 + predictions as i64 * STEP_MS + 250
}

/// One demo source, following.
pub fn sources(lines: u64) -> Vec<SourceStatus> {
    let mut s = SourceStatus::new(0, "demo (seed 7)".into());
    s.state = SourceState::Following;
    s.lines = lines;
    vec![s]
}

/// A screen context at `now_ms` with the switch armed.
pub fn context(now_ms: i64, sources: &[SourceStatus]) -> ScreenContext<'_> {
    ScreenContext {
        now_ms,
        sources,
        rate: 200.0,
        kill: KillView::of(SwitchState::Armed),
        kill_elsewhere: Vec::new(),
        refusal: None,
        team_down: None,
        paused_new: None,
        plan: Vec::new(),
        closing: None,
    }
}

/// Uniform in [0, 1), from a fixed seed.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// An app with the default keymap and theme.
pub fn app() -> App {
    let s = UiSettings::default();
    App::new(s.keymap, s.theme)
}

/// One frame drawn on a test terminal, as text: one line per row,
/// trailing blanks trimmed.
pub fn render_text(w: u16, h: u16, app: &App, shown: &Shown, ctx: &ScreenContext<'_>) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(f, app, shown, ctx)).unwrap();
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut row = String::new();
        for x in 0..buf.area.width {
            row.push_str(buf[(x, y)].symbol());
        }
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out
}
