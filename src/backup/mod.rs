//! `pg_dump -Fc` plus a schema-only dump, verified with `pg_restore --list` and
//! checksummed — the runbooks' mandatory backup step, with the free-space check
//! of their maintenance checklist.
//!
//! Both files are written under a fresh temporary name (`O_EXCL|O_NOFOLLOW`,
//! mode 0600: never through a planted symlink, see [`crate::util::fs`]) that
//! pg_dump receives as its standard output, and renamed only once they are
//! complete and readable, so a file with the final name is always a verified
//! dump. The backup folder, when pgalign creates it, is 0700.

pub mod restore;
pub mod tools;

use crate::db::{ConnSettings, connect};
use crate::journal::Entry;
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

/// What is said of the verified archive of an empty database: pg_restore
/// read its header and table of contents, which list no entries.
pub fn empty_note(path: &Path) -> String {
    format!(
        "backup {} verified: pg_restore read its header and table of contents, 0 entries: the database was empty",
        path.display()
    )
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
    crate::util::fs::private_dir(out_dir)
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
    let dump = dump_into(
        &tools,
        settings,
        &path,
        &["--format=custom"],
        "pg_dump",
        "backup",
    )?;
    let bytes = non_empty(&dump, &path)?;
    let entries = tools
        .list_entries(dump.temp_path())
        .with_context(|| format!("backup file {} is not a readable archive", path.display()))?;
    let schema = dump_into(
        &tools,
        settings,
        &schema_path,
        &["--schema-only"],
        "pg_dump --schema-only",
        "schema",
    )?;
    let schema_bytes = non_empty(&schema, &schema_path)?;

    let sha = |p: &Path, name: &Path| {
        crate::util::sha256_file(p)
            .with_context(|| format!("computing the SHA-256 of {}", name.display()))
    };
    let sha256 = sha(dump.temp_path(), &path)?;
    let schema_sha256 = sha(schema.temp_path(), &schema_path)?;
    for (file, to) in [(dump, &path), (schema, &schema_path)] {
        file.commit()
            .with_context(|| format!("finishing backup file {}", to.display()))?;
    }
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

/// Runs pg_dump with `args` into a new private file that becomes `dest` on
/// commit (removed if the dump fails).
fn dump_into(
    tools: &PgTools,
    settings: &ConnSettings,
    dest: &Path,
    args: &[&str],
    what: &str,
    kind: &str,
) -> Result<crate::util::fs::PrivateFile> {
    let file = crate::util::fs::PrivateFile::create(dest)
        .with_context(|| format!("creating {kind} file {}", dest.display()))?;
    let stdout = file
        .file()
        .try_clone()
        .with_context(|| format!("creating {kind} file {}", dest.display()))?;
    let mut cmd = tools.dump_cmd(settings);
    cmd.args(args).stdout(stdout);
    let out = cmd
        .output()
        .with_context(|| format!("running {}", tools.pg_dump.display()))?;
    tools::check(
        &out,
        &format!(
            "{what} of {settings} ({kind} file {} not written)",
            dest.display()
        ),
    )?;
    Ok(file)
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
        let taken = |p: &Path| std::fs::symlink_metadata(p).is_ok();
        if !taken(&dump) && !taken(&schema) {
            return (dump, schema);
        }
        n += 1;
        base = format!("{clean}_{stamp}-{n}");
    }
}

fn non_empty(file: &crate::util::fs::PrivateFile, name: &Path) -> Result<u64> {
    let bytes = file
        .file()
        .metadata()
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
