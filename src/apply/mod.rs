//! Runs a pinned plan: refuses a tampered plan, a drifted schema, a concurrent
//! run, unacknowledged `danger` hazards and every `blocker`; then runs transaction
//! groups under per-statement `lock_timeout`/`statement_timeout`, retries a group
//! that hit a lock timeout, watches who blocks a slow statement, cancels on the
//! server when asked, journals before and after every statement, and reports
//! progress as events that the CLI and the wizard both consume.
//!
//! - `gate.rs`: what is checked before anything runs (hash, hazards, drift words).
//! - `derive.rs`: the hazards of every step from its SQL (the lint engine, live).
//! - `run.rs`: the advisory lock and the loop over groups, with retries.
//! - `group.rs`: one try of a group: BEGIN/SET LOCAL/COMMIT, or a statement alone.
//! - `exec.rs`: one statement: timeouts, notices, blockers, cancel, its error.
//! - `blocking.rs`: the second connection that reads `pg_blocking_pids`.
//! - `resume.rs`: `apply --resume`: what committed, what to repair, what is left.
//! - `index.rs`: `CONCURRENTLY` index statements and the INVALID index they can leave.
//! - `progress.rs`: the CLI's progress lines and end-of-run summary.

mod blocking;
mod derive;
mod exec;
mod gate;
mod group;
mod index;
mod measure;
pub mod progress;
mod resume;
mod run;

pub use blocking::Blocker;
pub use derive::{Derived, check_derived, derive, name_derived};
pub use gate::{check_plan, explain_drift, sidecar_path, write_live_sidecar};
pub use measure::{Measured, TakenLock};
pub use resume::{ResumePoint, resume, resume_point};
pub use run::run;

use crate::db::ConnSettings;
use crate::hazard::HazardId;
use crate::journal::StatementError;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;
use tokio_postgres::CancelToken;

/// Key of the session-level advisory lock that keeps two applies apart.
pub(crate) const APPLY_LOCK_KEY: i64 = 0x0070_6761_6c69_676e; // "pgalign"

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
    /// How many times a group that failed on a lock timeout is run again from
    /// its start (`--lock-retries`), with a doubling wait between tries.
    pub lock_retries: u32,
    /// The wait before the first retry; it doubles each time, up to 30 s.
    pub retry_backoff: Duration,
    /// The plan file's path, journaled so that `apply --resume` finds it.
    pub plan_path: Option<PathBuf>,
    /// Flips to `true` when the operator asks to stop (Ctrl-C): the running
    /// statement is cancelled on the server and its group rolled back.
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
    /// Measure every statement (locks, rewrites, WAL): `rehearse` sets it.
    pub measure: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            lock_timeout: Duration::from_secs(5),
            statement_timeout: None,
            allowed: BTreeSet::new(),
            expect_sha256: None,
            lock_retries: 3,
            retry_backoff: Duration::from_secs(1),
            plan_path: None,
            cancel: None,
            measure: false,
        }
    }
}

/// Why a plan was refused before anything ran (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(
        "the plan is not the one that was reviewed: its SHA-256 is {actual}, expected {expected}"
    )]
    NotReviewed { expected: String, actual: String },
    #[error(
        "the live schema drifted since the plan was generated: its fingerprint is {actual}, the plan was made for {expected}; {changes}; run `pgalign diff` again and review the new plan"
    )]
    Drift {
        expected: String,
        actual: String,
        /// What changed, in words (from the plan's `.live.json` sidecar), or why
        /// it cannot be said.
        changes: String,
    },
    #[error(
        "another pgalign apply holds the apply lock on {target}{holder}; wait for it to finish"
    )]
    Concurrent {
        target: String,
        /// `" (server process 1234, …)"` when the holder could be found.
        holder: String,
    },
    #[error(
        "step {step}: {detail}, but the plan does not say so ({severity}[{id}] is missing from its comments): the plan was edited after it was generated; generate a new plan with `pgalign diff` and review it again"
    )]
    NotInPlan {
        step: usize,
        severity: crate::hazard::Severity,
        id: HazardId,
        detail: String,
    },
    #[error("step {step} has a blocker hazard and cannot be applied: {detail}")]
    Blocker { step: usize, detail: String },
    #[error(
        "the plan has danger hazards that were not allowed: {}; pass --allow-hazards {} after review",
        .missing.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(", "),
        .missing.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(",")
    )]
    HazardsNotAllowed { missing: Vec<HazardId> },
    #[error("cannot resume from journal {journal}: {reason}")]
    CannotResume { journal: String, reason: String },
}

