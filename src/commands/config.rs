//! `modelwatch config`: the commented default file, the paths in use, and
//! a check of the layered configuration.

use crate::cli::ConfigArgs;
use crate::config::DEFAULT_CONFIG;
use crate::config::layers::{default_config_path, load};

use super::{Failure, Outcome, write_stdout};
use crate::record::sanitize::escape_untrusted;

pub fn run(args: &ConfigArgs) -> Result<Outcome, Failure> {
    let mut out = String::new();
    let config_flag = args.config.file.as_deref();
    if args.action.print_default {
        out.push_str(DEFAULT_CONFIG);
    } else if args.action.paths {
        let show = |p: Option<std::path::PathBuf>| match p {
            Some(p) if p.exists() => format!("{} (exists)", p.display()),
            Some(p) => format!("{} (not found)", p.display()),
            None => "(no home directory)".into(),
        };
        let config = config_flag.map(Into::into).or_else(default_config_path);
        // An unreadable config still shows the paths, with the default log.
        let loaded = load(config_flag, std::env::vars())
            .map(|l| l.config)
            .unwrap_or_default();
        let (audit, from) = super::paths::audit_path(&loaded, &args.audit_log);
        out.push_str(&format!("config     {}\n", show(config)));
        out.push_str(&format!(
            "log        {}\n",
            show(super::logging::log_path())
        ));
        out.push_str(&format!(
            "audit log  {} ({})\n",
            show(Some(audit)),
            from.describe()
        ));
    } else {
        let loaded = load(config_flag, std::env::vars()).map_err(|e| Failure(e.to_string()))?;
        match &loaded.file {
            Some(p) => out.push_str(&format!("config file {} is valid\n", p.display())),
            None => out.push_str("no config file: defaults\n"),
        }
        for name in &loaded.env_keys {
            out.push_str(&format!("environment {name} applied\n"));
        }
    }
    if !args.action.print_default {
        // Paths and variable names are shown as the dashboard shows data.
        out = out.lines().map(|l| escape_untrusted(l) + "\n").collect();
    }
    write_stdout(out.as_bytes())?;
    Ok(Outcome::Ok)
}

/// `modelwatch completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> Result<Outcome, Failure> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(
        shell,
        &mut crate::cli::Cli::command(),
        "modelwatch",
        &mut out,
    );
    write_stdout(&out)?;
    Ok(Outcome::Ok)
}
