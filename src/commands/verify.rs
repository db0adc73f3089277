use super::exit;
use crate::cli::VerifyArgs;
use crate::plan::PlanOptions;
use anyhow::Result;

pub async fn run(args: VerifyArgs) -> Result<u8> {
    let (settings, computed) = super::diff::compute(
        args.db.conninfo(),
        &args.desired.desired,
        args.desired.shadow.url.as_deref(),
        &PlanOptions {
            scope: args.scope.scope(),
            ..Default::default()
        },
    )
    .await?;
    let plan = computed.plan;
    // The process ends soon: freeing both models gains nothing (see `diff`).
    std::mem::forget(computed.live);
    std::mem::forget(computed.desired);
    // Names are shown escaped: a table named `t\n0 differences` prints one line.
    let target = crate::util::printable(&settings.to_string());
    if plan.is_empty() {
        eprintln!(
            "pgalign: {target} is in sync with the desired schema (fingerprint {})",
            plan.live_fingerprint
        );
        return Ok(exit::OK);
    }
    let mut out = format!("{} difference(s) remain on {target}:\n", plan.steps.len());
    for step in &plan.steps {
        out.push_str(&format!("  - {}\n", crate::util::printable(&step.title)));
    }
    super::print_stdout(&out)?;
    Ok(exit::DIFFERENCES)
}
