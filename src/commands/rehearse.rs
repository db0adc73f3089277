use crate::apply::Event;
use crate::cli::RehearseArgs;
use crate::db::ConnSettings;
use crate::exit::Exit;
use crate::plan;
use crate::util::printable;
use anyhow::{Context, Result};
use std::fmt::Write;

/// `pgalign rehearse`: applies the plan to a scratch copy, measures each
/// statement, and says whether the copy converged (exit 0) or not (exit 2).
pub async fn run(args: RehearseArgs) -> Result<Exit> {
    let settings = ConnSettings::parse(args.db.conninfo()).context("parsing --db")?;
    let text = std::fs::read_to_string(&args.plan)
        .with_context(|| format!("reading plan file {}", args.plan.display()))?;
    let plan_file = plan::parse_plan(&text)
        .map_err(|e| anyhow::anyhow!("plan file {}: {e:#}", args.plan.display()))?;
    let total = plan_file.steps.len();
    eprintln!(
        "pgalign: rehearsing {total} statement(s) of {} on a scratch copy of {settings} …",
        args.plan.display()
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::StatementStarted { step, title, .. } => {
                    eprintln!("[{step}/{total}] {} …", printable(&title))
                }
                Event::StatementFailed { step, error } => {
                    eprintln!("[{step}/{total}] FAILED: {}", printable(&error.to_string()))
                }
                Event::Notice { message, .. } => eprintln!("    server {}", printable(&message)),
                _ => {}
            }
        }
    });
    let result =
        crate::rehearse::run(&settings, &plan_file, args.from_backup.as_deref(), Some(tx)).await;
    let _ = printer.await;
    let r = result?;
    for w in &r.warnings {
        eprintln!("pgalign: warning: restoring the scratch copy: {w}");
    }
    let mut out = format!(
        "rehearsal of {} on {} (scratch database {}, dropped)\n\n",
        args.plan.display(),
        r.source,
        r.scratch
    );
    let width = r
        .steps
        .iter()
        .map(|t| t.title.chars().count())
        .max()
        .unwrap_or(5)
        .clamp(5, 70);
    let _ = writeln!(
        out,
        "{:>4}  {:<width$}  {:>10}  {:>8}",
        "step", "title", "duration", "rows"
    );
    for t in &r.steps {
        let title: String = printable(&t.title).chars().take(width).collect();
        let ms = t.duration.as_secs_f64() * 1000.0;
        let _ = writeln!(
            out,
            "{:>4}  {title:<width$}  {ms:>7.1} ms  {:>8}",
            t.step, t.rows
        );
    }
    if let Some((step, error)) = &r.failed {
        let title = plan_file
            .steps
            .get(step - 1)
            .map(|s| printable(&s.title))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{step:>4}  {title:<width$}  FAILED: {}",
            printable(&error.to_string())
        );
    }
    let _ = writeln!(out, "\ntotal:               {} ms", r.total.as_millis());
    let _ = writeln!(out, "desired fingerprint: {}", r.desired_fingerprint);
    let _ = writeln!(out, "rehearsed result:    {}", r.fingerprint);
    if r.converged {
        out.push_str("converged: the scratch copy matches the desired schema\n");
    } else if r.failed.is_some() {
        out.push_str("NOT converged: a statement failed on the scratch copy\n");
    } else {
        out.push_str("NOT converged: the scratch copy's schema differs from the desired schema\n");
    }
    super::print_stdout(&out)?;
    Ok(if r.converged {
        Exit::Ok
    } else {
        Exit::Differences
    })
}
