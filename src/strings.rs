//! User-facing wording shared by the wizard, the CLI and the report, in one
//! place so the same thing is always called the same name.

/// The wizard's steps, in order, as shown in the step bar and the report.
pub const STEP_TITLES: [&str; 8] = [
    "Preflight",
    "Backup",
    "Diff",
    "Review",
    "Apply",
    "Verify",
    "Cleanup",
    "Report",
];

/// The maintenance checklist (runbook 003 §1), in the order it is ticked.
pub const CHECKLIST: [&str; 5] = [
    "Maintenance window announced and approved",
    "Writes paused (application owners informed)",
    "Operator and reviewer both present",
    "Backup storage confirmed with enough free space",
    "Rollback owner assigned (restores from the backup if needed)",
];

pub const OPERATOR_FIELD: &str = "Operator (your name)";
pub const ROLLBACK_OWNER_FIELD: &str = "Rollback owner";
pub const REVIEWER_FIELD: &str = "Reviewer (type your name to sign off)";
pub const DROP_ALL_FIELD: &str = "Count (type it to plan the drop anyway)";
pub const CONTINUE: &str = "Continue";

pub const TITLE: &str = "pgalign";
pub const PRACTICE_BADGE: &str = "PRACTICE";

// Glyphs: every state has a glyph and a word, never colour alone.
pub const GLYPH_OK: &str = "✔";
pub const GLYPH_FAIL: &str = "✖";
pub const GLYPH_WARN: &str = "!";
pub const GLYPH_RUNNING: &str = "▶";
pub const GLYPH_PENDING: &str = "·";
pub const GLYPH_ROLLED_BACK: &str = "↺";
pub const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

// Preflight.
pub const PREFLIGHT_RUNNING: &str = "inspecting the target: server, size, connections, git state…";
pub const NO_OTHER_CONNECTIONS: &str = "none";
pub const NOT_A_GIT_REPO: &str = "not a git repository (nothing to record)";

// Backup.
pub const BACKUP_PROMPT: &str =
    "Press Enter to run pg_dump -Fc and a schema-only dump into the session folder.";
pub const BACKUP_RUNNING: &str =
    "backing up: pg_dump, then pg_restore --list reads the archive back…";
pub const BACKUP_VERIFIED: &str = "BACKUP VERIFIED";
pub const BACKUP_NEXT: &str = "Press Enter to compute the plan.";

// Diff.
pub const DIFF_RUNNING: &str = "inspecting the live and the desired schema, computing the plan…";
pub const DIFF_NEXT: &str = "Press Enter to review the plan.";
pub const IMPORT_RUNNING: &str =
    "inspecting the live schema and linting the external plan against it…";
pub const NO_DIFFERENCES: &str = "no differences: the live schema already matches the desired one";

// Review.
pub const DROP_ALL_NOTE: &str = "The plan's first step is a blocker: it would drop most of the live schema. If the desired source is right, type the count it names and press Enter: the plan is computed again with that drop allowed, and you sign it off as usual.";
pub const SIGN_OFF_NOTE: &str =
    "Signing off binds your name to this exact plan (SHA-256) and acknowledges its DANGER hazards.";
pub const DROP_MARK: &str = "drops stored data: a table or a column";
pub const NOTHING_TO_SIGN: &str = "Nothing to apply. Press Enter to verify.";
pub const NO_STATEMENT_HERE: &str =
    "no statement starts at or below the top line; scroll up to one first";
pub const NO_OBJECT_DIFF: &str = "has no before/after: it creates or drops an object outright, or changes no view, function, procedure, trigger, policy or table definition";
pub const OBJECT_DIFF_LEGEND: &str = "- live (now)   + desired (after the plan)";
pub const OBJECT_DIFF_LEGEND_PLAIN: &str =
    "- live (now)   + desired (after the plan)   [-removed-] {+added+} inside a line";

// Apply.
pub const APPLY_PROMPT: &str = "Type the name of the target database to apply the signed-off plan";
pub const APPLY_DONE: &str = "ALL STATEMENTS COMMITTED";
pub const APPLY_FAILED: &str = "APPLY FAILED: STOPPED";
pub const APPLY_NO_RERUN: &str = "Do not re-run this plan. Verify shows what is left; restore from the backup if the rollback owner decides so.";
pub const APPLY_NEXT: &str = "Press Enter to verify.";
pub const APPLY_SKIPPED: &str = "Nothing to apply.";
pub const CANCEL_SENT: &str = "cancel sent to the server; waiting for the statement to stop…";

// Verify.
pub const VERIFY_RUNNING: &str =
    "re-inspecting the live schema and comparing it with the desired one…";
pub const IN_SYNC: &str = "IN SYNC: zero differences";
pub const NOT_IN_SYNC: &str = "DIFFERENCES REMAIN";
pub const VERIFY_NO_DESIRED_RUNNING: &str =
    "re-inspecting the live schema (there is no desired schema to compare it with)…";
pub const VERIFY_NO_DESIRED: &str = "no desired schema to compare with: the plan was an external file, so pgalign cannot say whether the schema is now the one intended";
pub const VERIFY_NO_DESIRED_HINT: &str =
    "Pass --desired SRC with --plan to have the result re-diffed against the desired schema.";
pub const VERIFY_NEXT: &str = "Press Enter to clean up.";

// Cleanup.
pub const CLEANUP_ARCHIVE: &str = "Archive the plan beside the report (read-only)";
pub const CLEANUP_REMOVE: &str = "Remove the plan file";
pub const CLEANUP_NOTE: &str = "The backup files are kept either way: they are the rollback path.";

// Report.
pub const REPORT_WRITTEN: &str = "Report written";
pub const REPORT_EXIT: &str = "Press Enter or q to exit.";

// Dialogs.
pub const QUIT_TITLE: &str = "Abort the session?";
pub const QUIT_BODY: &str =
    "The journal keeps everything recorded so far. y: abort (exit 130) · n or Esc: stay";
pub const HELP_TITLE: &str = "Keys";

/// Journal `Cleanup` actions.
pub mod cleanup {
    pub const ARCHIVED: &str = "archived";
    pub const REMOVED: &str = "removed";
}
