//! The slow work of each step (database, pg_dump, files), as plain async
//! functions. The TUI runs them in tokio tasks and feeds their results back to
//! the [`Wizard`](super::wizard::Wizard); they never touch the terminal.

use super::apply_state::ApplyResult;
use super::preflight::{self, PreflightFacts};
use super::wizard::{Config, PlanState, VerifyResult};
use crate::apply::{self, ApplyOptions, Event};
use crate::journal::Journal;
use crate::plan::{self, PlanFile};
use anyhow::{Context, Result};
use tokio::sync::mpsc::UnboundedSender;

pub async fn gather_preflight(config: &Config) -> Result<PreflightFacts> {
    preflight::gather(&config.target, &config.session_dir).await
}

pub async fn backup(config: &Config) -> Result<crate::backup::BackupEvidence> {
    crate::backup::run(&config.target, &config.session_dir)
        .await
        .with_context(|| format!("backing up {}", config.target))
}

/// The session's target against `desired`, with its plan options.
async fn compute(config: &Config, desired: &str) -> Result<crate::plan::compute::Computed> {
    crate::plan::compute::compute(
        &config.target,
        desired,
        config.shadow.as_deref(),
        &config.plan_options,
    )
    .await
}

/// Computes the plan (or imports the external one), writes it into the
/// session folder as `plan.sql` and reads it back, so what is reviewed is
/// exactly what is on disk.
pub async fn generate_plan(config: &Config) -> Result<PlanState> {
    let (plan, live, objects) = match (&config.external_plan, &config.desired) {
        (Some(file), _) => {
            let imported = plan::external::import_with_live(file, &config.target).await?;
            (imported.plan, imported.live, vec![])
        }
        (None, Some(desired)) => {
            let mut computed = compute(config, desired).await?;
            // The review shows what the apply gate will find in the SQL.
            apply::name_derived(&mut computed.plan, &config.target).await?;
            let objects = plan::objdiff::changes(
                &computed.plan.steps,
                &computed.live.model,
                &computed.desired.model,
            );
            (computed.plan, computed.live, objects)
        }
        (None, None) => anyhow::bail!("the session has neither a desired schema nor a plan"),
    };
    let text = plan::render_plan(
        &plan,
        &crate::util::redact(&config.target.to_string()),
        &crate::util::now_rfc3339(),
    );
    let path = config.session_dir.join("plan.sql");
    crate::util::write_private(&path, text.as_bytes())
        .with_context(|| format!("writing plan file {}", path.display()))?;
    apply::write_live_sidecar(&path, &live.model)?;
    let read = std::fs::read_to_string(&path)
        .with_context(|| format!("reading plan file {}", path.display()))?;
    let mut file =
        plan::parse_plan(&read).with_context(|| format!("plan file {}", path.display()))?;
    // The figures behind the hazards (sizes, counts) stay out of the file's
    // body: the review shows them from the plan just computed.
    for (read, computed) in file.steps.iter_mut().zip(&plan.steps) {
        for (h, c) in read.hazards.iter_mut().zip(&computed.hazards) {
            if h.id == c.id && h.detail == c.detail {
                h.figures = c.figures.clone();
            }
        }
    }
    Ok(PlanState {
        path,
        file,
        notes: plan.notes,
        objects,
    })
}

/// Runs the pinned plan with its own handle on the session journal (the engine
/// journals before and after every statement).
pub async fn run_apply(
    config: Config,
    journal_path: std::path::PathBuf,
    plan: PlanFile,
    opts: ApplyOptions,
    events: UnboundedSender<Event>,
) -> ApplyResult {
    let mut journal = match Journal::open(&journal_path) {
        Ok(j) => j,
        Err(e) => return ApplyResult::refused(format!("{e:#}")),
    };
    match apply::run(
        &config.target,
        &plan,
        &opts,
        Some(events),
        Some(&mut journal),
    )
    .await
    {
        Ok(outcome) => ApplyResult::from_outcome(&outcome),
        Err(e) => ApplyResult::refused(format!("{e:#}")),
    }
}

/// Continues the interrupted apply of a resumed session (`wizard --resume`):
/// reads the journal again for what committed, and lets the engine settle
/// the rest with the server; a committed group is never run again.
pub async fn resume_apply(
    config: Config,
    journal_path: std::path::PathBuf,
    plan_path: std::path::PathBuf,
    opts: ApplyOptions,
    events: UnboundedSender<Event>,
) -> ApplyResult {
    let point = match apply::resume_point(&journal_path) {
        Ok(p) => p,
        Err(e) => return ApplyResult::refused(format!("{e:#}")),
    };
    let mut journal = match Journal::open(&journal_path) {
        Ok(j) => j,
        Err(e) => return ApplyResult::refused(format!("{e:#}")),
    };
    match apply::resume(
        &config.target,
        &point,
        Some(&plan_path),
        &opts,
        Some(events),
        Some(&mut journal),
    )
    .await
    {
        Ok(outcome) => ApplyResult::from_outcome(&outcome),
        Err(e) => ApplyResult::refused(format!("{e:#}")),
    }
}

/// Re-diffs: zero steps means in sync. Without a desired schema (an external
/// plan alone) there is nothing to compare with: the live fingerprint after
/// the apply is all there is to record, and it is never called in sync.
pub async fn verify(config: &Config) -> Result<VerifyResult> {
    let Some(desired) = &config.desired else {
        let live = crate::catalog::inspect(&config.target)
            .await
            .with_context(|| format!("inspecting {}", config.target))?;
        return Ok(VerifyResult {
            in_sync: false,
            remaining: vec![],
            fingerprint: crate::catalog::Scope::default().fingerprint(&live.model),
        });
    };
    let plan = compute(config, desired).await?.plan;
    Ok(VerifyResult {
        in_sync: plan.is_empty(),
        remaining: plan.steps.iter().map(|s| s.title.clone()).collect(),
        fingerprint: plan.live_fingerprint,
    })
}
