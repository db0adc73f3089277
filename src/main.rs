use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    pgalign::commands::run(pgalign::cli::Cli::parse())
}
