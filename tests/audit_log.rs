//! The audit log's files on disk: sharing, symlinks, torn tails,
//! and `verify-log` / `export-labels` through the real binary.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use modelwatch::decision::audit::{AuditError, AuditLog};
use modelwatch::decision::audit_record::{AuditAction, AuditEntry, AuditRecord};
use modelwatch::decision::verify::verify_file;

const LIMIT: Duration = Duration::from_secs(30);

fn entry(action: AuditAction, case: &str, label: Option<&str>) -> AuditEntry {
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
            0 => (AuditAction::Approve, Some("fraud")),
            1 => (AuditAction::Override, Some("legit")),
            _ => (AuditAction::Skip, None),
        };
        log.append(entry(action, &format!("c{i}"), label)).unwrap();
    }
}

fn export_cli(log: &Path, out: Option<&Path>) -> std::process::Output {
    let mut cmd = common::modelwatch();
    cmd.arg("export-labels").arg(log);
    if let Some(out) = out {
        cmd.arg("-o").arg(out);
    }
    common::run(&mut cmd, LIMIT)
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
    ours.append(entry(AuditAction::Approve, "c0", Some("fraud")))
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
    let r = ours.append(entry(AuditAction::Skip, "c1", None)).unwrap();
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
    assert_eq!(
        log.append(entry(AuditAction::Skip, "c3", None))
            .unwrap()
            .seq,
        4
    );
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
    let end = verify_file(&path).unwrap().unwrap().end();
    assert_eq!(
        stdout.trim_end(),
        format!("{}: ok, 5 records, last {end}", path.display())
    );

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
    let out = export_cli(&path, Some(&out_path));
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    assert_eq!(
        common::text(&out.stderr),
        "modelwatch: 4 labels from 6 records\n"
    );
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
    let stdout = export_cli(&path, None);
    assert_eq!(
        common::text(&stdout.stdout),
        std::fs::read_to_string(&out_path).unwrap()
    );
}

/// A log's lines, each with its newline.
fn lines_of(path: &Path) -> Vec<Vec<u8>> {
    std::fs::read(path)
        .unwrap()
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// A well-formed record (its own hash right) that does not belong: `seq`
/// 999, linked to `prev`.
fn stray_record(prev: &str) -> Vec<u8> {
    let mut record = AuditRecord::from_entry(
        entry(AuditAction::Override, "planted", Some("legit")),
        999,
        "2026-11-27T10:00:00.000Z".into(),
        prev.into(),
    );
    record.seal().unwrap()
}

#[test]
fn export_labels_refuses_a_broken_chain_and_exports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    write_log(&path, 6);
    let lines = lines_of(&path);
    let hash_of = |line: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        v["hash"].as_str().unwrap().to_string()
    };
    let edited = {
        // Record 5 (`c4`) is an override to `legit`.
        let text = String::from_utf8(lines[4].clone()).unwrap();
        text.replace("\"label\":\"legit\"", "\"label\":\"fraud\"")
            .into_bytes()
    };
    assert_ne!(edited, lines[4], "the edit changes the record");
    let cases: Vec<(&str, Vec<Vec<u8>>, &str)> = vec![
        (
            "edited label",
            [&lines[..4], &[edited], &lines[5..]].concat(),
            ":5: bad record (seq 5): hash mismatch",
        ),
        (
            "inserted record",
            [
                &lines[..2],
                &[stray_record(&hash_of(&lines[1]))],
                &lines[2..],
            ]
            .concat(),
            ":3: bad record (seq 3): seq is 999",
        ),
        (
            "deleted record",
            [&lines[..2], &lines[3..]].concat(),
            ":3: bad record (seq 3): seq is 4",
        ),
        (
            "reordered records",
            [
                &lines[..1],
                &[lines[2].clone(), lines[1].clone()],
                &lines[3..],
            ]
            .concat(),
            ":2: bad record (seq 2): seq is 3",
        ),
    ];
    let bad = dir.path().join("bad.jsonl");
    let out_path = dir.path().join("labels.jsonl");
    for (what, log, expect) in cases {
        std::fs::write(&bad, log.concat()).unwrap();
        let out = export_cli(&bad, Some(&out_path));
        let stderr = common::text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(
            stderr.contains(&format!("{}{expect}", bad.display())),
            "{what}: {stderr}"
        );
        assert!(stderr.contains("nothing exported"), "{what}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(!out_path.exists(), "{what}: a labels file was written");
        let out = export_cli(&bad, None);
        assert_eq!(out.status.code(), Some(1), "{what}");
        assert!(out.stdout.is_empty(), "{what}: labels on stdout");
    }
}

fn verify_expecting(path: &Path, expect: &str) -> (Option<i32>, String, String) {
    let out = common::run(
        common::modelwatch()
            .arg("verify-log")
            .arg(path)
            .arg(format!("--expect={expect}")),
        LIMIT,
    );
    (
        out.status.code(),
        common::text(&out.stdout),
        common::text(&out.stderr),
    )
}

/// What verify-log printed last (`COUNT:HASH`), kept elsewhere, finds
/// records cut off the end later; records added since are fine.
#[test]
fn verify_log_expect_finds_records_cut_off_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    write_log(&path, 5);
    let (code, stdout) = verify_cli(&path);
    assert_eq!(code, Some(0), "{stdout}");
    let kept = stdout.split_whitespace().last().unwrap().to_string();

    let (code, stdout, _) = verify_expecting(&path, &kept);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("ok, 5 records (as expected), last "),
        "{stdout}"
    );

    write_log(&path, 2);
    let (code, stdout, _) = verify_expecting(&path, &kept);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("ok, 7 records (the first 5 as expected, 2 added since), last 7:"),
        "{stdout}"
    );

    // The last three records cut off: still a valid chain on its own.
    let lines = lines_of(&path);
    let cut = dir.path().join("cut.jsonl");
    std::fs::write(&cut, lines[..4].concat()).unwrap();
    assert_eq!(verify_cli(&cut).0, Some(0), "a cut chain is valid alone");
    let (code, stdout, _) = verify_expecting(&cut, &kept);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(
        stdout.trim_end(),
        format!(
            "{}:5: bad record (seq 5): missing: the log ends after 4 records, 5 were expected (records were cut off the end)",
            cut.display()
        )
    );

    // Cut, then written again up to the same count.
    let (mut log, _) = reopen(&cut).unwrap();
    log.append(entry(AuditAction::Approve, "c-new", Some("fraud")))
        .unwrap();
    drop(log);
    let (code, stdout, _) = verify_expecting(&cut, &kept);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.starts_with(&format!(
            "{}:5: bad record (seq 5): hash is not the expected ",
            cut.display()
        )),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1);

    for malformed in ["5", "5:", "x:abc", &kept[..kept.len() - 1], "-1:00", "0:ab"] {
        let (code, stdout, stderr) = verify_expecting(&path, malformed);
        assert_eq!(code, Some(2), "{malformed}: {stdout}{stderr}");
        assert!(stderr.contains("COUNT:HASH"), "{malformed}: {stderr}");
    }
}
