//! `pgalign apply`: confirm the target, apply the pinned plan (or resume an
//! interrupted run), show progress on stderr, and end with a summary.
//! Ctrl-C (or SIGTERM) cancels the running statement on the server and rolls
//! back its group; a second one quits at once.

use crate::apply::{self, ApplyOptions, Event, progress};
use crate::cli::ApplyArgs;
use crate::db::ConnSettings;
use crate::exit::Exit;
use crate::journal::{Entry, Journal};
use crate::plan;
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub async fn run(mut args: ApplyArgs) -> Result<Exit> {
    check_timeouts(&args)?;
    let settings = ConnSettings::parse(args.db.conninfo()).context("parsing --db")?;
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
    let bytes = std::fs::read(&plan_path)
        .with_context(|| format!("reading plan file {}", plan_path.display()))?;
    // A file without a pgalign header (an external SQL file) is pinned first,
    // and the pinned plan is what the gate checks and what runs.
    let mut pinned_note = None;
    let (plan_path, text) = if args.resume.is_none() && super::pin::is_external(&bytes) {
        match pin_external(&mut args, &settings, &plan_path, &bytes).await {
            Ok((path, text, note)) => {
                pinned_note = Some(note);
                (path, text)
            }
            Err(e) => return Err(journal_refusal(&args, &settings, &plan_path, None, e)),
        }
    } else {
        let text = String::from_utf8(bytes).map_err(|e| {
            anyhow::anyhow!(
                "reading plan file {}: it is not valid UTF-8 ({e})",
                plan_path.display()
            )
        })?;
        (plan_path, text)
    };
    let plan_file = match plan::parse_plan(&text) {
        Ok(p) => p,
        Err(e) => {
            let e = e.context(format!("plan file {}", plan_path.display()));
            return Err(journal_refusal(&args, &settings, &plan_path, None, e));
        }
    };
    if let Err(why) = confirm(&args, &settings) {
        let e = anyhow::Error::msg(why);
        let e = journal_refusal(&args, &settings, &plan_path, None, e);
        eprintln!("pgalign: refused: {e}");
        return Ok(Exit::Refused);
    }
    // `[apply]` of pgalign.toml gives the defaults; flags win.
    let file = crate::config::FileConfig::load(args.config.as_deref())?.apply;
    check_timeout_values(file.lock_timeout, file.statement_timeout)
        .context("[apply] of the configuration file")?;
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
    if let Err(r) = apply::check_plan(&plan_file, &opts) {
        return Err(journal_refusal(
            &args,
            &settings,
            &plan_path,
            None,
            r.into(),
        ));
    }
    let mut journal = match &args.resume {
        Some(j) => Journal::open(j)?,
        None => {
            let dir = match &args.session_dir {
                Some(d) => d.clone(),
                None => crate::session::new_session_dir(None)?,
            };
            let mut journal = Journal::open(&dir.join("journal.jsonl"))?;
            journal.append(session_started(&settings, &plan_path))?;
            if let Some(text) = pinned_note.take() {
                journal.append(Entry::Note { text })?;
            }
            journal
        }
    };
    super::cancel_on_interrupt(
        cancel_tx,
        "cancelling the running statement on the server and rolling back its group",
        "the server rolls back the open transaction",
    );
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
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            return Err(journal_refusal(
                &args,
                &settings,
                &plan_path,
                Some(&mut journal),
                e,
            ));
        }
    };
    eprintln!("journal: {}", journal.path().display());
    if !outcome.ok() {
        let hint = resume_hint(&args, &settings, journal.path());
        let summary = progress::stopped_summary(&outcome, &settings, journal.path(), &hint);
        if outcome.cancelled() {
            eprintln!("pgalign: {summary}");
            return Ok(Exit::Aborted);
        }
        eprintln!("pgalign: error: {summary}");
        eprintln!(
            "pgalign: to roll back instead, restore the backup taken before the apply (`pgalign backup`'s .dump file) into a new database:"
        );
        let into = crate::backup::restore::default_into(&settings);
        for c in crate::backup::restore::commands(&settings, Path::new("BACKUP.dump"), &into) {
            eprintln!("  {}", crate::util::printable(&c));
        }
        return Ok(Exit::Error);
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
    Ok(Exit::Ok)
}

