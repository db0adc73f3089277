//! `pg_dump -Fc` plus a schema-only dump, verified with `pg_restore --list` and
//! checksummed — the runbooks' mandatory backup step, with the free-space check
//! of their maintenance checklist.
//!
//! Both files are written under a `.partial` name and renamed only once they are
//! complete and readable, so a file with the final name is always a verified dump.

pub mod tools;

use crate::db::{ConnSettings, connect};
use crate::session::journal::Entry;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use tools::PgTools;

/// What the backup step proves: both files, their sizes and checksums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupEvidence {
    /// The `pg_dump -Fc` archive (absolute path).
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    /// TOC entries `pg_restore --list` read from the archive.
    pub entries: usize,
    /// The plain-SQL schema-only dump (absolute path).
    pub schema_path: PathBuf,
    pub schema_bytes: u64,
    pub schema_sha256: String,
    /// `pg_dump --version` of the pg_dump that wrote both files.
    pub pg_dump_version: String,
}

impl BackupEvidence {
    /// The journal entry of the verified archive.
    pub fn entry(&self) -> Entry {
        Entry::BackupVerified {
            path: self.path.display().to_string(),
            bytes: self.bytes,
            sha256: self.sha256.clone(),
            entries: self.entries,
            schema_path: Some(self.schema_path.display().to_string()),
        }
    }

    /// Every journal entry of this backup: [`Self::entry`], then the schema
    /// dump's size and checksum and the pg_dump version (which `BackupVerified`
    /// has no room for). The report shows both.
    pub fn entries(&self) -> Vec<Entry> {
        vec![
            self.entry(),
            Entry::BackupSchemaDump {
                path: self.schema_path.display().to_string(),
                bytes: self.schema_bytes,
                sha256: self.schema_sha256.clone(),
                pg_dump_version: self.pg_dump_version.clone(),
            },
        ]
    }
}

/// Backs up the database of `settings` into `out_dir` (created if missing):
/// `<db>_<UTC timestamp>.dump` and `<db>_<UTC timestamp>_schema.sql`, mode 0600.
pub async fn run(settings: &ConnSettings, out_dir: &Path) -> Result<BackupEvidence> {
    let client = connect(settings).await?;
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int, pg_database_size(current_database())",
            &[],
        )
        .await
        .map_err(|e| anyhow::anyhow!("reading the size of {settings}: {}", crate::db::describe_error(&e)))?;
    drop(client);
    let server_major = (row.get::<_, i32>(0) / 10000) as u32;
    let database_bytes = row.get::<_, i64>(1).max(0) as u64;
    let settings = settings.clone();
    let out_dir = out_dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        dump_blocking(&settings, &out_dir, server_major, database_bytes)
    })
    .await
    .context("the backup task stopped unexpectedly")?
}

fn dump_blocking(
    settings: &ConnSettings,
    out_dir: &Path,
    server_major: u32,
    database_bytes: u64,
) -> Result<BackupEvidence> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("creating backup folder {}", out_dir.display()))?;
    let dir = std::fs::canonicalize(out_dir)
        .with_context(|| format!("resolving backup folder {}", out_dir.display()))?;
    let tools = PgTools::find(server_major).with_context(|| format!("backing up {settings}"))?;
    tools::check_space(
        &dir,
        &settings.to_string(),
        database_bytes,
        tools::free_bytes(&dir)?,
    )?;

    let (path, schema_path) = file_names(&dir, &settings.dbname);
    let mut partials = Partials(vec![partial(&path), partial(&schema_path)]);

    create_private(&partials.0[0])?;
    let mut cmd = tools.dump_cmd(settings);
    cmd.args(["--format=custom", "--file"]).arg(&partials.0[0]);
    let out = cmd
        .output()
        .with_context(|| format!("running {}", tools.pg_dump.display()))?;
    tools::check(
        &out,
        &format!(
            "pg_dump of {settings} (backup file {} not written)",
            path.display()
        ),
    )?;
    let bytes = non_empty(&partials.0[0], &path)?;
    let entries = tools
        .list_entries(&partials.0[0])
        .with_context(|| format!("backup file {} is not a readable archive", path.display()))?;

    create_private(&partials.0[1])?;
    let mut cmd = tools.dump_cmd(settings);
    cmd.args(["--schema-only", "--file"]).arg(&partials.0[1]);
    let out = cmd
        .output()
        .with_context(|| format!("running {}", tools.pg_dump.display()))?;
    tools::check(
        &out,
        &format!(
            "pg_dump --schema-only of {settings} (schema file {} not written)",
            schema_path.display()
        ),
    )?;
    let schema_bytes = non_empty(&partials.0[1], &schema_path)?;

    let sha = |p: &Path, name: &Path| {
        crate::util::sha256_file(p)
            .with_context(|| format!("computing the SHA-256 of {}", name.display()))
    };
    let sha256 = sha(&partials.0[0], &path)?;
    let schema_sha256 = sha(&partials.0[1], &schema_path)?;
    for (from, to) in partials.0.iter().zip([&path, &schema_path]) {
        std::fs::File::open(from)
            .and_then(|f| f.sync_all())
            .and_then(|_| std::fs::rename(from, to))
            .with_context(|| format!("finishing backup file {}", to.display()))?;
    }
    partials.0.clear();
    let _ = std::fs::File::open(&dir).and_then(|d| d.sync_all());
    Ok(BackupEvidence {
        path,
        bytes,
        sha256,
        entries,
        schema_path,
        schema_bytes,
        schema_sha256,
        pg_dump_version: tools.version,
    })
}

/// `<db>_<timestamp>.dump` and `<db>_<timestamp>_schema.sql`, not yet taken.
fn file_names(dir: &Path, dbname: &str) -> (PathBuf, PathBuf) {
    let clean: String = dbname
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut base = format!("{clean}_{stamp}");
    let mut n = 1;
    loop {
        let dump = dir.join(format!("{base}.dump"));
        let schema = dir.join(format!("{base}_schema.sql"));
        let taken = |p: &Path| p.exists() || partial(p).exists();
        if !taken(&dump) && !taken(&schema) {
            return (dump, schema);
        }
        n += 1;
        base = format!("{clean}_{stamp}-{n}");
    }
}

fn partial(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

/// Creates an empty file with mode 0600 for pg_dump to write into (it truncates
/// it and keeps the mode).
fn create_private(p: &Path) -> Result<()> {
    crate::util::write_private(p, b"")
        .with_context(|| format!("creating backup file {}", p.display()))
}

fn non_empty(partial: &Path, name: &Path) -> Result<u64> {
    let bytes = std::fs::metadata(partial)
        .with_context(|| format!("backup file {} was not written", name.display()))?
        .len();
    if bytes == 0 {
        bail!(
            "backup file {} is empty: pg_dump wrote nothing",
            name.display()
        );
    }
    Ok(bytes)
}

/// Partial files removed when the backup does not complete.
struct Partials(Vec<PathBuf>);

impl Drop for Partials {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}
