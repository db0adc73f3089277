use super::exit;
use crate::apply::{self, ApplyOptions, Event};
use crate::cli::ApplyArgs;
use crate::db::ConnSettings;
use crate::plan;
use crate::session::journal::{Entry, Journal};
use anyhow::{Context, Result, bail};
use std::io::IsTerminal;

pub async fn run(args: ApplyArgs) -> Result<u8> {
    let settings = ConnSettings::parse(&args.db.db).context("parsing --db")?;
    if args.resume.is_some() {
        bail!("--resume is not supported yet: inspect the journal with `pgalign report --journal FILE` and re-run `pgalign diff` for what is left");
    }
    let text = std::fs::read_to_string(&args.plan)
        .with_context(|| format!("reading plan file {}", args.plan.display()))?;
    let plan_file = plan::parse_plan(&text).with_context(|| format!("plan file {}", args.plan.display()))?;
    match &args.confirm_target {
        Some(name) if name == &settings.dbname => {}
        Some(name) => {
            eprintln!(
                "pgalign: refused: --confirm-target {name} does not match the target database {}",
                settings.dbname
            );
            return Ok(exit::REFUSED);
        }
        None if std::io::stdin().is_terminal() => {
            eprint!("Type the name of the target database ({settings}) to apply: ");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            if line.trim() != settings.dbname {
                eprintln!("pgalign: refused: the typed name does not match {}", settings.dbname);
                return Ok(exit::REFUSED);
            }
        }
        None => {
            eprintln!(
                "pgalign: refused: pass --confirm-target {} to apply without a terminal",
                settings.dbname
            );
            return Ok(exit::REFUSED);
        }
    }
    let opts = ApplyOptions {
        lock_timeout: args.lock_timeout,
        statement_timeout: args.statement_timeout,
        allowed: args.allow_hazards.iter().copied().collect(),
        expect_sha256: args.expect_sha256.clone(),
    };
    apply::check_plan(&plan_file, &opts)?;
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
        desired: format!("plan {}", args.plan.display()),
    })?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let total = plan_file.steps.len();
    let printer = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::StatementStarted { step, title, .. } => eprintln!("[{step}/{total}] {title} …"),
                Event::StatementFinished { step, duration, .. } => {
                    eprintln!("[{step}/{total}] done in {} ms", duration.as_millis())
                }
                Event::Notice { message, .. } => eprintln!("    server {message}"),
                Event::StatementFailed { step, error } => eprintln!("[{step}/{total}] FAILED: {error}"),
                Event::GroupRolledBack { group } => eprintln!("group {group} rolled back"),
                _ => {}
            }
        }
    });
    let outcome = apply::run(&settings, &plan_file, &opts, Some(tx), Some(&mut journal)).await;
    let _ = printer.await;
    let outcome = outcome?;
    eprintln!("journal: {}", journal.path().display());
    if let Some((step, error)) = &outcome.failed {
        eprintln!(
            "pgalign: error: step {step} failed: {error}\n  committed: {}\n  not applied: {}\n  do not re-run this plan: run `pgalign diff` again to see what is left",
            list(&outcome.committed),
            list(&outcome.not_applied)
        );
        return Ok(exit::ERROR);
    }
    eprintln!("pgalign: applied {} statement(s) to {settings}", outcome.committed.len());
    Ok(exit::OK)
}

fn list(steps: &[usize]) -> String {
    if steps.is_empty() {
        return "none".into();
    }
    steps.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
}
