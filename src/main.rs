use std::process::ExitCode;

use modelwatch::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    match modelwatch::commands::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(failure) => {
            eprintln!("modelwatch: {failure}");
            ExitCode::from(2)
        }
    }
}
