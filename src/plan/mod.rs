//! Plans: the ordered steps that turn the live schema into the desired one.
//!
//! `diff` computes a [`Plan`] from two models; `file` writes and reads the plan
//! file (plain SQL with a header that pins its content and its source).

pub mod compute;
pub mod diff;
pub mod external;
pub mod file;
pub mod hints;
pub mod objdiff;
pub mod script;

use crate::hazard::{Hazard, Summary};
use serde::{Deserialize, Serialize};

pub use diff::{DropAll, Measure, PlanOptions, Strategy, diff};
pub use file::{PlanFile, parse_plan, render_plan};

/// One statement of a plan with what it does and what it risks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based position in the plan.
    pub number: usize,
    /// What the step does, in words: `drop column shop.customers.legacy_notes`.
    pub title: String,
    /// The SQL, ending with `;`.
    pub sql: String,
    pub hazards: Vec<Hazard>,
    /// False for statements that cannot run inside a transaction block.
    pub transactional: bool,
    /// 1-based transaction group: consecutive transactional steps share one.
    pub group: usize,
}

/// Identity and counts of a plan, written as its header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanHeader {
    pub format: u32,
    /// SHA-256 of the plan body below the header, hex.
    pub body_sha256: String,
    /// Fingerprint of the live schema the plan was computed from.
    pub live_fingerprint: String,
    /// Fingerprint of the desired schema.
    pub desired_fingerprint: String,
    /// RFC 3339, UTC.
    pub generated_at: String,
    /// Where the plan was computed against, without secrets (`user@host:port/db`).
    pub target: String,
    pub statements: usize,
    pub summary: Summary,
    /// What the plan covers (everything unless `--schema`/`--exclude…` narrowed it).
    pub scope: crate::catalog::Scope,
}

/// A plan as computed, before it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub live_fingerprint: String,
    pub desired_fingerprint: String,
    pub steps: Vec<Step>,
    /// Remarks for the reviewer that are not statements (unmanaged objects,
    /// possible renames, omitted changes in additive mode).
    pub notes: Vec<String>,
    /// What the comparison covered.
    #[serde(default)]
    pub scope: crate::catalog::Scope,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn summary(&self) -> Summary {
        Summary::of(self.steps.iter().flat_map(|s| s.hazards.iter()))
    }

    /// Numbers steps and assigns transaction groups: consecutive transactional
    /// steps share a group; a non-transactional step is a group of its own.
    pub fn renumber(&mut self) {
        self.renumber_with_breaks(&[]);
    }

    /// Like [`Self::renumber`], and a step whose index is in `breaks` also
    /// starts a new group (the earlier group commits first: the online forms
    /// need the locks of `ADD … NOT VALID` released before `VALIDATE` scans).
    pub fn renumber_with_breaks(&mut self, breaks: &[usize]) {
        let mut group = 0;
        let mut prev_tx = false;
        for (i, step) in self.steps.iter_mut().enumerate() {
            step.number = i + 1;
            if !step.transactional || !prev_tx || group == 0 || breaks.contains(&i) {
                group += 1;
            }
            step.group = group;
            prev_tx = step.transactional;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(tx: bool) -> Step {
        Step {
            number: 0,
            title: String::new(),
            sql: "SELECT 1;".into(),
            hazards: vec![],
            transactional: tx,
            group: 0,
        }
    }

    #[test]
    fn groups_split_at_non_transactional_steps() {
        let mut plan = Plan {
            live_fingerprint: String::new(),
            desired_fingerprint: String::new(),
            steps: vec![step(true), step(true), step(false), step(false), step(true)],
            notes: vec![],
            scope: Default::default(),
        };
        plan.renumber();
        let groups: Vec<usize> = plan.steps.iter().map(|s| s.group).collect();
        assert_eq!(groups, vec![1, 1, 2, 3, 4]);
        assert_eq!(plan.steps[4].number, 5);
        plan.steps.push(step(true));
        plan.renumber_with_breaks(&[1, 5]);
        let groups: Vec<usize> = plan.steps.iter().map(|s| s.group).collect();
        assert_eq!(groups, vec![1, 2, 3, 4, 5, 6]);
    }
}
