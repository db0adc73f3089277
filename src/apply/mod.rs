//! Runs a pinned plan: refuses a tampered plan, a drifted schema, a concurrent
//! run, unacknowledged `danger` hazards and every `blocker`; then runs transaction
//! groups under `lock_timeout`, journals before and after every statement, and
//! reports progress as events that the CLI and the wizard both consume.

use crate::catalog;
use crate::db::{ConnSettings, conn::connect_with_notices};
use crate::hazard::{HazardId, Severity};
use crate::plan::PlanFile;
use crate::session::journal::{Entry, Journal, StatementError};
use anyhow::Result;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;
use tokio_postgres::{CancelToken, Client};

/// Key of the session-level advisory lock that keeps two applies apart.
const APPLY_LOCK_KEY: i64 = 0x7067_616c_6967_6e; // "pgalign"

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub lock_timeout: Duration,
    pub statement_timeout: Option<Duration>,
    /// Hazard ids whose `danger` steps may run (`--allow-hazards`, or the
    /// reviewer's acknowledgement in the wizard).
    pub allowed: BTreeSet<HazardId>,
    /// The plan body SHA-256 that was reviewed (`--expect-sha256`, the wizard's sign-off).
    pub expect_sha256: Option<String>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            lock_timeout: Duration::from_secs(5),
            statement_timeout: None,
            allowed: BTreeSet::new(),
            expect_sha256: None,
        }
    }
}

/// Why a plan was refused before anything ran (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("the plan is not the one that was reviewed: its SHA-256 is {actual}, expected {expected}")]
    NotReviewed { expected: String, actual: String },
    #[error(
        "the live schema drifted since the plan was generated: its fingerprint is {actual}, the plan was made for {expected}; run `pgalign diff` again and review the new plan"
    )]
    Drift { expected: String, actual: String },
    #[error("another pgalign apply holds the apply lock on {target}; wait for it to finish")]
    Concurrent { target: String },
    #[error("step {step} has a blocker hazard and cannot be applied: {detail}")]
    Blocker { step: usize, detail: String },
    #[error(
        "the plan has danger hazards that were not allowed: {}; pass --allow-hazards {} after review",
        .missing.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(", "),
        .missing.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(",")
    )]
    HazardsNotAllowed { missing: Vec<HazardId> },
}

/// Progress of a run, for the CLI's progress line and the wizard's apply screen.
#[derive(Clone)]
pub enum Event {
    /// Connected; `cancel` cancels the running statement on the server.
    Connected { cancel: CancelToken },
    Checked { fingerprint: String },
    StatementStarted { step: usize, group: usize, title: String },
    StatementFinished { step: usize, duration: Duration, rows: u64 },
    Notice { step: usize, message: String },
    StatementFailed { step: usize, error: StatementError },
    GroupCommitted { group: usize },
    GroupRolledBack { group: usize },
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Connected { .. } => write!(f, "Connected"),
            Event::Checked { fingerprint } => write!(f, "Checked({fingerprint})"),
            Event::StatementStarted { step, group, title } => write!(f, "StatementStarted({step}, {group}, {title})"),
            Event::StatementFinished { step, duration, rows } => write!(f, "StatementFinished({step}, {duration:?}, {rows})"),
            Event::Notice { step, message } => write!(f, "Notice({step}, {message})"),
            Event::StatementFailed { step, error } => write!(f, "StatementFailed({step}, {error})"),
            Event::GroupCommitted { group } => write!(f, "GroupCommitted({group})"),
            Event::GroupRolledBack { group } => write!(f, "GroupRolledBack({group})"),
        }
    }
}

/// What happened, step by step.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub committed: Vec<usize>,
    pub not_applied: Vec<usize>,
    /// Step numbers with their duration and rows, in the order they finished.
    pub finished: Vec<(usize, Duration, u64)>,
    pub failed: Option<(usize, StatementError)>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.failed.is_none() && self.not_applied.is_empty()
    }
}

