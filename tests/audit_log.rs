//! The audit log's files on disk: sharing, symlinks, torn tails,
//! and `verify-log` / `export-labels` through the real binary.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use modelwatch::decision::audit::{AuditError, AuditLog};
use modelwatch::decision::record::{Action, AuditEntry};
use modelwatch::decision::verify::verify_file;

const LIMIT: Duration = Duration::from_secs(30);

fn entry(action: Action, case: &str, label: Option<&str>) -> AuditEntry {
    let mut e = AuditEntry::new("alice", action);
    e.model = Some("fraud-v3".into());
    e.case_id = Some(case.into());
    e.label = label.map(str::to_owned);
    e
}

fn reopen(path: &Path) -> Result<(AuditLog, modelwatch::decision::audit::OpenReport), AuditError> {
    AuditLog::open(path)
}

fn write_log(path: &Path, n: usize) {
    let (mut log, _) = reopen(path).unwrap();
    for i in 0..n {
        let (action, label) = match i % 3 {
            0 => (Action::Approve, Some("fraud")),
            1 => (Action::Override, Some("legit")),
            _ => (Action::Skip, None),
        };
        log.append(entry(action, &format!("c{i}"), label)).unwrap();
    }
}

fn verify_cli(path: &Path) -> (Option<i32>, String) {
    let out = common::run(common::modelwatch().arg("verify-log").arg(path), LIMIT);
    (out.status.code(), common::text(&out.stdout))
}

/// Several processes share one log: a dashboard that has it open never
/// blocks `modelwatch trip`, and their records form one chain.
#[test]
fn processes_sharing_the_log_append_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("decisions.jsonl");
    let flag = dir.path().join("flag");
    let (mut ours, _) = AuditLog::open(&log_path).unwrap();
    ours.append(entry(Action::Approve, "c0", Some("fraud")))
        .unwrap();
    let out = common::run(
        common::modelwatch()
            .args(["trip", "--model", "m", "--reason", "r", "--kill-file"])
            .arg(&flag)
            .arg("--audit-log")
            .arg(&log_path),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    assert!(flag.exists());
    // Our next record follows the other process's two.
    let r = ours.append(entry(Action::Skip, "c1", None)).unwrap();
    assert_eq!(r.seq, 4);
    let (code, stdout) = verify_cli(&log_path);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("ok, 4 records"), "{stdout}");
}

#[test]
fn a_torn_tail_is_moved_aside_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    write_log(&path, 3);
    let good = std::fs::read(&path).unwrap();
    let torn: &[u8] = b"{\"seq\":4,\"ts\":\"2026-01-0\xff\x00 half";
    std::fs::write(&path, [good.as_slice(), torn].concat()).unwrap();
    let (mut log, report) = reopen(&path).unwrap();
    let t = report.torn.expect("torn tail reported");
    assert_eq!(
        t.moved_to,
        PathBuf::from(format!("{}.torn", path.display()))
    );
    assert_eq!(t.bytes, torn.len() as u64);
    assert_eq!(std::fs::read(&t.moved_to).unwrap(), torn);
    assert_eq!(std::fs::read(&path).unwrap(), good, "records untouched");
    assert_eq!(report.records, 3);
    assert_eq!(log.append(entry(Action::Skip, "c3", None)).unwrap().seq, 4);
    drop(log);
    // A second torn tail goes to LOG.torn.1; the first is kept.
    let now = std::fs::read(&path).unwrap();
    std::fs::write(&path, [now.as_slice(), b"x"].concat()).unwrap();
    let (_log, report) = reopen(&path).unwrap();
    let t = report.torn.unwrap();
    assert!(t.moved_to.to_string_lossy().ends_with(".torn.1"));
    assert_eq!(std::fs::read(&t.moved_to).unwrap(), b"x");
    assert_eq!(verify_file(&path).unwrap().unwrap().records, 4);
    let (code, stdout) = verify_cli(&path);
    assert_eq!(code, Some(0), "{stdout}");
    // verify-log points at every torn file beside the log.
    let out = common::run(common::modelwatch().arg("verify-log").arg(&path), LIMIT);
    let notes = common::text(&out.stderr);
    assert!(notes.contains(".torn holds a torn line"), "{notes}");
    assert!(notes.contains(".torn.1 holds a torn line"), "{notes}");
    // A whole file of garbage without a newline is a torn tail too.
    let p2 = dir.path().join("b.jsonl");
    std::fs::write(&p2, b"garbage").unwrap();
    let (_l, report) = reopen(&p2).unwrap();
    assert_eq!((report.records, report.torn.unwrap().bytes), (0, 7));
}

#[test]
fn a_corrupt_last_record_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    write_log(&path, 2);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("c1", "c9")).unwrap();
    let e = reopen(&path).unwrap_err();
    assert!(matches!(e, AuditError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("verify-log"), "{e}");
}

