//! Each subcommand's `--help` lists the flags it takes and no other; a
//! flag it does not take is a one-line usage error, before or after its
//! name; and every man page the main page names can be produced.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{modelwatch, run, text};

const LIMIT: Duration = Duration::from_secs(20);

/// The engine's flags: baseline, windows, review thresholds.
const STATS: &[&str] = &[
    "--baseline",
    "--baseline-file",
    "--window",
    "--review-below",
    "--review-margin",
];
/// The kill switch's and the audit log's.
const DESK: &[&str] = &["--ca-file", "--audit-log", "--kill-file", "--read-only"];
/// The dashboard's, or the JSON lines' instead.
const VIEW: &[&str] = &[
    "--no-tui",
    "--status-every",
    "--fps",
    "--theme",
    "--metrics-addr",
];
/// Reading files, websockets and NATS subjects.
const SOURCES: &[&str] = &[
    "--max-line-bytes",
    "--from-start",
    "--since",
    "--poll",
    "--header",
];
/// Checkpoints and the report at exit.
const STATE: &[&str] = &["--state-dir", "--checkpoint-every", "--report"];
/// Team mode.
const TEAM: &[&str] = &["--team", "--nats", "--nats-creds"];

/// The shared flags each subcommand takes (its own flags aside).
fn takes(subcommand: &str) -> Vec<&'static str> {
    let config: &[&str] = &["--config"];
    match subcommand {
        "watch" | "agent" => [config, STATS, DESK, VIEW, TEAM, SOURCES, STATE].concat(),
        "demo" => [config, STATS, DESK, VIEW, TEAM].concat(),
        "replay" => [config, STATS, &["--max-line-bytes"]].concat(),
        "baseline" => vec!["--config", "--baseline", "--max-line-bytes"],
        "trip" | "reset" => [config, DESK, TEAM].concat(),
        "config" => vec!["--config", "--audit-log"],
        "verify-log" | "export-labels" | "completions" | "man" => vec![],
        other => panic!("{other}: say which shared flags it takes"),
    }
}

fn output(args: &[&str]) -> (i32, String, String) {
    let out = run(modelwatch().args(args), LIMIT);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// The long flags a help text lists as options (not those its examples
/// mention).
fn listed_flags(help: &str) -> BTreeSet<String> {
    help.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("-H, ").unwrap_or(l);
            let l = l.strip_prefix("-h, ").unwrap_or(l);
            let l = l.strip_prefix("-V, ").unwrap_or(l);
            let l = l.strip_prefix("-o, ").unwrap_or(l);
            let flag = l.split_whitespace().next()?;
            flag.starts_with("--").then(|| flag.to_string())
        })
        .collect()
}

fn subcommands() -> Vec<String> {
    let (code, help, _) = output(&["--help"]);
    assert_eq!(code, 0);
    let list: Vec<String> = help
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|name| name != "help")
        .collect();
    assert!(list.len() >= 10, "{help}");
    list
}

#[test]
fn each_subcommand_lists_the_flags_it_takes_and_no_other() {
    let shared: BTreeSet<&str> = takes("watch").into_iter().collect();
    for sub in subcommands() {
        let (code, help, _) = output(&[&sub, "--help"]);
        assert_eq!(code, 0, "{sub} --help");
        let listed = listed_flags(&help);
        let wanted = takes(&sub);
        for flag in &wanted {
            assert!(listed.contains(*flag), "{sub} --help lacks {flag}:\n{help}");
        }
        for flag in shared.iter().filter(|f| !wanted.contains(f)) {
            assert!(
                !listed.contains(*flag),
                "{sub} --help lists {flag}:\n{help}"
            );
        }
    }
}

#[test]
fn a_flag_given_where_it_does_not_apply_is_a_one_line_usage_error() {
    for args in [
        &["replay", "f.jsonl", "--theme", "nord"][..],
        &["--theme", "nord", "replay", "f.jsonl"],
        &["verify-log", "audit.jsonl", "--theme=nord"],
        &["--from-start", "demo"],
        &["--state-dir", "/tmp/x", "demo"],
        &["replay", "f.jsonl", "--nats", "nats://127.0.0.1:4222"],
    ] {
        let (code, stdout, stderr) = output(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        let flag = args.iter().find(|a| a.starts_with("--")).unwrap();
        let flag = flag.split('=').next().unwrap();
        assert!(
            stderr.contains(&format!("{flag} does not apply to")),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_flag_before_the_subcommand_counts_as_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.jsonl");
    let lines: String = (0..7)
        .map(|i| {
            format!(
                "{{\"id\":\"{i}\",\"model\":\"m\",\"prediction\":\"a\",\"confidence\":0.{}}}\n",
                5 + i
            )
        })
        .collect();
    std::fs::write(&file, lines).unwrap();
    let path = file.to_str().unwrap();
    let report = |args: &[&str]| {
        let (code, stdout, stderr) = output(args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        v["models"]["m"]["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["n"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let before = report(&["--baseline", "2", "--window=2", "replay", path]);
    let after = report(&["replay", path, "--baseline", "2", "--window", "2"]);
    assert_eq!(before, [2, 2, 1]);
    assert_eq!(before, after);
}

#[test]
fn every_page_the_main_man_page_names_can_be_produced() {
    let (code, main_page, stderr) = output(&["man"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(main_page.contains(".TH modelwatch 1"), "{main_page}");
    // clap_mangen names them `modelwatch\-NAME(1)`, with `\-` for dashes.
    let named: Vec<String> = main_page
        .split("modelwatch\\-")
        .skip(1)
        .filter_map(|rest| rest.split_once("(1)"))
        .map(|(name, _)| name.replace("\\-", "-"))
        .collect();
    assert_eq!(named, subcommands(), "{main_page}");
    for name in &named {
        let (code, page, stderr) = output(&["man", name]);
        assert_eq!(code, 0, "man {name}: {stderr}");
        assert!(
            page.contains(&format!(".TH modelwatch-{name} 1")),
            "man {name}: {page}"
        );
        let synopsis = format!("\\fBmodelwatch {}", name.replace('-', "\\-"));
        assert!(page.contains(&synopsis), "man {name}'s synopsis: {page}");
    }
    // --dir writes them all, under the names the main page gives.
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = output(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut wanted: Vec<String> = named.iter().map(|n| format!("modelwatch-{n}.1")).collect();
    wanted.push("modelwatch.1".into());
    wanted.sort();
    assert_eq!(files, wanted);
    let (code, _, stderr) = output(&["man", "no-such-page"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn since_without_a_nats_source_is_a_usage_error() {
    let (code, _, stderr) = output(&["watch", "--no-tui", "--since", "7d", "f.jsonl"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--since applies to nats://"), "{stderr}");
    let (code, _, stderr) = output(&["watch", "--since", "0s", "nats://127.0.0.1:1/x"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = output(&["watch", "--since", "1h", "--from-start", "nats://h:1/x"]);
    assert_eq!(code, 2, "{stderr}");
}