/// Checks what can be checked without the database: the reviewed hash and the
/// hazard gate.
pub fn check_plan(plan: &PlanFile, opts: &ApplyOptions) -> Result<(), Refusal> {
    if let Some(expected) = &opts.expect_sha256 {
        if !expected.eq_ignore_ascii_case(&plan.actual_sha256) {
            return Err(Refusal::NotReviewed {
                expected: expected.clone(),
                actual: plan.actual_sha256.clone(),
            });
        }
    }
    let mut missing = BTreeSet::new();
    for step in &plan.steps {
        for h in &step.hazards {
            match h.severity {
                Severity::Blocker => {
                    return Err(Refusal::Blocker {
                        step: step.number,
                        detail: h.detail.clone(),
                    });
                }
                Severity::Danger if !opts.allowed.contains(&h.id) => {
                    missing.insert(h.id);
                }
                _ => {}
            }
        }
    }
    if !missing.is_empty() {
        return Err(Refusal::HazardsNotAllowed {
            missing: missing.into_iter().collect(),
        });
    }
    Ok(())
}

fn send(events: &Option<UnboundedSender<Event>>, e: Event) {
    if let Some(tx) = events {
        let _ = tx.send(e);
    }
}

fn journal(j: &mut Option<&mut Journal>, e: Entry) -> Result<()> {
    if let Some(j) = j {
        j.append(e)?;
    }
    Ok(())
}

/// Applies `plan` to `target`. Refusals come back as a [`Refusal`] error before
/// anything ran; a failed statement comes back as an [`Outcome`] with `failed`
/// set, its group rolled back and the groups before it committed.
pub async fn run(
    target: &ConnSettings,
    plan: &PlanFile,
    opts: &ApplyOptions,
    events: Option<UnboundedSender<Event>>,
    mut journal_file: Option<&mut Journal>,
) -> Result<Outcome> {
    check_plan(plan, opts)?;
    let (mut client, mut notices) = connect_with_notices(target).await?;
    send(&events, Event::Connected {
        cancel: client.cancel_token(),
    });
    let locked: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&APPLY_LOCK_KEY])
        .await
        .map_err(|e| anyhow::anyhow!("taking the apply lock: {}", crate::db::describe_error(&e)))?
        .get(0);
    if !locked {
        return Err(Refusal::Concurrent {
            target: target.to_string(),
        }
        .into());
    }
    let result = run_locked(&mut client, &mut notices, plan, opts, &events, &mut journal_file).await;
    let _ = client
        .query_one("SELECT pg_advisory_unlock($1)", &[&APPLY_LOCK_KEY])
        .await;
    result
}

