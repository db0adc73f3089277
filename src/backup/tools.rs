//! Finding `pg_dump`/`pg_restore` that can read the server, running them with
//! connection settings in the environment only (an environment built for them,
//! not pgalign's: `db::pg_env`), and checking free disk space.

use crate::db::ConnSettings;
use crate::db::pg_env::isolated_command;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A matched pair of `pg_dump` and `pg_restore` from one installation.
#[derive(Debug, Clone)]
pub struct PgTools {
    pub pg_dump: PathBuf,
    pub pg_restore: PathBuf,
    /// `pg_dump --version`, e.g. `pg_dump (PostgreSQL) 15.18 (Debian …)`.
    pub version: String,
    pub major: u32,
}

impl PgTools {
    /// Finds the client tools for a server of `server_major`: the same major
    /// version when installed, else the newest newer one. A pg_dump older than
    /// the server cannot dump it; that is refused here, clearly, before dumping.
    pub fn find(server_major: u32) -> Result<PgTools> {
        let mut found: Vec<PgTools> = candidate_dirs()
            .into_iter()
            .filter_map(|dir| PgTools::probe(dir.join("pg_dump"), dir.join("pg_restore")))
            .collect();
        if found.is_empty() {
            // Whatever `pg_dump` on PATH is (on Debian, a wrapper picking the newest).
            found.extend(PgTools::probe("pg_dump".into(), "pg_restore".into()));
        }
        if found.is_empty() {
            bail!(
                "pg_dump was not found: install the PostgreSQL client (apt-get install postgresql-client-{server_major})"
            );
        }
        if let Some(exact) = found.iter().find(|t| t.major == server_major) {
            return Ok(exact.clone());
        }
        let newest = found
            .iter()
            .max_by_key(|t| t.major)
            .cloned()
            .expect("not empty");
        if newest.major < server_major {
            bail!(
                "pg_dump {} ({}) is older than the server (PostgreSQL {server_major}) and cannot back it up; \
                 install postgresql-client-{server_major} or set PGALIGN_PG_BINDIR to its bin directory",
                newest.major,
                newest.pg_dump.display()
            );
        }
        Ok(newest)
    }

    fn probe(pg_dump: PathBuf, pg_restore: PathBuf) -> Option<PgTools> {
        let out = isolated_command(&pg_dump).arg("--version").output().ok()?;
        if !out.status.success() {
            return None;
        }
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let major = parse_major(&version)?;
        Some(PgTools {
            pg_dump,
            pg_restore,
            version,
            major,
        })
    }

    /// A `pg_dump` command for `settings` (connection in the environment only).
    pub fn dump_cmd(&self, settings: &ConnSettings) -> Command {
        tool_cmd(&self.pg_dump, settings)
    }

    /// A `pg_restore` command for `settings` (connection in the environment only).
    pub fn restore_cmd(&self, settings: &ConnSettings) -> Command {
        tool_cmd(&self.pg_restore, settings)
    }

    /// Number of TOC entries `pg_restore --list` reads from an archive; an error
    /// (with pg_restore's message) when it cannot read it, or when its header
    /// and table of contents do not read back. An archive of an empty
    /// database lists no entries and is still a verified archive.
    pub fn list_entries(&self, archive: &Path) -> Result<usize> {
        Ok(self.list(archive)?.entries)
    }

    /// What `pg_restore --list` reads from an archive (see [`Listing`]).
    pub fn list(&self, archive: &Path) -> Result<Listing> {
        let out = isolated_command(&self.pg_restore)
            .arg("--list")
            .arg(archive)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {}", self.pg_restore.display()))?;
        check(&out, &format!("pg_restore --list of {}", archive.display()))?;
        Listing::parse(&String::from_utf8_lossy(&out.stdout))
            .with_context(|| format!("pg_restore --list of {}", archive.display()))
    }
}

/// An archive's table of contents as `pg_restore --list` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The entries listed (objects and data; 0 for an empty database).
    pub entries: usize,
    /// `TABLE DATA` entries: tables whose rows the archive holds.
    pub table_data: usize,
    /// The database the archive was dumped from (`; dbname:` of its header).
    pub dbname: String,
}

