//! The wizard's state machine with no terminal in it: steps, checklist,
//! evidence, sign-off, journal. The TUI and the subcommands both drive it.

pub mod apply_state;
mod finish;
mod outcome;
pub mod preflight;
pub mod resume;
pub mod tasks;
mod types;
pub mod wizard;

pub use apply_state::{ApplyResult, ApplyState, StmtStatus};
pub use outcome::Outcome;
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
/// The folders it creates, the base included, are mode 0700 from the start; a
/// base the user made is used as it is (see [`crate::util::fs::private_dir`]).
pub fn new_session_dir(base: Option<&Path>) -> Result<PathBuf> {
    let base = resume::sessions_base(base);
    crate::util::fs::private_dir(&base)
        .with_context(|| format!("creating session folder {}", base.display()))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut dir = base.join(stamp.to_string());
    let mut n = 1;
    loop {
        match crate::util::fs::new_private_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => {
                n += 1;
                dir = base.join(format!("{stamp}-{n}"));
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("creating session folder {}", dir.display()));
            }
        }
    }
}
