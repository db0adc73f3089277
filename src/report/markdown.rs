//! The Markdown alignment report. Every section is always present: where the
//! journal holds no evidence, the section says so in words.

use super::facts::{Facts, Outcome, StatementOutcome};
use crate::util::human_bytes;
use std::fmt::Write;

pub fn render(f: &Facts) -> String {
    let mut o = String::new();
    let glyph = match f.outcome {
        Outcome::Aligned => "✔",
        Outcome::NotAligned => "✘",
        Outcome::AppliedNotVerified => "✔",
        Outcome::Incomplete => "…",
    };
    let db = f
        .session
        .as_ref()
        .map(|s| s.database.as_str())
        .unwrap_or("unknown database");
    let _ = writeln!(
        o,
        "# Alignment report: {db} — {glyph} {}\n",
        f.outcome.label()
    );
    let _ = writeln!(o, "{}\n", outcome_sentence(f));

    o.push_str("## When\n\n");
    line(
        &mut o,
        "Started",
        f.started_at.as_deref().unwrap_or("no entry was recorded"),
    );
    line(
        &mut o,
        "Ended",
        f.ended_at.as_deref().unwrap_or("no entry was recorded"),
    );
    match f.duration_ms {
        Some(ms) => line(&mut o, "Duration", &duration(ms.max(0) as u64)),
        None => line(&mut o, "Duration", "unknown"),
    }
    if let Some(outcome) = &f.session_outcome {
        line(&mut o, "Session ended", outcome);
    } else {
        line(&mut o, "Session ended", "no end of session was recorded");
    }

    o.push_str("\n## Who\n\n");
    line(
        &mut o,
        "Operator",
        f.operator.as_deref().unwrap_or("no operator was recorded"),
    );
    line(
        &mut o,
        "Reviewer",
        f.reviewer
            .as_deref()
            .unwrap_or("no reviewer sign-off was recorded"),
    );

    o.push_str("\n## Target\n\n");
    match &f.session {
        Some(s) => {
            line(&mut o, "Database", &code(&s.target));
            line(&mut o, "Mode", s.mode.as_str());
            line(&mut o, "pgalign", &s.tool_version);
        }
        None => o.push_str("No session start was recorded: the target is unknown.\n"),
    }
    match &f.preflight {
        Some(p) => {
            line(&mut o, "Server", &p.server_version);
            line(
                &mut o,
                "Size",
                &format!("{} in {} table(s)", human_bytes(p.database_bytes), p.tables),
            );
        }
        None => o.push_str("- No preflight was recorded (server version and size unknown).\n"),
    }

    o.push_str("\n## Desired schema\n\n");
    match &f.session {
        Some(s) => line(&mut o, "Source", &s.desired),
        None => o.push_str("- No desired source was recorded.\n"),
    }
    match &f.git {
        Some(g) => {
            line(&mut o, "Repository", &code(&g.path));
            line(
                &mut o,
                "Branch",
                g.branch.as_deref().unwrap_or("detached or unknown"),
            );
            line(
                &mut o,
                "Commit",
                &g.commit
                    .as_deref()
                    .map(code)
                    .unwrap_or_else(|| "unknown".into()),
            );
            let tree = if g.clean {
                "✔ clean"
            } else {
                "✘ uncommitted changes"
            };
            line(&mut o, "Working tree", tree);
        }
        None => o.push_str("- No git state was recorded.\n"),
    }

    o.push_str("\n## Preflight\n\n");
    match &f.preflight {
        Some(p) if !p.checks.is_empty() => checks(&mut o, &p.checks),
        Some(_) => o.push_str("The preflight recorded no checks.\n"),
        None => o.push_str("No preflight was recorded.\n"),
    }

    o.push_str("\n## Maintenance checklist\n\n");
    match &f.checklist {
        Some(c) => {
            let _ = writeln!(o, "Confirmed by {}.\n", c.operator);
            checks(&mut o, &c.items);
        }
        None => o.push_str("No maintenance checklist was confirmed.\n"),
    }

    o.push_str("\n## Backup\n\n");
    match &f.backup {
        Some(b) if !b.path.is_empty() => {
            line(&mut o, "File", &code(&b.path));
            line(
                &mut o,
                "Size",
                &format!("{} ({} bytes)", human_bytes(b.bytes as i64), b.bytes),
            );
            line(&mut o, "SHA-256", &code(&b.sha256));
            line(
                &mut o,
                "Entries",
                &format!("{} (read back with pg_restore --list)", b.entries),
            );
            match &b.schema_path {
                Some(p) => line(&mut o, "Schema dump", &code(p)),
                None => o.push_str("- No schema-only dump was recorded.\n"),
            }
            if let (Some(bytes), Some(sha)) = (b.schema_bytes, &b.schema_sha256) {
                line(
                    &mut o,
                    "Schema dump size",
                    &format!("{} ({bytes} bytes)", human_bytes(bytes as i64)),
                );
                line(&mut o, "Schema dump SHA-256", &code(sha));
            }
            if let Some(v) = &b.pg_dump_version {
                line(&mut o, "Written by", v);
            }
            // Rollback is restore-first: the exact commands, pgalign's and plain.
            let target = f.session.as_ref().map_or("", |s| s.target.as_str());
            o.push_str("\nRollback: restore this backup into a new database with\n\n```sh\n");
            for c in crate::backup::restore::report_commands(target, &b.path) {
                o.push_str(&one_line(&c).replace('`', "'"));
                o.push('\n');
            }
            o.push_str("```\n");
        }
        _ => o.push_str("✘ No backup was recorded.\n"),
    }

    o.push_str("\n## Rehearsal\n\n");
    match &f.rehearsal {
        Some(r) => {
            let verdict = if r.converged {
                "✔ converged"
            } else {
                "✘ did not converge"
            };
            line(&mut o, "Result", verdict);
            line(&mut o, "Scratch copy", &r.source);
            line(&mut o, "Plan SHA-256", &code(&r.plan_sha256));
            line(
                &mut o,
                "Statements",
                &format!("{} in {}", r.statements, duration(r.total_ms)),
            );
            if let Some(step) = r.failed_step {
                line(&mut o, "Failed step", &step.to_string());
            }
        }
        None => o.push_str("No rehearsal was recorded.\n"),
    }

    o.push_str("\n## Plan\n\n");
    match &f.plan {
        Some(p) => {
            line(&mut o, "File", &code(&p.path));
            line(&mut o, "SHA-256", &code(&p.sha256));
            line(&mut o, "Live fingerprint", &code(&p.live_fingerprint));
            line(&mut o, "Desired fingerprint", &code(&p.desired_fingerprint));
            line(&mut o, "Statements", &p.statements.to_string());
            let s = &p.summary;
            let counts = format!(
                "blocker {}, danger {}, warning {}, info {}",
                s.blocker, s.danger, s.warning, s.info
            );
            line(&mut o, "Hazards", &counts);
            if !p.figures.is_empty() {
                o.push_str("- **Figures behind the hazards** (measured when the plan was made):\n");
                for fig in &p.figures {
                    o.push_str(&format!("  - {}\n", one_line(fig)));
                }
            }
        }
        None => o.push_str("No plan was recorded.\n"),
    }

    o.push_str("\n## Sign-off\n\n");
    match &f.sign_off {
        Some(s) => {
            line(&mut o, "Reviewer", &s.reviewer);
            line(&mut o, "Bound to plan SHA-256", &code(&s.plan_sha256));
            match s.matches_plan {
                Some(true) => o.push_str("- ✔ The signed plan is the generated plan.\n"),
                Some(false) => {
                    o.push_str("- ✘ The signed SHA-256 differs from the generated plan's.\n")
                }
                None => {}
            }
            match s.matches_applied {
                Some(true) => o.push_str("- ✔ The applied plan is the signed plan.\n"),
                Some(false) => o.push_str("- ✘ The applied plan is NOT the signed plan.\n"),
                None => {}
            }
            let acks: Vec<&str> = s.acknowledged.iter().map(|h| h.as_str()).collect();
            let acks = if acks.is_empty() {
                "none".to_string()
            } else {
                acks.join(", ")
            };
            line(&mut o, "Acknowledged hazards", &acks);
            if !f.acknowledgements.is_empty() {
                o.push_str("- DANGER statements acknowledged one by one:\n");
                for a in &f.acknowledgements {
                    let ids: Vec<&str> = a.hazards.iter().map(|h| h.as_str()).collect();
                    o.push_str(&format!(
                        "  - {} statement {} ({}){}: {}\n",
                        a.at,
                        a.step,
                        one_line(&a.title),
                        if ids.is_empty() {
                            String::new()
                        } else {
                            format!(" [{}]", ids.join(", "))
                        },
                        code(&one_line(&a.statement))
                    ));
                }
            }
        }
        None => o.push_str("✘ No reviewer sign-off was recorded.\n"),
    }

    statements(&mut o, f);

    o.push_str("\n## Errors\n\n");
    let errors: Vec<_> = f
        .statements
        .iter()
        .filter_map(|s| s.error.as_ref().map(|e| (s, e)))
        .collect();
    if errors.is_empty() {
        o.push_str("No statement failed.\n");
    }
    for (s, e) in errors {
        let _ = writeln!(
            o,
            "### Step {}: {}\n",
            s.step,
            s.title.as_deref().unwrap_or("(title not recorded)")
        );
        line(
            &mut o,
            "SQLSTATE",
            e.sqlstate.as_deref().unwrap_or("none (client-side error)"),
        );
        line(&mut o, "Message", &e.message);
        if let Some(d) = &e.detail {
            line(&mut o, "Detail", d);
        }
        if let Some(h) = &e.hint {
            line(&mut o, "Hint", h);
        }
        if let Some(l) = e.plan_line {
            line(&mut o, "Plan line", &l.to_string());
        }
        o.push('\n');
    }

    o.push_str("\n## Verification\n\n");
    match &f.verification {
        Some(v) => {
            let verdict = if v.in_sync {
                "✔ in sync: no differences remain"
            } else {
                "✘ differences remain"
            };
            line(&mut o, "Result", verdict);
            line(&mut o, "Fingerprint", &code(&v.fingerprint));
            match v.matches_desired {
                Some(true) => o.push_str("- ✔ It equals the plan's desired fingerprint.\n"),
                Some(false) => o.push_str("- ✘ It differs from the plan's desired fingerprint.\n"),
                None => {}
            }
            for r in &v.remaining {
                let _ = writeln!(o, "  - {}", one_line(r));
            }
        }
        None => o.push_str("✘ No verification was recorded.\n"),
    }

    o.push_str("\n## Cleanup\n\n");
    if f.cleanup.is_empty() {
        o.push_str("No cleanup was recorded.\n");
    }
    for c in &f.cleanup {
        let _ = writeln!(o, "- {}: {}", c.action, code(&c.path));
    }

    o.push_str("\n## Notes\n\n");
    if f.notes.is_empty() {
        o.push_str("No notes.\n");
    }
    for n in &f.notes {
        let _ = writeln!(o, "- {}", one_line(n));
    }
    o
}

