//! The kill switch against real loopback servers, real child processes
//! and a real websocket pair: failures are named, nothing blocks the
//! others, and the audit log records requests and results.

mod common;

use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use modelwatch::decision::audit::{AuditLog, Sink};
use modelwatch::decision::audit_record::GENESIS;
use modelwatch::decision::audited::{reset_audited, trip_audited};
use modelwatch::decision::kill_request::{ControlLink, KillRequest};
use modelwatch::decision::kill_switch::{KillError, KillOutcome, KillSwitch, SwitchState};
use modelwatch::decision::settings::{
    ActuatorSpec, CommandSpec, FlagFileSpec, HttpSpec, OnReset, WebsocketSpec, default_body,
};
use modelwatch::decision::verify::verify_file;
use modelwatch::live::desk::{Desk, DeskOptions};
use tokio_tungstenite::tungstenite::Message;

const SECOND: Duration = Duration::from_secs(1);

/// How a loopback HTTP server answers.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    RedirectTo(u16),
    Never,
}

struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
    hits: Arc<AtomicUsize>,
}

fn http_server(answer: Answer) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let hits = Arc::new(AtomicUsize::new(0));
    let (r, h) = (Arc::clone(&requests), Arc::clone(&hits));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (r, h) = (Arc::clone(&r), Arc::clone(&h));
            std::thread::spawn(move || serve(stream, answer, &r, &h));
        }
    });
    Server {
        port,
        requests,
        hits,
    }
}

fn serve(mut s: TcpStream, answer: Answer, requests: &Mutex<Vec<String>>, hits: &AtomicUsize) {
    s.set_read_timeout(Some(5 * SECOND)).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    while buf.len() < head_end + len {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    hits.fetch_add(1, Ordering::SeqCst);
    requests
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&buf).into_owned());
    let response = match answer {
        Answer::Never => {
            // An endpoint that never answers: holds the connection for
            // longer than any test runs (behaviour, not a wait).
            std::thread::sleep(30 * SECOND);
            return;
        }
        Answer::Status(code) => {
            format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        }
        Answer::RedirectTo(port) => format!(
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{port}/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        ),
    };
    let _ = s.write_all(response.as_bytes());
}

fn http(port: u16, timeout: Duration) -> ActuatorSpec {
    ActuatorSpec::Http(HttpSpec {
        url: format!("http://127.0.0.1:{port}/models/{{model}}"),
        method: "POST".into(),
        headers: Default::default(),
        body: default_body(),
        ca_files: Vec::new(),
        timeout,
    })
}

fn command(argv: &[&str], timeout: Duration) -> ActuatorSpec {
    ActuatorSpec::Command(CommandSpec {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        timeout,
    })
}

fn flag(path: &Path) -> ActuatorSpec {
    ActuatorSpec::FlagFile(FlagFileSpec::from_path(path.to_path_buf()))
}

/// A path the flag file cannot be written to, as root or not.
fn unwritable(dir: &Path) -> PathBuf {
    if common::permissions_bite(dir) {
        use std::os::unix::fs::PermissionsExt;
        let ro = dir.join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        ro.join("flag")
    } else {
        // Root ignores modes: a parent that is a regular file stops it.
        let file = dir.join("not-a-dir");
        std::fs::write(&file, b"").unwrap();
        file.join("flag")
    }
}

/// A websocket server on loopback that acks kill-switch messages or not.
async fn ws_server(ack: bool) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    let Message::Text(text) = msg else { continue };
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                    assert_eq!(v["type"], "kill_switch");
                    if ack {
                        let reply = serde_json::json!({"type":"kill_switch_ack","request_id":v["request_id"]});
                        let _ = ws.send(Message::text(reply.to_string())).await;
                    }
                }
            });
        }
    });
    port
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The session's side of the link, over a real websocket client.
struct WsLink(Arc<tokio::sync::Mutex<Client>>);

impl WsLink {
    async fn connect(port: u16) -> Arc<dyn ControlLink> {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/"))
            .await
            .unwrap();
        Arc::new(WsLink(Arc::new(tokio::sync::Mutex::new(ws))))
    }
}

impl ControlLink for WsLink {
    fn send_and_await_ack(
        &self,
        message: String,
        request_id: String,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
        let ws = Arc::clone(&self.0);
        Box::pin(async move {
            let mut ws = ws.lock().await;
            ws.send(Message::text(message))
                .await
                .map_err(|e| e.to_string())?;
            let ack = async {
                while let Some(Ok(msg)) = ws.next().await {
                    if let Message::Text(t) = msg {
                        let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
                        if v["type"] == "kill_switch_ack" && v["request_id"] == request_id.as_str()
                        {
                            return Ok(());
                        }
                    }
                }
                Err("websocket closed".to_string())
            };
            tokio::time::timeout(timeout, ack)
                .await
                .map_err(|_| format!("no ack within {timeout:?}"))?
        })
    }
}

