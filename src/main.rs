use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    match pgalign::cli::Cli::try_parse() {
        Ok(cli) => pgalign::commands::run(cli),
        Err(e) => pgalign::commands::usage(e),
    }
}
