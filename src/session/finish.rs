//! The last steps: cleanup of the plan file, the report, and ending a session.

use super::Outcome;
use super::wizard::{CleanupAction, Refusal, Step, Wizard};
use crate::exit::Exit;
use crate::journal::Entry;
use crate::strings::cleanup;
use anyhow::Context;
use std::path::PathBuf;

impl Wizard {
    /// Archives the plan beside the report (read-only) or removes it.
    pub fn cleanup(&mut self, action: CleanupAction) -> Result<(), Refusal> {
        self.expect(Step::Cleanup)?;
        let Some(plan) = &self.plan else {
            return Err(Refusal::Io(anyhow::anyhow!("there is no plan to clean up")));
        };
        let path = plan.path.clone();
        let (word, kept) = match action {
            CleanupAction::Archive => {
                let short = &plan.file.actual_sha256[..12.min(plan.file.actual_sha256.len())];
                let dest = self.config.session_dir.join(format!("plan-{short}.sql"));
                std::fs::rename(&path, &dest).with_context(|| {
                    format!("archiving plan {} as {}", path.display(), dest.display())
                })?;
                use std::os::unix::fs::PermissionsExt;
                crate::util::fs::open_nofollow(&dest)
                    .and_then(|f| f.set_permissions(std::fs::Permissions::from_mode(0o400)))
                    .with_context(|| format!("making {} read-only", dest.display()))?;
                (cleanup::ARCHIVED, dest)
            }
            CleanupAction::Remove => {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing plan {}", path.display()))?;
                (cleanup::REMOVED, path)
            }
        };
        self.record(Entry::Cleanup {
            action: word.into(),
            path: kept.display().to_string(),
        })?;
        self.cleanup = Some((action, kept));
        self.step = Step::Report;
        Ok(())
    }

    /// How the session ended, in the report's words.
    pub fn outcome(&self) -> Outcome {
        if let Some(r) = &self.apply.result
            && !r.ok()
        {
            return Outcome::ApplyFailed;
        }
        if self.verify.is_some() && self.post_checks_failed() {
            return Outcome::PostChecksFailed;
        }
        match &self.verify {
            Some(_) if self.config.desired.is_none() => Outcome::AppliedUnverified,
            Some(v) if !v.in_sync => Outcome::DifferencesRemain,
            Some(_) if self.plan_is_empty() => Outcome::AlreadyInSync,
            Some(_) => Outcome::Aligned,
            None => Outcome::Aborted,
        }
    }

    /// Ends the session and writes `report.md` and `report.json` beside the
    /// journal, rendered from the journal alone. Returns their paths.
    pub fn write_report(&mut self) -> Result<(PathBuf, PathBuf), Refusal> {
        self.expect(Step::Report)?;
        if let Some(paths) = &self.report {
            return Ok(paths.clone());
        }
        if !self.ended {
            let outcome = self.outcome();
            self.record(Entry::SessionEnded {
                outcome: outcome.as_str().into(),
            })?;
            self.ended = true;
        }
        let records = crate::journal::read_contents(&self.journal_path())?.records_with_notes();
        let md_path = self.config.session_dir.join("report.md");
        let json_path = self.config.session_dir.join("report.json");
        let md = crate::report::render_markdown(&records);
        let json = serde_json::to_string_pretty(&crate::report::render_json(&records))
            .context("encoding the report as JSON")?;
        crate::util::write_private(&md_path, md.as_bytes())
            .with_context(|| format!("writing report {}", md_path.display()))?;
        crate::util::write_private(&json_path, (json + "\n").as_bytes())
            .with_context(|| format!("writing report {}", json_path.display()))?;
        self.report = Some((md_path.clone(), json_path.clone()));
        Ok((md_path, json_path))
    }

    /// Records that the session was abandoned (Ctrl-C, quit). Idempotent.
    pub fn abort(&mut self, why: &str) {
        if self.ended {
            return;
        }
        let _ = self.record(Entry::Note {
            text: why.to_string(),
        });
        let _ = self.record(Entry::SessionEnded {
            outcome: Outcome::Aborted.as_str().into(),
        });
        self.ended = true;
    }

    /// The exit status of a finished session (see [`Outcome::exit`]).
    pub fn exit_code(&self) -> Exit {
        self.outcome().exit()
    }
}
