//! The wizard's state machine: which step the session is at, what each step
//! recorded, and the refusals that keep it honest. No terminal in here: the TUI
//! calls these methods and renders the state; every transition that records
//! evidence appends it to the journal first.

use super::apply_state::{ApplyResult, ApplyState};
use super::preflight::{Checklist, PreflightFacts};
use crate::apply::ApplyOptions;
use crate::backup::BackupEvidence;
use crate::journal::{Entry, Journal};
use crate::strings;
use std::path::PathBuf;

pub use super::types::*;

/// The session: configuration, the journal and everything recorded so far.
#[derive(Debug)]
pub struct Wizard {
    pub config: Config,
    journal: Journal,
    pub step: Step,
    pub preflight: Option<PreflightFacts>,
    pub checklist: Checklist,
    pub backup: Option<BackupEvidence>,
    pub plan: Option<PlanState>,
    pub signoff: Option<SignOff>,
    /// DANGER statements acknowledged on Review: step number → when (RFC 3339).
    pub acks: std::collections::BTreeMap<usize, String>,
    pub apply: ApplyState,
    pub verify: Option<VerifyResult>,
    pub cleanup: Option<(CleanupAction, PathBuf)>,
    pub report: Option<(PathBuf, PathBuf)>,
    pub ended: bool,
    /// Set when the session was reopened with `wizard --resume` to continue
    /// an interrupted apply.
    pub resume: Option<super::resume::Resuming>,
    /// The `[[post_check]]`s of pgalign.toml, run by Verify after the re-diff.
    pub post_checks: Vec<crate::config::PostCheck>,
    /// Their results, once they ran.
    pub post_check_results: Option<Vec<crate::postcheck::CheckResult>>,
}

impl Wizard {
    /// Opens the session's journal and records its start.
    pub fn start(config: Config) -> anyhow::Result<Wizard> {
        let mut journal = Journal::open(&config.session_dir.join("journal.jsonl"))?;
        journal.append(Entry::SessionStarted {
            tool_version: env!("CARGO_PKG_VERSION").into(),
            target: config.target.to_string(),
            database: config.target.dbname.clone(),
            mode: config.mode,
            desired: config.source(),
            wizard: Some(super::resume::setup_of(&config)),
        })?;
        Ok(Wizard {
            config,
            journal,
            step: Step::Preflight,
            preflight: None,
            checklist: Checklist::default(),
            backup: None,
            plan: None,
            signoff: None,
            acks: Default::default(),
            apply: ApplyState::default(),
            verify: None,
            cleanup: None,
            report: None,
            ended: false,
            resume: None,
            post_checks: Vec::new(),
            post_check_results: None,
        })
    }

    /// Reopens a session whose apply did not finish (`wizard --resume`), on
    /// its own folder and journal, at the Apply step: the signed-off plan and
    /// the sign-off come from the journal; preflight, backup, diff and review
    /// are not repeated (their evidence is already in the journal).
    pub fn resume(config: Config, from: super::resume::Resumable) -> anyhow::Result<Wizard> {
        let mut journal = Journal::open(&from.journal)?;
        let resuming = from.resuming();
        journal.append(Entry::Note {
            text: format!(
                "the session was resumed with `pgalign wizard --resume` after an interrupted apply ({} earlier run{}); {}. Preflight, backup, diff and review were not repeated: their evidence is above in this journal",
                from.attempts,
                if from.attempts == 1 { "" } else { "s" },
                resuming.summary
            ),
        })?;
        let mut checklist = Checklist {
            ticked: [true; 5],
            ..Checklist::default()
        };
        checklist.operator = from.operator.clone();
        checklist.rollback_owner = from.rollback_owner.clone();
        Ok(Wizard {
            config,
            journal,
            step: Step::Apply,
            preflight: None,
            checklist,
            backup: from.backup,
            plan: Some(from.plan),
            signoff: Some(from.signoff),
            acks: Default::default(),
            apply: ApplyState::default(),
            verify: None,
            cleanup: None,
            report: None,
            ended: false,
            resume: Some(resuming),
            post_checks: Vec::new(),
            post_check_results: None,
        })
    }

