//! What is checked before anything runs: the reviewed hash, the hazard gate, and
//! — when the live schema drifted — what changed, in words.
//!
//! The plan header only carries fingerprints. Whoever writes a plan may also
//! write the live model it was computed from beside it (`<plan>.live.json`, see
//! [`write_live_sidecar`]); on drift that model is compared with the live schema
//! of now, and the differences are listed by title.

use super::{ApplyOptions, Refusal};
use crate::catalog::{Inspected, Model};
use crate::hazard::{Hazard, Severity};
use crate::plan::{self, PlanFile, PlanOptions};
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// How many differences a drift refusal names before it says "and N more".
const MAX_LISTED: usize = 12;

/// Checks what can be checked without the database: the reviewed hash and the
/// hazard gate.
pub fn check_plan(plan: &PlanFile, opts: &ApplyOptions) -> Result<(), Refusal> {
    if let Some(expected) = &opts.expect_sha256
        && !expected.eq_ignore_ascii_case(&plan.actual_sha256)
    {
        return Err(Refusal::NotReviewed {
            expected: expected.clone(),
            actual: plan.actual_sha256.clone(),
        });
    }
    gate_hazards(
        plan.steps
            .iter()
            .flat_map(|s| s.hazards.iter().map(move |h| (s.number, h))),
        opts,
    )
}

/// The hazard gate over `(step, hazard)` pairs: any `blocker` refuses (the
/// first one is named), and every `danger` id must be in `--allow-hazards`.
pub(super) fn gate_hazards<'a>(
    hazards: impl IntoIterator<Item = (usize, &'a Hazard)>,
    opts: &ApplyOptions,
) -> Result<(), Refusal> {
    let mut missing = BTreeSet::new();
    for (step, h) in hazards {
        match h.severity {
            Severity::Blocker => {
                return Err(Refusal::Blocker {
                    step,
                    detail: h.detail.clone(),
                });
            }
            Severity::Danger if !opts.allowed.contains(&h.id) => {
                missing.insert(h.id);
            }
            _ => {}
        }
    }
    if !missing.is_empty() {
        return Err(Refusal::HazardsNotAllowed {
            missing: missing.into_iter().collect(),
        });
    }
    Ok(())
}

/// `plan.sql` → `plan.sql.live.json`.
pub fn sidecar_path(plan_path: &Path) -> PathBuf {
    let mut name = plan_path.as_os_str().to_owned();
    name.push(".live.json");
    PathBuf::from(name)
}

/// Writes the live model a plan was computed from beside the plan file
/// (`<plan>.live.json`, mode 0600, under a temporary name renamed over the
/// final one: never through a planted symlink, see [`crate::util::fs`]), so
/// that a drift refusal can name what changed. Holds no data: only the schema
/// model, every string redacted on its way out.
pub fn write_live_sidecar(plan_path: &Path, live: &Model) -> Result<PathBuf> {
    use std::io::Write;
    let path = sidecar_path(plan_path);
    let f = crate::util::fs::PrivateFile::create(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    // Streamed: the model of a large schema is over 100 MB of JSON. The
    // redactor gets 64 kB writes and passes them on in large pieces.
    let mut out = std::io::BufWriter::with_capacity(
        1 << 16,
        crate::util::redact::JsonRedactor::new(std::io::BufWriter::with_capacity(1 << 16, f)),
    );
    serde_json::to_writer(&mut out, live)
        .map_err(std::io::Error::from)
        .and_then(|_| out.flush())
        .and_then(|_| {
            out.into_inner()
                .map_err(|e| e.into_error())?
                .into_inner()
                .into_inner()
                .map_err(|e| e.into_error())?
                .commit()
        })
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Says what differs between the schema the plan was made for and `now`, in
/// one phrase for the drift refusal.
pub fn explain_drift(plan_path: Option<&Path>, plan: &PlanFile, now: &Inspected) -> String {
    let Some(plan_path) = plan_path else {
        return "which objects changed cannot be listed (the plan's file path is not known)".into();
    };
    let path = sidecar_path(plan_path);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) => {
            return format!(
                "which objects changed cannot be listed: there is no {} beside the plan",
                path.display()
            );
        }
    };
    let mut then: Model = match serde_json::from_str(&text) {
        Ok(m) => m,
        Err(e) => {
            return format!(
                "which objects changed cannot be listed: {} is not a schema model ({e})",
                path.display()
            );
        }
    };
    plan.header.scope.apply(&mut then);
    if then.fingerprint() != plan.header.live_fingerprint {
        return format!(
            "which objects changed cannot be listed: {} does not belong to this plan (its fingerprint differs from the plan's)",
            path.display()
        );
    }
    // Steps that would turn the schema of then into the schema of now are
    // exactly what changed since.
    let then = Inspected {
        current_user: now.current_user.clone(),
        server_version_num: now.server_version_num,
        server_version: now.server_version.clone(),
        database: now.database.clone(),
        database_bytes: 0,
        model: then,
        stats: Default::default(),
    };
    let changes = plan::diff(&then, &now.model, &PlanOptions::default());
    let mut titles: Vec<String> = changes.steps.iter().map(|s| s.title.clone()).collect();
    titles.extend(changes.notes.iter().map(|n| n.replace('\n', " ")));
    if titles.is_empty() {
        return "the models differ only in details a plan does not change (see `pgalign inspect`)"
            .into();
    }
    let more = titles.len().saturating_sub(MAX_LISTED);
    titles.truncate(MAX_LISTED);
    let mut out = format!("changed since the plan was made: {}", titles.join("; "));
    if more > 0 {
        out.push_str(&format!("; and {more} more"));
    }
    out
}
