//! Inspects the live database and the desired source (at once, one connection
//! each) and plans:
//! the one path `diff`, `verify` and the wizard share. The first side to fail
//! stops the other: a wrong password or a missing database is reported at
//! once, not after a minute of loading the desired schema.

use super::diff::{Measure, Probe, Wanted};
use super::{Plan, PlanOptions};
use crate::catalog::Inspected;
use crate::catalog::model::QName;
use crate::db::ConnSettings;
use crate::db::shadow::{DesiredSource, inspect_desired_then};
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Both sides as inspected, and the plan between them.
pub struct Computed {
    pub live: Inspected,
    pub desired: Inspected,
    pub plan: Plan,
    /// Migration ledgers and data statements (DESIGN.md §7): their data steps
    /// are the plan's last steps, their not-planned list among its notes.
    pub ledgers: crate::ledger::Outcome,
}

pub async fn compute(
    target: &ConnSettings,
    desired: &str,
    shadow: Option<&str>,
    opts: &PlanOptions,
) -> Result<Computed> {
    let source = DesiredSource::parse(desired)?;
    // A bad migrations directory stops before anything is loaded.
    let alembic_head = match &opts.ledgers.alembic_dir {
        Some(dir) => Some(crate::ledger::alembic::head(dir)?),
        None => None,
    };
    let after: crate::db::shadow::AfterLoad<crate::ledger::DesiredLedgers> = {
        let files = source.sql_files()?;
        let lopts = opts.ledgers.clone();
        Box::new(move |db, output| {
            Box::pin(async move {
                crate::ledger::read_desired(&db, &lopts, &files, output.as_deref()).await
            })
        })
    };
    let started = std::time::Instant::now();
    // Both sides at once, one connection each (measured at 10,000 tables on 2
    // cores: reading them one after the other, each on two connections, was
    // no faster, and two connections per side slower; see docs/benchmarks.md).
    let (stop, cancel) = crate::db::cancel::pair();
    // Both sides boxed: their futures are large, and a debug build copies them
    // on the stack of the thread that polls (the wizard's 2 MB workers).
    let live_side = async {
        let live = tokio::select! {
            r = Box::pin(crate::catalog::inspect(target)) => Some(r),
            () = cancel.cancelled() => None,
        };
        if matches!(live, Some(Err(_))) {
            stop.cancel();
        }
        live
    };
    let desired_side = async {
        // Returns once its command, psql and shadow database are gone.
        let want = Box::pin(inspect_desired_then(&source, shadow, &cancel, after)).await;
        if want.is_err() {
            stop.cancel();
        }
        want
    };
    let (live, want) = crate::catalog::introspect::one_connection_each(async {
        tokio::join!(live_side, desired_side)
    })
    .await;
    timing("inspecting both sides", started);
    let want =
        want.with_context(|| format!("loading the desired schema from {}", source.describe()));
    // A side stopped because the other failed reports the other's error.
    let mut live = match live {
        Some(live) => live.with_context(|| format!("inspecting {target}"))?,
        None => {
            return Err(want
                .err()
                .unwrap_or_else(|| anyhow::anyhow!("inspecting {target} stopped")));
        }
    };
    let (mut desired, desired_ledgers) = want?;
    let desired_names: Vec<QName> = desired_ledgers
        .tables
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let live_ledgers = crate::ledger::read_side(target, &opts.ledgers, &[], &desired_names)
        .await
        .with_context(|| format!("reading the migration ledgers of {target}"))?;
    let ledgers = crate::ledger::compare(
        &live_ledgers,
        &desired_ledgers,
        &opts.ledgers,
        alembic_head.as_deref(),
    )?;
    let mut opts = opts.clone();
    // Desired sources come from outside: an empty one must not drop everything.
    if opts.drop_all == super::DropAll::Unchecked {
        opts.drop_all = super::DropAll::Refuse;
    }
    for file in source.sql_files()? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {} for rename hints", file.display()))?;
        let hints = super::hints::parse(&text, &desired.model)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        opts.renames.extend(hints);
    }
    let started = std::time::Instant::now();
    let kept = super::diff::keep_live_names(&live, &mut desired);
    let (mut plan, wanted) =
        super::diff::diff_in_place_wanting(&mut live, &mut desired.model, &opts);
    timing("planning", started);
    if opts.measure != Measure::Off && !(wanted.tables.is_empty() && wanted.probes.is_empty()) {
        let started = std::time::Instant::now();
        plan = measure_and_replan(target, &mut live, &mut desired, &mut opts, wanted).await?;
        timing("measuring and re-planning", started);
    }
    plan.notes.extend(kept);
    add_ledger_steps(&mut plan, &ledgers);
    Ok(Computed {
        live,
        desired,
        plan,
        ledgers,
    })
}

/// The ledgers' data steps after the schema steps, in a transaction group of
/// their own (the schema steps' groups stay as planned); their notes after
/// the plan's.
fn add_ledger_steps(plan: &mut Plan, ledgers: &crate::ledger::Outcome) {
    let group = plan.steps.last().map_or(0, |s| s.group) + 1;
    for step in &ledgers.steps {
        let mut step = step.clone();
        step.number = plan.steps.len() + 1;
        step.group = group;
        plan.steps.push(step);
    }
    plan.notes.extend(crate::ledger::notes(ledgers));
}