/// The log, its torn files and anything beside it are never reached
/// through a symlink: a symlinked log is refused and its target untouched,
/// and a symlink where a lock note used to be is never written.
#[test]
fn symlinks_beside_the_log_are_never_followed() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    std::fs::write(&target, "precious\n").unwrap();
    let link = dir.path().join("linked.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let e = AuditLog::open(&link).unwrap_err();
    assert!(e.to_string().contains("symlink"), "{e}");
    let out = common::run(
        common::modelwatch()
            .args(["trip", "--model", "m", "--reason", "r", "--kill-file"])
            .arg(dir.path().join("flag"))
            .arg("--audit-log")
            .arg(&link),
        LIMIT,
    );
    // The switch acted; its record could not be written (exit 2, said).
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out.stderr));
    assert!(
        common::text(&out.stderr).contains("symlink"),
        "{}",
        common::text(&out.stderr)
    );
    assert!(dir.path().join("flag").exists());
    let path = dir.path().join("decisions.jsonl");
    let note = dir.path().join("decisions.jsonl.lock");
    std::os::unix::fs::symlink(&target, &note).unwrap();
    AuditLog::open(&path).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"torn"))
        .unwrap();
    let torn = dir.path().join("decisions.jsonl.torn");
    std::os::unix::fs::symlink(&target, &torn).unwrap();
    write_log(&path, 2);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
    // The torn tail went to the next free name, not through the link.
    assert_eq!(
        std::fs::read(dir.path().join("decisions.jsonl.torn.1")).unwrap(),
        b"torn"
    );
    for p in [&path, &dir.path().join("decisions.jsonl.torn.1")] {
        let mode = std::fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", p.display());
    }
}

#[test]
fn verify_log_names_the_first_bad_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    write_log(&path, 5);
    let (code, stdout) = verify_cli(&path);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("ok, 5 records, last hash "), "{stdout}");
    assert_eq!(stdout.lines().count(), 1);

    let good = std::fs::read(&path).unwrap();
    let lines: Vec<&[u8]> = good.split_inclusive(|&b| b == b'\n').collect();
    let bad = dir.path().join("bad.jsonl");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "deleted line",
            [lines[0], lines[1], lines[3], lines[4]].concat(),
            ":3: bad record (seq 3)",
        ),
        (
            "swapped pair",
            [lines[0], lines[2], lines[1], lines[3], lines[4]].concat(),
            ":2: bad record (seq 2)",
        ),
        (
            "last record edited",
            {
                let mut b = good.clone();
                let at = b.len() - 80;
                b[at] ^= 1;
                b
            },
            ":5: bad record (seq 5)",
        ),
        (
            "inserted copy",
            [lines[0], lines[1], lines[1], lines[2]].concat(),
            ":3: bad record (seq 3)",
        ),
    ];
    for (what, bytes, expect) in cases {
        std::fs::write(&bad, bytes).unwrap();
        let (code, stdout) = verify_cli(&bad);
        assert_eq!(code, Some(1), "{what}: {stdout}");
        assert!(stdout.contains(expect), "{what}: {stdout}");
    }
    // Every single-byte change of a real log, through the library (the
    // binary runs the same function; a process per byte would be slow).
    for i in 0..good.len() {
        let mut b = good.clone();
        b[i] = b[i].wrapping_add(1);
        std::fs::write(&bad, &b).unwrap();
        assert!(
            verify_file(&bad).unwrap().is_err(),
            "byte {i} changed undetected"
        );
    }
    let out = common::run(
        common::modelwatch()
            .arg("verify-log")
            .arg(dir.path().join("missing")),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(common::text(&out.stderr).contains("missing: cannot read"));
}

#[test]
fn export_labels_writes_approvals_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    write_log(&path, 6);
    let out_path = dir.path().join("labels.jsonl");
    let out = common::run(
        common::modelwatch()
            .arg("export-labels")
            .arg(&path)
            .arg("-o")
            .arg(&out_path),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let labels = common::records(&out_path);
    assert_eq!(labels.len(), 4);
    let first = std::fs::read_to_string(&out_path).unwrap();
    let first = first.lines().next().unwrap();
    assert!(
        first.starts_with(
            r#"{"id":"c0","label":"fraud","model":"fraud-v3","source":"human","ts":""#
        ) && first.ends_with(r#"","operator":"alice","action":"approve"}"#),
        "{first}"
    );
    assert_eq!(labels[0]["id"], "c0");
    assert_eq!(labels[0]["label"], "fraud");
    assert_eq!(labels[0]["action"], "approve");
    assert_eq!(labels[1]["label"], "legit");
    assert_eq!(labels[1]["action"], "override");
    assert_eq!(labels[1]["source"], "human");
    let stdout = common::run(common::modelwatch().arg("export-labels").arg(&path), LIMIT);
    assert_eq!(
        common::text(&stdout.stdout),
        std::fs::read_to_string(&out_path).unwrap()
    );
}
