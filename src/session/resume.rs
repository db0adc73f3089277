//! `wizard --resume JOURNAL`: what a wizard session's journal says about an
//! apply that did not finish, enough to reopen the wizard at its Apply step on
//! the same session folder: the signed-off plan (still on disk, unchanged), the
//! sign-off, the names of the checklist, the backup, and which groups committed.
//! The run itself is continued by [`crate::apply::resume`], which settles with
//! the server what the journal could not know and never runs a committed group
//! again.

use super::types::{Config, PlanState, SignOff};
use crate::apply::{Refusal, ResumePoint};
use crate::backup::BackupEvidence;
use crate::db::ConnSettings;
use crate::journal::{self, Entry, WizardSetup};
use anyhow::Result;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A wizard session whose apply can be resumed.
#[derive(Debug, Clone)]
pub struct Resumable {
    pub journal: PathBuf,
    pub session_dir: PathBuf,
    /// `user@host:port/db` as the journal recorded it.
    pub target: String,
    pub database: String,
    pub mode: crate::journal::Mode,
    /// What the session aligned to, in words (`session-started`).
    pub source: String,
    /// The configuration journaled at session start (none in older journals).
    pub setup: Option<WizardSetup>,
    pub plan: PlanState,
    pub signoff: SignOff,
    pub operator: String,
    pub rollback_owner: String,
    pub backup: Option<BackupEvidence>,
    pub point: ResumePoint,
    /// Groups the journal shows committed (never run again).
    pub committed_groups: BTreeSet<usize>,
    /// Their steps, and the statements that ran alone and finished.
    pub committed_steps: BTreeSet<usize>,
    /// Groups that began and whose end the journal never saw; the server says,
    /// when the apply starts, whether they committed.
    pub unsettled_groups: BTreeSet<usize>,
    /// How many apply runs the journal records.
    pub attempts: usize,
}

fn cannot(journal: &Path, reason: impl Into<String>) -> anyhow::Error {
    Refusal::CannotResume {
        journal: journal.display().to_string(),
        reason: reason.into(),
    }
    .into()
}

/// True when the journal records an apply run whose last try did not finish
/// with every statement committed.
pub fn has_unfinished_apply(records: &[journal::Record]) -> bool {
    let mut state = None;
    for r in records {
        match &r.entry {
            Entry::ApplyStarted { .. } => state = Some(false),
            Entry::ApplyFinished { ok, .. } => state = Some(*ok),
            _ => {}
        }
    }
    state == Some(false)
}

