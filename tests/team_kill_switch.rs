//! The team's kill switch in a NATS KV bucket, against a real 3-node
//! JetStream cluster: `modelwatch trip` with a `nats_kv` actuator writes the
//! key and a `watch --no-tui` elsewhere (its own audit log) shows the trip
//! and the reset; a reset over a stale revision fails; with NATS down the
//! flag file still acts at once and the bucket's write is retried until the
//! cluster is back; and two dashboards in tmux see a trip pressed on one
//! while the example model server stops.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::nats::NatsCluster;
use common::no_tui::{wait_line, watch};
use common::tmux::{Tmux, quote};
use modelwatch::decision::kill_request::KillRequest;
use modelwatch::decision::kill_switch::{KillSwitch, SwitchState};
use modelwatch::decision::settings::{ActuatorSpec, FlagFileSpec, NatsKvSpec};
use modelwatch::team::kill_kv::{KillStore, KillValue, ResetError, key_for};

const LIMIT: Duration = Duration::from_secs(30);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `nats://h:p1,h:p2,h:p3`: every node of the cluster.
fn servers(nats: &NatsCluster) -> String {
    let urls = nats.urls().replace("nats://", "");
    format!("nats://{urls}")
}

fn config(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("modelwatch.toml");
    std::fs::write(
        &path,
        format!(
            "[audit]\noperator = \"ci\"\n\n[[kill_switch.actuator]]\nkind = \"nats_kv\"\n\
             url = \"{url}\"\nteam = \"sre\"\ntimeout = \"10s\"\n"
        ),
    )
    .unwrap();
    path
}

/// What the bucket holds for `model` of team `sre`.
async fn read_key(url: &str, model: &str) -> Option<(u64, KillValue)> {
    let client = async_nats::connect(url).await.unwrap();
    let store = KillStore::open(&client, "MW_KILL", LIMIT).await.unwrap();
    store.current(&key_for("sre", model)).await.unwrap()
}

/// `modelwatch trip|reset --model MODEL --reason drift` with the config
/// and `dir`'s audit log; `extra` after.
fn kill_switch(
    action: &str,
    model: &str,
    cfg: &Path,
    dir: &Path,
    extra: &[&str],
) -> std::process::Output {
    common::run(
        common::modelwatch()
            .arg(action)
            .args(["--model", model, "--reason", "drift", "--config"])
            .arg(cfg)
            .arg("--audit-log")
            .arg(dir.join("audit.jsonl"))
            .args(extra),
        LIMIT,
    )
}

fn kill_of(line: &serde_json::Value, model: &str) -> Option<String> {
    line["models"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == model)
        .and_then(|m| m["kill"].as_str().map(str::to_owned))
}

/// The README's example model server (nats-py) watching `model` of team
/// `sre`, and what it says, line by line.
fn model_server(
    python: &Path,
    url: &str,
    model: &str,
) -> (common::no_tui::Reaped, std::sync::mpsc::Receiver<String>) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kill_switch_nats.py");
    let mut server = std::process::Command::new(python)
        .arg(example)
        .args(["--url", url, "--team", "sre", "--model", model])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let said = common::no_tui::read_lines(server.stdout.take().unwrap(), |l| Some(l.to_string()));
    (common::no_tui::Reaped(server), said)
}

