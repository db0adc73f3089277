//! Words for the CLI: one progress line per event, and the summary at the end
//! (what committed, what did not, what to do next).

use super::{Event, Outcome, Stop};
use crate::db::ConnSettings;
use crate::journal::{self, Entry};
use std::path::Path;

/// The progress line of an event, or `None` for events the CLI does not show.
/// Names, server messages and errors are shown escaped
/// ([`crate::util::escape_control`]): only the line breaks of `Waiting` are real.
pub fn progress_line(ev: &Event, total: usize) -> Option<String> {
    use crate::util::escape_control as esc;
    Some(match ev {
        Event::StatementStarted { step, group, title } => {
            format!("[{step}/{total}] group {group}: {} …", esc(title))
        }
        Event::StatementFinished {
            step,
            duration,
            rows,
        } => format!(
            "[{step}/{total}] done in {} ms ({rows} row{})",
            duration.as_millis(),
            if *rows == 1 { "" } else { "s" }
        ),
        Event::Notice { message, .. } => format!("    server {}", esc(message)),
        Event::StatementFailed { step, error } => {
            format!("[{step}/{total}] FAILED: {}", esc(&error.to_string()))
        }
        Event::GroupCommitted { group } => format!("group {group} committed"),
        Event::GroupRolledBack { group } => format!("group {group} rolled back"),
        Event::Waiting { step, blockers } => {
            let mut s = format!("[{step}/{total}] waiting: blocked by");
            for b in blockers {
                s.push_str(&format!("\n    {}", esc(&b.to_string())));
            }
            s
        }
        Event::Retrying {
            group,
            attempt,
            max_attempts,
            wait,
            why,
        } => format!(
            "    {why}: group {group} runs again from its start in {:.1} s (try {attempt} of {max_attempts})",
            wait.as_secs_f64()
        ),
        Event::LockedInOrder { group, tables } => format!(
            "    group {group}: took its table locks first, in one order: {}",
            esc(&tables.join(", "))
        ),
        Event::Connected { .. } | Event::Checked { .. } => return None,
    })
}

/// The restore command for the backup recorded in this session's journal, if any.
pub fn restore_command(journal_path: &Path, target: &ConnSettings) -> Option<String> {
    let records = journal::read(journal_path).ok()?;
    let file = records.iter().rev().find_map(|r| match &r.entry {
        Entry::BackupVerified { path, .. } => Some(path.clone()),
        _ => None,
    })?;
    Some(format!(
        "pg_restore --clean --if-exists -h {} -p {} -U {} -d {} {}",
        shell_word(&target.host),
        target.port,
        shell_word(&target.user),
        shell_word(&target.dbname),
        shell_word(&file)
    ))
}

/// `s` as one shell word: bare when it is plainly safe, else single-quoted.
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@=".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The end of a run that stopped early: what committed, what did not, and
/// what to do next. One paragraph for stderr.
pub fn stopped_summary(
    outcome: &Outcome,
    target: &ConnSettings,
    journal_path: &Path,
    resume_hint: &str,
) -> String {
    let mut out = String::new();
    let step = outcome.failed.as_ref().map(|(s, _)| *s).unwrap_or(0);
    let error = outcome
        .failed
        .as_ref()
        .map(|(_, e)| e.to_string())
        .unwrap_or_default();
    match &outcome.stop {
        Some(Stop::JournalFailed(why)) => out.push_str(&format!(
            "the journal {} could not be written ({why}): the run stopped there so that nothing runs unrecorded; an open group was rolled back",
            journal_path.display()
        )),
        Some(Stop::Cancelled) => out.push_str("cancelled by the operator"),
        Some(Stop::ConnectionLost) => out.push_str(&format!(
            "the connection to {target} was lost during step {step}: {error}"
        )),
        _ if error.contains("SQLSTATE 57014") => out.push_str(&format!(
            "step {step} ran longer than the statement timeout and was cancelled by the server: {error}"
        )),
        _ if error.contains("SQLSTATE 55P03") => out.push_str(&format!(
            "step {step} could not get its lock within the lock timeout, after {} retr{}: {error}",
            outcome.retries,
            if outcome.retries == 1 { "y" } else { "ies" }
        )),
        _ if error.contains("SQLSTATE 40P01") || error.contains("SQLSTATE 40001") => {
            out.push_str(&format!(
                "step {step} was rolled back by the server ({}), after {} retr{}: {error}",
                if error.contains("SQLSTATE 40P01") {
                    "a deadlock with another session"
                } else {
                    "a serialization failure"
                },
                outcome.retries,
                if outcome.retries == 1 { "y" } else { "ies" }
            ))
        }
        _ => out.push_str(&format!("step {step} failed: {error}")),
    }
    out.push_str(&format!(
        "\n  committed: group(s) {} (steps {})",
        crate::util::step_list(&outcome.committed_groups),
        crate::util::step_list(&outcome.committed)
    ));
    if let Some(g) = outcome.rolled_back_group {
        out.push_str(&format!("\n  rolled back: group {g}"));
    }
    out.push_str(&format!(
        "\n  not applied: steps {}",
        crate::util::step_list(&outcome.not_applied)
    ));
    out.push_str(&format!("\n  journal: {}", journal_path.display()));
    match &outcome.stop {
        Some(Stop::Cancelled) | Some(Stop::ConnectionLost) => out.push_str(&format!(
            "\n  to continue where it stopped (committed groups are never run again): {resume_hint}"
        )),
        Some(Stop::JournalFailed(_)) => out.push_str(&format!(
            "\n  once the journal can be written again (free space on its file system), continue where it stopped (committed groups are never run again): {resume_hint}"
        )),
        _ => out.push_str(&format!(
            "\n  do not re-run this plan: fix the cause, then run `pgalign diff` again to see what is left, or continue this run once the cause is fixed (committed groups are never run again): {resume_hint}"
        )),
    }
    if !outcome.committed.is_empty() {
        match restore_command(journal_path, target) {
            Some(cmd) => out.push_str(&format!(
                "\n  to undo the committed groups, restore the backup of this session: {cmd}"
            )),
            None => out.push_str(
                "\n  this session has no verified backup: undoing the committed groups needs a new plan (`pgalign diff` against the old schema) or your own backup",
            ),
        }
    }
    out
}
