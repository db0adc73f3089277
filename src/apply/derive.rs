//! The hazards of a plan, derived from its SQL (DESIGN.md §6: a plan's comments
//! are for people). The plan file is linted by the engine behind `pgalign lint
//! --db` and imported plans, against the live database, and the gate takes what
//! it finds together with what the comments say: a comment can add a hazard,
//! never hide one. A `danger` or `blocker` the engine finds that the step's
//! comments do not name at all is a refusal of its own: the plan was edited
//! (its hash recomputed), since pgalign's planner names every hazard of the
//! statements it writes.
//!
//! The engine reads the file as psql would; before its findings count, each
//! step must be exactly one statement of the engine's reading, with the same
//! text (bar leading comments and the final `;`) and in a transaction exactly
//! when its group says so. A plan whose SQL reads differently to the engine
//! than to `apply` is refused, so what was linted is what runs.

use super::{ApplyOptions, Refusal};
use crate::db::ConnSettings;
use crate::hazard::ast::Rel;
use crate::hazard::lint::StatementReport;
use crate::hazard::locks::LockMode;
use crate::hazard::{Hazard, Severity, prepass};
use crate::plan::file::PlanError;
use crate::plan::{Plan, PlanFile};
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use tokio_postgres::Client;

/// What the engine found, step by step: `steps[i]` belongs to step `i + 1`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derived {
    pub steps: Vec<Vec<Hazard>>,
    /// The table locks each step takes (same indexes as `steps`).
    pub locks: Vec<Vec<StepLock>>,
}

/// A table lock a step takes, as the lint engine reads its statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLock {
    pub rel: Rel,
    pub mode: LockMode,
    /// Locked because the step's table refers to it (a foreign key's target).
    pub referenced: bool,
}

/// The locks a transaction group takes at its start, before its first
/// statement, so that it takes them in one deterministic order: referenced
/// tables first (an application's transactions write a referenced row before
/// the rows that point at it), then by name, each in the strongest mode the
/// group needs. Empty when the group locks one table in one mode (nothing to
/// order). Only modes from SHARE UPDATE EXCLUSIVE up count: weaker ones
/// conflict with no ordinary write.
pub fn lock_order(steps: &[&[StepLock]]) -> Vec<(String, LockMode)> {
    let mut want: std::collections::BTreeMap<String, (LockMode, bool)> = Default::default();
    let mut modes: BTreeSet<(String, LockMode)> = BTreeSet::new();
    for l in steps.iter().flat_map(|s| s.iter()) {
        if l.mode < LockMode::ShareUpdateExclusive {
            continue;
        }
        let name = l.rel.sql();
        modes.insert((name.clone(), l.mode));
        let e = want.entry(name).or_insert((l.mode, l.referenced));
        e.0 = e.0.max(l.mode);
        e.1 |= l.referenced;
    }
    if want.len() < 2 && modes.len() < 2 {
        return Vec::new();
    }
    let mut out: Vec<(String, LockMode, bool)> =
        want.into_iter().map(|(n, (m, r))| (n, m, r)).collect();
    out.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    out.into_iter().map(|(n, m, _)| (n, m)).collect()
}

/// Lints `plan`'s file against the database of `client` (catalog facts and
/// sizes, no data probes) and assigns every finding to its step.
pub async fn derive(client: &Client, plan: &PlanFile) -> Result<Derived> {
    let text = plan.text.strip_prefix('\u{feff}').unwrap_or(&plan.text);
    let report = crate::plan::external::lint_as_applied(text, "the plan", client, false)
        .await
        .context("linting the plan's statements against the live database")?;
    assign(plan, &report.statements)
}

