//! `apply --resume <journal>`: continue an interrupted run without ever running
//! a committed group again.
//!
//! What is known comes from the journal: the plan file (`apply-plan`), the
//! groups that committed (`group-committed`; for a statement that runs alone,
//! `statement-finished`), and the transaction id of every group that began
//! (`group-begun`). A group that began but whose end the journal never saw (the
//! process died around its COMMIT) is settled by asking the server
//! `txid_status(txid)`: a COMMIT that reached the server is never run again.
//! Pending `CREATE INDEX CONCURRENTLY` steps whose index exists but is INVALID
//! (left by an interrupted build) are dropped (`DROP INDEX CONCURRENTLY`) and
//! built again; an interrupted build that did complete is not run again.
//!
//! Resume does **not** compare fingerprints. The plan's fingerprint describes
//! the schema before its first group; after some groups committed, the schema is
//! a state no fingerprint in the plan describes, and journaling one after every
//! commit would cost a full introspection per group (seconds on large schemas,
//! inside the window). Resume relies instead on the apply lock (no other pgalign
//! runs), on the journal settled with `txid_status` (exactly which groups
//! committed), and on every remaining group running in a transaction: if
//! someone else changed the schema meanwhile, the first statement that no
//! longer fits fails and its group rolls back whole.

use super::index::{index_state, index_target};
use super::run::{Runner, groups};
use super::{ApplyOptions, Event, Outcome, Refusal};
use crate::db::ConnSettings;
use crate::journal::{self, Entry, Journal};
use crate::plan::{self, Step};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc::UnboundedSender;

/// What a journal says about the run it records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResumePoint {
    pub journal: PathBuf,
    pub database: Option<String>,
    pub plan_path: Option<PathBuf>,
    pub plan_sha256: Option<String>,
    pub committed_groups: BTreeSet<usize>,
    /// Steps whose statement finished (committed when they run alone).
    pub finished_steps: BTreeSet<usize>,
    /// Steps that started and were never seen to finish or fail.
    pub interrupted_steps: BTreeSet<usize>,
    /// Groups that began and whose end was never journaled: group → txid.
    pub unsettled: BTreeMap<usize, i64>,
}

/// What the run does differently when it resumes.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    /// Groups that are already applied: skipped.
    pub done_groups: BTreeSet<usize>,
    /// Steps that first drop an INVALID index left by an interrupted build.
    pub repair_first: BTreeSet<usize>,
}

/// Reads what the journal says about the run to resume.
pub fn resume_point(path: &Path) -> Result<ResumePoint> {
    let records = journal::read(path)?;
    let mut p = ResumePoint {
        journal: path.to_path_buf(),
        ..Default::default()
    };
    let mut generated: Option<PathBuf> = None;
    let mut started_apply = false;
    for r in records {
        match r.entry {
            Entry::SessionStarted { database, .. } if p.database.is_none() => {
                p.database = Some(database)
            }
            Entry::PlanGenerated(crate::journal::PlanGenerated { path, sha256, .. }) => {
                generated = Some(path.into());
                p.plan_sha256.get_or_insert(sha256);
            }
            Entry::ApplyPlan {
                path, plan_sha256, ..
            } => {
                p.plan_path = Some(path.into());
                p.plan_sha256 = Some(plan_sha256);
            }
            Entry::ApplyStarted { plan_sha256, .. } => {
                started_apply = true;
                p.plan_sha256 = Some(plan_sha256);
            }
            Entry::GroupBegun { group, txid, .. } => {
                p.unsettled.insert(group, txid);
            }
            Entry::GroupCommitted { group, .. } => {
                p.unsettled.remove(&group);
                p.committed_groups.insert(group);
            }
            Entry::GroupRolledBack { group, .. } => {
                p.unsettled.remove(&group);
            }
            Entry::StatementStarted { step, .. } => {
                p.interrupted_steps.insert(step);
            }
            Entry::StatementFinished { step, .. } => {
                p.interrupted_steps.remove(&step);
                p.finished_steps.insert(step);
            }
            Entry::StatementFailed { step, .. } => {
                p.interrupted_steps.remove(&step);
            }
            _ => {}
        }
    }
    if !started_apply {
        return Err(cannot(path, "it records no apply run"));
    }
    if p.plan_path.is_none() {
        p.plan_path = generated;
    }
    Ok(p)
}

fn cannot(journal: &Path, reason: impl Into<String>) -> anyhow::Error {
    Refusal::CannotResume {
        journal: journal.display().to_string(),
        reason: reason.into(),
    }
    .into()
}