/// Cancels the statement a run is executing, on the server, over TLS when the
/// run's connection is encrypted. Handed out by [`Event::Connected`]: the
/// wizard holds a handle, not a driver type.
#[derive(Clone)]
pub struct CancelHandle {
    token: CancelToken,
    target: std::sync::Arc<ConnSettings>,
}

impl CancelHandle {
    /// The handle of the session `token` came from, opened with `target`.
    pub fn new(token: CancelToken, target: ConnSettings) -> Self {
        Self {
            token,
            target: std::sync::Arc::new(target),
        }
    }

    /// Asks the server to cancel the running statement (see
    /// [`crate::db::cancel_query`]).
    pub async fn cancel(&self) -> anyhow::Result<()> {
        crate::db::cancel_query(&self.token, &self.target).await
    }
}

/// Progress of a run, for the CLI's progress line and the wizard's apply screen.
#[derive(Clone)]
pub enum Event {
    /// Connected; `cancel` cancels the running statement on the server.
    Connected {
        cancel: CancelHandle,
    },
    Checked {
        fingerprint: String,
    },
    StatementStarted {
        step: usize,
        group: usize,
        title: String,
    },
    StatementFinished {
        step: usize,
        duration: Duration,
        rows: u64,
    },
    Notice {
        step: usize,
        message: String,
    },
    StatementFailed {
        step: usize,
        error: StatementError,
    },
    GroupCommitted {
        group: usize,
    },
    GroupRolledBack {
        group: usize,
    },
    /// The statement has run for a while and these sessions block it.
    Waiting {
        step: usize,
        blockers: Vec<Blocker>,
    },
    /// A group failed on a lock timeout, a deadlock or a serialization
    /// failure (`why`) and runs again from its start after `wait`.
    Retrying {
        group: usize,
        attempt: u32,
        max_attempts: u32,
        wait: Duration,
        why: &'static str,
    },
    /// The group took its table locks first, in this order (`name (MODE)`).
    LockedInOrder {
        group: usize,
        tables: Vec<String>,
    },
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Connected { .. } => write!(f, "Connected"),
            Event::Checked { fingerprint } => write!(f, "Checked({fingerprint})"),
            Event::StatementStarted { step, group, title } => {
                write!(f, "StatementStarted({step}, {group}, {title})")
            }
            Event::StatementFinished {
                step,
                duration,
                rows,
            } => write!(f, "StatementFinished({step}, {duration:?}, {rows})"),
            Event::Notice { step, message } => write!(f, "Notice({step}, {message})"),
            Event::StatementFailed { step, error } => write!(f, "StatementFailed({step}, {error})"),
            Event::GroupCommitted { group } => write!(f, "GroupCommitted({group})"),
            Event::GroupRolledBack { group } => write!(f, "GroupRolledBack({group})"),
            Event::Waiting { step, blockers } => write!(f, "Waiting({step}, {blockers:?})"),
            Event::Retrying {
                group,
                attempt,
                max_attempts,
                wait,
                why,
            } => write!(
                f,
                "Retrying({group}, {attempt}/{max_attempts}, {wait:?}, {why})"
            ),
            Event::LockedInOrder { group, tables } => {
                write!(f, "LockedInOrder({group}, {tables:?})")
            }
        }
    }
}

/// Why a run stopped before the end of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A statement failed; its group was rolled back.
    Failed,
    /// The operator cancelled (Ctrl-C); the running group was rolled back.
    Cancelled,
    /// The connection was lost; the server rolls back an open transaction.
    ConnectionLost,
    /// A journal entry could not be written (a full disk…): the run stopped
    /// there, its open group rolled back, so that nothing runs unrecorded.
    JournalFailed(String),
}

/// What happened, step by step.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Steps committed, including those committed by an earlier run that this
    /// one resumed.
    pub committed: Vec<usize>,
    pub not_applied: Vec<usize>,
    /// Step numbers with their duration and rows, in the order they finished.
    pub finished: Vec<(usize, Duration, u64)>,
    pub failed: Option<(usize, StatementError)>,
    /// Groups committed (by this run or the one it resumed).
    pub committed_groups: Vec<usize>,
    /// The group that was rolled back when the run stopped.
    pub rolled_back_group: Option<usize>,
    pub stop: Option<Stop>,
    /// Lock-timeout retries made, over all groups.
    pub retries: u32,
    /// What each finished statement did, when `ApplyOptions::measure` is set.
    pub measured: Vec<Measured>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.failed.is_none() && self.not_applied.is_empty() && self.stop.is_none()
    }

    pub fn cancelled(&self) -> bool {
        self.stop == Some(Stop::Cancelled)
    }
}

pub(crate) fn send(events: &Option<tokio::sync::mpsc::UnboundedSender<Event>>, e: Event) {
    if let Some(tx) = events {
        let _ = tx.send(e);
    }
}
