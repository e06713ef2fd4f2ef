//! Two dashboards of one team on a real 3-node JetStream cluster, both
//! watching the same prediction file: both press `a` on the same case and
//! the stream holds exactly one decision on it, the other screen naming who
//! made it; with one node killed a decision still lands and both keep
//! working; with every node gone the file is still monitored and decisions
//! are refused with the banner.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::nats::NatsCluster;
use common::tmux::{Tmux, lines_flowing, quote, records};
use common::wait_until;
use modelwatch::team::decisions::{DecisionMessage, STREAM, case_subject, stored_decision};

const LIMIT: Duration = Duration::from_secs(20);
const MODEL: &str = "fraud@3";

/// Appends predictions: `cases` low-confidence ones with those ids (queued
/// for review), then `plain` confident ones.
fn append(path: &Path, cases: &[&str], plain: usize) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut text = String::new();
    for id in cases {
        text.push_str(&format!(
            "{{\"model\":\"{MODEL}\",\"id\":\"{id}\",\"prediction\":\"fraud\",\"confidence\":0.31}}\n"
        ));
    }
    for _ in 0..plain {
        text.push_str(&format!(
            "{{\"model\":\"{MODEL}\",\"prediction\":\"ok\",\"confidence\":0.97}}\n"
        ));
    }
    file.write_all(text.as_bytes()).unwrap();
}

/// Lines the status bar says were read ("following N lines").
fn lines_read(screen: &str) -> Option<u64> {
    let rest = screen.split("following ").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The stream's message count and the decision stored on `case`.
fn stored(url: &str, case: &str) -> (u64, Option<(DecisionMessage, u64)>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream(STREAM).await.unwrap();
        let messages = stream.info().await.unwrap().state.messages;
        let subject = case_subject("sre", MODEL, case);
        (messages, stored_decision(&stream, &subject).await.unwrap())
    })
}

/// Time between two audit records' `ts`.
fn between(first: &serde_json::Value, then: &serde_json::Value) -> Duration {
    let at = |r: &serde_json::Value| {
        humantime::parse_rfc3339(r["ts"].as_str().expect("a ts")).expect("an RFC 3339 ts")
    };
    at(then).duration_since(at(first)).unwrap_or_default()
}

struct Dashboard {
    name: &'static str,
    audit: PathBuf,
}

fn start(tmux: &Tmux, dir: &Path, name: &'static str, servers: &str, preds: &Path) -> Dashboard {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_modelwatch"));
    let audit = dir.join(format!("{name}.jsonl"));
    let script = format!(
        "USER={name} MODELWATCH_LOG_FILE={log} {bin} watch --team sre --nats {servers} \
         --audit-log {audit} --from-start {preds}",
        log = quote(&dir.join(format!("{name}.log"))),
        bin = quote(&bin),
        audit = quote(&audit),
        preds = quote(preds),
    );
    tmux.start(name, &script);
    Dashboard { name, audit }
}

