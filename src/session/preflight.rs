//! Preflight facts (what the target and the working directory look like before
//! anything changes) and the maintenance checklist the operator ticks.

use crate::db::ConnSettings;
use crate::journal::Check;
use crate::util::human_bytes;
use anyhow::{Context, Result};
use std::path::Path;

/// A transaction older than this is listed as long-running: DDL would queue
/// behind it, and everything else behind the DDL.
pub const LONG_TRANSACTION_SECS: i64 = 60;

/// Another backend connected to the target database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub pid: i32,
    pub user: String,
    pub application: String,
    pub state: String,
    /// Seconds since its transaction started, when it is in one.
    pub xact_secs: Option<i64>,
}

impl Activity {
    pub fn describe(&self) -> String {
        let app = if self.application.is_empty() {
            "-"
        } else {
            &self.application
        };
        let mut s = format!("pid {} {} ({app}) {}", self.pid, self.user, self.state);
        if let Some(secs) = self.xact_secs {
            s.push_str(&format!(", transaction open {secs}s"));
        }
        s
    }
}

/// The git state of the current directory (runbook 002: right branch, clean tree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitState {
    /// The repository's top-level folder.
    pub path: String,
    pub branch: String,
    pub commit: String,
    pub changed_files: usize,
}

/// Everything preflight found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreflightFacts {
    pub server_version: String,
    pub database_bytes: i64,
    pub tables: usize,
    pub others: Vec<Activity>,
    pub git: Option<GitState>,
    /// Free bytes where the session folder (and so the backup) lives.
    pub free_bytes: Option<u64>,
    /// What the operator should know before going on: connection settings that
    /// were ignored (a password file readable by others), an interrupted apply
    /// on the same database in an earlier session.
    pub warnings: Vec<String>,
}

impl PreflightFacts {
    pub fn long_transactions(&self) -> Vec<&Activity> {
        self.others
            .iter()
            .filter(|a| a.xact_secs.is_some_and(|s| s >= LONG_TRANSACTION_SECS))
            .collect()
    }

    /// The facts as journal checks; `ok: false` is a warning for the operator.
    pub fn checks(&self) -> Vec<Check> {
        let check = |name: &str, ok: bool, detail: String| Check {
            name: name.into(),
            ok,
            detail,
        };
        let mut out = vec![
            check("server", true, self.server_version.clone()),
            check(
                "size",
                true,
                format!(
                    "{}, {} tables",
                    human_bytes(self.database_bytes),
                    self.tables
                ),
            ),
            check(
                "other connections",
                self.others.is_empty(),
                list(&self.others.iter().collect::<Vec<_>>()),
            ),
            check(
                "long-running transactions",
                self.long_transactions().is_empty(),
                list(&self.long_transactions()),
            ),
        ];
        out.push(match &self.git {
            Some(g) => check(
                "git",
                g.changed_files == 0,
                if g.changed_files == 0 {
                    format!("branch {} at {}, working tree clean", g.branch, g.commit)
                } else {
                    format!(
                        "branch {} at {}, {} uncommitted change(s)",
                        g.branch, g.commit, g.changed_files
                    )
                },
            ),
            None => check("git", true, crate::strings::NOT_A_GIT_REPO.into()),
        });
        if let Some(free) = self.free_bytes {
            // A custom-format dump is usually smaller than the database; ask for
            // the database size plus a margin anyway.
            let need = self.database_bytes.max(0) as u64 + 64 * 1024 * 1024;
            out.push(check(
                "backup space",
                free >= need,
                format!(
                    "{} free for the backup (database {})",
                    human_bytes(free as i64),
                    human_bytes(self.database_bytes)
                ),
            ));
        }
        out.extend(
            self.warnings
                .iter()
                .map(|w| check("notice", false, w.clone())),
        );
        out
    }
}

fn list(items: &[&Activity]) -> String {
    if items.is_empty() {
        return crate::strings::NO_OTHER_CONNECTIONS.into();
    }
    items
        .iter()
        .map(|a| a.describe())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Reads server facts, other connections and the git state.
pub async fn gather(settings: &ConnSettings, session_dir: &Path) -> Result<PreflightFacts> {
    let inspected = crate::catalog::inspect(settings).await?;
    let client = crate::db::connect(settings).await?;
    let rows = client
        .query(
            "SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), coalesce(state, ''),
                    extract(epoch FROM now() - xact_start)::bigint
             FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND backend_type = 'client backend'
             ORDER BY xact_start NULLS LAST, pid",
            &[],
        )
        .await
        .map_err(|e| anyhow::anyhow!("reading pg_stat_activity on {settings}: {}", crate::db::describe_error(&e)))?;
    let others = rows
        .iter()
        .map(|r| Activity {
            pid: r.get(0),
            user: r.get(1),
            application: r.get(2),
            state: r.get(3),
            xact_secs: r.get(4),
        })
        .collect();
    let git = tokio::task::spawn_blocking(|| git_state(Path::new(".")))
        .await
        .context("reading the git state")?;
    let mut warnings = settings.warnings.clone();
    if let Some((dir, journal)) = session_dir
        .parent()
        .and_then(|base| crate::session::resume::find_interrupted(base, settings))
        .filter(|(dir, _)| dir != session_dir)
    {
        warnings.push(format!(
            "an interrupted apply on this database was found in {}: quit and resume it with `pgalign wizard --resume {}`",
            dir.display(),
            journal.display()
        ));
    }
    Ok(PreflightFacts {
        warnings,
        server_version: inspected.server_version,
        database_bytes: inspected.database_bytes,
        tables: inspected.model.tables.len(),
        others,
        git,
        free_bytes: free_bytes(session_dir),
    })
}

/// Branch, commit and number of uncommitted changes, when `dir` is in a git work tree.
pub fn git_state(dir: &Path) -> Option<GitState> {
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    };
    if git(&["rev-parse", "--is-inside-work-tree"])? != "true" {
        return None;
    }
    let branch = git(&["branch", "--show-current"]).filter(|b| !b.is_empty());
    let commit =
        git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "no commit yet".into());
    let changed = git(&["status", "--porcelain"]).unwrap_or_default();
    Some(GitState {
        path: git(&["rev-parse", "--show-toplevel"]).unwrap_or_else(|| dir.display().to_string()),
        branch: branch.unwrap_or_else(|| "(detached HEAD)".into()),
        commit,
        changed_files: changed.lines().filter(|l| !l.trim().is_empty()).count(),
    })
}

/// Free bytes on the file system holding `dir`.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    crate::sys::free_bytes(&c).ok()
}

/// The maintenance checklist: five ticks and two typed names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checklist {
    pub ticked: [bool; 5],
    pub operator: String,
    pub rollback_owner: String,
}

impl Checklist {
    pub fn toggle(&mut self, item: usize) {
        if let Some(t) = self.ticked.get_mut(item) {
            *t = !*t;
        }
    }

    /// The items as journal checks; the rollback owner is named in its detail.
    pub fn checks(&self) -> Vec<Check> {
        crate::strings::CHECKLIST
            .iter()
            .zip(self.ticked)
            .enumerate()
            .map(|(i, (label, ok))| Check {
                name: label.to_string(),
                ok,
                detail: if i == 4 {
                    format!("rollback owner: {}", self.rollback_owner.trim())
                } else {
                    String::new()
                },
            })
            .collect()
    }
}