async fn run_locked(
    client: &mut Client,
    notices: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    plan: &PlanFile,
    opts: &ApplyOptions,
    events: &Option<UnboundedSender<Event>>,
    journal_file: &mut Option<&mut Journal>,
) -> Result<Outcome> {
    // The drift check runs while holding the apply lock.
    let live = catalog::introspect(client).await?;
    let fingerprint = live.model.fingerprint();
    if fingerprint != plan.header.live_fingerprint {
        return Err(Refusal::Drift {
            expected: plan.header.live_fingerprint.clone(),
            actual: fingerprint,
        }
        .into());
    }
    send(events, Event::Checked { fingerprint });
    journal(
        journal_file,
        Entry::ApplyStarted {
            plan_sha256: plan.actual_sha256.clone(),
            statements: plan.steps.len(),
            lock_timeout_ms: opts.lock_timeout.as_millis() as u64,
            statement_timeout_ms: opts.statement_timeout.map(|d| d.as_millis() as u64),
        },
    )?;
    let mut outcome = Outcome::default();
    let groups: Vec<usize> = {
        let mut g: Vec<usize> = plan.steps.iter().map(|s| s.group).collect();
        g.dedup();
        g
    };
    let timeouts = format!(
        "SET lock_timeout = '{}ms'; SET statement_timeout = '{}ms'",
        opts.lock_timeout.as_millis(),
        opts.statement_timeout.map(|d| d.as_millis()).unwrap_or(0)
    );
    client
        .batch_execute(&timeouts)
        .await
        .map_err(|e| anyhow::anyhow!("setting timeouts: {}", crate::db::describe_error(&e)))?;

    for group in groups {
        let steps: Vec<&crate::plan::Step> = plan.steps.iter().filter(|s| s.group == group).collect();
        let transactional = steps.iter().all(|s| s.transactional);
        if outcome.failed.is_some() {
            outcome.not_applied.extend(steps.iter().map(|s| s.number));
            continue;
        }
        if transactional {
            client
                .batch_execute("BEGIN")
                .await
                .map_err(|e| anyhow::anyhow!("starting group {group}: {}", crate::db::describe_error(&e)))?;
        }
        let mut done_in_group = Vec::new();
        for step in &steps {
            journal(
                journal_file,
                Entry::StatementStarted {
                    step: step.number,
                    group,
                    title: step.title.clone(),
                },
            )?;
            send(events, Event::StatementStarted {
                step: step.number,
                group,
                title: step.title.clone(),
            });
            let started = Instant::now();
            let result = client.execute(step.sql.as_str(), &[]).await;
            let elapsed = started.elapsed();
            while let Ok(message) = notices.try_recv() {
                send(events, Event::Notice { step: step.number, message });
            }
            match result {
                Ok(rows) => {
                    journal(
                        journal_file,
                        Entry::StatementFinished {
                            step: step.number,
                            group,
                            duration_ms: elapsed.as_millis() as u64,
                            rows,
                        },
                    )?;
                    send(events, Event::StatementFinished {
                        step: step.number,
                        duration: elapsed,
                        rows,
                    });
                    outcome.finished.push((step.number, elapsed, rows));
                    done_in_group.push(step.number);
                    if !transactional {
                        outcome.committed.push(step.number);
                    }
                }
                Err(e) => {
                    let error = statement_error(&e, plan, step.number);
                    journal(
                        journal_file,
                        Entry::StatementFailed {
                            step: step.number,
                            group,
                            duration_ms: elapsed.as_millis() as u64,
                            error: error.clone(),
                        },
                    )?;
                    send(events, Event::StatementFailed {
                        step: step.number,
                        error: error.clone(),
                    });
                    outcome.failed = Some((step.number, error.clone()));
                    if transactional {
                        let _ = client.batch_execute("ROLLBACK").await;
                        let all: Vec<usize> = steps.iter().map(|s| s.number).collect();
                        journal(
                            journal_file,
                            Entry::GroupRolledBack {
                                group,
                                steps: all.clone(),
                                reason: error.to_string(),
                            },
                        )?;
                        send(events, Event::GroupRolledBack { group });
                        outcome.not_applied.extend(all);
                    } else {
                        outcome.not_applied.push(step.number);
                    }
                    break;
                }
            }
        }
        if outcome.failed.is_none() && transactional {
            if let Err(e) = client.batch_execute("COMMIT").await {
                let error = statement_error(&e, plan, 0);
                journal(
                    journal_file,
                    Entry::GroupRolledBack {
                        group,
                        steps: done_in_group.clone(),
                        reason: format!("commit failed: {error}"),
                    },
                )?;
                outcome.failed = Some((*done_in_group.last().unwrap_or(&0), error));
                outcome.not_applied.extend(done_in_group);
                continue;
            }
            journal(
                journal_file,
                Entry::GroupCommitted {
                    group,
                    steps: done_in_group.clone(),
                },
            )?;
            send(events, Event::GroupCommitted { group });
            outcome.committed.extend(done_in_group);
        }
    }
    journal(
        journal_file,
        Entry::ApplyFinished {
            ok: outcome.ok(),
            committed: outcome.committed.clone(),
            not_applied: outcome.not_applied.clone(),
        },
    )?;
    Ok(outcome)
}

fn statement_error(e: &tokio_postgres::Error, plan: &PlanFile, step: usize) -> StatementError {
    match e.as_db_error() {
        Some(db) => {
            let plan_line = match (db.position(), plan.step_lines.get(step.wrapping_sub(1))) {
                (Some(tokio_postgres::error::ErrorPosition::Original(pos)), Some(first)) => {
                    let sql = &plan.steps[step - 1].sql;
                    let upto: String = sql.chars().take(*pos as usize).collect();
                    Some(first + upto.matches('\n').count())
                }
                _ => None,
            };
            StatementError {
                sqlstate: Some(db.code().code().to_string()),
                message: db.message().to_string(),
                detail: db.detail().map(str::to_string),
                hint: db.hint().map(str::to_string),
                plan_line,
            }
        }
        None => StatementError {
            sqlstate: None,
            message: crate::db::describe_error(e),
            ..Default::default()
        },
    }
}