    pub fn journal_path(&self) -> PathBuf {
        self.journal.path().to_path_buf()
    }

    pub(super) fn record(&mut self, entry: Entry) -> Result<(), Refusal> {
        self.journal.append(entry)?;
        Ok(())
    }

    pub(super) fn expect(&self, step: Step) -> Result<(), Refusal> {
        if self.step != step {
            return Err(Refusal::WrongStep {
                expected: step.title(),
                actual: self.step.title(),
            });
        }
        Ok(())
    }

    /// Records what preflight found.
    pub fn preflight_done(&mut self, facts: PreflightFacts) -> Result<(), Refusal> {
        self.expect(Step::Preflight)?;
        self.record(Entry::Preflight(crate::journal::Preflight {
            server_version: facts.server_version.clone(),
            database_bytes: facts.database_bytes,
            tables: facts.tables,
            checks: facts.checks(),
        }))?;
        if let Some(git) = &facts.git {
            self.record(Entry::GitState(crate::journal::GitState {
                path: git.path.clone(),
                branch: Some(git.branch.clone()),
                commit: Some(git.commit.clone()),
                clean: git.changed_files == 0,
            }))?;
        }
        self.preflight = Some(facts);
        Ok(())
    }

    /// The operator confirms the checklist: every item ticked, both names typed.
    pub fn confirm_checklist(&mut self) -> Result<(), Refusal> {
        self.expect(Step::Preflight)?;
        if self.preflight.is_none() {
            return Err(Refusal::PreflightPending);
        }
        let open: Vec<&str> = strings::CHECKLIST
            .iter()
            .zip(self.checklist.ticked)
            .filter(|(_, t)| !t)
            .map(|(l, _)| *l)
            .collect();
        if !open.is_empty() {
            return Err(Refusal::ChecklistOpen(open.join("; ")));
        }
        let operator = self.checklist.operator.trim().to_string();
        if operator.is_empty() {
            return Err(Refusal::NoOperator);
        }
        if self.checklist.rollback_owner.trim().is_empty() {
            return Err(Refusal::NoRollbackOwner);
        }
        self.record(Entry::ChecklistConfirmed {
            items: self.checklist.checks(),
            operator,
        })?;
        self.step = Step::Backup;
        Ok(())
    }

    /// Accepts a backup only if its file exists, is non-empty, still has the
    /// recorded size and `pg_restore --list` read entries from it.
    pub fn backup_done(&mut self, evidence: BackupEvidence) -> Result<(), Refusal> {
        self.expect(Step::Backup)?;
        let size = std::fs::metadata(&evidence.path).map(|m| m.len());
        let why = match size {
            Err(_) => Some(format!("{} does not exist", evidence.path.display())),
            Ok(0) => Some(format!("{} is empty", evidence.path.display())),
            Ok(n) if n != evidence.bytes => Some(format!(
                "{} is {n} bytes, the backup recorded {}",
                evidence.path.display(),
                evidence.bytes
            )),
            // An archive of an empty database lists no entries: its header and
            // table of contents read back (`backup::run` checks that), so it is
            // verified; the journal says the database was empty.
            Ok(_) => None,
        };
        if let Some(why) = why {
            return Err(Refusal::BackupNotVerified(why));
        }
        for entry in evidence.entries() {
            self.record(entry)?;
        }
        if evidence.entries == 0 {
            self.record(Entry::Note {
                text: crate::backup::empty_note(&evidence.path),
            })?;
        }
        self.backup = Some(evidence);
        Ok(())
    }

    /// Moves from Backup to Diff; refused without a verified backup.
    pub fn leave_backup(&mut self) -> Result<(), Refusal> {
        self.expect(Step::Backup)?;
        if self.backup.is_none() {
            return Err(Refusal::BackupNotVerified(
                "no backup has been taken yet".into(),
            ));
        }
        self.step = Step::Diff;
        Ok(())
    }

