//! One try of one group: a transaction (BEGIN, per-statement `SET LOCAL`
//! timeouts, COMMIT) or a statement that cannot run in a transaction (session
//! timeouts set around it). Every statement is journaled before and after.

use super::exec::{FailKind, Failure, statement_error};
use super::run::{GroupEnd, Runner};
use super::{Event, send};
use crate::db::connect;
use crate::journal::{Entry, StatementError};
use crate::plan::Step;
use anyhow::Result;
use std::time::Duration;

/// The reason journaled when the operator stops a run.
pub(crate) const CANCELLED: &str = "cancelled by the operator";

impl Runner<'_> {
    fn timeouts(&self, scope: &str) -> String {
        format!(
            "SET {scope} lock_timeout = '{}ms'; SET {scope} statement_timeout = '{}ms'",
            self.opts.lock_timeout.as_millis(),
            self.opts
                .statement_timeout
                .map(|d| d.as_millis())
                .unwrap_or(0)
        )
    }

    /// A failure of a statement we run for the plan's step `step`, classified
    /// as the server reported it.
    fn added_failure(&self, e: &tokio_postgres::Error, step: usize) -> Failure {
        Failure {
            error: statement_error(e, self.plan, step),
            kind: super::exec::classify(e, &self.client, self.cancel_requested),
            elapsed: Duration::ZERO,
            blockers: Vec::new(),
        }
    }

    /// A failure of the statements we add around the plan's (BEGIN, SET, COMMIT).
    fn control_failure(&self, e: &tokio_postgres::Error, step: usize) -> Failure {
        let mut f = self.added_failure(e, step);
        if f.kind == FailKind::LockTimeout {
            f.kind = FailKind::Other;
        }
        f
    }

    fn rollback_reason(&self, step: usize, f: &Failure, transactional: bool) -> String {
        match f.kind {
            FailKind::Cancelled => CANCELLED.to_string(),
            FailKind::ConnectionLost if transactional => format!(
                "the connection was lost during step {step} ({}); the server rolled back the open transaction",
                f.error
            ),
            FailKind::ConnectionLost => format!(
                "the connection was lost during step {step} ({}); the statement did not finish",
                f.error
            ),
            FailKind::StatementTimeout => format!(
                "step {step} ran longer than the statement timeout ({} ms) and was cancelled by the server",
                self.opts
                    .statement_timeout
                    .map(|d| d.as_millis())
                    .unwrap_or(0)
            ),
            FailKind::LockTimeout => {
                let mut s = format!(
                    "step {step} waited longer than the lock timeout ({} ms): {}",
                    self.opts.lock_timeout.as_millis(),
                    f.error
                );
                for b in &f.blockers {
                    s.push_str(&format!("; blocked by {b}"));
                }
                s
            }
            FailKind::Deadlock => format!(
                "step {step} was part of a deadlock and the server rolled the group back: {}",
                f.error
            ),
            FailKind::Serialization => format!(
                "step {step} could not be serialized with concurrent transactions and the server rolled the group back: {}",
                f.error
            ),
            FailKind::Other => format!("step {step} failed: {}", f.error),
        }
    }

    fn started(&mut self, step: &Step) -> Result<()> {
        self.journal(Entry::StatementStarted {
            step: step.number,
            group: step.group,
            title: step.title.clone(),
        })?;
        send(
            &self.events,
            Event::StatementStarted {
                step: step.number,
                group: step.group,
                title: step.title.clone(),
            },
        );
        Ok(())
    }

    fn finished(&mut self, step: &Step, rows: u64, elapsed: Duration) -> Result<()> {
        self.outcome.finished.push((step.number, elapsed, rows));
        self.journal(Entry::StatementFinished {
            step: step.number,
            group: step.group,
            duration_ms: elapsed.as_millis() as u64,
            rows,
        })?;
        send(
            &self.events,
            Event::StatementFinished {
                step: step.number,
                duration: elapsed,
                rows,
            },
        );
        Ok(())
    }

    fn failed(&mut self, step: &Step, f: &Failure) -> Result<()> {
        self.journal(Entry::StatementFailed {
            step: step.number,
            group: step.group,
            duration_ms: f.elapsed.as_millis() as u64,
            error: f.error.clone(),
        })?;
        send(
            &self.events,
            Event::StatementFailed {
                step: step.number,
                error: f.error.clone(),
            },
        );
        Ok(())
    }

    /// Rolls back (when the session is still there) and journals it.
    async fn rolled_back(&mut self, group: usize, steps: &[&Step], reason: String) -> Result<()> {
        let transactional = steps.iter().all(|s| s.transactional);
        if transactional && !self.client.is_closed() {
            let _ = self.client.batch_execute("ROLLBACK").await;
        }
        let numbers: Vec<usize> = steps.iter().map(|s| s.number).collect();
        // What ran in this try did not stay; the run decides whether the
        // group is tried again or listed as not applied.
        self.outcome
            .finished
            .retain(|(n, _, _)| !numbers.contains(n));
        self.measure_rolled_back(&numbers);
        self.outcome.rolled_back_group = Some(group);
        self.journal(Entry::GroupRolledBack {
            group,
            steps: numbers,
            reason,
        })?;
        send(&self.events, Event::GroupRolledBack { group });
        Ok(())
    }

    fn cancel_failure(&self, step: usize) -> Failure {
        Failure {
            error: StatementError {
                sqlstate: None,
                message: format!("{CANCELLED} before step {step}"),
                ..Default::default()
            },
            kind: FailKind::Cancelled,
            elapsed: Duration::ZERO,
            blockers: Vec::new(),
        }
    }

    /// One try of a transaction group.
    pub(crate) async fn run_transaction(
        &mut self,
        group: usize,
        steps: &[&Step],
        attempt: u32,
    ) -> Result<GroupEnd> {
        let first = steps[0].number;
        if let Err(e) = self.client.batch_execute("BEGIN").await {
            let f = self.control_failure(&e, first);
            return self.end_failed(group, steps, first, f).await;
        }
        let txid: i64 = match self.client.query_one("SELECT txid_current()", &[]).await {
            Ok(r) => r.get(0),
            Err(e) => {
                let f = self.control_failure(&e, first);
                return self.end_failed(group, steps, first, f).await;
            }
        };
        self.journal(Entry::GroupBegun {
            group,
            steps: steps.iter().map(|s| s.number).collect(),
            txid,
            attempt,
        })?;
        self.measure_group_begun();
        let set_local = self.timeouts("LOCAL");
        // A rehearsal measures each statement's own locks (and has no
        // application to deadlock with): no locks taken ahead there.
        if self.measure.is_none()
            && let Some(order) = self.lock_first.get(&group).cloned()
            && let Err(f) = self.lock_in_order(group, first, &order, &set_local).await
        {
            return self.end_failed(group, steps, first, f).await;
        }
        for step in steps {
            if self.is_cancelled() {
                let f = self.cancel_failure(step.number);
                return self.end_failed(group, steps, step.number, f).await;
            }
            if let Err(e) = self.client.batch_execute(&set_local).await {
                let f = self.control_failure(&e, step.number);
                return self.end_failed(group, steps, step.number, f).await;
            }
            self.started(step)?;
            let before = self.measure_before(false).await;
            match self.exec().run(step).await {
                Ok((rows, elapsed)) => {
                    self.measure_after(step, before).await;
                    self.finished(step, rows, elapsed)?
                }
                Err(f) => {
                    self.failed(step, &f)?;
                    return self.end_failed(group, steps, step.number, f).await;
                }
            }
        }
        let last = steps[steps.len() - 1].number;
        if self.is_cancelled() {
            let f = self.cancel_failure(last);
            return self.end_failed(group, steps, last, f).await;
        }
        match self.client.batch_execute("COMMIT").await {
            Ok(()) => self.committed(group, steps).await,
            Err(e) => {
                let f = self.control_failure(&e, last);
                if f.kind == FailKind::ConnectionLost
                    && commit_status(&self.target, txid).await.as_deref() == Some("committed")
                {
                    return self.committed(group, steps).await;
                }
                self.end_failed(group, steps, last, f).await
            }
        }
    }

    /// Takes the group's table locks in `order`, under the lock timeout,
    /// before its first statement (step `first`): a group that locks several
    /// tables cannot then deadlock with itself, another pgalign, or an
    /// application writing a referenced table first. Tables the group creates
    /// do not exist yet and are skipped. A lock timeout or deadlock here is a
    /// failure of the group's first step, retried like one.
    async fn lock_in_order(
        &mut self,
        group: usize,
        first: usize,
        order: &[(String, crate::hazard::locks::LockMode)],
        set_local: &str,
    ) -> std::result::Result<(), Failure> {
        // The tables among them that exist now (in `order`'s order), in one
        // round trip: the group creates the others.
        let names: Vec<&str> = order.iter().map(|(n, _)| n.as_str()).collect();
        let tables: std::collections::BTreeSet<String> = match self
            .client
            .query(
                "SELECT n FROM unnest($1::text[]) n JOIN pg_class c ON c.oid = to_regclass(n)
                  WHERE c.relkind IN ('r', 'p')",
                &[&names],
            )
            .await
        {
            Ok(rows) => rows.iter().map(|r| r.get(0)).collect(),
            Err(e) => return Err(self.added_failure(&e, first)),
        };
        if tables.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.client.batch_execute(set_local).await {
            return Err(self.added_failure(&e, first));
        }
        let mut taken = Vec::new();
        for (name, mode) in order.iter().filter(|(n, _)| tables.contains(n)) {
            let sql = format!("LOCK TABLE ONLY {name} IN {mode} MODE");
            if let Err(e) = self.client.batch_execute(&sql).await {
                return Err(self.added_failure(&e, first));
            }
            taken.push(format!("{name} ({mode})"));
        }
        send(
            &self.events,
            Event::LockedInOrder {
                group,
                tables: taken,
            },
        );
        Ok(())
    }

    async fn committed(&mut self, group: usize, steps: &[&Step]) -> Result<GroupEnd> {
        let numbers: Vec<usize> = steps.iter().map(|s| s.number).collect();
        // Counted before it is journaled: it committed even if the journal fails.
        self.outcome.committed.extend(&numbers);
        self.outcome.committed_groups.push(group);
        self.outcome.rolled_back_group = None;
        self.measure_committed();
        self.journal(Entry::GroupCommitted {
            group,
            steps: numbers,
        })?;
        send(&self.events, Event::GroupCommitted { group });
        Ok(GroupEnd::Committed)
    }

    async fn end_failed(
        &mut self,
        group: usize,
        steps: &[&Step],
        step: usize,
        f: Failure,
    ) -> Result<GroupEnd> {
        let reason = self.rollback_reason(step, &f, steps.iter().all(|s| s.transactional));
        self.rolled_back(group, steps, reason).await?;
        Ok(GroupEnd::Failed { step, failure: f })
    }

    /// A statement that cannot run in a transaction block: session timeouts
    /// around it. `repair` first drops an INVALID index that an interrupted
    /// `CREATE INDEX CONCURRENTLY` of this step left behind.
    pub(crate) async fn run_alone(
        &mut self,
        group: usize,
        step: &Step,
        repair: bool,
    ) -> Result<GroupEnd> {
        if self.is_cancelled() {
            let f = self.cancel_failure(step.number);
            return self.end_failed(group, &[step], step.number, f).await;
        }
        if let Err(e) = self.client.batch_execute(&self.timeouts("SESSION")).await {
            let f = self.control_failure(&e, step.number);
            return self.end_failed(group, &[step], step.number, f).await;
        }
        if repair && let Err(f) = self.drop_invalid_index(step).await {
            return self.end_failed(group, &[step], step.number, f).await;
        }
        self.started(step)?;
        let before = self.measure_before(true).await;
        let result = self.exec().run(step).await;
        let _ = self
            .client
            .batch_execute("RESET lock_timeout; RESET statement_timeout")
            .await;
        match result {
            Ok((rows, elapsed)) => {
                self.measure_after(step, before).await;
                // Outside a transaction it is applied the moment it returns.
                self.outcome.committed.push(step.number);
                self.outcome.committed_groups.push(group);
                self.finished(step, rows, elapsed)?;
                Ok(GroupEnd::Committed)
            }
            Err(mut f) => {
                self.failed(step, &f)?;
                if let Some(index) = super::index::index_target(&step.sql).filter(|i| i.create) {
                    let ours = cic_hint(&index, f.error.sqlstate.as_deref());
                    f.error.hint = Some(match f.error.hint.take() {
                        Some(server) => format!("{server}; {ours}"),
                        None => ours,
                    });
                }
                self.end_failed(group, &[step], step.number, f).await
            }
        }
    }
}

