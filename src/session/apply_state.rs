//! Progress of the apply step, fed by `apply::Event`s, and its final result.

use crate::apply::{Event, Outcome};
use crate::journal::StatementError;

/// Where one statement stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StmtStatus {
    Pending,
    Running,
    /// Ran; committed when its group commits.
    Ran {
        ms: u64,
        rows: u64,
    },
    Committed {
        ms: u64,
    },
    /// Committed by an earlier run of a resumed session; never run again.
    CommittedBefore,
    Failed,
    RolledBack,
    NotApplied,
}

/// How the apply ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyResult {
    pub committed: Vec<usize>,
    pub not_applied: Vec<usize>,
    pub failed: Option<(usize, StatementError)>,
    /// The apply was refused or could not start (nothing ran).
    pub error: Option<String>,
}

impl ApplyResult {
    pub fn from_outcome(o: &Outcome) -> ApplyResult {
        ApplyResult {
            committed: o.committed.clone(),
            not_applied: o.not_applied.clone(),
            failed: o.failed.clone(),
            error: None,
        }
    }

    pub fn refused(msg: String) -> ApplyResult {
        ApplyResult {
            error: Some(msg),
            ..Default::default()
        }
    }

    pub fn ok(&self) -> bool {
        self.error.is_none() && self.failed.is_none() && self.not_applied.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyState {
    pub started: bool,
    /// Index `i` is step `i + 1`.
    pub statuses: Vec<StmtStatus>,
    pub current: Option<usize>,
    pub cancel_requested: bool,
    pub notices: Vec<String>,
    pub result: Option<ApplyResult>,
}

impl ApplyState {
    pub fn begin(&mut self, steps: usize) {
        self.started = true;
        self.statuses = vec![StmtStatus::Pending; steps];
    }

    /// Marks the steps an earlier, interrupted run committed.
    pub fn committed_before<'a>(&mut self, steps: impl IntoIterator<Item = &'a usize>) {
        for &n in steps {
            self.set(n, StmtStatus::CommittedBefore);
        }
    }

    fn set(&mut self, step: usize, status: StmtStatus) {
        if let Some(s) = step.checked_sub(1).and_then(|i| self.statuses.get_mut(i)) {
            *s = status;
        }
    }

    /// Applies one progress event.
    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::StatementStarted { step, .. } => {
                self.current = Some(*step);
                self.set(*step, StmtStatus::Running);
            }
            Event::StatementFinished {
                step,
                duration,
                rows,
            } => {
                self.set(
                    *step,
                    StmtStatus::Ran {
                        ms: duration.as_millis() as u64,
                        rows: *rows,
                    },
                );
            }
            Event::StatementFailed { step, .. } => self.set(*step, StmtStatus::Failed),
            Event::Notice { step, message } => self.notices.push(format!("step {step}: {message}")),
            Event::GroupRolledBack { .. } => {
                for s in &mut self.statuses {
                    if matches!(s, StmtStatus::Ran { .. }) {
                        *s = StmtStatus::RolledBack;
                    }
                }
            }
            Event::GroupCommitted { .. } => {
                for s in &mut self.statuses {
                    if let StmtStatus::Ran { ms, .. } = s {
                        *s = StmtStatus::Committed { ms: *ms };
                    }
                }
            }
            Event::Connected { .. } | Event::Checked { .. } => {}
            Event::Waiting { step, blockers } => self.notices.extend(
                blockers
                    .iter()
                    .map(|b| format!("step {step}: waiting for {b}")),
            ),
            Event::Retrying {
                group,
                attempt,
                max_attempts,
                why,
                ..
            } => self.notices.push(format!(
                "group {group}: {why}; try {attempt} of {max_attempts}"
            )),
            Event::LockedInOrder { group, tables } => self.notices.push(format!(
                "group {group}: locked first, in order: {}",
                tables.join(", ")
            )),
        }
    }

    /// Settles every status from the final result.
    pub fn finish(&mut self, result: ApplyResult) {
        for n in &result.not_applied {
            if let Some(s) = n.checked_sub(1).and_then(|i| self.statuses.get_mut(i)) {
                *s = match s {
                    StmtStatus::Failed => StmtStatus::Failed,
                    StmtStatus::Ran { .. } | StmtStatus::RolledBack => StmtStatus::RolledBack,
                    _ => StmtStatus::NotApplied,
                };
            }
        }
        for n in &result.committed {
            if let Some(s) = n.checked_sub(1).and_then(|i| self.statuses.get_mut(i)) {
                match s {
                    StmtStatus::Ran { ms, .. } => *s = StmtStatus::Committed { ms: *ms },
                    // A resumed run found it committed (the server settled it).
                    StmtStatus::Pending => *s = StmtStatus::CommittedBefore,
                    _ => {}
                }
            }
        }
        self.current = None;
        self.result = Some(result);
    }

    pub fn running(&self) -> bool {
        self.started && self.result.is_none()
    }

    /// Statements that ran but were rolled back with their group.
    pub fn rolled_back(&self) -> Vec<usize> {
        self.numbers(|s| matches!(s, StmtStatus::RolledBack))
    }

    pub fn numbers(&self, pred: impl Fn(&StmtStatus) -> bool) -> Vec<usize> {
        self.statuses
            .iter()
            .enumerate()
            .filter(|(_, s)| pred(s))
            .map(|(i, _)| i + 1)
            .collect()
    }
}
