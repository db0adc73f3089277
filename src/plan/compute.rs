//! Inspects the live database and the desired source (in parallel) and plans:
//! the one path `diff`, `verify` and the wizard share.

use super::{Plan, PlanOptions};
use crate::catalog::Inspected;
use crate::db::ConnSettings;
use crate::db::shadow::{DesiredSource, inspect_desired};
use anyhow::{Context, Result};

/// Both sides as inspected, and the plan between them.
pub struct Computed {
    pub live: Inspected,
    pub desired: Inspected,
    pub plan: Plan,
}

pub async fn compute(
    target: &ConnSettings,
    desired: &str,
    shadow: Option<&str>,
    opts: &PlanOptions,
) -> Result<Computed> {
    let source = DesiredSource::parse(desired)?;
    let (live, want) = tokio::join!(
        crate::catalog::inspect(target),
        inspect_desired(&source, shadow)
    );
    let live = live.with_context(|| format!("inspecting {target}"))?;
    let desired =
        want.with_context(|| format!("loading the desired schema from {}", source.describe()))?;
    let mut opts = opts.clone();
    for file in source.sql_files()? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {} for rename hints", file.display()))?;
        let hints = super::hints::parse(&text, &desired.model)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        opts.renames.extend(hints);
    }
    let plan = super::diff(&live, &desired.model, &opts);
    Ok(Computed {
        live,
        desired,
        plan,
    })
}