/// Reads what the journal says about the session and its apply, and checks
/// that the signed-off plan is still on disk, unchanged.
pub fn load(journal_path: &Path) -> Result<Resumable> {
    let records = journal::read(journal_path)?;
    let jp = journal_path;
    let mut started = None;
    let mut plan_path: Option<PathBuf> = None;
    let mut plan_removed = false;
    let mut signoff = None;
    let mut operator = String::new();
    let mut rollback_owner = String::new();
    let mut backup: Option<BackupEvidence> = None;
    let mut apply_started = false;
    let mut apply_ok = None;
    let mut attempts = 0;
    for r in &records {
        match &r.entry {
            Entry::SessionStarted {
                target,
                database,
                mode,
                desired,
                wizard,
                ..
            } if started.is_none() => {
                started = Some((
                    target.clone(),
                    database.clone(),
                    *mode,
                    desired.clone(),
                    wizard.clone(),
                ));
            }
            Entry::ChecklistConfirmed { items, operator: o } => {
                operator = o.clone();
                rollback_owner = items
                    .iter()
                    .find_map(|c| c.detail.strip_prefix("rollback owner: "))
                    .unwrap_or_default()
                    .to_string();
            }
            Entry::BackupVerified {
                path,
                bytes,
                sha256,
                entries,
                schema_path,
            } => {
                backup = Some(BackupEvidence {
                    path: path.into(),
                    bytes: *bytes,
                    sha256: sha256.clone(),
                    entries: *entries,
                    schema_path: schema_path.clone().unwrap_or_default().into(),
                    schema_bytes: 0,
                    schema_sha256: String::new(),
                    pg_dump_version: String::new(),
                })
            }
            Entry::BackupSchemaDump {
                path,
                bytes,
                sha256,
                pg_dump_version,
            } => {
                if let Some(b) = backup.as_mut() {
                    b.schema_path = path.into();
                    b.schema_bytes = *bytes;
                    b.schema_sha256 = sha256.clone();
                    b.pg_dump_version = pg_dump_version.clone();
                }
            }
            Entry::PlanGenerated(crate::journal::PlanGenerated { path, .. })
            | Entry::ApplyPlan { path, .. } => {
                plan_path = Some(path.into());
                plan_removed = false;
            }
            Entry::SignedOff {
                reviewer,
                plan_sha256,
                acknowledged,
            } => {
                signoff = Some(SignOff {
                    reviewer: reviewer.clone(),
                    plan_sha256: plan_sha256.clone(),
                    acknowledged: acknowledged.clone(),
                })
            }
            Entry::Cleanup { action, path } if action == crate::strings::cleanup::ARCHIVED => {
                plan_path = Some(path.into());
            }
            Entry::Cleanup { action, .. } if action == crate::strings::cleanup::REMOVED => {
                plan_removed = true;
            }
            Entry::ApplyStarted { .. } => {
                apply_started = true;
                apply_ok = None;
                attempts += 1;
            }
            Entry::ApplyFinished { ok, .. } => apply_ok = Some(*ok),
            _ => {}
        }
    }
    let Some((target, database, mode, source, setup)) = started else {
        return Err(cannot(jp, "it does not record the start of a session"));
    };
    if !apply_started {
        return Err(cannot(
            jp,
            "nothing to resume: it records no apply run (nothing was applied; start a new session)",
        ));
    }
    if apply_ok == Some(true) {
        return Err(cannot(
            jp,
            "nothing to resume: its apply finished with every statement committed",
        ));
    }
    let Some(signoff) = signoff else {
        return Err(cannot(
            jp,
            "it records no reviewer's sign-off (not a wizard session; use `pgalign apply --resume`)",
        ));
    };
    if plan_removed {
        return Err(cannot(
            jp,
            "the signed-off plan file was removed at cleanup; there is no reviewed plan to continue",
        ));
    }
    let Some(plan_path) = plan_path else {
        return Err(cannot(jp, "it does not name the plan file"));
    };
    let text = std::fs::read_to_string(&plan_path).map_err(|e| {
        cannot(
            jp,
            format!(
                "the signed-off plan file {} cannot be read: {e}",
                plan_path.display()
            ),
        )
    })?;
    let file = crate::plan::parse_plan(&text).map_err(|e| {
        cannot(
            jp,
            format!(
                "the plan file {} was changed after the reviewer signed it off: {e:#}",
                plan_path.display()
            ),
        )
    })?;
    if file.actual_sha256 != signoff.plan_sha256 {
        return Err(cannot(
            jp,
            format!(
                "the plan file {} was changed after the reviewer signed it off: its SHA-256 is {}, {} signed off {}",
                plan_path.display(),
                file.actual_sha256,
                signoff.reviewer,
                signoff.plan_sha256
            ),
        ));
    }
    let point = crate::apply::resume_point(jp)?;
    if let Some(sha) = &point.plan_sha256
        && sha != &signoff.plan_sha256
    {
        return Err(cannot(
            jp,
            format!(
                "its apply ran the plan {sha}, not the signed-off one {}",
                signoff.plan_sha256
            ),
        ));
    }
    let mut committed_groups = point.committed_groups.clone();
    let mut committed_steps = BTreeSet::new();
    for s in &file.steps {
        if !s.transactional && point.finished_steps.contains(&s.number) {
            committed_groups.insert(s.group);
        }
    }
    for s in &file.steps {
        if committed_groups.contains(&s.group) {
            committed_steps.insert(s.number);
        }
    }
    let unsettled_groups = point
        .unsettled
        .keys()
        .filter(|g| !committed_groups.contains(g))
        .copied()
        .collect();
    let session_dir = jp
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(Resumable {
        journal: jp.to_path_buf(),
        session_dir,
        target,
        database,
        mode,
        source,
        setup,
        plan: PlanState {
            path: plan_path,
            file,
            notes: vec![],
            objects: vec![],
        },
        signoff,
        operator,
        rollback_owner,
        backup,
        point,
        committed_groups,
        committed_steps,
        unsettled_groups,
        attempts,
    })
}

