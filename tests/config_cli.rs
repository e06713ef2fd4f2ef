//! Configuration through the real binary: precedence (flags > MODELWATCH_*
//! variables > the config file > defaults, the default file found under
//! XDG_CONFIG_HOME), and every kind of invalid file refused with exit 2 and
//! one line naming the file, the line and what is wrong.

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

/// 3,000 predictions of one model.
fn stream(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("stream.jsonl");
    let lines: String = (0..3000)
        .map(|i| {
            format!(
                "{{\"id\":\"{i}\",\"prediction\":\"a\",\"confidence\":0.{}}}\n",
                50 + i % 50
            )
        })
        .collect();
    std::fs::write(&path, lines).unwrap();
    path
}

fn replay(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = common::modelwatch();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("xdg"))
        .env("MODELWATCH_LOG_FILE", dir.join("log"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.arg("replay")
        .args(args)
        .arg(stream(dir))
        .output()
        .unwrap()
}

/// The window size and baseline the report says were used.
fn sizes(out: &Output) -> (u64, u64) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let model = report["models"]["default"].clone();
    let w = &model["windows"][0];
    (
        w["end_exclusive"].as_u64().unwrap() - w["start"].as_u64().unwrap(),
        model["baseline"]["n"].as_u64().unwrap(),
    )
}

#[test]
fn flags_beat_environment_beats_file_beats_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        sizes(&replay(d, &[], &["--baseline", "1000"])),
        (1000, 1000),
        "defaults"
    );
    // The default file under XDG_CONFIG_HOME is read when it exists.
    std::fs::create_dir_all(d.join("xdg/modelwatch")).unwrap();
    std::fs::write(
        d.join("xdg/modelwatch/config.toml"),
        "window = 300\nbaseline = 600\n",
    )
    .unwrap();
    assert_eq!(sizes(&replay(d, &[], &[])), (300, 600), "file");
    let env = [("MODELWATCH_WINDOW", "400")];
    assert_eq!(
        sizes(&replay(d, &env, &[])),
        (400, 600),
        "environment over file"
    );
    assert_eq!(
        sizes(&replay(d, &env, &["--window", "500"])),
        (500, 600),
        "flag over environment"
    );
    // --config names another file, used instead of the default one.
    std::fs::write(d.join("other.toml"), "window = 250\n").unwrap();
    let other = d.join("other.toml");
    assert_eq!(
        sizes(&replay(
            d,
            &[],
            &["--config", other.to_str().unwrap(), "--baseline", "500"]
        )),
        (250, 500)
    );
}

fn refused(contents: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, contents).unwrap();
    let out = replay(dir.path(), &[], &["--config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{contents:?} should be refused");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("bad.toml:"), "names the file: {err}");
    err
}

#[test]
fn every_kind_of_invalid_file_is_refused_on_one_line() {
    let cases: [(&str, &[&str]); 5] = [
        ("window = 5\n[alerts\nconsecutive = 2\n", &["bad.toml:2:"]),
        (
            "window = 5\n\n[review]\nbellow = 0.5\n",
            &["bad.toml:4:", "bellow"],
        ),
        ("[alerts]\nconsecutive = \"two\"\n", &["bad.toml:2:"]),
        (
            "[review]\ncapacity = 10\nbelow = 1.5\n",
            &["bad.toml:3:", "review.below"],
        ),
        (
            "[[kill_switch.actuator]]\nkind = \"command\"\nargv = [\"stop\", \"--m={model}\"]\n",
            &["bad.toml:3:", "whole argv"],
        ),
    ];
    for (contents, needles) in cases {
        let err = refused(contents);
        for needle in needles {
            assert!(err.contains(needle), "{contents:?}: {needle} in {err}");
        }
    }
}

#[test]
fn a_bad_environment_value_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = replay(
        dir.path(),
        &[("MODELWATCH_ALERTS__CONSECUTIVE", "many")],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("MODELWATCH_ALERTS__CONSECUTIVE") && err.lines().count() == 1,
        "{err}"
    );
}

/// `config --paths` names the audit log every command would use, and why.
#[test]
fn config_paths_names_the_audit_log_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let paths = |args: &[&str]| {
        let out = common::modelwatch()
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("xdg"))
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .args(["config", "--paths"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines()
            .find(|l| l.starts_with("audit log"))
            .unwrap()
            .to_string()
    };
    let default = dir.path().join("state/modelwatch/audit.jsonl");
    assert_eq!(
        paths(&[]),
        format!(
            "audit log  {} (not found) (default; --audit-log or [audit] path change it)",
            default.display()
        )
    );
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[audit]\npath = \"/srv/audit.jsonl\"\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    assert_eq!(
        paths(&["--config", cfg]),
        "audit log  /srv/audit.jsonl (not found) (from [audit] path)"
    );
    assert_eq!(
        paths(&["--config", cfg, "--audit-log", "/x/a.jsonl"]),
        "audit log  /x/a.jsonl (not found) (from --audit-log)"
    );
    assert!(
        !dir.path().join("state").exists(),
        "--paths creates nothing"
    );
}

fn config_check(dir: &Path, contents: &str) -> Output {
    let file = dir.join("check.toml");
    std::fs::write(&file, contents).unwrap();
    common::modelwatch()
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("XDG_CONFIG_HOME", dir.join("xdg"))
        .args(["config", "--check", "--config"])
        .arg(&file)
        .output()
        .unwrap()
}

/// Event data never chooses the program a command actuator runs.
#[test]
fn a_placeholder_in_a_commands_program_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    for program in ["{model}", "/opt/{state}/stop", "{reason}"] {
        let out = config_check(
            dir.path(),
            &format!(
                "[audit]\noperator = \"ci\"\n\n[[kill_switch.actuator]]\nkind = \"command\"\nargv = [\"{program}\", \"--\", \"{{model}}\"]\n"
            ),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{program}: {err}");
        assert!(
            err.contains("check.toml:6: argv: the program (argv[0]) must be fixed text"),
            "{program}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let out = config_check(
        dir.path(),
        "[[kill_switch.actuator]]\nkind = \"command\"\nargv = [\"/bin/stop\", \"--\", \"{model}\"]\n",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The printed default's command example passes `--` before the data, so
/// a model named like an option is not read as one, and it is accepted.
#[test]
fn the_printed_command_example_ends_options_before_the_data() {
    let out = common::modelwatch()
        .args(["config", "--print-default"])
        .output()
        .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = printed.lines().collect();
    // The kill switch's command actuator (alert hooks have one too).
    let actuators = lines
        .iter()
        .position(|l| l.starts_with("# [[kill_switch.actuator]]"))
        .expect("actuator examples");
    let kind = actuators
        + lines[actuators..]
            .iter()
            .position(|l| l.starts_with("# kind = \"command\""))
            .expect("a command example");
    let argv_line = lines[kind..]
        .iter()
        .find_map(|l| l.strip_prefix("# argv = "))
        .expect("its argv");
    let argv_text = &argv_line[..=argv_line.find(']').unwrap()];
    let argv: Vec<String> = serde_json::from_str(argv_text).unwrap();
    let end_of_options = argv.iter().position(|a| a == "--").expect("a --");
    let first_placeholder = argv
        .iter()
        .position(|a| a.starts_with('{'))
        .expect("placeholders");
    assert!(
        end_of_options > 0 && end_of_options < first_placeholder,
        "{argv:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let example = format!("[[kill_switch.actuator]]\nkind = \"command\"\nargv = {argv_text}\n");
    let out = config_check(dir.path(), &example);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{example}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
