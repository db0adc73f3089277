//! The one place the wizard calls `backup` and `report`. Until those modules
//! land this holds a temporary stand-in with their announced signatures; the
//! merge replaces the bodies below with `pub use` lines.
//!
//! TEMPORARY STAND-IN: delete everything below the marker once
//! `crate::backup::{BackupEvidence, run}` and `crate::report::{render_markdown,
//! render_json}` exist.

use crate::db::ConnSettings;
use crate::session::journal::{Entry, Record};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

// ---- stand-in for crate::backup (remove on merge) ----

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupEvidence {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    pub entries: usize,
    pub schema_path: PathBuf,
    pub schema_bytes: u64,
    pub schema_sha256: String,
    pub pg_dump_version: String,
}

impl BackupEvidence {
    pub fn entry(&self) -> Entry {
        Entry::BackupVerified {
            path: self.path.display().to_string(),
            bytes: self.bytes,
            sha256: self.sha256.clone(),
            entries: self.entries,
            schema_path: Some(self.schema_path.display().to_string()),
        }
    }
}

pub async fn backup(settings: &ConnSettings, out_dir: &Path) -> Result<BackupEvidence> {
    let settings = settings.clone();
    let out_dir = out_dir.to_path_buf();
    tokio::task::spawn_blocking(move || backup_blocking(&settings, &out_dir)).await?
}

fn tool(name: &str) -> PathBuf {
    crate::db::cluster::ServerBinaries::find()
        .map(|b| b.path(name))
        .ok()
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn backup_blocking(settings: &ConnSettings, out_dir: &Path) -> Result<BackupEvidence> {
    let path = out_dir.join(format!("{}.dump", settings.dbname));
    let schema_path = out_dir.join(format!("{}.schema.sql", settings.dbname));
    for (args, file) in [(vec!["-Fc"], &path), (vec!["--schema-only"], &schema_path)] {
        let mut cmd = std::process::Command::new(tool("pg_dump"));
        settings.apply_env(&mut cmd);
        let out = cmd
            .args(args)
            .arg("-f")
            .arg(file)
            .output()
            .context("running pg_dump")?;
        if !out.status.success() {
            bail!(
                "pg_dump of {settings} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    let list = std::process::Command::new(tool("pg_restore"))
        .arg("--list")
        .arg(&path)
        .output()
        .context("running pg_restore --list")?;
    if !list.status.success() {
        bail!("pg_restore --list could not read {}", path.display());
    }
    let entries = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .count();
    let version = std::process::Command::new(tool("pg_dump"))
        .arg("--version")
        .output();
    Ok(BackupEvidence {
        bytes: std::fs::metadata(&path)?.len(),
        sha256: crate::util::sha256_file(&path)?,
        entries,
        schema_bytes: std::fs::metadata(&schema_path)?.len(),
        schema_sha256: crate::util::sha256_file(&schema_path)?,
        pg_dump_version: version
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default(),
        path,
        schema_path,
    })
}

// ---- stand-in for crate::report (remove on merge) ----

pub fn render_markdown(records: &[Record]) -> String {
    let mut out = String::from("# Schema alignment report\n\n");
    for r in records {
        out.push_str(&format!(
            "- {} {}\n",
            r.at,
            serde_json::to_string(&r.entry).unwrap_or_default()
        ));
    }
    out
}

pub fn render_json(records: &[Record]) -> serde_json::Value {
    serde_json::json!({ "records": records })
}
