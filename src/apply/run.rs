//! The run: connect, take the apply lock, check drift (or, on resume, work out
//! what the interrupted run committed), then run the groups in order. A group
//! that fails on a lock timeout, a deadlock or a serialization failure (the
//! server rolled it back) runs again from its start, a bounded number of
//! times; any other failure stops the run with the group rolled back.

use super::blocking::Watcher;
use super::exec::{Exec, FailKind, Failure, cancelled};
use super::resume::{Prepared, ResumePoint};
use super::{APPLY_LOCK_KEY, ApplyOptions, Event, Outcome, Refusal, Stop, send};
use crate::catalog;
use crate::db::{ConnSettings, conn::connect_with_notices, describe_error};
use crate::journal::{Entry, Journal};
use crate::plan::{PlanFile, Step};
use anyhow::{Result, anyhow};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_postgres::Client;

/// The longest wait between two tries of a group.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Applies `plan` to `target`. Refusals come back as a [`Refusal`] error before
/// anything ran; a failed, cancelled or cut-off run comes back as an
/// [`Outcome`] with its group rolled back and the groups before it committed.
pub async fn run(
    target: &ConnSettings,
    plan: &PlanFile,
    opts: &ApplyOptions,
    events: Option<UnboundedSender<Event>>,
    journal: Option<&mut Journal>,
) -> Result<Outcome> {
    run_from(target, plan, opts, events, journal, None).await
}

pub(crate) async fn run_from(
    target: &ConnSettings,
    plan: &PlanFile,
    opts: &ApplyOptions,
    events: Option<UnboundedSender<Event>>,
    journal: Option<&mut Journal>,
    resume: Option<&ResumePoint>,
) -> Result<Outcome> {
    super::check_plan(plan, opts)?;
    let (client, notices) = connect_with_notices(target).await?;
    let token = super::CancelHandle::new(client.cancel_token(), target.clone());
    send(
        &events,
        Event::Connected {
            cancel: token.clone(),
        },
    );
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .map_err(|e| {
            anyhow!(
                "asking {target} for its server process: {}",
                describe_error(&e)
            )
        })?
        .get(0);
    let locked: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&APPLY_LOCK_KEY])
        .await
        .map_err(|e| anyhow!("taking the apply lock: {}", describe_error(&e)))?
        .get(0);
    if !locked {
        return Err(Refusal::Concurrent {
            target: target.to_string(),
            holder: lock_holder(&client).await,
        }
        .into());
    }
    let mut runner = Runner {
        watcher: Watcher::new(target, pid),
        target: target.clone(),
        client,
        notices,
        token,
        cancel: opts.cancel.clone(),
        cancel_requested: false,
        events,
        journal,
        journal_error: None,
        plan,
        opts,
        outcome: Outcome::default(),
        lock_first: Default::default(),
        measure: opts.measure.then(super::measure::Measure::default),
        pid,
    };
    let mut result = runner.run_locked(pid, resume).await;
    if let Some(error) = runner.journal_error.take() {
        // Stop where the record stopped: the open group (if any) rolls back,
        // and the summary still says what committed and what did not.
        if !runner.client.is_closed() {
            let _ = runner.client.batch_execute("ROLLBACK").await;
        }
        result = Ok(runner.stopped_unrecorded(error));
    }
    if !runner.client.is_closed() {
        let _ = runner
            .client
            .query_one("SELECT pg_advisory_unlock($1)", &[&APPLY_LOCK_KEY])
            .await;
    }
    result
}

/// Who holds the apply lock, in words, for the refusal.
async fn lock_holder(client: &Client) -> String {
    let sql = "SELECT l.pid, coalesce(a.application_name, ''), coalesce(a.state, '')
                 FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND l.classid::bigint = $1 AND l.objid::bigint = $2";
    let (hi, lo) = (APPLY_LOCK_KEY >> 32, APPLY_LOCK_KEY & 0xffff_ffff);
    match client.query_opt(sql, &[&hi, &lo]).await {
        Ok(Some(r)) => {
            let pid: i32 = r.get(0);
            let app: String = r.get(1);
            let state: String = r.get(2);
            format!(
                " (server process {pid}, application {app}, {state}; if it belongs to a pgalign that was killed, it ends once its statement finishes, or end it with SELECT pg_terminate_backend({pid}))"
            )
        }
        _ => String::new(),
    }
}

