use crate::cli::BackupArgs;
use crate::db::ConnSettings;
use crate::exit::Exit;
use crate::util::human_bytes;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// `pgalign backup`: dumps, verifies, checksums; prints the evidence on stdout.
pub async fn run(args: BackupArgs) -> Result<Exit> {
    let settings = ConnSettings::parse(args.db.conninfo()).context("parsing --db")?;
    let out = args.out.unwrap_or_else(|| PathBuf::from("."));
    eprintln!("pgalign: backing up {settings} into {} …", out.display());
    let ev = crate::backup::run(&settings, &out).await?;
    let text = format!(
        "backup:   {}\nsize:     {} ({} bytes)\nsha256:   {}\nentries:  {}\nschema:   {}\nsize:     {} ({} bytes)\nsha256:   {}\npg_dump:  {}\n",
        ev.path.display(),
        human_bytes(ev.bytes as i64),
        ev.bytes,
        ev.sha256,
        ev.entries,
        ev.schema_path.display(),
        human_bytes(ev.schema_bytes as i64),
        ev.schema_bytes,
        ev.schema_sha256,
        ev.pg_dump_version,
    );
    super::print_stdout(&text)?;
    eprintln!("pgalign: to restore this backup into a new database:");
    for c in crate::backup::restore::commands(
        &settings,
        &ev.path,
        &crate::backup::restore::default_into(&settings),
    ) {
        eprintln!("  {}", crate::util::printable(&c));
    }
    if ev.entries == 0 {
        eprintln!("pgalign: {}", crate::backup::empty_note(&ev.path));
    } else {
        eprintln!(
            "pgalign: backup verified ({} entries readable by pg_restore)",
            ev.entries
        );
    }
    Ok(Exit::Ok)
}