#[test]
fn a_trip_is_in_the_bucket_and_shows_on_another_watchers_status() {
    let Some(nats) = NatsCluster::three("team_kill_switch trip") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &servers(&nats));
    let watched = dir.path().join("preds.jsonl");
    std::fs::write(&watched, "").unwrap();
    // Another machine's dashboard: its own audit log, the same bucket.
    let (_watcher, lines) = watch(
        dir.path(),
        &[
            "--config".as_ref(),
            cfg.as_os_str(),
            "--audit-log".as_ref(),
            dir.path().join("elsewhere.jsonl").as_os_str(),
            watched.as_os_str(),
        ],
    );
    wait_line(&lines, LIMIT, "a first status line", |l| {
        l["type"] == "status"
    });
    let model = "fraud@3.1";
    let kill = |action: &str, extra: &[&str]| kill_switch(action, model, &cfg, dir.path(), extra);
    let tripped_at = Instant::now();
    let out = kill("trip", &[]);
    let (stdout, stderr) = (common::text(&out.stdout), common::text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.starts_with("ok   nats_kv nats://"), "{stdout}");
    assert!(stdout.contains("key sre.fraud=403=2E1"), "{stdout}");
    let rt = runtime();
    let (revision, value) = rt.block_on(read_key(&nats.url_of(2), model)).unwrap();
    assert_eq!(value.state, "tripped");
    assert_eq!((value.model.as_str(), value.by.as_str()), (model, "ci"));
    assert_eq!(value.reason, "drift");
    assert!(
        stdout.contains(&format!("revision {revision} acknowledged")),
        "{stdout}"
    );
    wait_line(&lines, LIMIT, "the watcher to show the trip", |l| {
        kill_of(l, model).as_deref() == Some("tripped")
    });
    eprintln!("trip shown elsewhere after {:?}", tripped_at.elapsed());

    let out = kill("reset", &["--confirm", model]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stdout));
    let (after, value) = rt.block_on(read_key(&nats.url(), model)).unwrap();
    assert_eq!((value.state.as_str(), after), ("armed", revision + 1));
    wait_line(&lines, LIMIT, "the watcher to show the reset", |l| {
        kill_of(l, model).as_deref() == Some("armed")
    });

    // A value stored under another model's key never stands in for the
    // model it names: the watcher reads the bucket in order, so once it
    // shows a later trip of `canary`, it has passed the stray value.
    rt.block_on(async {
        let client = async_nats::connect(nats.url()).await.unwrap();
        let store = KillStore::open(&client, "MW_KILL", LIMIT).await.unwrap();
        let stray = KillValue {
            state: "tripped".into(),
            model: model.into(),
            by: "mallory".into(),
            at: "2026-11-30T03:00:00.000Z".into(),
            reason: String::new(),
            request_id: "ks-stray".into(),
        };
        store.put(&key_for("sre", "other"), &stray).await.unwrap();
    });
    let out = kill_switch("trip", "canary", &cfg, dir.path(), &[]);
    assert!(out.status.success(), "{}", common::text(&out.stdout));
    let seen = wait_line(&lines, LIMIT, "the watcher to show canary's trip", |l| {
        kill_of(l, "canary").as_deref() == Some("tripped")
    });
    assert_eq!(kill_of(&seen, model).as_deref(), Some("armed"), "{seen}");
}

#[test]
fn a_reset_over_a_stale_revision_fails() {
    let Some(nats) = NatsCluster::three("team_kill_switch stale reset") else {
        return;
    };
    runtime().block_on(async {
        let client = async_nats::connect(nats.url()).await.unwrap();
        let store = KillStore::open(&client, "MW_KILL", LIMIT).await.unwrap();
        let key = key_for("sre", "m");
        let value = |state: &str, who: &str| KillValue {
            state: state.into(),
            model: "m".into(),
            by: who.into(),
            at: "2026-11-30T03:00:00.000Z".into(),
            reason: String::new(),
            request_id: format!("ks-{who}"),
        };
        let first = store.put(&key, &value("tripped", "alice")).await.unwrap();
        // Bob trips again (a new reason) before Carol's reset lands.
        let second = store.put(&key, &value("tripped", "bob")).await.unwrap();
        let stale = store.update(&key, &value("armed", "carol"), first).await;
        assert_eq!(stale, Err(ResetError::Stale { expected: first }));
        let (rev, now) = store.current(&key).await.unwrap().unwrap();
        assert_eq!(
            (rev, now.state.as_str(), now.by.as_str()),
            (second, "tripped", "bob")
        );
        // Over the revision it read, the reset re-arms.
        let armed = store.update(&key, &value("armed", "carol"), second).await;
        assert_eq!(armed, Ok(second + 1));
        // A key that does not exist yet is created only if still absent.
        let other = key_for("sre", "n");
        store.put(&other, &value("tripped", "dave")).await.unwrap();
        let racing = store.update(&other, &value("armed", "erin"), 0).await;
        assert_eq!(racing, Err(ResetError::Stale { expected: 0 }));
    });
}

#[test]
fn with_nats_down_the_flag_file_acts_at_once_and_the_bucket_is_written_later() {
    let Some(mut nats) = NatsCluster::single("team_kill_switch nats down") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = nats.url();
    nats.kill(0);
    let flag = dir.path().join("m.killed");
    let specs = vec![
        ActuatorSpec::NatsKv(NatsKvSpec {
            url: url.clone(),
            bucket: "MW_KILL".into(),
            team: "sre".into(),
            credentials_file: None,
            ca_file: None,
            timeout: Duration::from_secs(1),
        }),
        ActuatorSpec::FlagFile(FlagFileSpec::from_path(flag.clone())),
    ];
    let rt = runtime();
    let switch = KillSwitch::new(specs, None);
    let request = KillRequest::new("m", "drift", "ci");
    let outcome = rt.block_on(switch.trip(&request)).unwrap();
    assert_eq!(outcome.state, SwitchState::NotConfirmed);
    let (kv, file) = (&outcome.results[0], &outcome.results[1]);
    assert!(
        !kv.confirmed && kv.detail.starts_with("not yet confirmed"),
        "{kv:?}"
    );
    assert!(file.confirmed, "{file:?}");
    assert!(file.elapsed_ms < kv.elapsed_ms, "{outcome:?}");
    assert!(flag.exists(), "the flag file did not wait for NATS");
    nats.restart(0);
    let found = common::wait_until("the retried trip in the bucket", LIMIT, || {
        rt.block_on(read_key(&url, "m"))
    });
    assert_eq!(found.1.state, "tripped");
    assert_eq!(found.1.request_id, request.request_id);
}