fn outcome_sentence(f: &Facts) -> String {
    let failed = f
        .statements
        .iter()
        .find(|s| s.outcome == StatementOutcome::Failed);
    match (f.outcome, failed) {
        (Outcome::Aligned, _) => "The live schema matches the desired schema (verified).".into(),
        (Outcome::NotAligned, Some(s)) => format!(
            "Step {} failed; the live schema does not match the desired schema.",
            s.step
        ),
        (Outcome::NotAligned, None) => {
            "Verification found differences: the live schema does not match the desired schema."
                .into()
        }
        (Outcome::AppliedNotVerified, _) => {
            "Every statement of the imported plan was applied; with no desired schema, alignment was not verified.".into()
        }
        (Outcome::Incomplete, _) => {
            "The session did not reach a verification: alignment is not established.".into()
        }
    }
}

fn statements(o: &mut String, f: &Facts) {
    o.push_str("\n## Statements\n\n");
    if f.statements.is_empty() {
        o.push_str("No statement was recorded: nothing was applied.\n");
        return;
    }
    if f.apply.is_none() {
        o.push_str("The plan was never applied.\n\n");
    }
    let count = |k: StatementOutcome| f.statements.iter().filter(|s| s.outcome == k).count();
    let _ = writeln!(
        o,
        "{} committed, {} rolled back, {} failed, {} not applied.\n",
        count(StatementOutcome::Committed),
        count(StatementOutcome::RolledBack),
        count(StatementOutcome::Failed),
        count(StatementOutcome::NotApplied)
    );
    let unknown = count(StatementOutcome::Interrupted) + count(StatementOutcome::Uncommitted);
    if unknown > 0 {
        let _ = writeln!(
            o,
            "✘ {unknown} statement(s) have no recorded result: check the database before doing anything else.\n"
        );
    }
    if !f.apply_events.is_empty() {
        o.push_str("Retries and resumes:\n\n");
        for e in &f.apply_events {
            let _ = writeln!(o, "- {e}");
        }
        o.push('\n');
    }
    o.push_str(
        "| Step | Group | Statement | Outcome | Duration | Rows |\n|---:|---:|---|---|---:|---:|\n",
    );
    for s in &f.statements {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "—".into());
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            s.step,
            opt(s.group.map(|g| g.to_string())),
            cell(s.title.as_deref().unwrap_or("(title not recorded)")),
            s.outcome.words(),
            opt(s.duration_ms.map(|ms| format!("{ms} ms"))),
            opt(s.rows.map(|r| r.to_string())),
        );
    }
}

fn checks(o: &mut String, items: &[crate::journal::Check]) {
    for c in items {
        let (g, word) = if c.ok {
            ("✔", "ok")
        } else {
            ("✘", "NOT OK")
        };
        if c.detail.is_empty() {
            let _ = writeln!(o, "- {g} {} — {word}", c.name);
        } else {
            let _ = writeln!(o, "- {g} {} — {word}: {}", c.name, one_line(&c.detail));
        }
    }
}

fn line(o: &mut String, label: &str, value: &str) {
    let _ = writeln!(o, "- **{label}:** {}", one_line(value));
}

fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'"))
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

/// `850 ms`, `12.3 s`, `4 min 12 s`, `1 h 02 min`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {:02} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}