impl Listing {
    /// Reads the listing; its header (`; Archive created at`, `; Format:`,
    /// `; TOC Entries:`) must be there, so that a listing that says nothing
    /// is never taken for a verified archive.
    pub fn parse(text: &str) -> Result<Listing> {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.trim_start_matches(';').trim().strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        if field("Archive created at").is_none()
            || field("Format:").is_none()
            || field("TOC Entries:").is_none()
        {
            bail!("the archive's header and table of contents did not read back");
        }
        let listed: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with(';'))
            .collect();
        Ok(Listing {
            entries: listed.len(),
            table_data: listed.iter().filter(|l| l.contains(" TABLE DATA ")).count(),
            dbname: field("dbname:").unwrap_or_default(),
        })
    }
}

/// A client tool connecting to `settings`: its environment is that connection
/// and nothing else of pgalign's ([`ConnSettings::client_command`]).
fn tool_cmd(path: &Path, settings: &ConnSettings) -> Command {
    let mut cmd = settings.client_command(path);
    cmd.stdin(Stdio::null());
    cmd
}

/// `PGALIGN_PG_BINDIR`, then `/usr/lib/postgresql/<version>/bin`, newest first.
fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(dir) = std::env::var("PGALIGN_PG_BINDIR") {
        dirs.push(PathBuf::from(dir));
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(u32, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
            .collect();
        versions.sort();
        dirs.extend(versions.into_iter().rev().map(|(_, p)| p));
    }
    dirs.retain(|d| d.join("pg_dump").is_file() && d.join("pg_restore").is_file());
    dirs
}

/// Major version from `pg_dump (PostgreSQL) 15.18 (…)` (or `9.6.24` → 9).
pub fn parse_major(version_line: &str) -> Option<u32> {
    let number = version_line
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    number
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Turns a failed tool run into an error carrying its standard error.
pub fn check(out: &Output, what: &str) -> Result<()> {
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr = stderr.trim();
    let code = out
        .status
        .code()
        .map(|c| format!("exit {c}"))
        .unwrap_or_else(|| "killed by a signal".into());
    if stderr.is_empty() {
        bail!("{what} failed ({code})");
    }
    bail!("{what} failed ({code}): {stderr}")
}

/// Bytes available to an unprivileged writer in the file system holding `dir`.
pub fn free_bytes(dir: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .with_context(|| format!("path {} contains a NUL byte", dir.display()))?;
    match crate::sys::free_bytes(&c) {
        Ok(n) => Ok(n),
        Err(e) => bail!("reading the free space of {}: {e}", dir.display()),
    }
}

/// Refuses when the free space is clearly not enough for a dump of a database
/// of `database_bytes`. A compressed dump holds no index data and is usually
/// far smaller than the database, so the estimate is half its size plus a margin;
/// anything below that would almost certainly fill the disk mid-dump.
pub fn check_space(dir: &Path, database: &str, database_bytes: u64, free: u64) -> Result<()> {
    const MARGIN: u64 = 16 << 20;
    let needed = database_bytes / 2 + MARGIN;
    if free < needed {
        bail!(
            "not enough free space in {} for a backup of {database}: {} free, the database is {} (at least {} needed)",
            dir.display(),
            crate::util::human_bytes(free as i64),
            crate::util::human_bytes(database_bytes as i64),
            crate::util::human_bytes(needed as i64)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majors_parse_from_version_lines() {
        assert_eq!(
            parse_major("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(parse_major("pg_dump (PostgreSQL) 9.6.24"), Some(9));
        assert_eq!(parse_major("pg_dump (PostgreSQL) 17beta1"), Some(17));
        assert_eq!(parse_major("nonsense"), None);
    }

    #[test]
    fn clearly_insufficient_space_is_refused_with_the_figures() {
        let dir = Path::new("/backups");
        assert!(check_space(dir, "shop", 1_000_000_000, 10_000_000_000).is_ok());
        let err = check_space(dir, "shop", 41_000_000_000, 2_000_000_000).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("/backups") && msg.contains("shop") && msg.contains("41.0 GB"),
            "{msg}"
        );
    }

    #[test]
    fn free_space_of_a_real_directory_is_read() {
        assert!(free_bytes(Path::new("/tmp")).unwrap() > 0);
        assert!(free_bytes(Path::new("/no/such/dir")).is_err());
    }
}
