//! What a journal says happened, gathered into one value that both the Markdown
//! and the JSON report are rendered from (so they can never disagree).

use crate::hazard::HazardId;
use crate::journal::{self, Check, Entry, Record, StatementError};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Aligned,
    NotAligned,
    /// An external plan applied in full, with no desired schema to verify against.
    AppliedNotVerified,
    Incomplete,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Aligned => "ALIGNED",
            Outcome::NotAligned => "NOT ALIGNED",
            Outcome::AppliedNotVerified => "APPLIED, NOT VERIFIED",
            Outcome::Incomplete => "INCOMPLETE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementOutcome {
    Committed,
    RolledBack,
    Failed,
    NotApplied,
    /// Started, and the journal holds no result (the process died).
    Interrupted,
    /// Finished, but no commit of its group was recorded.
    Uncommitted,
}

impl StatementOutcome {
    pub fn words(self) -> &'static str {
        match self {
            StatementOutcome::Committed => "✔ committed",
            StatementOutcome::RolledBack => "↺ rolled back",
            StatementOutcome::Failed => "✘ failed",
            StatementOutcome::NotApplied => "– not applied",
            StatementOutcome::Interrupted => "? interrupted (no result recorded)",
            StatementOutcome::Uncommitted => "? finished, commit not recorded",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub tool_version: String,
    pub target: String,
    pub database: String,
    pub mode: crate::journal::Mode,
    pub desired: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checklist {
    pub operator: String,
    pub items: Vec<Check>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Backup {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    pub entries: usize,
    pub schema_path: Option<String>,
    pub schema_bytes: Option<u64>,
    pub schema_sha256: Option<String>,
    pub pg_dump_version: Option<String>,
}

/// One DANGER statement the reviewer acknowledged on Review.
#[derive(Debug, Clone, Serialize)]
pub struct Acknowledgement {
    pub at: String,
    pub step: usize,
    pub title: String,
    pub statement: String,
    pub hazards: Vec<HazardId>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignOff {
    pub reviewer: String,
    pub plan_sha256: String,
    pub acknowledged: Vec<HazardId>,
    /// The signed SHA-256 equals the generated plan's (None: no plan recorded).
    pub matches_plan: Option<bool>,
    /// The signed SHA-256 equals the applied plan's (None: nothing applied).
    pub matches_applied: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Apply {
    pub plan_sha256: String,
    pub statements: usize,
    pub lock_timeout_ms: u64,
    pub statement_timeout_ms: Option<u64>,
    /// An `apply-finished` entry was recorded.
    pub finished: bool,
    pub ok: Option<bool>,
    pub committed: Vec<usize>,
    pub not_applied: Vec<usize>,
    pub rolled_back_groups: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    pub step: usize,
    pub group: Option<usize>,
    pub title: Option<String>,
    pub outcome: StatementOutcome,
    pub duration_ms: Option<u64>,
    pub rows: Option<u64>,
    pub error: Option<StatementError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub in_sync: bool,
    pub remaining: Vec<String>,
    pub fingerprint: String,
    /// The fingerprint equals the plan's desired fingerprint (None: no plan).
    pub matches_desired: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cleanup {
    pub action: String,
    pub path: String,
}

/// Everything the report states, with stable snake_case keys.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub outcome: Outcome,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub operator: Option<String>,
    pub reviewer: Option<String>,
    pub session: Option<Session>,
    pub git: Option<journal::GitState>,
    pub preflight: Option<journal::Preflight>,
    pub checklist: Option<Checklist>,
    pub backup: Option<Backup>,
    pub rehearsal: Option<journal::Rehearsed>,
    pub plan: Option<journal::PlanGenerated>,
    pub sign_off: Option<SignOff>,
    /// Each DANGER statement acknowledged, in the order it was.
    pub acknowledgements: Vec<Acknowledgement>,
    pub apply: Option<Apply>,
    pub statements: Vec<Statement>,
    pub verification: Option<Verification>,
    pub cleanup: Vec<Cleanup>,
    pub notes: Vec<String>,
    /// Lock-timeout retries and resumed runs, in words, in order.
    pub apply_events: Vec<String>,
    /// What the session's last `session-ended` entry said.
    pub session_outcome: Option<String>,
}

/// Gathers the facts of a journal. Later entries win over earlier ones (a
/// resumed run re-records what it did).
pub fn gather(records: &[Record]) -> Facts {
    let mut f = Facts {
        outcome: Outcome::Incomplete,
        started_at: records.first().map(|r| r.at.clone()),
        ended_at: None,
        duration_ms: None,
        operator: None,
        reviewer: None,
        session: None,
        git: None,
        preflight: None,
        checklist: None,
        backup: None,
        rehearsal: None,
        plan: None,
        sign_off: None,
        acknowledgements: vec![],
        apply: None,
        statements: Vec::new(),
        verification: None,
        cleanup: Vec::new(),
        notes: Vec::new(),
        apply_events: Vec::new(),
        session_outcome: None,
    };
    let mut steps: BTreeMap<usize, Statement> = BTreeMap::new();
    // How the latest run ended, told when a resumed run follows it (later
    // entries overwrite the statements' outcomes).
    let mut last_run: Option<String> = None;
    for r in records {
        match &r.entry {
            Entry::ApplyStarted { .. } => {
                last_run = Some(format!(
                    "{}: the run started then never journaled its end (the process was interrupted)",
                    r.at
                ))
            }
            Entry::StatementFailed { step, error, .. } => {
                last_run = Some(format!(
                    "{}: the run stopped: step {step} failed: {error}",
                    r.at
                ))
            }
            Entry::ApplyFinished {
                ok: false,
                committed,
                not_applied,
            } => {
                let failed = last_run
                    .take()
                    .filter(|l| l.contains(": the run stopped: "))
                    .map(|l| format!("{l}; "))
                    .unwrap_or_else(|| format!("{}: the run stopped; ", r.at));
                last_run = Some(format!(
                    "{failed}committed steps: {}; not applied: {}",
                    crate::util::step_list(committed),
                    crate::util::step_list(not_applied)
                ))
            }
            Entry::ApplyResumed { .. } => {
                if let Some(l) = last_run.take() {
                    f.apply_events.push(l);
                }
            }
            _ => {}
        }
        match r.entry.clone() {
            Entry::SessionStarted {
                tool_version,
                target,
                database,
                mode,
                desired,
                ..
            } => {
                if f.session.is_none() {
                    f.session = Some(Session {
                        tool_version,
                        target,
                        database,
                        mode,
                        desired,
                    });
                }
            }
            Entry::Preflight(x) => f.preflight = Some(x),
            Entry::ChecklistConfirmed { items, operator } => {
                f.operator = Some(operator.clone());
                f.checklist = Some(Checklist { operator, items });
            }
            Entry::BackupVerified {
                path,
                bytes,
                sha256,
                entries,
                schema_path,
            } => {
                f.backup = Some(Backup {
                    path,
                    bytes,
                    sha256,
                    entries,
                    schema_path,
                    ..Backup::default()
                })
            }
            Entry::BackupSchemaDump {
                path,
                bytes,
                sha256,
                pg_dump_version,
            } => {
                let b = f.backup.get_or_insert_with(Backup::default);
                b.schema_path = Some(path);
                b.schema_bytes = Some(bytes);
                b.schema_sha256 = Some(sha256);
                b.pg_dump_version = Some(pg_dump_version);
            }
            Entry::GitState(x) => f.git = Some(x),
            Entry::Rehearsed(x) => f.rehearsal = Some(x),
            Entry::PlanGenerated(x) => f.plan = Some(x),
            Entry::DangerAcknowledged {
                step,
                title,
                statement,
                hazards,
            } => f.acknowledgements.push(Acknowledgement {
                at: r.at.clone(),
                step,
                title,
                statement,
                hazards,
            }),
            Entry::SignedOff {
                reviewer,
                plan_sha256,
                acknowledged,
            } => {
                f.reviewer = Some(reviewer.clone());
                f.sign_off = Some(SignOff {
                    reviewer,
                    plan_sha256,
                    acknowledged,
                    matches_plan: None,
                    matches_applied: None,
                });
            }
            Entry::ApplyStarted {
                plan_sha256,
                statements,
                lock_timeout_ms,
                statement_timeout_ms,
            } => {
                let rolled_back_groups = f
                    .apply
                    .take()
                    .map(|a| a.rolled_back_groups)
                    .unwrap_or_default();
                f.apply = Some(Apply {
                    plan_sha256,
                    statements,
                    lock_timeout_ms,
                    statement_timeout_ms,
                    finished: false,
                    ok: None,
                    committed: Vec::new(),
                    not_applied: Vec::new(),
                    rolled_back_groups,
                });
            }
            Entry::StatementStarted { step, group, title } => {
                steps.insert(
                    step,
                    Statement {
                        step,
                        group: Some(group),
                        title: Some(title),
                        outcome: StatementOutcome::Interrupted,
                        duration_ms: None,
                        rows: None,
                        error: None,
                    },
                );
            }
            Entry::StatementFinished {
                step,
                group,
                duration_ms,
                rows,
            } => {
                let s = statement(&mut steps, step, group);
                s.outcome = StatementOutcome::Uncommitted;
                s.duration_ms = Some(duration_ms);
                s.rows = Some(rows);
                s.error = None;
            }
            Entry::StatementFailed {
                step,
                group,
                duration_ms,
                error,
            } => {
                let s = statement(&mut steps, step, group);
                s.outcome = StatementOutcome::Failed;
                s.duration_ms = Some(duration_ms);
                s.error = Some(error);
            }
            Entry::GroupCommitted { group, steps: list } => {
                for step in list {
                    statement(&mut steps, step, group).outcome = StatementOutcome::Committed;
                }
            }
            Entry::GroupRolledBack {
                group, steps: list, ..
            } => {
                if let Some(a) = f.apply.as_mut() {
                    a.rolled_back_groups.push(group);
                }
                for step in list {
                    let s = statement(&mut steps, step, group);
                    if s.outcome != StatementOutcome::Failed {
                        s.outcome = if s.duration_ms.is_some() {
                            StatementOutcome::RolledBack
                        } else {
                            StatementOutcome::NotApplied
                        };
                    }
                }
            }
            Entry::ApplyFinished {
                ok,
                committed,
                not_applied,
            } => {
                for &step in &committed {
                    if let Some(s) = steps.get_mut(&step) {
                        s.outcome = StatementOutcome::Committed;
                    }
                }
                for &step in &not_applied {
                    steps.entry(step).or_insert_with(|| not_applied_step(step));
                }
                if let Some(a) = f.apply.as_mut() {
                    a.finished = true;
                    a.ok = Some(ok);
                    a.committed = committed;
                    a.not_applied = not_applied;
                }
            }
            Entry::Verified {
                in_sync,
                remaining,
                fingerprint,
            } => {
                f.verification = Some(Verification {
                    in_sync,
                    remaining,
                    fingerprint,
                    matches_desired: None,
                })
            }
            Entry::Cleanup { action, path } => f.cleanup.push(Cleanup { action, path }),
            Entry::Note { text } => f.notes.push(text),
            Entry::GroupRetried {
                group,
                attempt,
                max_attempts,
                wait_ms,
                reason,
                blockers,
            } => {
                let mut e = format!(
                    "{}: group {group} rolled back and retried (attempt {attempt} of {max_attempts}, after {wait_ms} ms): {reason}",
                    r.at
                );
                if !blockers.is_empty() {
                    e.push_str(&format!("; blocked by {}", blockers.join("; ")));
                }
                f.apply_events.push(e);
            }
            Entry::ApplyResumed {
                plan_path,
                committed_groups,
                recovered,
            } => {
                let groups: Vec<String> = committed_groups.iter().map(|g| g.to_string()).collect();
                let mut e = format!(
                    "{}: resumed the run of {plan_path}; groups already committed (not run again): {}",
                    r.at,
                    if groups.is_empty() {
                        "none".into()
                    } else {
                        groups.join(", ")
                    }
                );
                if !recovered.is_empty() {
                    e.push_str(&format!("; repaired: {}", recovered.join("; ")));
                }
                f.apply_events.push(e);
            }
            Entry::ApplyPlan { .. } | Entry::GroupBegun { .. } => {}
            Entry::SessionEnded { outcome } => {
                f.session_outcome = Some(outcome);
                f.ended_at = Some(r.at.clone());
            }
        }
    }
    // Steps of the plan that the journal never mentions were not applied.
    let planned = f
        .apply
        .as_ref()
        .map(|a| a.statements)
        .or(f.plan.as_ref().map(|p| p.statements));
    if let Some(n) = planned {
        for step in 1..=n {
            steps.entry(step).or_insert_with(|| not_applied_step(step));
        }
    }
    f.statements = steps.into_values().collect();
    f.ended_at = f.ended_at.or_else(|| records.last().map(|r| r.at.clone()));
    f.duration_ms = match (&f.started_at, &f.ended_at) {
        (Some(a), Some(b)) => duration_ms(a, b),
        _ => None,
    };
    if let (Some(s), Some(p)) = (f.sign_off.as_mut(), f.plan.as_ref()) {
        s.matches_plan = Some(s.plan_sha256.eq_ignore_ascii_case(&p.sha256));
    }
    if let (Some(s), Some(a)) = (f.sign_off.as_mut(), f.apply.as_ref()) {
        s.matches_applied = Some(s.plan_sha256.eq_ignore_ascii_case(&a.plan_sha256));
    }
    // An imported plan has no desired fingerprint ("external") to compare with.
    let external = f
        .plan
        .as_ref()
        .is_some_and(|p| p.desired_fingerprint == "external");
    if let (Some(v), Some(p)) = (f.verification.as_mut(), f.plan.as_ref())
        && !external
    {
        v.matches_desired = Some(v.fingerprint == p.desired_fingerprint);
    }
    let failed = f
        .statements
        .iter()
        .any(|s| s.outcome == StatementOutcome::Failed)
        || f.apply.as_ref().is_some_and(|a| a.ok == Some(false));
    f.outcome = match &f.verification {
        Some(v) if v.in_sync => Outcome::Aligned,
        Some(_) => Outcome::NotAligned,
        None if failed => Outcome::NotAligned,
        None if external && f.apply.as_ref().is_some_and(|a| a.ok == Some(true)) => {
            Outcome::AppliedNotVerified
        }
        None => Outcome::Incomplete,
    };
    f
}

fn statement(steps: &mut BTreeMap<usize, Statement>, step: usize, group: usize) -> &mut Statement {
    let s = steps.entry(step).or_insert_with(|| not_applied_step(step));
    s.group.get_or_insert(group);
    s
}

fn not_applied_step(step: usize) -> Statement {
    Statement {
        step,
        group: None,
        title: None,
        outcome: StatementOutcome::NotApplied,
        duration_ms: None,
        rows: None,
        error: None,
    }
}

fn duration_ms(from: &str, to: &str) -> Option<i64> {
    let a = chrono::DateTime::parse_from_rfc3339(from).ok()?;
    let b = chrono::DateTime::parse_from_rfc3339(to).ok()?;
    Some((b - a).num_milliseconds())
}