#[test]
fn the_python_model_server_example_stops_serving_when_tripped() {
    let Some(python) = common::test_python("team_kill_switch python example") else {
        return;
    };
    let Some(nats) = NatsCluster::three("team_kill_switch python example") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &servers(&nats));
    let model = "ticket-router@2.1";
    let (_server, said) = model_server(&python, &nats.url_of(1), model);
    let wait_for = |want: &str| {
        let got = said
            .recv_timeout(LIMIT)
            .unwrap_or_else(|_| panic!("no {want:?}"));
        assert!(got.starts_with(want), "{got:?} instead of {want:?}");
    };
    wait_for("serving");
    let kill = |action: &str, extra: &[&str]| {
        let out = kill_switch(action, model, &cfg, dir.path(), extra);
        assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stdout));
    };
    let started = Instant::now();
    kill("trip", &[]);
    let returned = started.elapsed();
    wait_for("stopped: tripped by ci (drift)");
    eprintln!(
        "the example stopped within {:?} of the trip's start (the command took {returned:?})",
        started.elapsed()
    );
    kill("reset", &["--confirm", model]);
    wait_for("serving again");
}

/// Two dashboards of team `sre` in tmux on one file, each with its own
/// audit log, and the example model server: `K`, `y` on one, and the
/// other shows TRIPPED and the server stops; a reset there re-arms both.
#[test]
fn a_trip_pressed_on_one_dashboard_shows_on_the_other_and_stops_the_model_server() {
    let Some(python) = common::test_python("team_kill_switch dashboards") else {
        return;
    };
    let Some(nats) = NatsCluster::three("team_kill_switch dashboards") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let model = "ticket-router@2.1";
    let preds = dir.path().join("preds.jsonl");
    let lines: String = (0..50)
        .map(|i| {
            format!(
                "{{\"model\":\"{model}\",\"id\":\"c{i}\",\"prediction\":\"a\",\"confidence\":0.9}}\n"
            )
        })
        .collect();
    std::fs::write(&preds, lines).unwrap();
    let (_server, said) = model_server(&python, &nats.url_of(1), model);
    let next_said = || {
        said.recv_timeout(LIMIT)
            .expect("the model server's next line")
    };
    assert_eq!(next_said(), "serving");

    let tmux = Tmux::new();
    let url = servers(&nats);
    for (session, operator) in [("a", "alice"), ("b", "bob")] {
        let script = format!(
            "USER={operator} MODELWATCH_LOG_FILE={log} {bin} watch --from-start --team sre \
             --nats {url} --audit-log {audit} {preds}",
            log = quote(&dir.path().join(format!("{session}.log"))),
            bin = quote(Path::new(env!("CARGO_BIN_EXE_modelwatch"))),
            audit = quote(&dir.path().join(format!("{session}.jsonl"))),
            preds = quote(&preds),
        );
        tmux.start(session, &script);
    }
    for session in ["a", "b"] {
        tmux.wait_screen(session, "the model, armed", LIMIT, |s| {
            s.contains("ticket-router@2.1") && s.contains("KILL: ARMED")
        });
    }
    let started = Instant::now();
    tmux.keys("a", "K");
    tmux.wait_screen("a", "the armed dialog", LIMIT, |s| s.contains("y / Enter"));
    tmux.keys("a", "y");
    tmux.wait_screen("a", "TRIPPED here", LIMIT, |s| s.contains("KILL: TRIPPED"));
    tmux.wait_screen("b", "TRIPPED on the other dashboard", LIMIT, |s| {
        s.contains("KILL: TRIPPED")
    });
    let on_b = started.elapsed();
    assert_eq!(
        next_said(),
        "stopped: tripped by alice (tripped from the dashboard)"
    );
    eprintln!(
        "from K: the other dashboard TRIPPED within {on_b:?}, the model server stopped within {:?} \
         (the arming delay, 400 ms, included)",
        started.elapsed()
    );
    // The other dashboard re-arms it (typing the model's name): both show
    // it, and the model server serves again.
    tmux.keys("b", "R");
    tmux.wait_screen("b", "the reset dialog", LIMIT, |s| {
        s.contains("RESET KILL SWITCH")
    });
    tmux.type_text("b", model);
    tmux.keys("b", "Enter");
    tmux.wait_screen("b", "re-armed here", LIMIT, |s| s.contains("KILL: ARMED"));
    tmux.wait_screen("a", "re-armed on the first dashboard", LIMIT, |s| {
        s.contains("KILL: ARMED")
    });
    assert_eq!(next_said(), "serving again");
}