/// Measures what the plan's hazards named (the one sizing function, and the
/// probes unless `--no-probes`) on the live database, and plans again with
/// the measurements: a severity then follows the data as it is, while the
/// plan's body still depends only on the schemas and those severities. A plan
/// whose steps change with what was measured (a table found empty) may name
/// more; that is measured too, a few rounds at most.
async fn measure_and_replan(
    target: &ConnSettings,
    live: &mut Inspected,
    desired: &mut Inspected,
    opts: &mut PlanOptions,
    mut wanted: Wanted,
) -> Result<Plan> {
    let probes = opts.measure == Measure::Probes;
    let client = crate::db::connect(target)
        .await
        .with_context(|| format!("connecting to {target} to size the plan's hazards"))?;
    crate::hazard::probe::prepare(&client)
        .await
        .map_err(|e| anyhow::anyhow!("setting up the session to size the plan's hazards: {e}"))?;
    let mut measured = (*opts.measured).clone();
    let mut tried_tables = BTreeSet::new();
    let mut tried_probes = BTreeSet::new();
    let mut plan = None;
    for _ in 0..3 {
        let tables: Vec<QName> = wanted.tables.difference(&tried_tables).cloned().collect();
        let checks: Vec<Probe> = if probes {
            wanted.probes.difference(&tried_probes).cloned().collect()
        } else {
            vec![]
        };
        if tables.is_empty() && checks.is_empty() && plan.is_some() {
            break;
        }
        let started = std::time::Instant::now();
        measured.sizes.extend(sizes(&client, &tables).await?);
        for p in &checks {
            let sql = crate::hazard::probe::sql(&p.table.sql(), &p.check);
            let outcome = crate::hazard::probe::count(&client, &sql).await;
            measured.probes.insert(p.clone(), outcome);
        }
        timing(
            &format!(
                "sizing {} table(s) and {} probe(s)",
                tables.len(),
                checks.len()
            ),
            started,
        );
        tried_tables.extend(tables);
        tried_probes.extend(checks);
        opts.measured = Arc::new(measured.clone());
        let (p, w) = super::diff::diff_in_place_wanting(live, &mut desired.model, opts);
        plan = Some(p);
        wanted = w;
    }
    Ok(plan.expect("planned at least once"))
}

/// The sizes of `tables` that exist on the live side (a table the plan
/// renames or moves aside has no live name yet: its inspected statistics stand).
async fn sizes(
    client: &tokio_postgres::Client,
    tables: &[QName],
) -> Result<Vec<(QName, crate::hazard::size::TableSize)>> {
    if tables.is_empty() {
        return Ok(vec![]);
    }
    let names: Vec<String> = tables.iter().map(QName::sql).collect();
    let rows = client
        .query(
            "SELECT i, c.oid FROM unnest($1::text[]) WITH ORDINALITY AS x(name, i)
             JOIN pg_class c ON c.oid = to_regclass(x.name)",
            &[&names],
        )
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "resolving the tables to size: {}",
                crate::db::describe_error(&e)
            )
        })?;
    let found: Vec<(usize, u32)> = rows
        .iter()
        .map(|r| ((r.get::<_, i64>(0) - 1) as usize, r.get::<_, u32>(1)))
        .collect();
    let oids: Vec<u32> = found.iter().map(|(_, o)| *o).collect();
    let mut measured = crate::hazard::size::measure(client, &oids)
        .await
        .context("sizing the tables the plan's hazards name")?;
    Ok(found
        .into_iter()
        .filter_map(|(i, oid)| Some((tables[i].clone(), measured.remove(&oid)?)))
        .collect())
}

/// Prints how long a phase took when `PGALIGN_TIMINGS` is set.
fn timing(what: &str, started: std::time::Instant) {
    if std::env::var_os("PGALIGN_TIMINGS").is_some() {
        eprintln!(
            "pgalign: {what} took {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::{Inspected, Scope};
    use crate::plan::{PlanOptions, diff, diff::diff_in_place};

    #[test]
    fn planning_in_place_equals_planning_on_copies() {
        let live_model = crate::catalog::tests::sample_model();
        let mut desired = live_model.clone();
        let t = desired.tables.values_mut().next().unwrap();
        t.columns.pop();
        t.comment = None;
        desired.privileges.clear();
        desired
            .owners
            .values_mut()
            .for_each(|o| *o = "other".into());
        desired.unmanaged.clear();
        let live = Inspected {
            model: live_model,
            ..Default::default()
        };
        for scope in [
            Scope::default(),
            Scope {
                with_privileges: true,
                ..Default::default()
            },
            Scope {
                with_owners: true,
                with_privileges: true,
                ..Default::default()
            },
            Scope {
                exclude_schemas: vec!["app".into()],
                ..Default::default()
            },
        ] {
            let opts = PlanOptions {
                scope,
                ..Default::default()
            };
            let expected = diff(&live, &desired, &opts);
            let (mut l, mut d) = (live.clone(), desired.clone());
            assert_eq!(diff_in_place(&mut l, &mut d, &opts), expected);
            assert_eq!(l.model, live.model);
            assert_eq!(d, desired);
        }
    }
}
