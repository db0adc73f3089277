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

/// The plan as JSON: steps with hazards and transaction groups, fingerprints.
pub fn plan_json(plan: &Plan, text: &str) -> Result<String> {
    let file = plan::parse_plan(text)?;
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
        "steps": plan.steps,
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

pub async fn run(args: DiffArgs) -> Result<Exit> {
    let opts = PlanOptions {
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
    // The drop-all blocker is the plan's first step: say so where CI logs show it.
    if plan::diff::guard_count(&plan.steps).is_some()
        && let Some(h) = plan.steps[0].hazards.first()
    {
        eprintln!("pgalign: blocker: {}", h.detail);
    }
    // The plan names what the apply gate will find in its SQL.
    crate::apply::name_derived(&mut plan, &settings).await?;
    let target = crate::util::redact(&settings.to_string());
    let text = plan::render_plan(&plan, &target, &crate::util::now_rfc3339());
    let out = match args.format {
        PlanFormat::Sql => text.clone(),
        PlanFormat::Json => plan_json(&plan, &text)?,
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
