use std::process::ExitCode;

use clap::Parser;
use modelwatch::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match modelwatch::commands::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(failure) => {
            eprintln!("modelwatch: {failure}");
            ExitCode::from(2)
        }
    }
}
