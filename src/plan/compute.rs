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
    let plan = super::diff(&live, &desired.model, opts);
    Ok(Computed {
        live,
        desired,
        plan,
    })
}
