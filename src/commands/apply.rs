//! `pgalign apply`: confirm the target, apply the pinned plan (or resume an
//! interrupted run), show progress on stderr, and end with a summary.
//! Ctrl-C (or SIGTERM) cancels the running statement on the server and rolls
//! back its group; a second one quits at once.

use super::exit;
use crate::apply::{self, ApplyOptions, Event, progress};
use crate::cli::ApplyArgs;
use crate::db::ConnSettings;
use crate::plan;
use crate::session::journal::{Entry, Journal};
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub async fn run(args: ApplyArgs) -> Result<u8> {
    let settings = ConnSettings::parse(&args.db.db).context("parsing --db")?;
    let point = match &args.resume {
        Some(j) => Some(apply::resume_point(j)?),
        None => None,
    };
    let Some(plan_path) = args
        .plan
        .clone()
        .or_else(|| point.as_ref().and_then(|p| p.plan_path.clone()))
    else {
        anyhow::bail!("no plan file: pass --plan FILE");
    };
    let text = std::fs::read_to_string(&plan_path)
        .with_context(|| format!("reading plan file {}", plan_path.display()))?;
    let plan_file =
        plan::parse_plan(&text).with_context(|| format!("plan file {}", plan_path.display()))?;
    if let Some(code) = confirm(&args, &settings)? {
        return Ok(code);
    }
    // `[apply]` of pgalign.toml gives the defaults; flags win.
    let file = crate::config::FileConfig::load(args.config.as_deref())?.apply;
    let defaults = ApplyOptions::default();
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let opts = ApplyOptions {
        lock_timeout: args
            .lock_timeout
            .or(file.lock_timeout)
            .unwrap_or(defaults.lock_timeout),
        statement_timeout: args.statement_timeout.or(file.statement_timeout),
        allowed: args.allow_hazards.iter().copied().collect(),
        expect_sha256: args.expect_sha256.clone(),
        lock_retries: args
            .lock_retries
            .or(file.lock_retries)
            .unwrap_or(defaults.lock_retries),
        plan_path: Some(plan_path.clone()),
        cancel: Some(cancel_rx),
        ..ApplyOptions::default()
    };
    apply::check_plan(&plan_file, &opts)?;
    let mut journal = match &args.resume {
        Some(j) => Journal::open(j)?,
        None => {
            let dir = match &args.session_dir {
                Some(d) => d.clone(),
                None => crate::session::new_session_dir(None)?,
            };
            let mut journal = Journal::open(&dir.join("journal.jsonl"))?;
            journal.append(Entry::SessionStarted {
                tool_version: env!("CARGO_PKG_VERSION").into(),
                target: settings.to_string(),
                database: settings.dbname.clone(),
                mode: "apply".into(),
                desired: format!("plan {}", plan_path.display()),
                wizard: None,
            })?;
            journal
        }
    };
    install_cancel(cancel_tx);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let total = plan_file.steps.len();
    let printer = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if let Some(line) = progress::progress_line(&ev, total) {
                eprintln!("{}", crate::util::redact(&line));
            }
        }
    });
    let outcome = match &point {
        Some(point) => {
            eprintln!(
                "resuming the run of journal {} (plan {})",
                point.journal.display(),
                plan_path.display()
            );
            apply::resume(
                &settings,
                point,
                Some(&plan_path),
                &opts,
                Some(tx),
                Some(&mut journal),
            )
            .await
        }
        None => apply::run(&settings, &plan_file, &opts, Some(tx), Some(&mut journal)).await,
    };
    let _ = printer.await;
    let outcome = outcome?;
    eprintln!("journal: {}", journal.path().display());
    if !outcome.ok() {
        let hint = resume_hint(&args, &settings, journal.path());
        let summary = progress::stopped_summary(&outcome, &settings, journal.path(), &hint);
        if outcome.cancelled() {
            eprintln!("pgalign: {summary}");
            return Ok(exit::ABORTED);
        }
        eprintln!("pgalign: error: {summary}");
        return Ok(exit::ERROR);
    }
    let total_ms: u128 = outcome.finished.iter().map(|(_, d, _)| d.as_millis()).sum();
    eprintln!(
        "pgalign: applied {} statement(s) in {} group(s) to {settings} ({} ran now, {total_ms} ms; {} lock-timeout retr{})",
        outcome.committed.len(),
        outcome.committed_groups.len(),
        outcome.finished.len(),
        outcome.retries,
        if outcome.retries == 1 { "y" } else { "ies" }
    );
    Ok(exit::OK)
}

/// `--confirm-target`, or the typed name on a terminal. `Some(code)` refuses.
fn confirm(args: &ApplyArgs, settings: &ConnSettings) -> Result<Option<u8>> {
    match &args.confirm_target {
        Some(name) if name == &settings.dbname => Ok(None),
        Some(name) => {
            eprintln!(
                "pgalign: refused: --confirm-target {name} does not match the target database {}",
                settings.dbname
            );
            Ok(Some(exit::REFUSED))
        }
        None if std::io::stdin().is_terminal() => {
            eprint!("Type the name of the target database ({settings}) to apply: ");
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the confirmation")?;
            if line.trim() != settings.dbname {
                eprintln!(
                    "pgalign: refused: the typed name does not match {}",
                    settings.dbname
                );
                return Ok(Some(exit::REFUSED));
            }
            Ok(None)
        }
        None => {
            eprintln!(
                "pgalign: refused: pass --confirm-target {} to apply without a terminal",
                settings.dbname
            );
            Ok(Some(exit::REFUSED))
        }
    }
}

/// First Ctrl-C or SIGTERM: cancel on the server and roll back the group; the
/// second: quit at once (the server rolls back an open transaction).
fn install_cancel(cancel: tokio::sync::watch::Sender<bool>) {
    tokio::spawn(async move {
        let Some(mut interrupts) = crate::util::Interrupts::new() else {
            return;
        };
        interrupts.wait().await;
        eprintln!(
            "pgalign: interrupted: cancelling the running statement on the server and rolling back its group (press Ctrl-C again to quit at once)"
        );
        let _ = cancel.send(true);
        interrupts.wait().await;
        eprintln!(
            "pgalign: interrupted again: quitting; the server rolls back the open transaction"
        );
        std::process::exit(i32::from(exit::ABORTED));
    });
}

fn resume_hint(args: &ApplyArgs, settings: &ConnSettings, journal: &Path) -> String {
    let journal: PathBuf = std::path::absolute(journal).unwrap_or_else(|_| journal.to_path_buf());
    let db = if args.db.db.is_empty() {
        String::new()
    } else {
        format!("--db {} ", settings.redacted_url())
    };
    format!(
        "pgalign apply {db}--resume {} --confirm-target {}",
        journal.display(),
        settings.dbname
    )
}