/// Adds to the steps of a computed `plan` what the engine finds in them, on
/// `target`, at `danger` or above and the planner's own hazards do not say at
/// that severity: the plan then names every hazard the apply gate will find
/// (the planner may see a dropped table as the old copy of a rebuilt one whose
/// rows were copied; the gate cannot tell that from the SQL, so neither
/// reading is hidden from the reviewer).
pub async fn name_derived(plan: &mut Plan, target: &ConnSettings) -> Result<()> {
    if plan.steps.is_empty() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let file = crate::plan::parse_plan(&crate::plan::render_plan(plan, "", ""))?;
    let client = crate::db::connect(target).await?;
    let derived = derive(&client, &file)
        .await
        .with_context(|| format!("on {target}"))?;
    for (step, found) in plan.steps.iter_mut().zip(derived.steps) {
        for h in found {
            if h.severity >= Severity::Danger
                && !step
                    .hazards
                    .iter()
                    .any(|c| c.id == h.id && c.severity >= h.severity)
            {
                step.hazards.push(h);
            }
        }
    }
    if std::env::var_os("PGALIGN_TIMINGS").is_some() {
        eprintln!(
            "pgalign: naming the hazards of the plan's SQL took {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(())
}

/// The step of each linted statement; an error when the engine's reading and
/// the steps do not match one to one.
fn assign(plan: &PlanFile, statements: &[StatementReport]) -> Result<Derived> {
    let ranges = plan.step_ranges();
    let mut found: Vec<Option<&StatementReport>> = vec![None; plan.steps.len()];
    for st in statements {
        let Some(i) = crate::plan::file::step_at(&ranges, st.line) else {
            if matches!(st.kind.as_str(), "BEGIN" | "COMMIT") {
                continue;
            }
            return Err(edited(
                st.line,
                format!("`{}` is outside every step", short(&st.sql)),
            ));
        };
        let step = &plan.steps[i];
        if found[i].is_some() {
            return Err(edited(
                st.line,
                format!("step {} holds more than one statement", step.number),
            ));
        }
        if !same_statement(&step.sql, &st.sql) {
            return Err(edited(
                st.line,
                format!(
                    "step {} does not read as one statement of its own (the SQL around it changes where it ends)",
                    step.number
                ),
            ));
        }
        if st.in_transaction != step.transactional {
            return Err(edited(
                st.line,
                format!(
                    "step {} is marked to run {} a transaction, but the file's BEGIN and COMMIT put it {}",
                    step.number,
                    if step.transactional {
                        "inside"
                    } else {
                        "outside"
                    },
                    if st.in_transaction {
                        "inside one"
                    } else {
                        "outside any"
                    },
                ),
            ));
        }
        found[i] = Some(st);
    }
    let mut steps = Vec::with_capacity(found.len());
    let mut locks = Vec::with_capacity(found.len());
    for (i, st) in found.into_iter().enumerate() {
        match st {
            Some(st) => {
                steps.push(st.hazards());
                locks.push(
                    st.locks
                        .iter()
                        .map(|l| StepLock {
                            rel: l.rel.clone(),
                            mode: l.lock,
                            referenced: l.referenced,
                        })
                        .collect(),
                );
            }
            None => {
                return Err(edited(
                    ranges[i].0,
                    format!("step {} holds no statement", plan.steps[i].number),
                ));
            }
        }
    }
    Ok(Derived { steps, locks })
}

/// Whether the engine's statement is the step's SQL: the same text after the
/// comments before it, without the final `;`.
fn same_statement(step_sql: &str, linted: &str) -> bool {
    let body = step_sql.trim_end();
    let body = body.strip_suffix(';').unwrap_or(body).trim_end();
    body.strip_suffix(linted)
        .is_some_and(|before| prepass::skip_trivia(before).is_empty())
}

fn edited(line: usize, what: String) -> anyhow::Error {
    PlanError::NotWritten { line, what }.into()
}

fn short(sql: &str) -> String {
    let one: String = sql.chars().take(60).collect();
    one.escape_debug().to_string()
}

/// Gates `plan` on its comments and on `derived`, skipping the steps in
/// `skip` (those an interrupted run already committed): refuses a hazard the
/// engine finds at `danger` or above that the step's comments do not name, any
/// `blocker`, and a `danger` whose id is not allowed.
pub fn check_derived(
    plan: &PlanFile,
    derived: &Derived,
    opts: &ApplyOptions,
    skip: &BTreeSet<usize>,
) -> Result<(), Refusal> {
    let steps = || {
        plan.steps
            .iter()
            .zip(&derived.steps)
            .filter(|(s, _)| !skip.contains(&s.number))
    };
    for (step, found) in steps() {
        if let Some(h) = found
            .iter()
            .find(|h| h.severity >= Severity::Danger && !step.hazards.iter().any(|c| c.id == h.id))
        {
            return Err(Refusal::NotInPlan {
                step: step.number,
                severity: h.severity,
                id: h.id,
                detail: h.detail.clone(),
            });
        }
    }
    super::gate::gate_hazards(
        steps().flat_map(|(s, found)| s.hazards.iter().chain(found).map(move |h| (s.number, h))),
        opts,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hazard::{HazardId, LintContext, lint_sql};
    use crate::plan::{Plan, Step, parse_plan, render_plan};

    fn plan(steps: Vec<(&str, bool, Vec<Hazard>)>) -> PlanFile {
        let mut p = Plan {
            live_fingerprint: "aa".into(),
            desired_fingerprint: "bb".into(),
            steps: steps
                .into_iter()
                .map(|(sql, tx, hazards)| Step {
                    number: 0,
                    title: "t".into(),
                    sql: sql.into(),
                    hazards,
                    transactional: tx,
                    group: 0,
                })
                .collect(),
            notes: vec![],
            scope: Default::default(),
        };
        p.renumber();
        parse_plan(&render_plan(&p, "t", "now")).unwrap()
    }

    fn derived(p: &PlanFile) -> Result<Derived> {
        assign(p, &lint_sql(&p.text, &LintContext::default())?.statements)
    }

    fn order_of(steps: Vec<(&str, bool, Vec<Hazard>)>) -> Vec<(String, LockMode)> {
        let d = derived(&plan(steps)).unwrap();
        let locks: Vec<&[StepLock]> = d.locks.iter().map(Vec::as_slice).collect();
        lock_order(&locks)
    }

    #[test]
    fn a_group_takes_the_referenced_table_first_then_by_name() {
        // The foreign key locks its table and the referenced one: the
        // referenced first (an application writes it first), then by name.
        let order = order_of(vec![(
            "ALTER TABLE public.h ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES public.\"Acc\" (id) NOT VALID;",
            true,
            vec![],
        )]);
        assert_eq!(
            order,
            vec![
                ("public.\"Acc\"".to_string(), LockMode::ShareRowExclusive),
                ("public.h".to_string(), LockMode::ShareRowExclusive),
            ]
        );
        // Two tables altered in one group: by name, whatever the step order;
        // each in the strongest mode the group needs.
        let order = order_of(vec![
            ("ALTER TABLE public.z VALIDATE CONSTRAINT c;", true, vec![]),
            ("ALTER TABLE public.a ADD COLUMN n int;", true, vec![]),
            ("ALTER TABLE public.z ADD COLUMN n int;", true, vec![]),
        ]);
        assert_eq!(
            order,
            vec![
                ("public.a".to_string(), LockMode::AccessExclusive),
                ("public.z".to_string(), LockMode::AccessExclusive),
            ]
        );
    }

    #[test]
    fn one_table_in_one_mode_needs_no_order_but_an_upgrade_does() {
        assert!(
            order_of(vec![(
                "ALTER TABLE public.t ADD COLUMN n int;",
                true,
                vec![]
            )])
            .is_empty()
        );
        // SHARE UPDATE EXCLUSIVE then ACCESS EXCLUSIVE on one table: taken
        // at the strongest at once (two such groups cannot deadlock upgrading).
        let order = order_of(vec![
            ("ALTER TABLE public.t VALIDATE CONSTRAINT c;", true, vec![]),
            ("ALTER TABLE public.t ADD COLUMN n int;", true, vec![]),
        ]);
        assert_eq!(
            order,
            vec![("public.t".to_string(), LockMode::AccessExclusive)]
        );
    }

    #[test]
    fn each_step_gets_the_findings_of_its_own_statement() {
        let p = plan(vec![
            ("CREATE TABLE public.a (x int);", true, vec![]),
            ("DROP TABLE public.b;", true, vec![]),
            (
                "CREATE INDEX CONCURRENTLY i ON public.a (x);",
                false,
                vec![],
            ),
        ]);
        let d = derived(&p).unwrap();
        assert_eq!(d.steps.len(), 3);
        assert!(!d.steps[0].iter().any(|h| h.id == HazardId::DataLoss));
        assert!(d.steps[1].iter().any(|h| h.id == HazardId::DataLoss));
    }

    #[test]
    fn a_danger_the_comments_do_not_name_is_refused_naming_the_step() {
        let p = plan(vec![
            ("CREATE TABLE public.a (x int);", true, vec![]),
            ("DROP TABLE public.b;", true, vec![]),
        ]);
        let d = derived(&p).unwrap();
        let all = ApplyOptions {
            allowed: HazardId::ALL.into_iter().collect(),
            ..Default::default()
        };
        let e = check_derived(&p, &d, &all, &BTreeSet::new()).unwrap_err();
        assert!(
            matches!(
                e,
                Refusal::NotInPlan {
                    step: 2,
                    id: HazardId::DataLoss,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().starts_with("step 2: drops"), "{e}");
        assert!(e.to_string().contains("the plan does not say so"), "{e}");
        // Named in the comments, it needs --allow-hazards like any danger.
        let named = Hazard::new(HazardId::DataLoss, Severity::Info, "drops public.b");
        let p = plan(vec![("DROP TABLE public.b;", true, vec![named])]);
        let d = derived(&p).unwrap();
        let e = check_derived(&p, &d, &ApplyOptions::default(), &BTreeSet::new()).unwrap_err();
        assert!(matches!(e, Refusal::HazardsNotAllowed { .. }), "{e}");
        check_derived(&p, &d, &all, &BTreeSet::new()).unwrap();
        // A step an interrupted run committed is not gated again.
        check_derived(&p, &d, &ApplyOptions::default(), &BTreeSet::from([1])).unwrap();
    }

    #[test]
    fn a_statement_hidden_from_the_steps_is_refused() {
        let p = plan(vec![("SELECT 1;", true, vec![])]);
        // Two statements in one step.
        let two = p
            .text
            .replace("SELECT 1;", "SELECT 1; DROP TABLE public.b;");
        let mut forged = p.clone();
        forged.steps[0].sql = "SELECT 1; DROP TABLE public.b;".into();
        forged.text = two;
        let e = derived(&forged).unwrap_err().to_string();
        assert!(e.contains("step 1 does not read as one statement"), "{e}");
        // A statement spliced in after a step, outside every step.
        let mut spliced = p.clone();
        spliced.text = p
            .text
            .replace("SELECT 1;\n", "SELECT 1;\nDROP TABLE public.b;\n");
        let e = derived(&spliced).unwrap_err().to_string();
        assert!(
            e.contains("`DROP TABLE public.b` is outside every step"),
            "{e}"
        );
        // A transactional step moved out of its transaction.
        let mut moved = p.clone();
        moved.text = p.text.replace("BEGIN;\n", "\n");
        let e = derived(&moved).unwrap_err().to_string();
        assert!(e.contains("outside any"), "{e}");
    }
}
