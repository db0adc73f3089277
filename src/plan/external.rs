//! An external SQL file (a hand-written migration, `prisma migrate diff
//! --script` output, `alembic upgrade --sql` …) as a plan: every statement
//! linted by the same engine as `pgalign lint --db`, sized against the live
//! database, and turned into a [`Step`] with pgalign's own transaction groups.
//!
//! What cannot become a step is an error naming the file and line, never
//! silently dropped: psql meta-commands, `COPY … FROM stdin` data, statements
//! the grammar rejects, and transaction control other than BEGIN/COMMIT.

use super::{Plan, Step};
use crate::catalog::{Inspected, Scope};
use crate::db::{ConnSettings, connect};
use crate::hazard::action::{Action, Tx};
use crate::hazard::context::{Cx, FileState, LintContext};
use crate::hazard::lint::{StatementReport, file_actions};
use crate::hazard::rules::non_transactional;
use crate::hazard::{Hazard, LintReport, Severity, prepass};
use anyhow::{Context, Result, bail};
use std::path::Path;

/// What `desired_fingerprint` says of an imported plan: there is no desired model.
pub const DESIRED_FINGERPRINT: &str = "external";

/// `pgalign apply` (and the wizard) always run statements under a
/// `lock_timeout`; the engine is told so, so that the `lock` flags of an
/// imported plan read as they do for a plan pgalign computed. It sits on the
/// file's first line, so every line number stays the file's own.
const APPLY_SETTINGS: &str = "SET lock_timeout = '5s'; ";

/// An imported plan and the live schema it was sized against.
pub struct Imported {
    pub plan: Plan,
    pub live: Inspected,
}

/// Reads, lints (with sizing and probes) and converts `sql_path` into a plan
/// for `target`.
pub async fn import(sql_path: &Path, target: &ConnSettings) -> Result<Plan> {
    Ok(import_with_live(sql_path, target).await?.plan)
}

/// [`import`], also returning the live schema (for the plan's `.live.json`).
pub async fn import_with_live(sql_path: &Path, target: &ConnSettings) -> Result<Imported> {
    let name = sql_path.display().to_string();
    let bytes = std::fs::read(sql_path).with_context(|| format!("reading external plan {name}"))?;
    import_bytes(&bytes, &name, target).await
}

/// [`import_with_live`] of bytes already read (and checked against the
/// reviewed SHA-256), so that what is linted is exactly what was checked.
pub async fn import_bytes(bytes: &[u8], name: &str, target: &ConnSettings) -> Result<Imported> {
    let name = name.to_string();
    let text = prepass::decode(bytes, &name)?;
    refuse_meta_commands(&text, &name)?;
    let lint = async {
        let client = connect(target).await?;
        lint_as_applied(&text, &name, &client, true)
            .await
            .with_context(|| format!("linting {name} against {target}"))
    };
    let (live, report) = tokio::join!(crate::catalog::inspect(target), lint);
    let live = live.with_context(|| format!("inspecting {target}"))?;
    let report = report?;
    let major = (live.server_version_num / 10000).max(0) as u32;
    let (steps, mut notes) = steps_from(&report, &name, major)?;
    notes.insert(
        0,
        format!(
            "imported from {name} (SHA-256 {}); no desired schema: hazards from pgalign's lint engine, sized on {target}",
            crate::util::sha256_hex(bytes)
        ),
    );
    let scope = Scope::default();
    let mut plan = Plan {
        live_fingerprint: scope.fingerprint(&live.model),
        desired_fingerprint: DESIRED_FINGERPRINT.into(),
        steps,
        notes,
        scope,
    };
    plan.renumber();
    Ok(Imported { plan, live })
}

/// Lints `text` against the database of `client` the way `pgalign apply` runs
/// it (under a `lock_timeout`): the one engine behind an imported plan and the
/// apply gate of every plan (`apply::derive`). `probes` runs the data probes.
pub(crate) async fn lint_as_applied(
    text: &str,
    name: &str,
    client: &tokio_postgres::Client,
    probes: bool,
) -> Result<LintReport> {
    let text = format!("{APPLY_SETTINGS}{text}");
    let mut report = crate::hazard::db::lint_live(&text, name, client, probes).await?;
    drop_apply_settings(&mut report);
    Ok(report)
}

/// psql meta-commands (`\set`, `\connect`, `\i` …) mean nothing to a plan.
fn refuse_meta_commands(text: &str, file: &str) -> Result<()> {
    if let Some(m) = prepass::prepare(text).meta.first() {
        bail!(
            "{file}:{}: the psql meta-command `{}` cannot become a step of a plan (pgalign runs SQL on its own connection); remove it, or apply the file with psql",
            m.line,
            m.text
        );
    }
    Ok(())
}