/// Resumes the run recorded in `point`'s journal, appending to `journal` (the
/// same file). `plan_path` overrides the journal's plan file; its SHA-256 must
/// still be the one the journal recorded.
pub async fn resume(
    target: &ConnSettings,
    point: &ResumePoint,
    plan_path: Option<&Path>,
    opts: &ApplyOptions,
    events: Option<UnboundedSender<Event>>,
    journal: Option<&mut Journal>,
) -> Result<Outcome> {
    let jpath = &point.journal;
    if let Some(db) = &point.database
        && db != &target.dbname
    {
        return Err(cannot(
            jpath,
            format!("it records a run on database {db}, not {}", target.dbname),
        ));
    }
    let Some(path) = plan_path.or(point.plan_path.as_deref()) else {
        return Err(cannot(jpath, "it does not name the plan file; pass --plan"));
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading plan file {}", path.display()))?;
    let plan = plan::parse_plan(&text).with_context(|| format!("plan file {}", path.display()))?;
    if let Some(sha) = &point.plan_sha256
        && sha != &plan.actual_sha256
    {
        return Err(cannot(
            jpath,
            format!(
                "plan file {} is not the plan of that run (its SHA-256 is {}, the journal's run applied {sha})",
                path.display(),
                plan.actual_sha256
            ),
        ));
    }
    let opts = ApplyOptions {
        plan_path: Some(path.to_path_buf()),
        ..opts.clone()
    };
    super::run::run_from(target, &plan, &opts, events, journal, Some(point)).await
}

impl Runner<'_> {
    /// Settles the journal against the server, under the apply lock.
    pub(crate) async fn prepare_resume(&mut self, point: &ResumePoint) -> Result<Prepared> {
        let jpath = &point.journal;
        let mut done = point.committed_groups.clone();
        let mut recovered = Vec::new();
        let plan_groups = groups(self.plan);
        let steps_of = |g: usize| -> Vec<usize> {
            plan_groups
                .iter()
                .find(|(n, _)| *n == g)
                .map(|(_, s)| s.iter().map(|s| s.number).collect())
                .unwrap_or_default()
        };
        for (&group, &txid) in &point.unsettled {
            if done.contains(&group) {
                continue;
            }
            let status = self
                .client
                .query_one("SELECT txid_status($1)", &[&txid])
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "asking the server about transaction {txid}: {}",
                        crate::db::describe_error(&e)
                    )
                })?
                .get::<_, Option<String>>(0);
            match status.as_deref() {
                Some("committed") => {
                    done.insert(group);
                    recovered.push(format!(
                        "group {group} had committed before the interruption (transaction {txid}); it is not run again"
                    ));
                    self.journal(Entry::GroupCommitted {
                        group,
                        steps: steps_of(group),
                    })?;
                }
                Some("aborted") => recovered.push(format!(
                    "group {group} was rolled back by the server (transaction {txid}); it runs again"
                )),
                Some(other) => {
                    return Err(cannot(
                        jpath,
                        format!("transaction {txid} of group {group} is still {other} on the server; wait for it to end"),
                    ));
                }
                None => {
                    return Err(cannot(
                        jpath,
                        format!("the server no longer knows whether transaction {txid} of group {group} committed; compare the schema by hand (`pgalign diff`)"),
                    ));
                }
            }
        }
        let mut repair_first = BTreeSet::new();
        for (group, steps) in &plan_groups {
            let alone: Vec<&&Step> = steps.iter().filter(|s| !s.transactional).collect();
            if done.contains(group) || alone.is_empty() {
                continue;
            }
            let step = alone[0];
            if point.finished_steps.contains(&step.number) {
                done.insert(*group);
                continue;
            }
            let Some(index) = index_target(&step.sql) else {
                continue;
            };
            let interrupted = point.interrupted_steps.contains(&step.number);
            if index.schema.is_none() {
                if interrupted {
                    recovered.push(format!(
                        "step {} names index {} without its schema, so resume cannot tell it from another of the same name (it never looks through search_path): if the interrupted build left it INVALID, drop it by hand before the step runs again",
                        step.number,
                        index.qualified()
                    ));
                }
                continue;
            }
            let state = index_state(&self.client, &index).await?;
            match (index.create, state) {
                (true, Some(false)) => {
                    repair_first.insert(step.number);
                }
                (true, Some(true)) if interrupted => {
                    done.insert(*group);
                    recovered.push(format!("index {} was built before the interruption (step {}); it is not built again", index.qualified(), step.number));
                }
                (false, None) if interrupted => {
                    done.insert(*group);
                    recovered.push(format!(
                        "index {} was dropped before the interruption (step {})",
                        index.qualified(),
                        step.number
                    ));
                }
                _ => {}
            }
        }
        self.journal(Entry::ApplyResumed {
            plan_path: point
                .plan_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            committed_groups: done.iter().copied().collect(),
            recovered,
        })?;
        Ok(Prepared {
            done_groups: done,
            repair_first,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_says_what_committed_and_what_is_unsettled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut j = Journal::open(&path).unwrap();
        for e in [
            Entry::ApplyPlan {
                path: "/p/plan.sql".into(),
                plan_sha256: "ab".into(),
                backend_pid: None,
            },
            Entry::ApplyStarted {
                plan_sha256: "ab".into(),
                statements: 4,
                lock_timeout_ms: 5000,
                statement_timeout_ms: None,
            },
            Entry::GroupBegun {
                group: 1,
                steps: vec![1],
                txid: 10,
                attempt: 1,
            },
            Entry::GroupCommitted {
                group: 1,
                steps: vec![1],
            },
            Entry::StatementStarted {
                step: 2,
                group: 2,
                title: "i".into(),
            },
            Entry::StatementFinished {
                step: 2,
                group: 2,
                duration_ms: 1,
                rows: 0,
            },
            Entry::GroupBegun {
                group: 3,
                steps: vec![3, 4],
                txid: 12,
                attempt: 1,
            },
            Entry::StatementStarted {
                step: 3,
                group: 3,
                title: "t".into(),
            },
        ] {
            j.append(e).unwrap();
        }
        let p = resume_point(&path).unwrap();
        assert_eq!(p.plan_path.as_deref(), Some(Path::new("/p/plan.sql")));
        assert_eq!(p.committed_groups, BTreeSet::from([1]));
        assert_eq!(p.finished_steps, BTreeSet::from([2]));
        assert_eq!(p.interrupted_steps, BTreeSet::from([3]));
        assert_eq!(p.unsettled, BTreeMap::from([(3, 12)]));
    }

    #[test]
    fn a_journal_without_an_apply_cannot_be_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        Journal::open(&path)
            .unwrap()
            .append(Entry::Note { text: "x".into() })
            .unwrap();
        let err = resume_point(&path).unwrap_err();
        assert!(err.downcast_ref::<Refusal>().is_some(), "{err:#}");
    }
}
