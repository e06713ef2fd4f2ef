//! `modelwatch man`: the man pages, modelwatch(1) and one per subcommand
//! (modelwatch-replay(1), ...), as the main page's SUBCOMMANDS section
//! names them.

use std::path::Path;

use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};

use super::{Failure, Outcome, write_stdout};

pub fn run(args: &ManArgs) -> Result<Outcome, Failure> {
    if let Some(dir) = &args.dir {
        return write_all(dir);
    }
    let page = render(args.subcommand.as_deref())?;
    write_stdout(&page)?;
    Ok(Outcome::Ok)
}

/// The command the pages describe, built so that each subcommand knows
/// its full name (`modelwatch-replay`), without clap's `help` subcommand
/// (it has no page).
fn built() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// A page, its footer naming modelwatch and its version (a subcommand's
/// would name the subcommand alone).
fn man(page: clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(page).source(format!("modelwatch {}", env!("CARGO_PKG_VERSION")))
}

/// The roff of modelwatch(1), or of `subcommand`'s page.
pub fn render(subcommand: Option<&str>) -> Result<Vec<u8>, Failure> {
    let cmd = built();
    let page = match subcommand {
        None => cmd,
        Some(name) => cmd
            .find_subcommand(name)
            .cloned()
            .ok_or_else(|| Failure(format!("man: no subcommand {name:?}")))?,
    };
    let mut out = Vec::new();
    man(page)
        .render(&mut out)
        .map_err(|e| Failure(format!("cannot render the man page: {e}")))?;
    Ok(out)
}

/// Writes modelwatch.1 and modelwatch-SUBCOMMAND.1 for each subcommand
/// into `dir`, and names each file written.
fn write_all(dir: &Path) -> Result<Outcome, Failure> {
    let cmd = built();
    let pages = std::iter::once(cmd.clone()).chain(cmd.get_subcommands().cloned());
    for page in pages.filter(|p| !p.is_hide_set()) {
        let written = man(page)
            .generate_to(dir)
            .map_err(|e| Failure(format!("{}: {e}", dir.display())))?;
        super::print_untrusted_line(&written.display().to_string())?;
    }
    Ok(Outcome::Ok)
}