    /// Records the plan written into the session folder.
    pub fn plan_done(&mut self, plan: PlanState) -> Result<(), Refusal> {
        self.expect(Step::Diff)?;
        let f = &plan.file;
        self.record(Entry::PlanGenerated(crate::journal::PlanGenerated {
            path: plan.path.display().to_string(),
            sha256: f.actual_sha256.clone(),
            live_fingerprint: f.header.live_fingerprint.clone(),
            desired_fingerprint: f.header.desired_fingerprint.clone(),
            statements: f.steps.len(),
            summary: f.header.summary,
            figures: f
                .steps
                .iter()
                .flat_map(|s| {
                    s.hazards.iter().filter_map(move |h| {
                        h.figures
                            .as_ref()
                            .map(|fig| format!("step {} {}: {fig}", s.number, h.id))
                    })
                })
                .collect(),
        }))?;
        if let Some(path) = &self.config.external_plan {
            let what = plan.notes.first().cloned().unwrap_or_default();
            self.record(Entry::Note {
                text: format!(
                    "the plan was imported from the external file {}, not computed: {what}",
                    path.display()
                ),
            })?;
        }
        self.plan = Some(plan);
        self.acks.clear();
        Ok(())
    }

    pub fn leave_diff(&mut self) -> Result<(), Refusal> {
        self.expect(Step::Diff)?;
        if self.plan.is_none() {
            return Err(Refusal::Io(anyhow::anyhow!(
                "the plan has not been computed yet"
            )));
        }
        self.step = Step::Review;
        Ok(())
    }

    /// True when the plan has nothing to apply.
    pub fn plan_is_empty(&self) -> bool {
        self.plan.as_ref().is_some_and(|p| p.file.steps.is_empty())
    }

    /// The reviewer acknowledges the DANGER statement at `index` (0-based)
    /// of the plan: journaled with the time, its title and its SQL. Acknowledging
    /// one twice records it once.
    pub fn acknowledge(&mut self, index: usize) -> Result<(), Refusal> {
        self.expect(Step::Review)?;
        let Some(plan) = &self.plan else {
            return Err(Refusal::NotSignedOff);
        };
        let Some(step) = plan.file.steps.get(index) else {
            return Err(Refusal::NotDanger(index + 1));
        };
        if !plan.danger_steps().contains(&index) {
            return Err(Refusal::NotDanger(step.number));
        }
        if self.acks.contains_key(&step.number) {
            return Ok(());
        }
        let entry = Entry::DangerAcknowledged {
            step: step.number,
            title: step.title.clone(),
            statement: step.sql.clone(),
            hazards: step
                .hazards
                .iter()
                .filter(|h| h.severity == crate::hazard::Severity::Danger)
                .map(|h| h.id)
                .collect(),
        };
        let number = step.number;
        self.record(entry)?;
        self.acks.insert(number, crate::util::now_rfc3339());
        Ok(())
    }

    /// Step numbers of the DANGER statements not acknowledged yet.
    pub fn unacknowledged(&self) -> Vec<usize> {
        let Some(plan) = &self.plan else {
            return vec![];
        };
        plan.danger_steps()
            .into_iter()
            .map(|i| plan.file.steps[i].number)
            .filter(|n| !self.acks.contains_key(n))
            .collect()
    }

    /// Refused while a DANGER statement is not acknowledged.
    pub fn check_acknowledged(&self) -> Result<(), Refusal> {
        let left = self.unacknowledged();
        match left.first() {
            Some(&next) => Err(Refusal::DangerUnacknowledged {
                left: left.len(),
                next,
            }),
            None => Ok(()),
        }
    }