fn detail_of<'a>(outcome: &'a KillOutcome, needle: &str) -> &'a str {
    let r = outcome
        .results
        .iter()
        .find(|r| r.actuator.contains(needle))
        .unwrap_or_else(|| panic!("no actuator {needle}: {outcome:?}"));
    &r.detail
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_named_and_nothing_blocks_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let fails = http_server(Answer::Status(500));
    let silent = http_server(Answer::Never);
    let target = http_server(Answer::Status(200));
    let redirect = http_server(Answer::RedirectTo(target.port));
    let ws_port = ws_server(false).await;
    let good_flag = dir.path().join("good.flag");
    let bad_flag = unwritable(dir.path());
    let specs = vec![
        http(fails.port, SECOND),
        http(silent.port, SECOND),
        http(redirect.port, SECOND),
        command(&["sh", "-c", "echo actuator refused >&2; exit 1"], SECOND),
        command(&["sleep", "30"], SECOND),
        ActuatorSpec::Websocket(WebsocketSpec { timeout: SECOND }),
        flag(&bad_flag),
        flag(&good_flag),
    ];
    let switch = KillSwitch::new(specs, Some(WsLink::connect(ws_port).await));
    let log_path = dir.path().join("audit.jsonl");
    let log = Mutex::new(AuditLog::open(&log_path).unwrap().0);
    let start = Instant::now();
    let done = trip_audited(
        Some(&log),
        &switch,
        KillRequest::new("fraud-v3", "test", "alice"),
    )
    .await
    .unwrap();
    let took = start.elapsed();
    let out = &done.outcome;
    assert_eq!(out.state, SwitchState::NotConfirmed);
    assert_eq!(switch.state("fraud-v3"), SwitchState::NotConfirmed);
    // Seven 1 s timeouts or failures: concurrent, so about one timeout.
    assert!(
        took < Duration::from_millis(2_500),
        "took {took:?}: {out:#?}"
    );
    assert!(took >= Duration::from_millis(900), "took {took:?}");
    let port = |s: &Server| format!(":{}/", s.port);
    assert_eq!(detail_of(out, &port(&fails)), "HTTP 500");
    assert!(
        detail_of(out, &port(&silent)).contains("no answer within 1s"),
        "{out:#?}"
    );
    assert!(detail_of(out, &port(&redirect)).contains("redirect not followed"));
    assert_eq!(target.hits.load(Ordering::SeqCst), 0, "redirect followed");
    assert_eq!(detail_of(out, "exit 1"), "exit status 1: actuator refused");
    assert_eq!(detail_of(out, "sleep 30"), "timed out after 1s; killed");
    assert!(detail_of(out, "websocket").contains("no ack within 1s"));
    let bad = detail_of(out, &bad_flag.display().to_string());
    assert!(
        bad.starts_with("cannot ") && bad.contains(&bad_flag.display().to_string()),
        "{bad}"
    );
    assert!(detail_of(out, "good.flag").ends_with("written (tripped)"));
    let confirmed: Vec<_> = out.results.iter().filter(|r| r.confirmed).collect();
    assert_eq!(confirmed.len(), 1, "{out:#?}");
    let flag: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&good_flag).unwrap()).unwrap();
    assert_eq!(flag["state"], "tripped");
    assert_eq!(flag["request_id"], out.request_id.as_str());
    // Request before, result after, both durable and chained.
    assert_eq!(done.request_record, Ok(1));
    assert_eq!(done.result_record, Ok(2));
    drop(log);
    let recs = common::records(&log_path);
    assert_eq!(recs[0]["action"], "kill_switch_trip");
    assert_eq!(recs[0]["request_id"], out.request_id.as_str());
    assert_eq!(recs[1]["action"], "kill_switch_result");
    assert_eq!(recs[1]["result"], "not_confirmed");
    let actuators = recs[1]["detail"]["actuators"].as_array().unwrap();
    assert_eq!(actuators.len(), 8);
    assert!(
        actuators
            .iter()
            .any(|a| a["detail"] == "HTTP 500" && a["confirmed"] == false)
    );
    assert!(verify_file(&log_path).unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_actuator_confirming_trips_and_reset_rearms() {
    let dir = tempfile::tempdir().unwrap();
    let server = http_server(Answer::Status(204));
    let ws_port = ws_server(true).await;
    let flag_path = dir.path().join("{model}.killed");
    let seen = dir.path().join("seen");
    let token_var = "MODELWATCH_KS_TEST_TOKEN";
    // SAFETY: set once, before any thread of this test reads it, and
    // read only by this test.
    unsafe { std::env::set_var(token_var, "s3cret-token") };
    let mut http_spec = http(server.port, 2 * SECOND);
    if let ActuatorSpec::Http(h) = &mut http_spec {
        h.headers
            .insert("Authorization".into(), format!("Bearer ${{{token_var}}}"));
    }
    let specs = vec![
        ActuatorSpec::FlagFile(FlagFileSpec {
            path: flag_path,
            on_reset: OnReset::Remove,
            timeout: SECOND,
        }),
        http_spec,
        // Event data reaches the program only as one argv element.
        command(
            &[
                "sh",
                "-c",
                "printf %s \"$1\" >> \"$2\"",
                "sh",
                "{model}",
                seen.to_str().unwrap(),
            ],
            2 * SECOND,
        ),
        ActuatorSpec::Websocket(WebsocketSpec {
            timeout: 2 * SECOND,
        }),
    ];
    let switch = KillSwitch::new(specs, Some(WsLink::connect(ws_port).await));
    let model = "fraud\"v3; rm -rf ~ $(x)";
    let lines = switch.describe(model);
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|l| !l.contains("s3cret")), "{lines:?}");
    assert!(lines[1].contains("(headers Authorization)"), "{lines:?}");
    let log_path = dir.path().join("audit.jsonl");
    let log = Mutex::new(AuditLog::open(&log_path).unwrap().0);
    // Sanitised, with a hash of the name so distinct names stay distinct.
    let safe = modelwatch::decision::template::file_safe(model);
    assert!(safe.starts_with("fraud_v3__rm_-rf_____x_-"), "{safe}");
    let flag_file = dir.path().join(format!("{safe}.killed"));
    for _ in 0..2 {
        let done = trip_audited(
            Some(&log),
            &switch,
            KillRequest::new(model, "drift", "alice"),
        )
        .await
        .unwrap();
        assert_eq!(
            done.outcome.state,
            SwitchState::Tripped,
            "{:#?}",
            done.outcome
        );
        assert!(done.record_missing().is_none());
        let content: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&flag_file).unwrap()).unwrap();
        assert_eq!(content["state"], "tripped");
        assert_eq!(content["model"], model);
        assert_eq!(content["request_id"], done.outcome.request_id.as_str());
    }
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), model.repeat(2));
    {
        let requests = server.requests.lock().unwrap();
        assert_eq!(requests.len(), 2);
        assert!(requests[0].contains("Bearer s3cret-token"));
        let body = &requests[0][requests[0].find("\r\n\r\n").unwrap() + 4..];
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["model"], model);
        assert_eq!(body["state"], "tripped");
    }
    let refused = reset_audited(
        Some(&log),
        &switch,
        KillRequest::new(model, "ok", "bob"),
        "fraud",
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, KillError::ConfirmationMismatch { .. }));
    assert_eq!(switch.state(model), SwitchState::Tripped);
    let done = reset_audited(
        Some(&log),
        &switch,
        KillRequest::new(model, "ok", "bob"),
        model,
    )
    .await
    .unwrap();
    assert_eq!(
        done.outcome.state,
        SwitchState::Armed,
        "{:#?}",
        done.outcome
    );
    assert!(!flag_file.exists());
    let requests = server.requests.lock().unwrap();
    assert!(requests[2].contains("\"state\":\"armed\""));
    drop(log);
    let actions: Vec<String> = common::records(&log_path)
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        [
            "kill_switch_trip",
            "kill_switch_result",
            "kill_switch_trip",
            "kill_switch_result",
            "kill_switch_reset",
            "kill_switch_result"
        ]
    );
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(!text.contains("s3cret"), "a secret reached the audit log");
}

