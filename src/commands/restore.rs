//! `pgalign restore --db URL --backup FILE --into DBNAME [--replace]`: a
//! `pg_dump -Fc` archive into a new database, with progress and a row-count
//! check against the archive's own data. `--replace` drops and recreates an
//! existing database, only after its name is typed (or `--confirm-target`).

use crate::backup::restore;
use crate::cli::RestoreArgs;
use crate::db::ConnSettings;
use crate::exit::Exit;
use crate::util::printable;
use anyhow::{Context, Result};
use std::io::IsTerminal;

pub async fn run(args: RestoreArgs) -> Result<Exit> {
    let settings = ConnSettings::parse(args.db.conninfo()).context("parsing --db")?;
    restore::check_name(&args.into)?;
    if !args.backup.is_file() {
        anyhow::bail!(
            "backup file {} does not exist (or is not a file): pass the `pg_dump -Fc` archive that `pgalign backup` wrote",
            printable(&args.backup.display().to_string())
        );
    }
    if args.replace {
        let client = restore::admin_client(&settings, &args.into).await?;
        if restore::exists(&client, &args.into).await?
            && let Err(why) = confirm(&args, &settings)
        {
            eprintln!("pgalign: refused: {why}; nothing was dropped or restored");
            return Ok(Exit::Refused);
        }
    }
    eprintln!(
        "pgalign: restoring {} into database {} on {settings} …",
        printable(&args.backup.display().to_string()),
        printable(&args.into)
    );
    let progress = |line: String| eprintln!("{line}");
    let r = restore::restore(&settings, &args.backup, &args.into, args.replace, &progress).await?;
    for w in &r.warnings {
        eprintln!("pgalign: warning: pg_restore: {}", printable(w));
    }
    let mut out = format!(
        "restored:  {} into {}{}\nentries:   {} ({} with table data)\n",
        args.backup.display(),
        r.into,
        if r.replaced {
            " (dropped and recreated)"
        } else {
            ""
        },
        r.listing.entries,
        r.listing.table_data
    );
    if r.listing.entries == 0 {
        out.push_str("the archive holds no entries: the database was empty when it was dumped\n");
    }
    out.push_str(&format!(
        "{:<48} {:>12} {:>12}\n",
        "table", "archive", "restored"
    ));
    for t in &r.tables {
        out.push_str(&format!(
            "{:<48} {:>12} {:>12}{}\n",
            printable(&t.table),
            t.archive,
            t.restored,
            if t.archive == t.restored {
                ""
            } else {
                "  MISMATCH"
            }
        ));
    }
    super::print_stdout(&printable_lines(&out))?;
    let bad = r.mismatched();
    if !bad.is_empty() {
        anyhow::bail!(
            "the row counts of {} table(s) of database {} differ from the archive's: {}",
            bad.len(),
            r.into,
            bad.iter()
                .map(|t| format!(
                    "{} ({} in the archive, {} restored)",
                    t.table, t.archive, t.restored
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    eprintln!(
        "pgalign: restored {} table(s) into {}; every row count matches the archive",
        r.tables.len(),
        printable(&r.into)
    );
    Ok(Exit::Ok)
}

fn printable_lines(text: &str) -> String {
    text.lines().map(printable).collect::<Vec<_>>().join("\n") + "\n"
}

/// `--confirm-target`, or the typed name on a terminal; `Err` says why not.
fn confirm(args: &RestoreArgs, settings: &ConnSettings) -> Result<(), String> {
    let into = &args.into;
    match &args.confirm_target {
        Some(name) if name == into => Ok(()),
        Some(name) => Err(format!(
            "--confirm-target {} does not match the database to replace, {}",
            printable(name),
            printable(into)
        )),
        None if std::io::stdin().is_terminal() => {
            eprint!(
                "--replace drops database {} on {settings} and restores the backup in its place. Type its name to go on: ",
                printable(into)
            );
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| format!("reading the confirmation: {e}"))?;
            if line.trim_end_matches(['\n', '\r']) != into {
                return Err(format!("the typed name does not match {}", printable(into)));
            }
            Ok(())
        }
        None => Err(format!(
            "--replace drops database {} first: pass --confirm-target {} to confirm without a terminal",
            printable(into),
            crate::apply::progress::shell_word(into)
        )),
    }
}