    /// The reviewer signs off: acknowledges the DANGER hazards by id and binds
    /// the sign-off to the plan's SHA-256. An empty plan needs no sign-off.
    pub fn sign_off(&mut self, reviewer: &str) -> Result<(), Refusal> {
        self.expect(Step::Review)?;
        let Some(plan) = &self.plan else {
            return Err(Refusal::NotSignedOff);
        };
        let reviewer = reviewer.trim().to_string();
        if reviewer.is_empty() {
            return Err(Refusal::NoReviewer);
        }
        if same_person(&reviewer, &self.checklist.operator) {
            return Err(Refusal::ReviewerIsOperator(reviewer));
        }
        if plan.file.header.summary.blocker > 0 {
            return Err(Refusal::Blockers(plan.file.header.summary.blocker));
        }
        self.check_acknowledged()?;
        let signoff = SignOff {
            reviewer,
            plan_sha256: plan.file.actual_sha256.clone(),
            acknowledged: plan.danger_ids(),
        };
        self.record(Entry::SignedOff {
            reviewer: signoff.reviewer.clone(),
            plan_sha256: signoff.plan_sha256.clone(),
            acknowledged: signoff.acknowledged.clone(),
        })?;
        self.signoff = Some(signoff);
        self.step = Step::Apply;
        Ok(())
    }

    /// The count a reviewer types to let the plan drop most of the live schema,
    /// when its first step is that blocker.
    pub fn drop_all_count(&self) -> Option<usize> {
        self.plan
            .as_ref()
            .and_then(|p| crate::plan::diff::guard_count(&p.file.steps))
    }

    /// The reviewer typed the count of the drop-all blocker: the plan is
    /// computed again (back at Diff) with exactly that drop allowed, and the
    /// journal records it. A count that no longer matches then blocks again.
    pub fn allow_drop_all(&mut self, typed: &str) -> Result<(), Refusal> {
        self.expect(Step::Review)?;
        let Some(expected) = self.drop_all_count() else {
            return Err(Refusal::NoDropAll);
        };
        if typed.trim() != expected.to_string() {
            return Err(Refusal::DropAllCount {
                typed: typed.trim().to_string(),
                expected,
            });
        }
        let detail = self
            .plan
            .as_ref()
            .and_then(|p| p.file.steps.first())
            .and_then(|s| s.hazards.first())
            .map(|h| h.detail.clone())
            .unwrap_or_default();
        self.record(Entry::Note {
            text: format!(
                "the reviewer typed {expected} on Review to plan the drop anyway ({detail}); the plan was computed again"
            ),
        })?;
        self.config.plan_options.drop_all = crate::plan::DropAll::Exactly(expected);
        self.plan = None;
        self.acks.clear();
        self.step = Step::Diff;
        Ok(())
    }

    /// From Review with an empty plan: nothing to sign or apply.
    pub fn skip_to_verify(&mut self) -> Result<(), Refusal> {
        self.expect(Step::Review)?;
        if !self.plan_is_empty() {
            return Err(Refusal::NotSignedOff);
        }
        self.record(Entry::Note {
            text: strings::NO_DIFFERENCES.into(),
        })?;
        self.step = Step::Verify;
        Ok(())
    }

    /// The operator types the target database's name. Returns the options the
    /// apply runs with: the signed-off hash and the acknowledged hazards only.
    pub fn confirm_target(&mut self, typed: &str) -> Result<ApplyOptions, Refusal> {
        self.expect(Step::Apply)?;
        if self.apply.started {
            return Err(Refusal::AlreadyApplied);
        }
        let Some(signoff) = &self.signoff else {
            return Err(Refusal::NotSignedOff);
        };
        if typed.trim() != self.config.target.dbname {
            return Err(Refusal::TargetMismatch {
                typed: typed.trim().to_string(),
                expected: self.config.target.dbname.clone(),
            });
        }
        let opts = ApplyOptions {
            allowed: signoff.acknowledged.iter().copied().collect(),
            expect_sha256: Some(signoff.plan_sha256.clone()),
            ..ApplyOptions::default()
        };
        let steps = self.plan.as_ref().map(|p| p.file.steps.len()).unwrap_or(0);
        self.apply.begin(steps);
        if let Some(r) = &self.resume {
            self.apply.committed_before(&r.committed_steps);
        }
        Ok(opts)
    }

