//! Small helpers shared by several modules, below everything else: nothing
//! here imports a module above `util`.

pub mod escape;
pub mod fs;
pub mod redact;

pub use escape::{escape_control, printable};
pub use fs::write_private;
pub use redact::redact;

use sha2::{Digest, Sha256};
use std::path::Path;

/// Ctrl-C (SIGINT) and SIGTERM, registered once so that no signal between two
/// waits is missed.
pub struct Interrupts {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// `None` when the signal handlers cannot be installed.
    pub fn new() -> Option<Interrupts> {
        use tokio::signal::unix::{SignalKind, signal};
        Some(Interrupts {
            int: signal(SignalKind::interrupt()).ok()?,
            term: signal(SignalKind::terminate()).ok()?,
        })
    }

    /// Waits for the next Ctrl-C or SIGTERM.
    pub async fn wait(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {},
            _ = self.term.recv() => {},
        }
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of a file's content, streamed, lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Step numbers as `1, 2, 5`, or `none` (apply progress, Apply screen, report).
pub fn step_list(steps: &[usize]) -> String {
    if steps.is_empty() {
        return "none".into();
    }
    steps
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Current time in UTC as RFC 3339 with seconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Human-readable byte size: `1.2 GB`, `830 kB`, `12 B`.
pub fn human_bytes(bytes: i64) -> String {
    let b = bytes as f64;
    const UNITS: [(&str, f64); 4] = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    for (unit, size) in UNITS {
        if b >= size {
            return format!("{:.1} {unit}", b / size);
        }
    }
    format!("{bytes} B")
}

/// Human-readable row count: `~310M rows`, `~1.2k rows`, `12 rows`.
pub fn human_rows(rows: f64) -> String {
    if rows >= 1e9 {
        format!("~{:.1}G rows", rows / 1e9)
    } else if rows >= 1e6 {
        format!("~{:.0}M rows", rows / 1e6)
    } else if rows >= 1e3 {
        format!("~{:.1}k rows", rows / 1e3)
    } else {
        format!("{} rows", rows.round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(41_000_000_000), "41.0 GB");
        assert_eq!(human_rows(310_000_000.0), "~310M rows");
        assert_eq!(human_rows(12.0), "12 rows");
    }
}
