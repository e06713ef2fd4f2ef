//! The team's alerts in the stream `MW_ALERTS`, against a real nats-server:
//! two `watch --no-tui --team sre` on the same drifting predictions store
//! each transition once (subject `mw.sre.alert.MODEL`, `Nats-Msg-Id` from
//! the alert's identity); an acknowledgement published as a team member
//! would, or made with `A` on a dashboard, shows on the other process; with
//! the cluster down at start ingest goes on and the alerts land once it is
//! back.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::nats::NatsCluster;
use common::no_tui::{Reaped, sigterm, wait_line, watch};
use common::tmux::{Tmux, lines_flowing, quote};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);
/// A model name that is not a subject token as it is.
const MODEL: &str = "fraud@3.1";
const SUBJECT: &str = "mw.sre.alert.fraud=403=2E1";
/// Predictions before the drift ends: `confidence_drift` stays active.
const DRIFTING: usize = 1_400;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `nats://h:p1,h:p2,h:p3`: every node of the cluster.
fn servers(nats: &NatsCluster) -> String {
    format!("nats://{}", nats.urls().replace("nats://", ""))
}

/// The drifting stream's first `n` lines (all when `None`).
fn drift_lines(n: Option<usize>) -> String {
    let all = common::drift::lines(MODEL);
    let n = n.unwrap_or(usize::MAX);
    all.lines().take(n).map(|l| format!("{l}\n")).collect()
}

fn config(dir: &Path, operator: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{operator}.toml"));
    std::fs::write(&path, format!("[audit]\noperator = \"{operator}\"\n")).unwrap();
    path
}

/// One `watch --no-tui` of the team, and what it printed so far.
struct Watcher {
    child: Reaped,
    lines: Receiver<Value>,
    printed: Vec<Value>,
}

impl Watcher {
    fn start(dir: &Path, operator: &str, url: &str, file: &Path) -> Watcher {
        let cfg = config(dir, operator);
        let audit = dir.join(format!("{operator}-audit.jsonl"));
        let mut args: Vec<&std::ffi::OsStr> =
            common::drift::ARGS.iter().map(|a| a.as_ref()).collect();
        args.extend([
            "--config".as_ref(),
            cfg.as_os_str(),
            "--audit-log".as_ref(),
            audit.as_os_str(),
            "--team".as_ref(),
            "sre".as_ref(),
            "--nats".as_ref(),
            url.as_ref(),
            file.as_os_str(),
        ]);
        let (child, lines) = watch(dir, &args);
        Watcher {
            child,
            lines,
            printed: Vec::new(),
        }
    }

    /// Waits (bounded) for a line that satisfies `want`, keeping every line.
    fn wait(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let printed = &mut self.printed;
        wait_line(&self.lines, LIMIT, what, |line| {
            printed.push(line.clone());
            want(line)
        })
    }

    /// SIGTERMs it, reads what it printed up to its summary and waits for
    /// it to exit (what it had to publish is published then).
    fn stop(mut self) -> Vec<Value> {
        sigterm(&self.child.0);
        self.wait("the summary", |l| l["type"] == "summary");
        let status = common::wait(&mut self.child.0, LIMIT);
        assert!(status.success(), "{status}");
        self.printed
    }
}

fn alert_is(line: &Value, state: &str, kind: &str) -> bool {
    line["type"] == "alert" && line["state"] == state && line["alert_kind"] == kind
}

/// The model's counts in a status line: active and acknowledged alerts.
fn acknowledged(line: &Value) -> Option<(u64, u64)> {
    let m = line["models"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == MODEL)?;
    Some((
        m["active_alerts"].as_u64()?,
        m["acknowledged_alerts"].as_u64()?,
    ))
}

/// The msg id of each fired, escalated and cleared transition printed, as
/// the team's messages name them (a cleared line's index is where it
/// cleared: its alert's is the fired line's, by the process's id).
fn msg_ids(printed: &[Value]) -> Vec<String> {
    let mut fired_at: HashMap<u64, u64> = HashMap::new();
    let mut ids = Vec::new();
    for l in printed.iter().filter(|l| l["type"] == "alert") {
        let state = l["state"].as_str().unwrap();
        let id = l["id"].as_u64().unwrap();
        if state == "fired" {
            fired_at.insert(id, l["index"].as_u64().unwrap());
        }
        let model = match l["model"].as_str() {
            Some(MODEL) => "fraud=403=2E1",
            Some(other) => panic!("an alert about {other}"),
            None => "=input",
        };
        let index = fired_at[&id];
        let kind = l["alert_kind"].as_str().unwrap();
        match state {
            "fired" | "cleared" => ids.push(format!("sre.{model}.{kind}.{index}.{state}")),
            "escalated" => ids.push(format!(
                "sre.{model}.{kind}.{index}.escalated.{}",
                l["severity"].as_str().unwrap()
            )),
            _ => {}
        }
    }
    ids
}

