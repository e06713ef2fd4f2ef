//! Reading the command line into [`Cli`]: flags given before the
//! subcommand's name count as given after it, and a flag the subcommand
//! does not take is one line naming the subcommands that do.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};

use crate::cli::Cli;

impl Cli {
    /// Parses the process's arguments; `--help`, `--version` and usage
    /// errors end the process as clap does (usage errors with exit 2).
    pub fn parse_args() -> Cli {
        Self::try_parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Parses `args` (the program's name first): flags before the
    /// subcommand's name are read as if they came after it, and a flag the
    /// subcommand does not take is an error naming where it applies.
    pub fn try_parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let mut cmd = Cli::command();
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let (args, subcommand) = flags_after_subcommand(&cmd, args);
        let matches = cmd
            .try_get_matches_from_mut(args)
            .map_err(|e| not_taken(&cmd, subcommand.as_deref(), e))?;
        Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
    }
}

/// Moves the flags given before the subcommand's name to just after it,
/// and says which subcommand that is. Without a subcommand (sources given
/// directly, or none) the arguments are left as they are.
fn flags_after_subcommand(
    cmd: &clap::Command,
    args: Vec<OsString>,
) -> (Vec<OsString>, Option<String>) {
    // A flag's value is skipped over (`--window 500`): whichever command
    // defines the flag says whether it takes one.
    let every_arg = || {
        std::iter::once(cmd)
            .chain(cmd.get_subcommands())
            .flat_map(|c| c.get_arguments())
    };
    let takes_value = |arg: Option<&clap::Arg>| arg.is_some_and(|a| a.get_action().takes_values());
    let mut i = 1;
    while let Some(arg) = args.get(i) {
        let text = arg.to_string_lossy();
        if text == "--" || text == "-" {
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let skip_value = !long.contains('=')
                && takes_value(every_arg().find(|a| a.get_long() == Some(long)));
            i += 1 + usize::from(skip_value);
        } else if let Some(shorts) = text.strip_prefix('-') {
            let mut chars = shorts.chars();
            let first = chars.next();
            let value_attached = chars.next().is_some();
            let skip_value =
                !value_attached && takes_value(every_arg().find(|a| a.get_short() == first));
            i += 1 + usize::from(skip_value);
        } else {
            let Some(sub) = cmd.find_subcommand(arg) else {
                break;
            };
            let name = sub.get_name().to_string();
            let mut moved = Vec::with_capacity(args.len());
            moved.push(args[0].clone());
            moved.push(args[i].clone());
            moved.extend_from_slice(&args[1..i]);
            moved.extend_from_slice(&args[i + 1..]);
            return (moved, Some(name));
        }
    }
    (args, None)
}

/// A flag given to a subcommand that does not take it: one line naming
/// the subcommands that do. Any other error is clap's own.
fn not_taken(cmd: &clap::Command, subcommand: Option<&str>, e: clap::Error) -> clap::Error {
    let (Some(sub), ErrorKind::UnknownArgument) = (subcommand, e.kind()) else {
        return e;
    };
    let Some(ContextValue::String(given)) = e.get(ContextKind::InvalidArg) else {
        return e;
    };
    let flag = given.split('=').next().unwrap_or(given);
    let names_it = |a: &clap::Arg| match flag.strip_prefix("--") {
        Some(long) => a.get_long() == Some(long),
        None => flag.strip_prefix('-').is_some_and(|s| {
            let mut c = s.chars();
            c.next() == a.get_short() && c.next().is_none()
        }),
    };
    let defines = |c: &clap::Command| c.get_arguments().any(names_it);
    let takers: Vec<&str> = cmd
        .get_subcommands()
        .filter(|c| defines(c))
        .map(|c| c.get_name())
        .collect();
    if takers.is_empty() {
        return e;
    }
    clap::Error::raw(
        ErrorKind::UnknownArgument,
        format!(
            "{flag} does not apply to `modelwatch {sub}` (it is a flag of {}); see `modelwatch {sub} --help`\n",
            takers.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, DemoArgs};
    use std::path::PathBuf;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_args(std::iter::once("modelwatch").chain(args.iter().copied()))
    }

    #[test]
    fn flags_go_before_or_after_the_subcommand() {
        let window = |cli: Cli| match cli.command {
            Some(Command::Replay(r)) => {
                assert_eq!(r.files, [PathBuf::from("f")]);
                r.stats.window
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            window(parse(&["--window", "7", "replay", "f"]).unwrap()),
            Some(7)
        );
        assert_eq!(
            window(parse(&["replay", "f", "--window", "7"]).unwrap()),
            Some(7)
        );
        assert_eq!(
            window(parse(&["--window=7", "replay", "f"]).unwrap()),
            Some(7)
        );
        let c = parse(&["--no-tui", "a.jsonl", "ws://h/x"]).unwrap();
        assert!(c.command.is_none() && c.watch.session.view.no_tui);
        assert_eq!(c.sources, ["a.jsonl", "ws://h/x"]);
        assert!(matches!(
            parse(&["demo", "--seed", "7"]).unwrap().command,
            Some(Command::Demo(DemoArgs { seed: 7, .. }))
        ));
        let d = parse(&["-H", "X: y", "--no-tui", "watch", "a.jsonl"]).unwrap();
        match d.command {
            Some(Command::Watch(w)) => {
                assert!(w.flags.session.view.no_tui);
                assert_eq!(w.flags.follow.headers, ["X: y"]);
                assert_eq!(w.sources, ["a.jsonl"]);
            }
            other => panic!("{other:?}"),
        }
        let e = parse(&["--window", "7", "a.jsonl", "--no-tui"]).unwrap();
        assert!(e.command.is_none() && e.watch.session.view.no_tui);
        assert_eq!(e.sources, ["a.jsonl"]);
        assert!(parse(&["replay", "f", "--baseline", "x"]).is_err());
        assert!(parse(&["replay", "f", "--window", "0"]).is_err());
    }

    #[test]
    fn a_flag_the_subcommand_does_not_take_is_a_one_line_usage_error() {
        for args in [
            &["--theme", "nord", "replay", "f"][..],
            &["replay", "f", "--theme", "nord"],
            &["replay", "f", "--theme=nord"],
        ] {
            let e = parse(args).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            let text = e.to_string();
            assert_eq!(text.trim_end().lines().count(), 1, "{text}");
            assert!(
                text.contains("--theme does not apply to `modelwatch replay`")
                    && text.contains("watch, agent, demo"),
                "{text}"
            );
        }
        let e = parse(&["verify-log", "f", "-H", "X: y"]).unwrap_err();
        assert!(e.to_string().contains("-H does not apply"), "{e}");
        // --serve and --write take none of the session's flags.
        assert!(parse(&["demo", "--serve", "127.0.0.1:0", "--window", "5"]).is_err());
        assert!(parse(&["demo", "--window", "5"]).is_ok());
    }
}