/// Fails every write, like a dead disk.
struct DeadDisk;

impl Sink for DeadDisk {
    fn append(&mut self, _: &[u8]) -> std::io::Result<()> {
        Err(std::io::Error::from_raw_os_error(5))
    }
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_broken_audit_log_does_not_stop_the_trip() {
    let dir = tempfile::tempdir().unwrap();
    let flag_path = dir.path().join("flag");
    let switch = KillSwitch::new(vec![flag(&flag_path)], None);
    let log = Mutex::new(AuditLog::with_sink(
        Path::new("dead.jsonl"),
        Box::new(DeadDisk),
        0,
        GENESIS,
    ));
    let done = trip_audited(Some(&log), &switch, KillRequest::new("m", "r", "op"))
        .await
        .unwrap();
    assert_eq!(done.outcome.state, SwitchState::Tripped);
    assert!(flag_path.exists());
    let missing = done.record_missing().unwrap();
    assert!(missing.contains("Input/output error"), "{missing}");
    assert!(
        done.result_record
            .unwrap_err()
            .contains("earlier write failed")
    );
    // And with no log at all.
    let done = trip_audited(None, &switch, KillRequest::new("m", "r", "op"))
        .await
        .unwrap();
    assert_eq!(done.outcome.state, SwitchState::Tripped);
    assert!(done.record_missing().unwrap().contains("no audit log open"));
}

#[tokio::test]
async fn read_only_unconfigured_and_unlinked_switches_refuse_or_fail() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("audit.jsonl");
    let log = Mutex::new(AuditLog::open(&log_path).unwrap().0);
    let req = || KillRequest::new("m", "r", "op");
    let none = KillSwitch::new(vec![], None);
    let e = trip_audited(Some(&log), &none, req()).await.unwrap_err();
    assert_eq!(e, KillError::NoActuators);
    assert!(e.to_string().contains("--kill-file"));
    let ro = KillSwitch::new(vec![flag(&dir.path().join("f"))], None).with_read_only(true);
    assert_eq!(
        trip_audited(Some(&log), &ro, req()).await.unwrap_err(),
        KillError::ReadOnly
    );
    assert_eq!(ro.trip(&req()).await.unwrap_err(), KillError::ReadOnly);
    assert_eq!(
        reset_audited(Some(&log), &ro, req(), "m")
            .await
            .unwrap_err(),
        KillError::ReadOnly
    );
    assert!(!dir.path().join("f").exists());
    assert_eq!(
        std::fs::read(&log_path).unwrap(),
        b"",
        "refusals are not recorded"
    );
    let unlinked = KillSwitch::new(
        vec![ActuatorSpec::Websocket(WebsocketSpec { timeout: SECOND })],
        None,
    );
    let out = unlinked.trip(&req()).await.unwrap();
    assert_eq!(out.state, SwitchState::NotConfirmed);
    assert_eq!(out.results[0].detail, "no websocket source connected");
}

