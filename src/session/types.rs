//! The wizard's vocabulary: steps, configuration, what each step records, and
//! the refusals that keep a session honest.

use crate::db::ConnSettings;
use crate::hazard::{HazardId, Severity};
use crate::plan::PlanFile;
use crate::strings;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Preflight,
    Backup,
    Diff,
    Review,
    Apply,
    Verify,
    Cleanup,
    Report,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Preflight,
        Step::Backup,
        Step::Diff,
        Step::Review,
        Step::Apply,
        Step::Verify,
        Step::Cleanup,
        Step::Report,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn title(self) -> &'static str {
        strings::STEP_TITLES[self.index()]
    }
}

/// What the session works on. `target` never prints a password.
#[derive(Debug, Clone)]
pub struct Config {
    pub target: ConnSettings,
    /// The `--desired` argument as given (none with an external plan alone).
    pub desired: Option<String>,
    /// `--plan FILE`: an external SQL file reviewed and applied in place of a
    /// computed plan.
    pub external_plan: Option<PathBuf>,
    pub shadow: Option<String>,
    pub session_dir: PathBuf,
    /// `Practice` or `Live`.
    pub mode: crate::journal::Mode,
    /// Strategy and scope of the plan (the same options as `pgalign diff`).
    pub plan_options: crate::plan::PlanOptions,
}

impl Config {
    /// What the session aligns to, in words (journal and report).
    /// The desired source and plan as shown and journaled: never with a password
    /// (a `--desired` database URL may carry one).
    pub fn source(&self) -> String {
        crate::report::redact(&self.source_raw())
    }

    fn source_raw(&self) -> String {
        match (&self.desired, &self.external_plan) {
            (Some(d), None) => d.clone(),
            (Some(d), Some(p)) => format!("{d} (external plan {})", p.display()),
            (None, Some(p)) => format!("external plan {}", p.display()),
            (None, None) => "none".into(),
        }
    }
}

/// A plan written into the session folder and read back from it.
#[derive(Debug, Clone)]
pub struct PlanState {
    pub path: PathBuf,
    pub file: PlanFile,
    pub notes: Vec<String>,
    /// Per step, the live and desired definitions of the object it replaces
    /// or alters (empty for an imported or resumed plan: nothing to compare).
    pub objects: Vec<Option<crate::plan::objdiff::ObjectChange>>,
}

impl PlanState {
    /// Indexes of the steps Review marks DANGER: a `danger` hazard, or a drop
    /// of stored data (a table or a column) however empty it is today. The
    /// reviewer acknowledges each one before signing off.
    pub fn danger_steps(&self) -> Vec<usize> {
        self.file
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.hazards.iter().any(|h| h.severity == Severity::Danger)
                    || drops_data(&s.title, &s.sql)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Ids of the `danger` hazards the reviewer acknowledges by signing off.
    pub fn danger_ids(&self) -> Vec<HazardId> {
        let ids: BTreeSet<HazardId> = self
            .file
            .steps
            .iter()
            .flat_map(|s| s.hazards.iter())
            .filter(|h| h.severity == Severity::Danger)
            .map(|h| h.id)
            .collect();
        ids.into_iter().collect()
    }
}

/// A person's name as compared: Unicode compatibility-normalised (NFKC),
/// lowercased (Unicode case folding by `to_lowercase`), whitespace runs
/// collapsed to one space and trimmed. "Olga Operator" and "olga  OPERATOR"
/// are one person; so are a full-width "Ｏｌｇａ" and "olga".
pub fn person_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let folded: String = name.nfkc().collect::<String>().to_lowercase();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// True when the two names name the same person (see [`person_key`]).
pub fn same_person(a: &str, b: &str) -> bool {
    person_key(a) == person_key(b)
}

/// True for statements that destroy stored data: a table or a column.
pub fn drops_data(title: &str, sql: &str) -> bool {
    let t = title.to_ascii_lowercase();
    let s = sql.to_ascii_uppercase();
    t.starts_with("drop table")
        || t.starts_with("drop column")
        || s.contains("DROP TABLE")
        || s.contains("DROP COLUMN")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOff {
    pub reviewer: String,
    pub plan_sha256: String,
    pub acknowledged: Vec<HazardId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyResult {
    pub in_sync: bool,
    pub remaining: Vec<String>,
    pub fingerprint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupAction {
    Archive,
    Remove,
}

/// Why the wizard will not move on. Each message says what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("this needs the {expected} step, but the session is at {actual}")]
    WrongStep {
        expected: &'static str,
        actual: &'static str,
    },
    #[error("preflight has not finished reading the target yet")]
    PreflightPending,
    #[error("tick every checklist item first; still open: {0}")]
    ChecklistOpen(String),
    #[error("type the operator's name first")]
    NoOperator,
    #[error("type the rollback owner's name first")]
    NoRollbackOwner,
    #[error("the backup is not verified: {0}")]
    BackupNotVerified(String),
    #[error("type the reviewer's name to sign off")]
    NoReviewer,
    #[error("the reviewer must be someone other than the operator ({0})")]
    ReviewerIsOperator(String),
    #[error("the plan has {0} blocker(s); it cannot be signed off or applied as it is")]
    Blockers(usize),
    #[error(
        "acknowledge each DANGER statement first: {left} not acknowledged yet, the next is statement {next} (n goes to the next hazard, a acknowledges the statement under the cursor)"
    )]
    DangerUnacknowledged { left: usize, next: usize },
    #[error("statement {0} has no DANGER to acknowledge")]
    NotDanger(usize),
    #[error("the plan has not been signed off by a reviewer")]
    NotSignedOff,
    #[error(
        "'{typed}' is not the count the blocker names; type {expected} to plan the drop anyway"
    )]
    DropAllCount { typed: String, expected: usize },
    #[error("the plan does not drop most of the live schema: there is no count to type")]
    NoDropAll,
    #[error("'{typed}' is not the target database's name; type {expected} exactly")]
    TargetMismatch { typed: String, expected: String },
    #[error("the plan was already applied in this session; it is never run twice")]
    AlreadyApplied,
    #[error("the apply has not finished yet")]
    ApplyRunning,
    #[error("verification has not finished yet")]
    NotVerified,
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_person_after_case_folding_and_whitespace() {
        assert!(same_person("Olga Operator", "olga  OPERATOR"));
        assert!(same_person(" Olga\tOperator ", "olga operator"));
        assert!(same_person("ＯＬＧＡ", "olga"), "full-width letters (NFKC)");
        assert!(same_person("ÉMILE", "émile"), "beyond ASCII");
        assert!(
            same_person("Émile", "E\u{301}mile"),
            "composed or not (NFKC)"
        );
        assert!(!same_person("Olga Operator", "Rex Reviewer"));
        assert!(
            !same_person("Olga", "Olgа"),
            "a Cyrillic а is another letter"
        );
    }
}
