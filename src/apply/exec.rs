//! One statement: run it while forwarding server notices, asking the watcher who
//! blocks it once it has run for a second, and cancelling it on the server when
//! the operator asks; then classify how it failed.

use super::blocking::{Blocker, Watcher};
use super::{Event, send};
use crate::journal::StatementError;
use crate::plan::{PlanFile, Step};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::watch;
use tokio_postgres::Client;

/// How long a statement runs before the watcher looks for blockers, and how
/// often it looks again.
const WATCH_AFTER: Duration = Duration::from_secs(1);
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// How a statement failed, for what happens next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailKind {
    /// `lock_timeout` (55P03): the group may be retried from its start.
    LockTimeout,
    /// `deadlock_detected` (40P01): the server chose this transaction and
    /// rolled it back; the group may be retried from its start.
    Deadlock,
    /// `serialization_failure` (40001): likewise.
    Serialization,
    /// `statement_timeout` (57014 without an operator's cancel).
    StatementTimeout,
    /// The operator cancelled (57014 after our cancel request).
    Cancelled,
    /// The session ended under us (terminated, server shutdown, network).
    ConnectionLost,
    Other,
}

#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub error: StatementError,
    pub kind: FailKind,
    pub elapsed: Duration,
    /// Who blocked the statement while it waited (last sighting).
    pub blockers: Vec<Blocker>,
}

/// Everything a statement needs besides its text.
pub(crate) struct Exec<'a> {
    pub client: &'a Client,
    pub notices: &'a mut UnboundedReceiver<String>,
    pub token: &'a super::CancelHandle,
    pub watcher: &'a mut Watcher,
    pub cancel: &'a mut Option<watch::Receiver<bool>>,
    /// Set once the operator asked to stop; stays set.
    pub cancel_requested: &'a mut bool,
    pub events: &'a Option<UnboundedSender<Event>>,
    pub plan: &'a PlanFile,
}

/// Resolves when the operator asks to stop; never when there is no signal.
pub(crate) async fn cancelled(cancel: &mut Option<watch::Receiver<bool>>) {
    if let Some(rx) = cancel {
        loop {
            if *rx.borrow_and_update() {
                return;
            }
            if rx.changed().await.is_err() {
                break;
            }
        }
    }
    std::future::pending::<()>().await
}

impl Exec<'_> {
    /// Runs `step`'s SQL; on success its rows and duration.
    pub(crate) async fn run(&mut self, step: &Step) -> Result<(u64, Duration), Failure> {
        let started = Instant::now();
        let fut = self.client.execute(step.sql.as_str(), &[]);
        tokio::pin!(fut);
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + WATCH_AFTER, WATCH_EVERY);
        let mut seen: Vec<Blocker> = Vec::new();
        let result = loop {
            tokio::select! {
                r = &mut fut => break r,
                Some(message) = self.notices.recv() => {
                    send(self.events, Event::Notice { step: step.number, message });
                }
                _ = cancelled(self.cancel), if !*self.cancel_requested => {
                    *self.cancel_requested = true;
                    // The protocol-level cancel (over TLS when the session is);
                    // when it cannot be sent, the watcher's connection asks instead.
                    if self.token.cancel().await.is_err() {
                        self.watcher.cancel_backend().await;
                    }
                }
                _ = tick.tick() => {
                    let now = self.watcher.blockers().await;
                    let pids = |b: &[Blocker]| b.iter().map(|b| b.pid).collect::<Vec<_>>();
                    if !now.is_empty() && pids(&now) != pids(&seen) {
                        send(self.events, Event::Waiting { step: step.number, blockers: now.clone() });
                    }
                    if !now.is_empty() {
                        seen = now;
                    }
                }
            }
        };
        let elapsed = started.elapsed();
        while let Ok(message) = self.notices.try_recv() {
            send(
                self.events,
                Event::Notice {
                    step: step.number,
                    message,
                },
            );
        }
        match result {
            Ok(rows) => Ok((rows, elapsed)),
            Err(e) => {
                let kind = classify(&e, self.client, *self.cancel_requested);
                Err(Failure {
                    error: statement_error(&e, self.plan, step.number),
                    kind,
                    elapsed,
                    blockers: seen,
                })
            }
        }
    }
}

impl FailKind {
    /// Whether the server rolled the group back for a reason that a later try
    /// may not meet (a lock not granted in time, a deadlock, a serialization
    /// failure): the group then runs again from its start.
    pub(crate) fn retryable(self) -> bool {
        matches!(
            self,
            FailKind::LockTimeout | FailKind::Deadlock | FailKind::Serialization
        )
    }

    /// What a retry is for, in words.
    pub(crate) fn retry_reason(self) -> &'static str {
        match self {
            FailKind::Deadlock => "deadlock",
            FailKind::Serialization => "serialization failure",
            _ => "lock timeout",
        }
    }
}

pub(crate) fn classify(e: &tokio_postgres::Error, client: &Client, cancelled: bool) -> FailKind {
    match e.as_db_error().map(|d| d.code().code()) {
        Some("55P03") => FailKind::LockTimeout,
        Some("40P01") => FailKind::Deadlock,
        Some("40001") => FailKind::Serialization,
        Some("57014") if cancelled => FailKind::Cancelled,
        Some("57014") => FailKind::StatementTimeout,
        // admin_shutdown (pg_terminate_backend, fast shutdown), crash_shutdown,
        // cannot_connect_now, idle session timeout.
        Some("57P01" | "57P02" | "57P03" | "57P05") => FailKind::ConnectionLost,
        Some(_) if !client.is_closed() => FailKind::Other,
        _ => FailKind::ConnectionLost,
    }
}

/// What the server said, with its position mapped to a line of the plan file.
pub(crate) fn statement_error(
    e: &tokio_postgres::Error,
    plan: &PlanFile,
    step: usize,
) -> StatementError {
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