    /// The apply task ended (its journal entries were written by the engine).
    pub fn apply_finished(&mut self, result: ApplyResult) -> Result<(), Refusal> {
        self.expect(Step::Apply)?;
        if let Some(err) = &result.error {
            self.record(Entry::Note {
                text: format!("apply did not run: {err}"),
            })?;
        }
        self.apply.finish(result);
        Ok(())
    }

    pub fn leave_apply(&mut self) -> Result<(), Refusal> {
        self.expect(Step::Apply)?;
        if !self.apply.started {
            return Err(Refusal::NotSignedOff);
        }
        if self.apply.result.is_none() {
            return Err(Refusal::ApplyRunning);
        }
        self.step = Step::Verify;
        Ok(())
    }

    pub fn verify_done(&mut self, result: VerifyResult) -> Result<(), Refusal> {
        self.expect(Step::Verify)?;
        if self.config.desired.is_none() {
            self.record(Entry::Note {
                text: format!(
                    "{}; live fingerprint after apply: {}",
                    strings::VERIFY_NO_DESIRED,
                    result.fingerprint
                ),
            })?;
        } else {
            self.record(Entry::Verified {
                in_sync: result.in_sync,
                remaining: result.remaining.clone(),
                fingerprint: result.fingerprint.clone(),
            })?;
        }
        self.verify = Some(result);
        // Verified again: the post-checks run again after it.
        self.post_check_results = None;
        Ok(())
    }

    /// The post-checks ran (after the re-diff): each is journaled with its
    /// result, duration and excerpt; a failing one makes the verdict
    /// "applied, post-checks failed" and journals the rollback commands.
    pub fn post_checks_done(
        &mut self,
        results: Vec<crate::postcheck::CheckResult>,
    ) -> Result<(), Refusal> {
        self.expect(Step::Verify)?;
        if self.verify.is_none() {
            return Err(Refusal::NotVerified);
        }
        for r in &results {
            self.record(Entry::Note {
                text: format!("post-check {}", r.line()),
            })?;
        }
        let failed: Vec<String> = results
            .iter()
            .filter(|r| !r.ok)
            .map(|r| crate::util::redact(&r.name))
            .collect();
        if !failed.is_empty() {
            self.record(Entry::Note {
                text: format!(
                    "{}: {}; to roll back: {}",
                    super::Outcome::PostChecksFailed,
                    failed.join(", "),
                    self.rollback_commands().join(" ; ")
                ),
            })?;
        }
        self.post_check_results = Some(results);
        Ok(())
    }

    /// True when a post-check ran and failed.
    pub fn post_checks_failed(&self) -> bool {
        self.post_check_results
            .as_ref()
            .is_some_and(|r| r.iter().any(|c| !c.ok))
    }

    /// How to put the target back as it was before the apply: restore the
    /// session's verified backup (into a new database to compare, or over
    /// the target with a typed confirmation).
    pub fn rollback_commands(&self) -> Vec<String> {
        let t = &self.config.target;
        let db = format!("{}@{}:{}/{}", t.user, t.host, t.port, t.dbname);
        match &self.backup {
            Some(b) => vec![
                format!(
                    "pgalign restore --db {db} --backup {} --into {}_before",
                    b.path.display(),
                    t.dbname
                ),
                format!(
                    "pgalign restore --db {db} --backup {} --into {} --replace --confirm-target {}",
                    b.path.display(),
                    t.dbname,
                    t.dbname
                ),
            ],
            None => vec![
                "no backup was taken in this session: roll back with the team's own procedure"
                    .into(),
            ],
        }
    }

    pub fn leave_verify(&mut self) -> Result<(), Refusal> {
        self.expect(Step::Verify)?;
        if self.verify.is_none() {
            return Err(Refusal::NotVerified);
        }
        if !self.post_checks.is_empty() && self.post_check_results.is_none() {
            return Err(Refusal::NotVerified);
        }
        self.step = Step::Cleanup;
        Ok(())
    }
}