/// Removes the statement [`APPLY_SETTINGS`] added.
fn drop_apply_settings(report: &mut LintReport) {
    let prefix = APPLY_SETTINGS.trim_end().trim_end_matches(';');
    if report
        .statements
        .first()
        .is_some_and(|s| s.line == 1 && s.column == 1 && s.sql == prefix)
    {
        report.statements.remove(0);
    }
}

/// The steps of a linted file (not yet numbered) and the notes for the
/// reviewer. `major` is the server's major version.
pub fn steps_from(report: &LintReport, file: &str, major: u32) -> Result<(Vec<Step>, Vec<String>)> {
    let ctx = LintContext {
        server_major: major,
        ..Default::default()
    };
    let in_tx = FileState {
        in_tx: Some(1),
        ..Default::default()
    };
    let cx = Cx::new(&ctx, &in_tx);
    let mut steps = Vec::new();
    let mut dropped = Vec::new();
    let mut notes = Vec::new();
    for (i, s) in report.statements.iter().enumerate() {
        let at = format!("{file}:{}", s.line);
        if s.kind == "UNPARSED" {
            bail!(
                "{at}: the statement does not parse, so it cannot become a step of a plan: {}",
                s.hazards.first().map(|h| h.detail.as_str()).unwrap_or("")
            );
        }
        if s.kind == "COPY" && s.sql.to_ascii_lowercase().contains("stdin") {
            bail!(
                "{at}: COPY … FROM stdin reads data that follows it in the file, which a plan step cannot carry; load the data separately"
            );
        }
        let actions = file_actions(&s.sql);
        match actions.iter().find_map(|a| match a {
            Action::Tx(t) => Some(*t),
            _ => None,
        }) {
            Some(Tx::Begin | Tx::Commit) => {
                dropped.push(s.line.to_string());
                notes.extend(s.hazards.iter().map(|h| {
                    format!(
                        "{at}: {} was dropped, its {}[{}] no longer applies: {}",
                        s.kind, h.severity, h.id, h.detail
                    )
                }));
                continue;
            }
            Some(_) => bail!(
                "{at}: {} cannot become a step of a plan: pgalign runs the statements in its own transaction groups, which it cannot honour; remove it, or apply the file with psql",
                s.kind
            ),
            None => {}
        }
        let later = &report.statements[i + 1..];
        let outside = actions.iter().any(|a| {
            non_transactional::check(a, &cx)
                .iter()
                .any(|f| f.severity == Severity::Blocker)
                || matches!(a, Action::AddEnumValue { value, .. }
                    if later.iter().any(|l| l.sql.contains(&format!("'{value}'"))))
        });
        steps.push(Step {
            number: 0,
            title: title(s, &actions),
            sql: terminated(&s.sql),
            hazards: hazards(s),
            transactional: !outside,
            group: 0,
        });
    }
    if steps.is_empty() {
        bail!("{file} has no statements to apply");
    }
    if !dropped.is_empty() {
        notes.insert(
            0,
            format!(
                "{file}: its own transaction statements (line {}) were replaced by pgalign's transaction groups",
                dropped.join(", ")
            ),
        );
    }
    Ok((steps, notes))
}

/// The lint findings in the plan's form; an acknowledgement in the file stays
/// a hazard, with the reason given in its detail.
fn hazards(s: &StatementReport) -> Vec<Hazard> {
    s.hazards
        .iter()
        .map(|f| {
            let detail = match &f.acknowledged {
                Some(why) => format!(
                    "{} (acknowledged in the file: pgalign:allow {} {why})",
                    f.detail, f.id
                ),
                None => f.detail.clone(),
            };
            Hazard::new(f.id, f.severity, detail).with_figures(f.figures.clone())
        })
        .collect()
}

/// `ALTER TABLE public.users`, `CREATE INDEX users_email_idx ON public.users`:
/// the kind and its object, resolved through the live database where it could be.
fn title(s: &StatementReport, actions: &[Action]) -> String {
    let locked = s.locks.first().map(|l| l.relation.clone());
    let object = actions.iter().find_map(|a| match a {
        Action::CreateIndex { name, rel, .. } => Some(format!(
            "{} ON {}",
            if name.is_empty() { "(unnamed)" } else { name },
            locked.clone().unwrap_or_else(|| rel.to_string())
        )),
        _ => locked.clone().or_else(|| object_of(a)),
    });
    match object {
        Some(o) => format!("{} {o}", s.kind),
        None => s.kind.clone(),
    }
}

