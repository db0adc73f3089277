use super::exit;
use crate::cli::{DiffArgs, PlanFormat};
use crate::db::ConnSettings;
use crate::db::shadow::DesiredSource;
use crate::plan::{self, Plan, PlanOptions};
use anyhow::{Context, Result};

/// Inspects the live database and the desired source in parallel and plans.
pub async fn compute(
    db: &str,
    desired: &str,
    shadow: Option<&str>,
    opts: &PlanOptions,
) -> Result<(ConnSettings, Plan)> {
    let settings = ConnSettings::parse(db).context("parsing --db")?;
    let source = DesiredSource::parse(desired)?;
    let (live, want) = tokio::join!(
        crate::catalog::inspect(&settings),
        crate::db::shadow::inspect_desired(&source, shadow)
    );
    let live = live?;
    let want = want.with_context(|| format!("loading the desired schema from {}", source.describe()))?;
    Ok((settings, plan::diff(&live, &want.model, opts)))
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
        "steps": plan.steps,
    });
    Ok(serde_json::to_string_pretty(&v)? + "\n")
}

pub async fn run(args: DiffArgs) -> Result<u8> {
    let opts = PlanOptions {
        additive: args.additive,
    };
    let (settings, plan) = compute(&args.db.db, &args.desired.desired, args.desired.shadow.as_deref(), &opts).await?;
    let text = plan::render_plan(&plan, &settings.to_string(), &crate::util::now_rfc3339());
    let out = match args.format {
        PlanFormat::Sql => text.clone(),
        PlanFormat::Json => plan_json(&plan, &text)?,
    };
    match &args.output {
        Some(path) => {
            crate::util::write_private(path, out.as_bytes())
                .with_context(|| format!("writing plan file {}", path.display()))?;
            let s = plan.summary();
            eprintln!(
                "pgalign: {} statement(s) written to {} (danger {}, warning {}, blocker {})",
                plan.steps.len(),
                path.display(),
                s.danger,
                s.warning,
                s.blocker
            );
        }
        None => super::print_stdout(&out)?,
    }
    Ok(if plan.is_empty() { exit::OK } else { exit::DIFFERENCES })
}
