//! One thin module per subcommand: parse what the CLI gave, call the library,
//! print, and return the documented exit code.

pub mod apply;
pub mod backup;
pub mod diff;
pub mod inspect;
pub mod lint;
pub mod pin;
pub mod practice;
pub mod rehearse;
pub mod report;
pub mod restore;
pub mod verify;
pub mod wizard;

use crate::cli::{Cli, Command};
use crate::exit::Exit;
use std::process::ExitCode;

/// What clap says about a command line it did not run: `--help` and
/// `--version` print and exit 0; a usage error (unknown flag, missing or bad
/// value) is printed redacted and escaped and exits 1, never clap's 2, which
/// DESIGN.md §2 reserves for "differences found".
pub fn usage(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::from(Exit::Ok);
    }
    let text = e.render().to_string();
    let lines: Vec<String> = text
        .trim_end()
        .split('\n')
        .map(crate::util::printable)
        .collect();
    eprintln!("{}", lines.join("\n"));
    ExitCode::from(Exit::Error)
}

/// Runs the parsed command line and returns its exit code. Errors are printed
/// to stderr as one sentence with their context chain, redacted and with
/// control characters escaped (see [`crate::util::printable`]): whatever an
/// error carries (a mistyped URL with its password, a hostile name), the line
/// printed holds no secret and cannot move the cursor.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pgalign: error: starting the async runtime: {e}");
            return ExitCode::from(Exit::Error);
        }
    };
    let code = runtime.block_on(async move {
        let command = cli.command.unwrap_or(Command::Wizard(cli.wizard));
        let interactive = matches!(command, Command::Wizard(_) | Command::Practice(_));
        // apply and rehearse handle Ctrl-C themselves (cancel, roll back, drop the scratch copy).
        if !interactive && !matches!(command, Command::Apply(_) | Command::Rehearse(_)) {
            crate::db::cluster::install_signal_cleanup();
        }
        let result = match command {
            Command::Wizard(a) => wizard::run(a).await,
            Command::Practice(a) => practice::run(a).await,
            Command::Inspect(a) => inspect::run(a).await,
            Command::Diff(a) => diff::run(a).await,
            Command::Verify(a) => verify::run(a).await,
            Command::Lint(a) => lint::run(a).await,
            Command::Apply(a) => apply::run(a).await,
            Command::Backup(a) => backup::run(a).await,
            Command::Rehearse(a) => rehearse::run(a).await,
            Command::Pin(a) => pin::run(a).await,
            Command::Report(a) => report::run(a).await,
            Command::Restore(a) => restore::run(a).await,
        };
        match result {
            Ok(code) => code,
            Err(e) => {
                let refused = e.downcast_ref::<crate::apply::Refusal>().is_some()
                    || e.downcast_ref::<crate::plan::file::PlanError>().is_some();
                eprintln!(
                    "pgalign: {}: {}",
                    if refused { "refused" } else { "error" },
                    crate::util::printable(&format!("{e:#}"))
                );
                if refused { Exit::Refused } else { Exit::Error }
            }
        }
    });
    // Throwaway clusters of this process never outlive it.
    crate::db::cluster::cleanup_all();
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    ExitCode::from(code)
}

/// Writes `text` to stdout; a closed pipe (`| head`) ends quietly.
pub fn print_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| anyhow::anyhow!("writing to standard output: {e}")),
    }
}

/// First Ctrl-C or SIGTERM: say what happens (`first`) and send `true` on
/// `cancel`; the second: say what is left (`second`) and quit at once (130).
pub(crate) fn cancel_on_interrupt(
    cancel: tokio::sync::watch::Sender<bool>,
    first: &'static str,
    second: &'static str,
) {
    tokio::spawn(async move {
        let Some(mut interrupts) = crate::util::Interrupts::new() else {
            return;
        };
        interrupts.wait().await;
        eprintln!("pgalign: interrupted: {first} (press Ctrl-C again to quit at once)");
        let _ = cancel.send(true);
        interrupts.wait().await;
        eprintln!("pgalign: interrupted again: quitting; {second}");
        std::process::exit(i32::from(crate::exit::Exit::Aborted.code()));
    });
}