/// What the wizard keeps of a resumed session while it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resuming {
    /// What the journal says was committed and what was not, in words.
    pub summary: String,
    pub committed_groups: BTreeSet<usize>,
    pub committed_steps: BTreeSet<usize>,
    /// Apply runs the journal recorded before this one.
    pub attempts: usize,
}

/// `1–3, 5` for `[1, 2, 3, 5]`.
pub fn ranges(numbers: impl IntoIterator<Item = usize>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Option<(usize, usize)> = None;
    let flush = |out: &mut Vec<String>, r: Option<(usize, usize)>| match r {
        Some((a, b)) if a == b => out.push(a.to_string()),
        Some((a, b)) => out.push(format!("{a}–{b}")),
        None => {}
    };
    for n in numbers {
        run = match run {
            Some((a, b)) if n == b + 1 => Some((a, n)),
            r => {
                flush(&mut out, r);
                Some((n, n))
            }
        };
    }
    flush(&mut out, run);
    if out.is_empty() {
        "none".into()
    } else {
        out.join(", ")
    }
}

impl Resumable {
    /// Refuses a target other than the journal's database (name, host and port).
    pub fn check_target(&self, target: &ConnSettings) -> Result<()> {
        let where_ = |t: &str| {
            t.rsplit_once('@')
                .map(|(_, rest)| rest.to_string())
                .unwrap_or_else(|| t.to_string())
        };
        let ours = format!("{}:{}/{}", target.host, target.port, target.dbname);
        if self.database != target.dbname || where_(&self.target) != ours {
            return Err(cannot(
                &self.journal,
                format!(
                    "it records a session on {} (database {}), not on {target}; pass the same --db",
                    self.target, self.database
                ),
            ));
        }
        Ok(())
    }

    /// What the journal says was committed and what was not, in one line.
    pub fn summary(&self) -> String {
        let all: Vec<usize> = self.plan.file.steps.iter().map(|s| s.number).collect();
        let rest: Vec<usize> = all
            .iter()
            .copied()
            .filter(|n| !self.committed_steps.contains(n))
            .collect();
        let mut s = if self.committed_groups.is_empty() {
            "no group committed yet".to_string()
        } else {
            format!(
                "group{} {} already committed (steps {}), never run again",
                if self.committed_groups.len() == 1 {
                    ""
                } else {
                    "s"
                },
                ranges(self.committed_groups.iter().copied()),
                ranges(self.committed_steps.iter().copied())
            )
        };
        if rest.is_empty() {
            s.push_str("; every step is committed, but the run's end was never journaled");
        } else {
            s.push_str(&format!("; not committed: steps {}", ranges(rest)));
        }
        if !self.unsettled_groups.is_empty() {
            s.push_str(&format!(
                "; the server settles whether group {} committed before anything runs",
                ranges(self.unsettled_groups.iter().copied())
            ));
        }
        s
    }

    pub fn resuming(&self) -> Resuming {
        Resuming {
            summary: self.summary(),
            committed_groups: self.committed_groups.clone(),
            committed_steps: self.committed_steps.clone(),
            attempts: self.attempts,
        }
    }

