use crate::cli::{DiffArgs, PlanFormat};
use crate::db::ConnSettings;
use crate::exit::Exit;
use crate::plan::{self, Plan, PlanOptions};
use anyhow::{Context, Result};

/// Inspects both sides and plans (see [`crate::plan::compute`]).
pub async fn compute(
    db: &str,
    desired: &str,
    shadow: Option<&str>,
    opts: &PlanOptions,
) -> Result<(ConnSettings, crate::plan::compute::Computed)> {
    let settings = ConnSettings::parse(db).context("parsing --db")?;
    let computed = crate::plan::compute::compute(&settings, desired, shadow, opts).await?;
    Ok((settings, computed))
}

/// The plan as JSON: steps with hazards and transaction groups, fingerprints;
/// a step that replaces or alters an object carries its live and desired
/// `definitions` (see [`plan::objdiff`]).
pub fn plan_json(
    plan: &Plan,
    text: &str,
    objects: &[Option<plan::objdiff::ObjectChange>],
) -> Result<String> {
    let file = plan::parse_plan(text)?;
    let mut steps = Vec::with_capacity(plan.steps.len());
    for (i, step) in plan.steps.iter().enumerate() {
        let mut v = serde_json::to_value(step)?;
        if let (Some(Some(c)), Some(m)) = (objects.get(i), v.as_object_mut()) {
            m.insert("definitions".into(), serde_json::to_value(c)?);
        }
        steps.push(v);
    }
    let v = serde_json::json!({
        "format": plan::file::FORMAT,
        "body_sha256": file.actual_sha256,
        "live_fingerprint": plan.live_fingerprint,
        "desired_fingerprint": plan.desired_fingerprint,
        "generated_at": file.header.generated_at,
        "target": file.header.target,
        "statements": plan.steps.len(),
        "summary": plan.summary(),
        "notes": plan.notes,
        "scope": plan.scope,
        "steps": steps,
    });
    Ok(serde_json::to_string_pretty(&v)? + "\n")
}

/// `--allow-drop-all` as the planner's option (without it, a plan that would
/// drop most of the live schema starts with a blocker).
pub fn drop_all(allowed: bool) -> plan::DropAll {
    if allowed {
        plan::DropAll::Allow
    } else {
        plan::DropAll::Refuse
    }
}

/// The ledgers to compare: `pgalign.toml`'s `ledgers` and `[alembic]`, the
/// flag winning over the file.
pub fn ledger_options(
    file: &crate::config::FileConfig,
    alembic_dir: Option<&std::path::Path>,
) -> crate::ledger::LedgerOptions {
    crate::ledger::LedgerOptions {
        tables: file.ledgers.clone(),
        alembic_dir: alembic_dir
            .map(std::path::Path::to_path_buf)
            .or_else(|| file.alembic.as_ref().map(|a| a.dir.clone())),
    }
}

/// Says on stderr which ledgers were recognised and why, the data statements
/// not planned (file:line) and the ledger problems.
pub fn print_ledgers(outcome: &crate::ledger::Outcome) {
    for line in crate::ledger::describe(outcome) {
        eprintln!("pgalign: {line}");
    }
}

pub async fn run(args: DiffArgs) -> Result<Exit> {
    // `ledgers` and `[alembic]` of ./pgalign.toml, when there is one.
    let file = crate::config::FileConfig::load(None)?;
    let opts = PlanOptions {
        ledgers: ledger_options(&file, args.alembic_dir.as_deref()),
        additive: args.additive,
        scope: args.scope.scope(),
        strategy: args.strategy.into(),
        drop_all: drop_all(args.allow_drop_all),
        measure: if args.no_probes {
            plan::Measure::Sizes
        } else {
            plan::Measure::Probes
        },
        ..Default::default()
    };
    let (settings, computed) = compute(
        args.db.conninfo(),
        &args.desired.desired,
        args.desired.shadow.url.as_deref(),
        &opts,
    )
    .await?;
    let mut plan = computed.plan;
    print_ledgers(&computed.ledgers);
    // The drop-all blocker is the plan's first step: say so where CI logs show it.
    if plan::diff::guard_count(&plan.steps).is_some()
        && let Some(h) = plan.steps[0].hazards.first()
    {
        eprintln!("pgalign: blocker: {}", h.detail);
    }
    if let Some(line) =
        plan::diff::not_compared(&computed.live.model, &computed.desired.model, &opts.scope)
    {
        eprintln!("pgalign: {line}");
    }
    // The plan names what the apply gate will find in its SQL.
    crate::apply::name_derived(&mut plan, &settings).await?;
    let target = crate::util::redact(&settings.to_string());
    let text = plan::render_plan(&plan, &target, &crate::util::now_rfc3339());
    let out = match args.format {
        PlanFormat::Sql => text.clone(),
        PlanFormat::Json => {
            let objects =
                plan::objdiff::changes(&plan.steps, &computed.live.model, &computed.desired.model);
            plan_json(&plan, &text, &objects)?
        }
    };
    match &args.output {
        Some(path) => {
            crate::util::write_private(path, out.as_bytes())
                .with_context(|| format!("writing plan file {}", path.display()))?;
            if args.format == PlanFormat::Sql {
                // Lets `apply` name exactly what drifted, should the schema change.
                crate::apply::write_live_sidecar(path, &computed.live.model)?;
            }
            let s = plan.summary();
            eprintln!(
                "pgalign: {} statement(s) written to {} (danger {}, warning {}, blocker {})",
                plan.steps.len(),
                crate::util::printable(&path.display().to_string()),
                s.danger,
                s.warning,
                s.blocker
            );
        }
        None => super::print_stdout(&out)?,
    }
    // The process ends here: freeing both models (hundreds of thousands of
    // allocations at 10,000 tables, about a tenth of the run) gains nothing.
    std::mem::forget(computed.live);
    std::mem::forget(computed.desired);
    Ok(if plan.is_empty() {
        Exit::Ok
    } else {
        Exit::Differences
    })
}
