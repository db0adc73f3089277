//! The wizard's state machine with no terminal in it: steps, checklist,
//! evidence, sign-off, journal. The TUI and the subcommands both drive it.

pub mod journal;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Creates a new session folder: under `base` when given, else under the
/// platform data directory (`~/.local/share/pgalign/sessions/<timestamp>`).
pub fn new_session_dir(base: Option<&Path>) -> Result<PathBuf> {
    let base = match base {
        Some(b) => b.to_path_buf(),
        None => directories::ProjectDirs::from("", "", "pgalign")
            .map(|d| d.data_dir().join("sessions"))
            .unwrap_or_else(|| PathBuf::from(".pgalign/sessions")),
    };
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut dir = base.join(stamp.to_string());
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = base.join(format!("{stamp}-{n}"));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating session folder {}", dir.display()))?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    Ok(dir)
}
