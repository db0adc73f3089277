//! The wizard's state machine with no terminal in it: steps, checklist,
//! evidence, sign-off, journal. The TUI and the subcommands both drive it.

pub mod apply_state;
mod finish;
pub mod journal;
pub mod preflight;
pub mod resume;
pub mod tasks;
mod types;
pub mod wizard;

pub use apply_state::{ApplyResult, ApplyState, StmtStatus};
pub use wizard::{CleanupAction, Config, PlanState, Refusal, SignOff, Step, VerifyResult, Wizard};

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Where session folders go by default (`~/.local/share/pgalign/sessions`).
pub fn default_sessions_base() -> PathBuf {
    directories::ProjectDirs::from("", "", "pgalign")
        .map(|d| d.data_dir().join("sessions"))
        .unwrap_or_else(|| PathBuf::from(".pgalign/sessions"))
}

/// Creates a new session folder: under `base` when given, else under the
/// platform data directory (`~/.local/share/pgalign/sessions/<timestamp>`).
pub fn new_session_dir(base: Option<&Path>) -> Result<PathBuf> {
    let base = resume::sessions_base(base);
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut dir = base.join(stamp.to_string());
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = base.join(format!("{stamp}-{n}"));
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating session folder {}", dir.display()))?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    Ok(dir)
}