    /// The session's configuration for the rest of the window. `desired` and
    /// `shadow` from the command line win over the journaled ones; a journal
    /// without them (older versions, or one that held a password) needs them.
    pub fn config(
        &self,
        target: ConnSettings,
        desired: Option<String>,
        shadow: Option<String>,
        strategy: crate::plan::Strategy,
    ) -> Result<Config> {
        let setup = self.setup.clone();
        let external_only = self.source.starts_with("external plan ");
        let desired = match (desired, &setup) {
            (Some(d), _) => Some(d),
            (None, Some(s)) if s.withheld.iter().any(|w| w == "desired") => anyhow::bail!(
                "the desired schema of this session held a password and was not journaled: pass --desired SRC to resume (it verifies the result)"
            ),
            (None, Some(s)) => s.desired.clone(),
            (None, None) if external_only => None,
            (None, None) => anyhow::bail!(
                "the journal {} does not record the desired schema as given (it was written by an older pgalign): pass --desired SRC to resume (the session aligned to {})",
                self.journal.display(),
                self.source
            ),
        };
        let shadow = match (shadow, &setup) {
            (Some(s), _) => Some(s),
            (None, Some(s)) if s.withheld.iter().any(|w| w == "shadow") => anyhow::bail!(
                "the shadow database of this session held a password and was not journaled: pass --shadow URL to resume"
            ),
            (None, Some(s)) => s.shadow.clone(),
            (None, None) => None,
        };
        Ok(Config {
            target,
            desired,
            external_plan: setup
                .as_ref()
                .and_then(|s| s.external_plan.as_ref().map(PathBuf::from)),
            shadow,
            session_dir: self.session_dir.clone(),
            mode: self.mode,
            plan_options: crate::plan::PlanOptions {
                scope: self.plan.file.header.scope.clone(),
                strategy: setup.map(|s| s.strategy).unwrap_or(strategy),
                ..Default::default()
            },
        })
    }
}

/// True when a source's text carries a password or a token: exactly what
/// the journal's redaction would change (see [`crate::util::redact`]), so a
/// source is journaled whole or not at all, never as a redacted command that
/// `--resume` would then run.
fn holds_password(s: &str) -> bool {
    crate::util::redact::holds_secret(s)
}

/// What the wizard journals at session start for a later `--resume`.
pub fn setup_of(config: &Config) -> WizardSetup {
    let mut withheld = Vec::new();
    let absolute = |s: &str| -> String {
        let p = Path::new(s);
        if !s.starts_with("cmd:") && (p.is_file() || p.is_dir()) {
            std::path::absolute(p)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| s.to_string())
        } else {
            s.to_string()
        }
    };
    let mut keep = |name: &str, v: &Option<String>| -> Option<String> {
        let v = v.as_deref()?;
        if holds_password(v) {
            withheld.push(name.to_string());
            return None;
        }
        Some(absolute(v))
    };
    let desired = keep("desired", &config.desired);
    let shadow = keep("shadow", &config.shadow);
    WizardSetup {
        desired,
        shadow,
        external_plan: config.external_plan.as_ref().map(|p| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        }),
        strategy: config.plan_options.strategy,
        withheld,
    }
}

/// The base folder sessions go under (`--session-dir`, else the default).
pub fn sessions_base(base: Option<&Path>) -> PathBuf {
    match base {
        Some(b) => b.to_path_buf(),
        None => super::default_sessions_base(),
    }
}

/// The newest session under `base` whose journal has an unfinished apply on
/// `target`'s database: (its folder, its journal). Best effort: unreadable
/// folders and journals are skipped.
pub fn find_interrupted(base: &Path, target: &ConnSettings) -> Option<(PathBuf, PathBuf)> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(base)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let ours = format!("{}:{}/{}", target.host, target.port, target.dbname);
    for dir in dirs.into_iter().rev().take(50) {
        let journal = dir.join("journal.jsonl");
        let Ok(records) = journal::read(&journal) else {
            continue;
        };
        let same_db = records.iter().find_map(|r| match &r.entry {
            Entry::SessionStarted {
                target: t,
                database,
                ..
            } => Some(
                database == &target.dbname
                    && t.rsplit_once('@').map(|(_, w)| w) == Some(ours.as_str()),
            ),
            _ => None,
        });
        let signed = records
            .iter()
            .any(|r| matches!(r.entry, Entry::SignedOff { .. }));
        if same_db == Some(true) && signed && has_unfinished_apply(&records) {
            return Some((dir, journal));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_as_runs() {
        assert_eq!(ranges([1, 2, 3, 5, 7, 8]), "1–3, 5, 7–8");
        assert_eq!(ranges([]), "none");
    }

    #[test]
    fn a_password_is_never_journaled() {
        assert!(holds_password("postgres://u:pw@h/db"));
        assert!(holds_password("host=h password=x dbname=d"));
        assert!(holds_password("postgres://u@h/db?password=x"));
        assert!(!holds_password("postgres://u@h:5432/db"));
        assert!(!holds_password("schema.sql"));
    }
}