/// Every message of `MW_ALERTS`: subject, msg id and body.
async fn stored(url: &str) -> Vec<(String, String, Value)> {
    let client = async_nats::connect(url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let Ok(mut stream) = js.get_stream("MW_ALERTS").await else {
        return Vec::new();
    };
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut out = Vec::new();
    for seq in 1..=last {
        let Ok(m) = stream.get_raw_message(seq).await else {
            continue;
        };
        let id = m.headers.get("Nats-Msg-Id").map(|v| v.to_string());
        let body = serde_json::from_slice(&m.payload).unwrap();
        out.push((m.subject.to_string(), id.unwrap_or_default(), body));
    }
    out
}

/// How many times each msg id is stored.
fn counted(messages: &[(String, String, Value)]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (_, id, _) in messages {
        *counts.entry(id.clone()).or_default() += 1;
    }
    counts
}

#[test]
fn two_watchers_store_each_transition_once_and_see_the_teams_acknowledgement() {
    let Some(nats) = NatsCluster::three("team_alerts two watchers") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    std::fs::write(&file, drift_lines(Some(DRIFTING))).unwrap();
    let url = servers(&nats);
    let mut a = Watcher::start(dir.path(), "alice", &url, &file);
    let mut b = Watcher::start(dir.path(), "bob", &url, &file);
    let drift = |l: &Value| alert_is(l, "fired", "confidence_drift");
    let fired = a.wait("confidence_drift to fire on A", drift);
    let index = fired["index"].as_u64().unwrap();
    let on_b = b.wait("confidence_drift to fire on B", drift);
    assert_eq!(
        on_b["index"], fired["index"],
        "the same alert, the same identity"
    );

    // Carol acknowledges it from elsewhere in the team, in the documented form.
    let ack_id = format!("sre.fraud=403=2E1.confidence_drift.{index}.acknowledged");
    let body = serde_json::json!({
        "event": "acknowledged", "model": MODEL, "alert_kind": "confidence_drift",
        "index": index, "by": "carol", "at": "2026-11-30T03:00:00.000Z",
    });
    let rt = runtime();
    let fired_id = format!("sre.fraud=403=2E1.confidence_drift.{index}.fired");
    common::wait_until("the alert in MW_ALERTS", LIMIT, || {
        counted(&rt.block_on(stored(&nats.url_of(1)))).contains_key(&fired_id)
    });
    let acked_at = Instant::now();
    rt.block_on(async {
        let client = async_nats::connect(nats.url_of(1)).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", ack_id.as_str());
        let ack = js
            .publish_with_headers(SUBJECT, headers, body.to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(!ack.duplicate);
    });
    let shown =
        |l: &Value| l["type"] == "status" && acknowledged(l).is_some_and(|(_, acked)| acked >= 1);
    a.wait("A to show the acknowledgement", shown);
    b.wait("B to show the acknowledgement", shown);
    eprintln!(
        "an acknowledgement published elsewhere shown on both after {:?}",
        acked_at.elapsed()
    );

    // The drift ends: both clear it, and both stop.
    let (all, head) = (drift_lines(None), drift_lines(Some(DRIFTING)));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    std::io::Write::write_all(&mut f, &all.as_bytes()[head.len()..]).unwrap();
    let cleared = |l: &Value| alert_is(l, "cleared", "confidence_drift");
    a.wait("confidence_drift to clear on A", cleared);
    b.wait("confidence_drift to clear on B", cleared);
    for w in [&mut a, &mut b] {
        let raised = msg_ids(&w.printed).len() as u64;
        w.wait("every transition published", |l| {
            let t = &l["team_alerts"];
            let done = t["published"].as_u64().zip(t["duplicates"].as_u64());
            t["queued"] == 0 && done.is_some_and(|(p, d)| p + d >= raised)
        });
    }
    let (printed_a, printed_b) = (a.stop(), b.stop());
    let (from_a, from_b) = (msg_ids(&printed_a), msg_ids(&printed_b));
    assert!(from_a.contains(&format!(
        "sre.fraud=403=2E1.confidence_drift.{index}.cleared"
    )));

    let messages = rt.block_on(stored(&nats.url_of(2)));
    let counts = counted(&messages);
    let mut expected: BTreeMap<String, usize> = from_a
        .iter()
        .chain(&from_b)
        .map(|id| (id.clone(), 1))
        .collect();
    expected.insert(ack_id.clone(), 1);
    assert_eq!(counts, expected, "each transition stored exactly once");
    // Each published every transition it raised: stored by one, found
    // already stored by the other.
    let publishing = |printed: &[Value]| {
        let t = &printed.last().unwrap()["team_alerts"];
        let n = |k: &str| t[k].as_u64().unwrap_or_else(|| panic!("no {k} in {t}"));
        assert_eq!((n("dropped"), n("queued")), (0, 0), "{t}");
        (n("published"), n("duplicates"))
    };
    let ((stored_a, dup_a), (stored_b, dup_b)) = (publishing(&printed_a), publishing(&printed_b));
    assert_eq!(stored_a + dup_a, from_a.len() as u64);
    assert_eq!(stored_b + dup_b, from_b.len() as u64);
    assert_eq!(
        stored_a + stored_b,
        counts.len() as u64 - 1,
        "all but the acknowledgement"
    );
    assert!(dup_a + dup_b > 0, "no transition was raised twice");
    let model_ids = |ids: &[String]| -> Vec<String> {
        ids.iter()
            .filter(|id| id.starts_with("sre.fraud"))
            .cloned()
            .collect()
    };
    assert_eq!(
        model_ids(&from_a),
        model_ids(&from_b),
        "both raised the same alerts"
    );
    let (subject, _, first) = messages
        .iter()
        .find(|(_, id, _)| id.ends_with(&format!("confidence_drift.{index}.fired")))
        .unwrap();
    assert_eq!(subject, SUBJECT);
    assert_eq!(
        (
            &first["event"],
            &first["model"],
            &first["alert_kind"],
            &first["index"]
        ),
        (
            &"fired".into(),
            &MODEL.into(),
            &"confidence_drift".into(),
            &index.into()
        )
    );
    assert!(
        ["alice", "bob"].contains(&first["by"].as_str().unwrap()),
        "{first}"
    );
}

#[test]
fn an_acknowledgement_on_a_dashboard_shows_on_another_watcher() {
    let Some(nats) = NatsCluster::single("team_alerts dashboard acknowledgement") else {
        return;
    };
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    std::fs::write(&file, drift_lines(Some(DRIFTING))).unwrap();
    let url = nats.url();
    let mut headless = Watcher::start(dir.path(), "alice", &url, &file);
    headless.wait("confidence_drift to fire", |l| {
        alert_is(l, "fired", "confidence_drift")
    });
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_modelwatch"));
    let script = format!(
        "MODELWATCH_LOG_FILE={log} {bin} watch {args} --config {cfg} --audit-log {audit} \
         --team sre --nats {url} {file}",
        log = quote(&dir.path().join("dashboard.log")),
        bin = quote(&bin),
        args = common::drift::ARGS.join(" "),
        cfg = quote(&config(dir.path(), "dave")),
        audit = quote(&dir.path().join("dave-audit.jsonl")),
        file = quote(&file),
    );
    tmux.start("mw", &script);
    tmux.wait_screen("mw", "the dashboard with its alert", LIMIT, |s| {
        lines_flowing(s) && s.contains("confidence drift") && s.contains("UNA")
    });
    tmux.keys("mw", "A");
    tmux.wait_screen("mw", "the acknowledgement", LIMIT, |s| {
        s.contains("(audit #")
    });
    let acked_at = Instant::now();
    headless.wait("the watcher to show the dashboard's acknowledgement", |l| {
        l["type"] == "status" && acknowledged(l).is_some_and(|(_, acked)| acked >= 1)
    });
    eprintln!(
        "an acknowledgement made on a dashboard shown elsewhere after {:?}",
        acked_at.elapsed()
    );
    let rt = runtime();
    let acks: Vec<Value> = common::wait_until("the acknowledgement in MW_ALERTS", LIMIT, || {
        let acks: Vec<Value> = rt
            .block_on(stored(&url))
            .into_iter()
            .filter(|(_, id, _)| id.ends_with(".acknowledged"))
            .map(|(_, _, body)| body)
            .collect();
        (!acks.is_empty()).then_some(acks)
    });
    assert_eq!(acks.len(), 1, "{acks:?}");
    assert_eq!(
        (&acks[0]["by"], &acks[0]["model"]),
        (&"dave".into(), &MODEL.into())
    );
}

#[test]
fn with_the_cluster_down_ingest_goes_on_and_the_alerts_land_once_it_is_back() {
    let Some(mut nats) = NatsCluster::single("team_alerts cluster down") else {
        return;
    };
    let url = nats.url();
    nats.kill(0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    std::fs::write(&file, drift_lines(None)).unwrap();
    let mut a = Watcher::start(dir.path(), "alice", &url, &file);
    a.wait("confidence_drift to clear", |l| {
        alert_is(l, "cleared", "confidence_drift")
    });
    a.wait("every prediction read", |l| {
        l["type"] == "status" && l["predictions"] == common::drift::PREDICTIONS
    });
    let raised = msg_ids(&a.printed);
    nats.restart(0);
    let rt = runtime();
    let back = Instant::now();
    let counts = common::wait_until("the retried transitions in MW_ALERTS", LIMIT, || {
        let counts = counted(&rt.block_on(stored(&url)));
        raised
            .iter()
            .all(|id| counts.contains_key(id))
            .then_some(counts)
    });
    eprintln!(
        "{} transitions landed {:?} after the cluster came back",
        raised.len(),
        back.elapsed()
    );
    assert!(
        raised
            .iter()
            .any(|id| id.contains(".confidence_drift.") && id.ends_with(".cleared")),
        "{raised:?}"
    );
    // Every message carries its msg id (the stream refuses a repeat only
    // by it: that is this code's part), and each is stored once (the
    // stream's duplicate window's part).
    assert!(!counts.contains_key(""), "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}