fn object_of(a: &Action) -> Option<String> {
    let names = |v: &[crate::hazard::ast::Rel]| {
        (!v.is_empty()).then(|| {
            v.iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    match a {
        Action::CreateTable { rel, .. }
        | Action::AlterTable { rel, .. }
        | Action::Refresh { rel, .. }
        | Action::Update { rel, .. }
        | Action::Delete { rel, .. }
        | Action::Insert { rel }
        | Action::Policy { rel, .. }
        | Action::CreateTrigger { rel, .. }
        | Action::AlterSequence { rel, .. } => Some(rel.to_string()),
        Action::Drop { objects, .. } => names(objects),
        Action::Truncate { rels, .. } | Action::Vacuum { rels, .. } | Action::Lock { rels, .. } => {
            names(rels)
        }
        Action::AddEnumValue { typ, .. } | Action::CreateEnum { typ, .. } => Some(typ.to_string()),
        Action::AlterDomain { domain, .. } => Some(domain.to_string()),
        Action::CreateView { name } => Some(name.to_string()),
        Action::CreateFunction { name, .. }
        | Action::AlterFunction { name, .. }
        | Action::Call { name } => Some(name.clone()),
        Action::Rename { object, .. } => Some(object.clone()),
        _ => None,
    }
}

/// The statement ending with `;` (on a line of its own after a `--` comment).
fn terminated(sql: &str) -> String {
    let sql = sql.trim_end();
    match sql.lines().last() {
        Some(last) if last.contains("--") => format!("{sql}\n;"),
        _ => format!("{sql};"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hazard::{HazardId, lint_sql};

    fn steps(sql: &str) -> Result<(Vec<Step>, Vec<String>)> {
        let report = lint_sql(sql, &LintContext::default())?;
        steps_from(&report, "m.sql", 16)
    }

    #[test]
    fn transaction_statements_are_replaced_by_groups() {
        let (s, notes) =
            steps("BEGIN;\nALTER TABLE t DROP COLUMN c;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);\n")
                .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].title, "ALTER TABLE t");
        assert_eq!(s[0].sql, "ALTER TABLE t DROP COLUMN c;");
        assert!(s[0].transactional);
        assert_eq!(s[1].title, "CREATE INDEX i ON t");
        assert!(!s[1].transactional);
        assert!(notes[0].contains("line 1, 3"), "{notes:?}");
    }

    #[test]
    fn an_enum_value_used_later_gets_its_own_commit() {
        let (s, _) =
            steps("ALTER TYPE mood ADD VALUE 'meh';\nUPDATE t SET m = 'meh' WHERE id = 1;\n")
                .unwrap();
        assert!(!s[0].transactional);
        let (s, _) = steps("ALTER TYPE mood ADD VALUE 'meh';\n").unwrap();
        assert!(s[0].transactional);
    }

    #[test]
    fn what_cannot_be_a_step_is_an_error_with_its_line() {
        let e = steps("SELECT 1;\nROLLBACK;\n").unwrap_err().to_string();
        assert!(
            e.starts_with("m.sql:2: ROLLBACK cannot become a step"),
            "{e}"
        );
        let e = steps("COPY t FROM stdin;\n1\n\\.\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.sql:1: COPY"), "{e}");
        let e = refuse_meta_commands("SELECT 1;\n\\set x 1\n", "m.sql").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("m.sql:2: the psql meta-command `\\set x 1`")
        );
        assert!(steps("BEGIN;\nCOMMIT;\n").is_err());
    }

    #[test]
    fn a_suppression_keeps_the_hazard_and_says_so() {
        let (s, _) = steps(
            "-- pgalign:allow data-loss archived in ticket 42\nALTER TABLE t DROP COLUMN c;\n",
        )
        .unwrap();
        let h = s[0]
            .hazards
            .iter()
            .find(|h| h.id == HazardId::DataLoss)
            .unwrap();
        assert!(
            h.detail.contains("acknowledged in the file"),
            "{}",
            h.detail
        );
        assert!(h.detail.contains("archived in ticket 42"));
    }

    #[test]
    fn a_trailing_comment_does_not_swallow_the_semicolon() {
        assert_eq!(terminated("SELECT 1 -- why"), "SELECT 1 -- why\n;");
        assert_eq!(terminated("SELECT 1"), "SELECT 1;");
    }
}