#[test]
fn each_case_is_decided_once_across_the_team_and_nodes_can_go() {
    let Some(mut nats) = NatsCluster::three("team_decisions") else {
        return;
    };
    let began = Instant::now();
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let preds = dir.path().join("preds.jsonl");
    append(&preds, &["case-1"], 20);
    let servers = format!("nats://{}", nats.urls().replace("nats://", ""));
    let alice = start(&tmux, dir.path(), "alice", &servers, &preds);
    let bob = start(&tmux, dir.path(), "bob", &servers, &preds);
    for d in [&alice, &bob] {
        tmux.wait_screen(d.name, "case-1 queued, the team link up", LIMIT, |s| {
            lines_flowing(s) && s.contains("case-1") && !s.contains("TEAM:")
        });
    }

    // Both press `a` on case-1 at once.
    let out = tmux.run(&[
        "send-keys",
        "-t",
        "alice",
        "a",
        ";",
        "send-keys",
        "-t",
        "bob",
        "a",
    ]);
    assert!(out.status.success(), "{out:?}");
    let (winner, loser) = wait_until("one dashboard to say case-1 was shared", LIMIT, || {
        let published = |d: &Dashboard| tmux.screen(d.name).contains("case-1 approved (audit #");
        match (published(&alice), published(&bob)) {
            (true, false) => Some((&alice, &bob)),
            (false, true) => Some((&bob, &alice)),
            _ => None,
        }
    });
    tmux.wait_screen(
        loser.name,
        "the other screen to name the decider",
        LIMIT,
        |s| s.contains(&format!("decided by {}", winner.name)),
    );
    // The subject as the README writes it (`fraud@3` escaped).
    assert_eq!(
        case_subject("sre", MODEL, "case-1"),
        "mw.sre.decision.fraud=403.case-1"
    );
    let (messages, decision) = stored(&nats.url_of(1), "case-1");
    let (decision, seq) = decision.expect("case-1 in the stream");
    assert_eq!(messages, 1, "exactly one decision in {STREAM}");
    assert_eq!(
        (decision.operator.as_str(), decision.decision.as_str()),
        (winner.name, "approve")
    );
    // The winner's log: the decision, then the stream's sequence for it.
    let log = records(&winner.audit);
    assert_eq!(log[0]["action"], "approve", "{log:?}");
    assert_eq!(log[1]["action"], "team_decision", "{log:?}");
    assert_eq!(log[1]["result"], "published");
    assert_eq!(log[1]["detail"]["stream_seq"], seq);
    assert_eq!(decision.audit_seq, log[0]["seq"].as_u64().unwrap());
    eprintln!(
        "case-1: record to acknowledgement {:?}",
        between(&log[0], &log[1])
    );
    // The loser applied nothing of its own: its log exports no label for
    // the case (the winner's does), and if its keypress raced the
    // winner's (rather than finding the case already gone), its one team
    // record says who won.
    let raced: Vec<serde_json::Value> = records(&loser.audit)
        .into_iter()
        .filter(|r| r["action"] == "team_decision")
        .collect();
    assert!(raced.len() <= 1, "{raced:?}");
    for r in raced {
        assert_eq!(r["result"], "already_decided", "{r}");
        assert_eq!(r["detail"]["decided_by"], winner.name, "{r}");
    }
    let exported = |audit: &Path| {
        let out = common::run(common::modelwatch().arg("export-labels").arg(audit), LIMIT);
        assert!(out.status.success(), "{}", common::text(&out.stderr));
        common::text(&out.stdout)
    };
    assert!(!exported(&loser.audit).contains("case-1"));
    assert!(exported(&winner.audit).contains("\"case-1\""));

    // One node gone: a decision still lands, and both keep working.
    nats.kill(0);
    let since_kill = Instant::now();
    append(&preds, &["case-2"], 5);
    for d in [&alice, &bob] {
        tmux.wait_screen(d.name, "case-2 queued", LIMIT, |s| s.contains("case-2"));
    }
    // While the cluster elects the stream's new leader (seconds), a
    // decision is not stored and the screen says so: press again.
    let link_up = |s: &str| !s.contains("TEAM:");
    let mut presses = 0;
    loop {
        presses += 1;
        assert!(presses <= 6, "case-2 never shared");
        tmux.wait_screen(alice.name, "alice's link up", LIMIT, link_up);
        let before = records(&alice.audit).len();
        tmux.keys(alice.name, "a");
        let result = wait_until("case-2's outcome", LIMIT, || {
            let log = records(&alice.audit);
            if log.len() >= before + 2 {
                return Some(log[before + 1]["result"].as_str().map(str::to_owned));
            }
            let refused = tmux
                .screen(alice.name)
                .contains("not recorded, nothing done");
            (log.len() == before && refused).then_some(None)
        });
        if result.as_deref() == Some("published") {
            break;
        }
    }
    let log = records(&alice.audit);
    eprintln!(
        "case-2 stored {:?} after the node was killed ({presses} presses; record to acknowledgement {:?})",
        since_kill.elapsed(),
        between(&log[log.len() - 2], &log[log.len() - 1]),
    );
    tmux.wait_screen(alice.name, "alice's screen to say so", LIMIT, |s| {
        s.contains("case-2 approved (audit #")
    });
    let shown_at = Instant::now();
    tmux.wait_screen(bob.name, "bob to see alice's decision", LIMIT, |s| {
        s.contains("case-2 decided by alice")
    });
    eprintln!("bob's screen showed it {:?} later", shown_at.elapsed());
    let (messages, decision) = stored(&nats.url_of(2), "case-2");
    assert_eq!(messages, 2, "one decision per case in {STREAM}");
    assert_eq!(decision.expect("case-2 in the stream").0.operator, "alice");

    // Every node gone: monitoring goes on, decisions are refused.
    nats.kill(1);
    nats.kill(2);
    let gone = Instant::now();
    for d in [&alice, &bob] {
        tmux.wait_screen(d.name, "the team-link banner", LIMIT, |s| {
            s.contains("TEAM: decisions refused: team link down")
        });
    }
    eprintln!("banners {:?} after the last node went", gone.elapsed());
    let before = lines_read(&tmux.screen(bob.name)).expect("a line count");
    append(&preds, &["case-3"], 10);
    tmux.wait_screen(
        bob.name,
        "the count to grow with the cluster gone",
        LIMIT,
        |s| lines_read(s).is_some_and(|n| n >= before + 11) && s.contains("case-3"),
    );
    let decided_before = records(&bob.audit).len();
    tmux.keys(bob.name, "a");
    tmux.wait_screen(bob.name, "the decision refused", LIMIT, |s| {
        s.contains("not recorded, nothing done: decisions refused: team link down")
    });
    assert_eq!(
        records(&bob.audit).len(),
        decided_before,
        "a refused decision was recorded"
    );
    eprintln!("team_decisions took {:?}", began.elapsed());
}