/// What to do after a failed `CREATE INDEX CONCURRENTLY`: it leaves an INVALID
/// index that `--resume` drops and builds again, which helps only once the
/// cause is gone; duplicate keys (23505) stay until the data is fixed.
fn cic_hint(index: &super::index::IndexTarget, sqlstate: Option<&str>) -> String {
    let name = index.qualified();
    match sqlstate {
        Some("23505") => format!(
            "the failed build left the INVALID index {name}; the table holds duplicate values for it (see the detail): remove the duplicates first, then `pgalign apply --resume` drops the INVALID index and builds it again — resume cannot fix the duplicates, and without that fix it fails the same way"
        ),
        _ => format!(
            "a failed build can leave the INVALID index {name}; once the cause is fixed, `pgalign apply --resume` drops it and builds it again"
        ),
    }
}

/// `committed`, `aborted`, `in progress`, or `None` when the server cannot say
/// (unreachable, or the transaction is too old), asked on a fresh connection.
pub(crate) async fn commit_status(target: &crate::db::ConnSettings, txid: i64) -> Option<String> {
    let client = tokio::time::timeout(Duration::from_secs(10), connect(target))
        .await
        .ok()?
        .ok()?;
    client
        .query_one("SELECT txid_status($1)", &[&txid])
        .await
        .ok()?
        .get::<_, Option<String>>(0)
}