/// A trip the dashboard started is awaited before the session exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_trip_is_awaited_before_exit() {
    let dir = tempfile::tempdir().unwrap();
    let flag_path = dir.path().join("flag");
    let log_path = dir.path().join("a.jsonl");
    let mut desk = Desk::open(
        DeskOptions {
            audit_path: log_path.clone(),
            operator: "op".into(),
            actuators: vec![command(&["sleep", "0.3"], 2 * SECOND), flag(&flag_path)],
            read_only: false,
            team: None,
            kills: None,
        },
        None,
    );
    let start = Instant::now();
    desk.trip("m", "r").unwrap();
    assert_eq!(desk.view("m").state, SwitchState::Tripping);
    // What a session does on quit or SIGTERM: wait (bounded) for runs.
    tokio::time::timeout(5 * SECOND, desk.wait_runs())
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(250));
    assert_eq!(desk.view("m").state, SwitchState::Tripped);
    assert!(flag_path.exists());
    let records = common::records(&log_path);
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["result"], "tripped");
}

/// The dashboard and the metrics share one watch on the switches: a trip
/// recorded by another process that the dashboard's refresh read is what
/// the metrics read too, without reading the log again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trip_the_dashboard_read_is_what_the_metrics_read() {
    use modelwatch::decision::kill_watch::{KillWatch, SharedKillWatch};
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("a.jsonl");
    let flag_path = dir.path().join("flag");
    let options = |kills| DeskOptions {
        audit_path: log_path.clone(),
        operator: "op".into(),
        actuators: vec![flag(&flag_path)],
        read_only: false,
        team: None,
        kills,
    };
    let shared = SharedKillWatch::new(KillWatch::new(Some(&log_path), &[flag(&flag_path)]));
    let mut screen = Desk::open(options(Some(shared.clone())), None);
    let models = ["m".to_string()];
    screen.refresh_kills(&models);
    assert!(!screen.refresh_kills(&models));
    assert_eq!(screen.view("m").state, SwitchState::Armed);
    // Another process trips m.
    let mut elsewhere = Desk::open(options(None), None);
    elsewhere.trip("m", "drift").unwrap();
    tokio::time::timeout(5 * SECOND, elsewhere.wait_runs())
        .await
        .unwrap();
    assert!(
        screen.refresh_kills(&models),
        "the change is news to the screen"
    );
    assert_eq!(screen.view("m").state, SwitchState::Tripped);
    assert!(!screen.refresh_kills(&models));
    // The metrics' reading of the same watch, without a refresh of its own.
    let metrics = shared.lock().get("m", 0).map(|k| k.state);
    assert_eq!(metrics, Some(SwitchState::Tripped));
}
