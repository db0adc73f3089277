//! The journal: append-only JSON lines, fsynced after every entry, created 0600.
//! It is the single record of a session; the alignment report is rendered from
//! it alone. It never holds a password: targets are `user@host:port/db`.

use crate::hazard::{HazardId, Summary};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

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

/// Everything that can happen in a session, in the order it happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Entry {
    SessionStarted {
        tool_version: String,
        /// `user@host:port/db`, never a password.
        target: String,
        database: String,
        /// `practice` or `live`.
        mode: String,
        desired: String,
        /// What `wizard --resume` needs to continue the session after a
        /// restart; absent in journals of older versions and of `apply`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wizard: Option<WizardSetup>,
    },
    Preflight {
        server_version: String,
        database_bytes: i64,
        tables: usize,
        checks: Vec<Check>,
    },
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
    PlanGenerated {
        path: String,
        sha256: String,
        live_fingerprint: String,
        desired_fingerprint: String,
        statements: usize,
        summary: Summary,
        /// The figures behind the hazards (sizes, counts), which the plan's
        /// body leaves out: `step 3 data-loss: public.t: 48 kB, 1,000 rows (counted)`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        figures: Vec<String>,
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
    GitState {
        /// The repository's folder.
        path: String,
        branch: Option<String>,
        commit: Option<String>,
        /// No uncommitted changes.
        clean: bool,
    },
    /// A rehearsal of the plan on a scratch copy (`pgalign rehearse`).
    Rehearsed {
        plan_sha256: String,
        /// Where the scratch copy came from: `clone of …` or `backup file …`.
        source: String,
        converged: bool,
        /// The scratch copy's fingerprint after applying the plan.
        fingerprint: String,
        failed_step: Option<usize>,
        /// Statements that ran, with their measured duration and rows.
        statements: usize,
        total_ms: u64,
    },
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

/// A journal line: when, and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// RFC 3339, UTC.
    pub at: String,
    #[serde(flatten)]
    pub entry: Entry,
}

/// An open journal file.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (or creates, mode 0600) a journal for appending.
    pub fn open(path: &Path) -> Result<Journal> {
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating session folder {}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("opening journal {}", path.display()))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry and fsyncs before returning.
    pub fn append(&mut self, entry: Entry) -> Result<Record> {
        let record = Record {
            at: crate::util::now_rfc3339(),
            entry,
        };
        let mut line = serde_json::to_string(&record).context("encoding a journal entry")?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.sync_data())
            .with_context(|| format!("writing journal {}", self.path.display()))?;
        Ok(record)
    }
}

/// Reads every record of a journal. A torn last line (the process died while
/// writing it) is ignored; any other bad line is an error naming its number.
pub fn read(path: &Path) -> Result<Vec<Record>> {
    let f = File::open(path).with_context(|| format!("opening journal {}", path.display()))?;
    let lines: Vec<String> = std::io::BufReader::new(f)
        .lines()
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading journal {}", path.display()))?;
    let mut out = Vec::new();
    let last = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => out.push(r),
            Err(_) if i + 1 == last => break,
            Err(e) => anyhow::bail!("journal {} line {}: {e}", path.display(), i + 1),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_a_torn_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s/journal.jsonl");
        let mut j = Journal::open(&path).unwrap();
        j.append(Entry::Note {
            text: "hello".into(),
        })
        .unwrap();
        j.append(Entry::GroupCommitted {
            group: 1,
            steps: vec![1, 2],
        })
        .unwrap();
        drop(j);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"at\":\"x\",\"event\":\"gro").unwrap();
        let records = read(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[1].entry,
            Entry::GroupCommitted {
                group: 1,
                steps: vec![1, 2]
            }
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"event\":\"group-committed\""));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
