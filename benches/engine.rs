//! Per-line costs of the engine on one thread: parsing alone, and parsing
//! plus every statistic, detector and alert rule (`ingest_line`). Replay
//! itself parses on a second thread; `benches/replay_vs_jq.sh` measures it
//! end to end.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelwatch::engine::{Engine, EngineSettings, LineOrigin};
use modelwatch::record::Parser;
use modelwatch::source::demo::DemoModel;

/// Lines of the built-in simulated model (two models, probs, feedback).
fn demo_lines(n: usize) -> Vec<String> {
    let mut model = DemoModel::new(1, 1000);
    let mut text = String::new();
    for i in 0..n {
        model.next_lines(1_800_000_000_000 + i as i64, &mut text);
    }
    text.lines().map(str::to_string).collect()
}

fn bench(c: &mut Criterion) {
    let lines = demo_lines(50_000);
    let mut group = c.benchmark_group("lines");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.sample_size(10);
    group.bench_function("parse", |b| {
        let parser = Parser::default();
        b.iter(|| {
            lines
                .iter()
                .filter(|l| parser.parse(l.as_bytes()).is_ok())
                .count()
        })
    });
    group.bench_function("parse_and_engine", |b| {
        b.iter(|| {
            let settings = EngineSettings {
                windows_kept: None,
                ..EngineSettings::default()
            };
            let mut engine = Engine::new(settings);
            for (i, l) in lines.iter().enumerate() {
                let origin = LineOrigin {
                    source: "bench",
                    line: i as u64,
                };
                engine.ingest_line(&Parser::default(), l.as_bytes(), origin, 0);
            }
            engine.counters().predictions
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