/// Checks an external file against `--expect-sha256`, lints and pins it into
/// the session folder (`--session-dir`, else a new one), and points `args` at
/// the pinned plan: the reviewed hash becomes the pinned body's, so a resumed
/// run is gated on the same plan. Returns the pinned plan's path and text, and
/// the journal note that says where it came from.
async fn pin_external(
    args: &mut ApplyArgs,
    settings: &ConnSettings,
    path: &Path,
    bytes: &[u8],
) -> Result<(PathBuf, String, String)> {
    super::pin::check_reviewed(bytes, path, args.expect_sha256.as_deref())?;
    let pinned = super::pin::pin(bytes, path, settings).await?;
    let dir = match &args.session_dir {
        Some(d) => d.clone(),
        None => crate::session::new_session_dir(None)?,
    };
    crate::util::fs::private_dir(&dir)
        .with_context(|| format!("creating session folder {}", dir.display()))?;
    let pinned_path = super::pin::session_path(&dir, &pinned.file_sha256);
    super::pin::write(&pinned, &pinned_path)?;
    let described = super::pin::describe(&pinned, path, settings);
    eprintln!(
        "pgalign: {described}; pinned as {}",
        crate::util::printable(&pinned_path.display().to_string())
    );
    let note = format!(
        "{described}; matches --expect-sha256; pinned as {} (body SHA-256 {})",
        pinned_path.display(),
        pinned.plan.actual_sha256
    );
    args.session_dir = Some(dir);
    args.plan = Some(pinned_path.clone());
    args.expect_sha256 = Some(pinned.plan.actual_sha256.clone());
    Ok((pinned_path, pinned.text, note))
}

/// `--lock-timeout 0` would be PostgreSQL's "wait forever", the opposite of
/// what a lock timeout is for; below a millisecond it rounds to 0.
fn check_timeouts(args: &ApplyArgs) -> Result<()> {
    check_timeout_values(args.lock_timeout, args.statement_timeout)
}

/// [`check_timeouts`] for values from the flags or from `[apply]` of pgalign.toml.
fn check_timeout_values(
    lock_timeout: Option<std::time::Duration>,
    statement_timeout: Option<std::time::Duration>,
) -> Result<()> {
    if let Some(lock_timeout) = lock_timeout
        && lock_timeout < std::time::Duration::from_millis(1)
    {
        anyhow::bail!(
            "--lock-timeout {} ms would let every statement wait for its lock forever (0 means no timeout to PostgreSQL); give at least 1ms, e.g. --lock-timeout 5s",
            lock_timeout.as_millis()
        );
    }
    if let Some(d) = statement_timeout
        && d < std::time::Duration::from_millis(1)
    {
        anyhow::bail!(
            "--statement-timeout below 1 ms would mean no statement timeout to PostgreSQL; leave the flag out for none, or give at least 1ms"
        );
    }
    Ok(())
}

fn session_started(settings: &ConnSettings, plan_path: &Path) -> Entry {
    Entry::SessionStarted {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        target: settings.to_string(),
        database: settings.dbname.clone(),
        mode: crate::journal::Mode::Apply,
        desired: format!("plan {}", plan_path.display()),
        wizard: None,
    }
}

