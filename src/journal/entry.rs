//! The vocabulary of the journal: every entry a session records, shared by
//! every writer (wizard, apply, backup, rehearse) and the report.

use crate::hazard::{HazardId, Summary};
use serde::{Deserialize, Serialize};

/// One check of the preflight or the maintenance checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// What the server said about a failed statement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementError {
    pub sqlstate: Option<String>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// Line in the plan file the error points at, when the server gave a position.
    pub plan_line: Option<usize>,
}

impl std::fmt::Display for StatementError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(code) = &self.sqlstate {
            write!(f, " (SQLSTATE {code})")?;
        }
        if let Some(d) = &self.detail {
            write!(f, "; detail: {d}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "; hint: {h}")?;
        }
        if let Some(l) = self.plan_line {
            write!(f, "; at plan line {l}")?;
        }
        Ok(())
    }
}

/// The wizard's configuration as given, journaled at session start so that
/// `wizard --resume` can verify the session after a restart. Never a password:
/// a source whose text holds one is left out and named in `withheld`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WizardSetup {
    /// `--desired` (files and folders as absolute paths).
    #[serde(default)]
    pub desired: Option<String>,
    #[serde(default)]
    pub shadow: Option<String>,
    /// `--plan FILE` (absolute).
    #[serde(default)]
    pub external_plan: Option<String>,
    #[serde(default)]
    pub strategy: crate::plan::Strategy,
    /// `desired` or `shadow` when left out because the text held a password.
    #[serde(default)]
    pub withheld: Vec<String>,
}

/// What kind of session a journal records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The wizard on a real target.
    Live,
    /// `pgalign practice`: the wizard on a throwaway server.
    Practice,
    /// `pgalign apply`.
    Apply,
}

impl Mode {
    /// The journal's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Practice => "practice",
            Mode::Apply => "apply",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a session records. Variants are listed in the order they were
/// added to the format, not the order they happen; a line names its variant in
/// `"event"` (kebab-case), and newtype variants flatten their payload next to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Entry {
    SessionStarted {
        tool_version: String,
        /// `user@host:port/db`, never a password.
        target: String,
        database: String,
        mode: Mode,
        desired: String,
        /// What `wizard --resume` needs to continue the session after a
        /// restart; absent in journals of older versions and of `apply`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wizard: Option<WizardSetup>,
    },
    Preflight(Preflight),
    ChecklistConfirmed {
        items: Vec<Check>,
        operator: String,
    },
    BackupVerified {
        path: String,
        bytes: u64,
        sha256: String,
        /// Entries `pg_restore --list` read from the archive.
        entries: usize,
        schema_path: Option<String>,
    },
    PlanGenerated(PlanGenerated),
    /// The reviewer acknowledged one DANGER statement on Review (before the
    /// sign-off, which names the reviewer and lists them all).
    DangerAcknowledged {
        step: usize,
        title: String,
        statement: String,
        hazards: Vec<HazardId>,
    },
    SignedOff {
        reviewer: String,
        plan_sha256: String,
        acknowledged: Vec<HazardId>,
    },
    ApplyStarted {
        plan_sha256: String,
        statements: usize,
        lock_timeout_ms: u64,
        statement_timeout_ms: Option<u64>,
    },
    StatementStarted {
        step: usize,
        group: usize,
        title: String,
    },
    StatementFinished {
        step: usize,
        group: usize,
        duration_ms: u64,
        rows: u64,
    },
    StatementFailed {
        step: usize,
        group: usize,
        duration_ms: u64,
        error: StatementError,
    },
    GroupCommitted {
        group: usize,
        steps: Vec<usize>,
    },
    GroupRolledBack {
        group: usize,
        steps: Vec<usize>,
        reason: String,
    },
    ApplyFinished {
        ok: bool,
        committed: Vec<usize>,
        not_applied: Vec<usize>,
    },
    Verified {
        in_sync: bool,
        remaining: Vec<String>,
        fingerprint: String,
    },
    Cleanup {
        action: String,
        path: String,
    },
    Note {
        text: String,
    },
    SessionEnded {
        outcome: String,
    },
    /// The schema-only dump taken with the archive of `BackupVerified`, and the
    /// pg_dump that wrote both.
    BackupSchemaDump {
        path: String,
        bytes: u64,
        sha256: String,
        pg_dump_version: String,
    },
    /// The state of the repository holding the desired schema when the session
    /// ran (the runbooks' "git commit hash" and "clean working tree").
    GitState(GitState),
    /// A rehearsal of the plan on a scratch copy (`pgalign rehearse`).
    Rehearsed(Rehearsed),
    /// The plan file an apply run reads, so that `apply --resume` finds it again,
    /// and the server process (pid) that runs it.
    ApplyPlan {
        path: String,
        plan_sha256: String,
        #[serde(default)]
        backend_pid: Option<i32>,
    },
    /// A transaction group began. Its transaction id tells, after a crash, whether
    /// its COMMIT reached the server (`txid_status`).
    GroupBegun {
        group: usize,
        steps: Vec<usize>,
        txid: i64,
        /// 1 for the first try; more when retried after a lock timeout.
        attempt: u32,
    },
    /// A group that failed on a lock timeout is run again from its start.
    GroupRetried {
        group: usize,
        /// The attempt about to start (2 = first retry).
        attempt: u32,
        max_attempts: u32,
        wait_ms: u64,
        reason: String,
        /// Sessions seen blocking the statement, described in one line each.
        #[serde(default)]
        blockers: Vec<String>,
    },
    /// `apply --resume` took over an interrupted run: the groups it found
    /// committed (never run again) and what it repaired.
    ApplyResumed {
        plan_path: String,
        committed_groups: Vec<usize>,
        #[serde(default)]
        recovered: Vec<String>,
    },
}

/// What preflight read from the target (`preflight`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preflight {
    pub server_version: String,
    pub database_bytes: i64,
    pub tables: usize,
    pub checks: Vec<Check>,
}

/// The plan written for review (`plan-generated`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanGenerated {
    pub path: String,
    pub sha256: String,
    pub live_fingerprint: String,
    pub desired_fingerprint: String,
    pub statements: usize,
    pub summary: Summary,
    /// The figures behind the hazards (sizes, counts), which the plan's
    /// body leaves out: `step 3 data-loss: public.t: 48 kB, 1,000 rows (counted)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<String>,
}

/// The repository holding the desired schema (`git-state`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitState {
    /// The repository's folder.
    pub path: String,
    pub branch: Option<String>,
    pub commit: Option<String>,
    /// No uncommitted changes.
    pub clean: bool,
}

/// A rehearsal of the plan on a scratch copy (`rehearsed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rehearsed {
    pub plan_sha256: String,
    /// Where the scratch copy came from: `clone of …` or `backup file …`.
    pub source: String,
    pub converged: bool,
    /// The scratch copy's fingerprint after applying the plan.
    pub fingerprint: String,
    pub failed_step: Option<usize>,
    /// Statements that ran, with their measured duration and rows.
    pub statements: usize,
    pub total_ms: u64,
}