pub(crate) struct Runner<'a> {
    pub target: ConnSettings,
    pub client: Client,
    pub notices: UnboundedReceiver<String>,
    pub token: super::CancelHandle,
    pub watcher: Watcher,
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
    pub cancel_requested: bool,
    pub events: Option<UnboundedSender<Event>>,
    pub journal: Option<&'a mut Journal>,
    /// Set when a journal entry could not be written; the run stops.
    pub journal_error: Option<String>,
    pub plan: &'a PlanFile,
    pub opts: &'a ApplyOptions,
    pub outcome: Outcome,
    /// Per transaction group, the tables it locks first, in one order (see
    /// [`super::derive::lock_order`]).
    pub lock_first:
        std::collections::BTreeMap<usize, Vec<(String, crate::hazard::locks::LockMode)>>,
    pub measure: Option<super::measure::Measure>,
    /// Our server process.
    pub pid: i32,
}

/// How one try of a group ended.
pub(crate) enum GroupEnd {
    Committed,
    Failed { step: usize, failure: Failure },
}

impl Runner<'_> {
    pub(crate) fn journal(&mut self, e: Entry) -> Result<()> {
        if let Some(j) = self.journal.as_mut()
            && let Err(err) = j.append(e)
        {
            let error = format!("{err:#}");
            self.journal_error.get_or_insert(error);
            return Err(err);
        }
        Ok(())
    }

    /// The outcome of a run stopped by a journal that could not be written:
    /// what committed stays committed; every other step is not applied.
    fn stopped_unrecorded(&mut self, error: String) -> Outcome {
        let mut o = std::mem::take(&mut self.outcome);
        o.not_applied = self
            .plan
            .steps
            .iter()
            .map(|s| s.number)
            .filter(|n| !o.committed.contains(n))
            .collect();
        o.stop = Some(Stop::JournalFailed(error));
        o
    }

    pub(crate) fn exec(&mut self) -> Exec<'_> {
        Exec {
            client: &self.client,
            notices: &mut self.notices,
            token: &self.token,
            watcher: &mut self.watcher,
            cancel: &mut self.cancel,
            cancel_requested: &mut self.cancel_requested,
            events: &self.events,
            plan: self.plan,
        }
    }

    pub(crate) fn is_cancelled(&mut self) -> bool {
        if !self.cancel_requested && self.cancel.as_ref().is_some_and(|r| *r.borrow()) {
            self.cancel_requested = true;
        }
        self.cancel_requested
    }

    async fn run_locked(&mut self, pid: i32, resume: Option<&ResumePoint>) -> Result<Outcome> {
        let plan = self.plan;
        let prepared = match resume {
            // The drift check runs while holding the apply lock.
            None => {
                let mut live = catalog::introspect(&mut self.client).await?;
                plan.header.scope.apply(&mut live.model);
                let fingerprint = live.model.fingerprint();
                if fingerprint != plan.header.live_fingerprint {
                    return Err(Refusal::Drift {
                        expected: plan.header.live_fingerprint.clone(),
                        actual: fingerprint,
                        changes: super::explain_drift(self.opts.plan_path.as_deref(), plan, &live),
                    }
                    .into());
                }
                send(&self.events, Event::Checked { fingerprint });
                Prepared::default()
            }
            Some(point) => self.prepare_resume(point).await?,
        };
        // The hazards of what is left to run, from its SQL, on the schema it
        // runs against: the comments cannot hide one.
        let derived = super::derive(&self.client, plan).await?;
        let done: BTreeSet<usize> = groups(plan)
            .into_iter()
            .filter(|(g, _)| prepared.done_groups.contains(g))
            .flat_map(|(_, steps)| steps.into_iter().map(|s| s.number))
            .collect();
        super::check_derived(plan, &derived, self.opts, &done)?;
        for (group, steps) in groups(plan) {
            if !steps.iter().all(|s| s.transactional) {
                continue;
            }
            let locks: Vec<&[super::derive::StepLock]> = steps
                .iter()
                .filter_map(|s| derived.locks.get(s.number - 1).map(Vec::as_slice))
                .collect();
            let order = super::derive::lock_order(&locks);
            if !order.is_empty() {
                self.lock_first.insert(group, order);
            }
        }
        if let Some(path) = &self.opts.plan_path {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            self.journal(Entry::ApplyPlan {
                path: path.display().to_string(),
                plan_sha256: plan.actual_sha256.clone(),
                backend_pid: Some(pid),
            })?;
        }
        self.journal(Entry::ApplyStarted {
            plan_sha256: plan.actual_sha256.clone(),
            statements: plan.steps.len(),
            lock_timeout_ms: self.opts.lock_timeout.as_millis() as u64,
            statement_timeout_ms: self.opts.statement_timeout.map(|d| d.as_millis() as u64),
        })?;
        for (group, steps) in groups(plan) {
            let numbers: Vec<usize> = steps.iter().map(|s| s.number).collect();
            if prepared.done_groups.contains(&group) {
                self.outcome.committed.extend(&numbers);
                self.outcome.committed_groups.push(group);
                continue;
            }
            if self.outcome.stop.is_some() {
                self.outcome.not_applied.extend(numbers);
                continue;
            }
            if self.is_cancelled() {
                self.outcome.stop = Some(Stop::Cancelled);
                self.outcome.not_applied.extend(numbers);
                continue;
            }
            self.run_group(group, &steps, &prepared).await?;
        }
        let o = &self.outcome;
        self.journal(Entry::ApplyFinished {
            ok: o.ok(),
            committed: o.committed.clone(),
            not_applied: o.not_applied.clone(),
        })?;
        Ok(self.outcome.clone())
    }

    /// Runs one group, with retries after lock timeouts, deadlocks and
    /// serialization failures.
    async fn run_group(
        &mut self,
        group: usize,
        steps: &[&Step],
        prepared: &Prepared,
    ) -> Result<()> {
        let transactional = steps.iter().all(|s| s.transactional);
        let max_attempts = self.opts.lock_retries + 1;
        let mut attempt = 1;
        loop {
            let end = if transactional {
                self.run_transaction(group, steps, attempt).await?
            } else {
                let repair = attempt > 1 || prepared.repair_first.contains(&steps[0].number);
                self.run_alone(group, steps[0], repair).await?
            };
            let (step, failure) = match end {
                GroupEnd::Committed => return Ok(()),
                GroupEnd::Failed { step, failure } => (step, failure),
            };
            if failure.kind.retryable() && attempt < max_attempts {
                attempt += 1;
                let wait = backoff(self.opts.retry_backoff, attempt);
                self.journal(Entry::GroupRetried {
                    group,
                    attempt,
                    max_attempts,
                    wait_ms: wait.as_millis() as u64,
                    reason: format!("step {step}: {}", failure.error),
                    blockers: failure.blockers.iter().map(|b| b.to_string()).collect(),
                })?;
                send(
                    &self.events,
                    Event::Retrying {
                        group,
                        attempt,
                        max_attempts,
                        wait,
                        why: failure.kind.retry_reason(),
                    },
                );
                self.outcome.retries += 1;
                let cancel = &mut self.cancel;
                tokio::select! {
                    _ = tokio::time::sleep(wait) => continue,
                    _ = cancelled(cancel) => {
                        self.cancel_requested = true;
                        failure_stop(&mut self.outcome, step, failure, Stop::Cancelled);
                        self.outcome.not_applied.extend(steps.iter().map(|s| s.number));
                        return Ok(());
                    }
                }
            }
            let stop = match failure.kind {
                FailKind::Cancelled => Stop::Cancelled,
                FailKind::ConnectionLost => Stop::ConnectionLost,
                _ => Stop::Failed,
            };
            failure_stop(&mut self.outcome, step, failure, stop);
            // Listed once, however many tries the group had.
            self.outcome
                .not_applied
                .extend(steps.iter().map(|s| s.number));
            return Ok(());
        }
    }
}

fn failure_stop(outcome: &mut Outcome, step: usize, failure: Failure, stop: Stop) {
    outcome.failed = Some((step, failure.error));
    outcome.stop = Some(stop);
}

/// The wait before try `attempt` (2 = first retry): `base`, then doubling.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(2).min(10);
    (base * factor).min(MAX_BACKOFF)
}

/// The plan's groups in order, with their steps.
pub(crate) fn groups(plan: &PlanFile) -> Vec<(usize, Vec<&Step>)> {
    let mut out: Vec<(usize, Vec<&Step>)> = Vec::new();
    for s in &plan.steps {
        match out.last_mut() {
            Some((g, steps)) if *g == s.group => steps.push(s),
            _ => out.push((s.group, vec![s])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let b = Duration::from_secs(1);
        assert_eq!(backoff(b, 2), Duration::from_secs(1));
        assert_eq!(backoff(b, 3), Duration::from_secs(2));
        assert_eq!(backoff(b, 4), Duration::from_secs(4));
        assert_eq!(backoff(b, 30), MAX_BACKOFF);
    }
}