/// Records a refusal (exit 3) in the journal of the run: `journal` when it is
/// open, else the `--resume` journal or the `--session-dir` one (a run with
/// neither has no journal yet, and none is made for a refusal). Other errors
/// pass through untouched. A journal that cannot be written is said, not fatal.
fn journal_refusal(
    args: &ApplyArgs,
    settings: &ConnSettings,
    plan_path: &Path,
    journal: Option<&mut Journal>,
    e: anyhow::Error,
) -> anyhow::Error {
    let refused = e.downcast_ref::<apply::Refusal>().is_some()
        || e.downcast_ref::<plan::file::PlanError>().is_some()
        || e.downcast_ref::<ConfirmRefusal>().is_some();
    if !refused {
        return e;
    }
    let note = Entry::Note {
        text: format!("apply refused (exit 3), nothing was applied: {e:#}"),
    };
    let written = match journal {
        Some(j) => j.append(note).map(|_| Some(j.path().to_path_buf())),
        None => {
            let path = match (&args.resume, &args.session_dir) {
                (Some(j), _) => Some(j.clone()),
                (None, Some(d)) => Some(d.join("journal.jsonl")),
                (None, None) => None,
            };
            match path {
                None => Ok(None),
                Some(path) => Journal::open(&path).and_then(|mut j| {
                    if args.resume.is_none() {
                        j.append(session_started(settings, plan_path))?;
                    }
                    j.append(note)?;
                    Ok(Some(path))
                }),
            }
        }
    };
    if let Err(w) = written {
        eprintln!("pgalign: warning: the refusal could not be journaled: {w:#}");
    }
    e
}

/// A typed or given target name that does not match (exit 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ConfirmRefusal(String);

/// `--confirm-target`, or the typed name on a terminal; `Err` says why not.
fn confirm(args: &ApplyArgs, settings: &ConnSettings) -> Result<(), ConfirmRefusal> {
    let refuse = |why: String| Err(ConfirmRefusal(why));
    match &args.confirm_target {
        Some(name) if name == &settings.dbname => Ok(()),
        Some(name) => refuse(format!(
            "--confirm-target {name} does not match the target database {}",
            settings.dbname
        )),
        None if std::io::stdin().is_terminal() => {
            eprint!("Type the name of the target database ({settings}) to apply: ");
            let mut line = String::new();
            if let Err(e) = std::io::stdin().read_line(&mut line) {
                return refuse(format!("reading the confirmation: {e}"));
            }
            if line.trim() != settings.dbname {
                return refuse(format!("the typed name does not match {}", settings.dbname));
            }
            Ok(())
        }
        None => refuse(format!(
            "pass --confirm-target {} to apply without a terminal",
            settings.dbname
        )),
    }
}

/// The command that continues this run, with the gate flags it was given
/// (`--allow-hazards`, `--expect-sha256`) and its timeouts: the resumed run is
/// gated again, and without them it would be refused or run differently.
fn resume_hint(args: &ApplyArgs, settings: &ConnSettings, journal: &Path) -> String {
    let journal: PathBuf = std::path::absolute(journal).unwrap_or_else(|_| journal.to_path_buf());
    let word = |s: &str| progress::shell_word(s);
    let mut out = String::from("pgalign apply ");
    if !args.db.conninfo().is_empty() {
        out.push_str(&format!("--db {} ", word(&settings.redacted_url())));
    }
    out.push_str(&format!(
        "--resume {} --confirm-target {}",
        word(&journal.display().to_string()),
        word(&settings.dbname)
    ));
    if !args.allow_hazards.is_empty() {
        let ids: Vec<&str> = args.allow_hazards.iter().map(|h| h.as_str()).collect();
        out.push_str(&format!(" --allow-hazards {}", ids.join(",")));
    }
    if let Some(sha) = &args.expect_sha256 {
        out.push_str(&format!(" --expect-sha256 {}", word(sha)));
    }
    if let Some(d) = args.lock_timeout {
        out.push_str(&format!(" --lock-timeout {}ms", d.as_millis()));
    }
    if let Some(d) = args.statement_timeout {
        out.push_str(&format!(" --statement-timeout {}ms", d.as_millis()));
    }
    if let Some(n) = args.lock_retries {
        out.push_str(&format!(" --lock-retries {n}"));
    }
    out
}
