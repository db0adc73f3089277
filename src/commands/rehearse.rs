use crate::apply::Event;
use crate::cli::{RehearseArgs, RehearseFormat};
use crate::db::ConnSettings;
use crate::exit::Exit;
use crate::journal::{Entry, Journal};
use crate::plan;
use crate::rehearse::{Options, Rehearsal, human_duration, measured_line};
use crate::util::printable;
use anyhow::{Context, Result};
use std::fmt::Write;

/// `pgalign rehearse`: applies the plan to a scratch copy, measures each
/// statement, and says whether the copy converged (exit 0) or not (exit 2).
pub async fn run(args: RehearseArgs) -> Result<Exit> {
    let settings = ConnSettings::parse(args.db.conninfo()).context("parsing --db")?;
    let scratch = args
        .scratch
        .as_deref()
        .map(ConnSettings::parse)
        .transpose()
        .context("parsing --scratch")?;
    let bytes = std::fs::read(&args.plan)
        .with_context(|| format!("reading plan file {}", args.plan.display()))?;
    // An external SQL file is linted and pinned as `apply --plan` pins it.
    let external = super::pin::is_external(&bytes);
    let plan_file = if external {
        if args.expect_sha256.is_some() {
            super::pin::check_reviewed(&bytes, &args.plan, args.expect_sha256.as_deref())?;
        }
        let pinned = super::pin::pin(&bytes, &args.plan, &settings).await?;
        eprintln!(
            "pgalign: {}",
            super::pin::describe(&pinned, &args.plan, &settings)
        );
        pinned.plan
    } else {
        let text = String::from_utf8(bytes).map_err(|e| {
            anyhow::anyhow!(
                "reading plan file {}: it is not valid UTF-8 ({e})",
                args.plan.display()
            )
        })?;
        plan::parse_plan(&text)
            .map_err(|e| anyhow::anyhow!("plan file {}: {e:#}", args.plan.display()))?
    };
    // `--desired`: the fingerprint the scratch copy must reach, loaded before
    // any copy is made (a bad source stops here).
    let desired = match &args.desired {
        Some(src) => {
            let opts = plan::PlanOptions {
                scope: plan_file.header.scope.clone(),
                ..Default::default()
            };
            let computed =
                crate::plan::compute::compute(&settings, src, args.shadow.url.as_deref(), &opts)
                    .await?;
            Some(computed.plan.desired_fingerprint)
        }
        None => None,
    };
    let mut journal = match &args.session_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating session directory {}", dir.display()))?;
            Some(Journal::open(&dir.join("journal.jsonl"))?)
        }
        None => None,
    };
    let total = plan_file.steps.len();
    eprintln!(
        "pgalign: rehearsing {total} statement(s) of {} on a scratch copy of {settings}{} …",
        args.plan.display(),
        if args.schema_only {
            " (schema only)"
        } else {
            ""
        }
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
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    super::cancel_on_interrupt(
        cancel_tx,
        "stopping the rehearsal and dropping the scratch database",
        "the scratch database may be left behind",
    );
    let opts = Options {
        from_backup: args.from_backup.clone(),
        scratch,
        schema_only: args.schema_only,
        keep: args.keep,
        cancel: Some(cancel_rx.clone()),
    };
    let result = crate::rehearse::run(&settings, &plan_file, &opts, Some(tx)).await;
    let _ = printer.await;
    let mut r = match result {
        Ok(r) => r,
        Err(e) => {
            if let Some(j) = journal.as_mut() {
                j.append(Entry::Note {
                    text: crate::util::redact(&format!("rehearsal failed: {e:#}")),
                })?;
            }
            if *cancel_rx.borrow() {
                eprintln!(
                    "pgalign: {}",
                    printable(&crate::util::redact(&format!("{e:#}")))
                );
                return Ok(Exit::Aborted);
            }
            return Err(e);
        }
    };
    // Without a desired schema (an external file, no --desired) there is
    // nothing to converge to: say so rather than "NOT converged".
    let checked = match desired {
        Some(fp) => {
            r.converged = r.failed.is_none() && r.fingerprint == fp;
            r.desired_fingerprint = fp;
            true
        }
        None => !external,
    };
    if let Some(j) = journal.as_mut() {
        for e in r.entries() {
            j.append(e)?;
        }
    }
    for w in &r.warnings {
        eprintln!("pgalign: warning: {}", printable(w));
    }
    for (_, f) in r.findings() {
        eprintln!("pgalign: warning: {}", printable(&f.detail));
    }
    let out = match args.format {
        RehearseFormat::Json => json(&args, &r, checked)?,
        RehearseFormat::Text => text_report(&args, &plan_file, &r, checked),
    };
    super::print_stdout(&out)?;
    if !checked {
        return Ok(if r.failed.is_none() {
            Exit::Ok
        } else {
            Exit::Differences
        });
    }
    Ok(if r.converged {
        Exit::Ok
    } else {
        Exit::Differences
    })
}

fn json(args: &RehearseArgs, r: &Rehearsal, checked: bool) -> Result<String> {
    let v = serde_json::json!({
        "plan": args.plan.display().to_string(),
        "source": r.source,
        "scratch": r.scratch,
        "server": r.server,
        "kept": r.kept,
        "schema_only": r.schema_only,
        "converged": checked && r.converged,
        "convergence_checked": checked,
        "desired_fingerprint": checked.then_some(&r.desired_fingerprint),
        "fingerprint": r.fingerprint,
        "total_ms": r.total.as_millis() as u64,
        "statements": r.steps,
        "failed": r.failed.as_ref().map(|(step, e)| serde_json::json!({
            "step": step, "error": e.to_string(),
        })),
        "warnings": r.warnings,
    });
    Ok(format!("{}\n", serde_json::to_string_pretty(&v)?))
}

fn text_report(
    args: &RehearseArgs,
    plan_file: &plan::PlanFile,
    r: &Rehearsal,
    checked: bool,
) -> String {
    let mut out = format!(
        "rehearsal of {} on {} (scratch database {} on {}, {})\n",
        args.plan.display(),
        r.source,
        r.scratch,
        r.server,
        if r.kept { "kept" } else { "dropped" }
    );
    if r.schema_only {
        out.push_str(
            "schema-only copy: the figures are measured on empty tables, not on the real data\n",
        );
    }
    out.push('\n');
    for t in &r.steps {
        let _ = writeln!(
            out,
            "{:>4}  {}\n      {}",
            t.step,
            printable(&t.title),
            measured_line(t)
        );
        for f in &t.findings {
            let _ = writeln!(out, "      warning: {}", printable(&f.detail));
        }
    }
    if let Some((step, error)) = &r.failed {
        let title = plan_file
            .steps
            .get(step - 1)
            .map(|s| printable(&s.title))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{step:>4}  {title}\n      FAILED: {}",
            printable(&error.to_string())
        );
    }
    let _ = writeln!(out, "\ntotal:               {}", human_duration(r.total));
    if checked {
        let _ = writeln!(out, "desired fingerprint: {}", r.desired_fingerprint);
    }
    let _ = writeln!(out, "rehearsed result:    {}", r.fingerprint);
    if !checked && r.failed.is_none() {
        out.push_str("convergence not checked: the plan is an external file with no desired schema; every statement ran on the scratch copy (pass --desired SRC to check convergence)\n");
    } else {
        let _ = writeln!(out, "{}", printable(&r.verdict()));
    }
    out
}
