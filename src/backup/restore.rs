//! Restoring a `pg_dump -Fc` archive into a new database (every runbook's
//! rollback is restore-first): the archive is verified with `pg_restore
//! --list`, the database created (or, when asked and confirmed, dropped and
//! recreated), `pg_restore --verbose` run with its progress passed on, and the
//! rows of every table of the archive counted in the archive's own data and in
//! the restored database.
//!
//! The database name is only ever a value: quoted as an identifier in SQL,
//! and handed to pg_restore inside a connection string pgalign builds
//! ([`crate::rehearse::conninfo_dbname`]), never as a word a client program
//! could read as options or as a connection string of its own.

use super::tools::{self, Listing, PgTools};
use crate::db::{ConnSettings, connect, describe_error};
use anyhow::{Context, Result, anyhow, bail};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

/// Rows of one table: in the archive's data, and in the restored database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRows {
    pub table: String,
    pub archive: u64,
    pub restored: u64,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub into: String,
    pub listing: Listing,
    pub tables: Vec<TableRows>,
    /// pg_restore's messages when it went on past errors.
    pub warnings: Vec<String>,
    pub replaced: bool,
}

impl Restored {
    /// Tables whose counts differ.
    pub fn mismatched(&self) -> Vec<&TableRows> {
        self.tables
            .iter()
            .filter(|t| t.archive != t.restored)
            .collect()
    }
}

/// Checks a database name given on the command line: 1 to 63 bytes, no NUL.
/// Any other character is fine: the name is only a value (see the module).
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        bail!("--into needs a database name");
    }
    if name.len() > 63 {
        bail!(
            "--into {}: a database name is at most 63 bytes (this one is {})",
            crate::util::printable(name),
            name.len()
        );
    }
    if name.contains('\0') {
        bail!("--into: a database name cannot hold a NUL byte");
    }
    Ok(())
}

/// Whether `name` exists on the server of `client`.
pub async fn exists(client: &tokio_postgres::Client, name: &str) -> Result<bool> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&name],
        )
        .await
        .map_err(|e| anyhow!("looking up database {name}: {}", describe_error(&e)))?;
    Ok(row.get(0))
}

/// A connection to the server of `settings` on another database than
/// `avoid` (which is about to be dropped): `settings`' own database, else
/// `postgres`, else `template1`.
pub async fn admin_client(settings: &ConnSettings, avoid: &str) -> Result<tokio_postgres::Client> {
    if settings.dbname != avoid {
        return connect(settings).await;
    }
    match connect(&settings.with_dbname("postgres")).await {
        Ok(c) => Ok(c),
        Err(_) => connect(&settings.with_dbname("template1")).await,
    }
}

/// Restores `archive` into the database `into` on the server of `settings`.
/// `replace` drops and recreates an existing `into` (the caller confirmed);
/// without it an existing database is an error. `progress` gets each line of
/// pg_restore's progress.
pub async fn restore(
    settings: &ConnSettings,
    archive: &Path,
    into: &str,
    replace: bool,
    progress: &(dyn Fn(String) + Sync),
) -> Result<Restored> {
    check_name(into)?;
    let meta = std::fs::metadata(archive)
        .map_err(|e| anyhow!("backup file {} cannot be read: {e}", archive.display()))?;
    if !meta.is_file() {
        bail!("backup file {} is not a regular file", archive.display());
    }
    let admin = admin_client(settings, into).await?;
    let num: i32 = admin
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .map_err(|e| {
            anyhow!(
                "reading the server version of {settings}: {}",
                describe_error(&e)
            )
        })?
        .get(0);
    let pg = PgTools::find((num / 10000) as u32)
        .with_context(|| format!("restoring into {into} on {settings}"))?;
    let listing = pg.list(archive).with_context(|| {
        format!(
            "backup file {} is not a readable archive",
            archive.display()
        )
    })?;
    let ident = quote_ident(into);
    let present = exists(&admin, into).await?;
    if present && !replace {
        bail!(
            "database {} already exists on {settings}: choose another --into, or pass --replace to drop and recreate it (after a typed confirmation)",
            crate::util::printable(into)
        );
    }
    if present {
        admin
            .batch_execute(&format!("DROP DATABASE {ident} WITH (FORCE)"))
            .await
            .map_err(|e| {
                anyhow!(
                    "dropping database {into} on {settings}: {}",
                    describe_error(&e)
                )
            })?;
    }
    admin
        .batch_execute(&format!("CREATE DATABASE {ident} TEMPLATE template0"))
        .await
        .map_err(|e| {
            anyhow!(
                "creating database {into} on {settings}: {}",
                describe_error(&e)
            )
        })?;
    let target = settings.with_dbname(into);
    let warnings = {
        let (pg, target, file) = (pg.clone(), target.clone(), archive.to_path_buf());
        let total = listing.entries;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let task =
            tokio::task::spawn_blocking(move || run_pg_restore(&pg, &target, &file, total, tx));
        while let Some(line) = rx.recv().await {
            progress(line);
        }
        task.await
            .context("the restore task stopped unexpectedly")?
            .with_context(|| format!("restoring {} into {into}", archive.display()))?
    };
    let counted = {
        let (pg, archive) = (pg.clone(), archive.to_path_buf());
        tokio::task::spawn_blocking(move || archive_rows(&pg, &archive))
            .await
            .context("the row count task stopped unexpectedly")??
    };
    let client = connect(&target).await?;
    let mut tables = Vec::new();
    for (table, archive_rows) in counted {
        let resolved: Option<String> = client
            .query_one("SELECT to_regclass($1)::text", &[&table])
            .await
            .map_err(|e| anyhow!("looking up {table} in {into}: {}", describe_error(&e)))?
            .get(0);
        let restored = match resolved {
            // The server's own spelling of the name: quoted as it needs.
            Some(name) => client
                .query_one(&format!("SELECT count(*) FROM ONLY {name}"), &[])
                .await
                .map_err(|e| {
                    anyhow!(
                        "counting the rows of {name} in {into}: {}",
                        describe_error(&e)
                    )
                })?
                .get::<_, i64>(0)
                .max(0) as u64,
            None => bail!(
                "the archive holds rows of {}, but database {into} has no such table after the restore",
                crate::util::printable(&table)
            ),
        };
        tables.push(TableRows {
            table,
            archive: archive_rows,
            restored,
        });
    }
    Ok(Restored {
        into: into.to_string(),
        listing,
        tables,
        warnings,
        replaced: present,
    })
}

/// `pg_restore --verbose` into `target`; each item it processes goes to
/// `progress` as `[n/total] item`. pg_restore's errors come back as warnings
/// when it went on to the end ("errors ignored on restore"), else as the error.
fn run_pg_restore(
    pg: &PgTools,
    target: &ConnSettings,
    archive: &Path,
    total: usize,
    progress: tokio::sync::mpsc::UnboundedSender<String>,
) -> Result<Vec<String>> {
    let mut cmd = pg.restore_cmd(target);
    cmd.arg("--verbose")
        .arg("--dbname")
        .arg(crate::rehearse::conninfo_dbname(&target.dbname))
        .arg(archive)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("running {}", pg.pg_restore.display()))?;
    let stderr = child.stderr.take().context("pg_restore's messages")?;
    let mut messages = Vec::new();
    let mut n = 0;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap_or_default();
        let text = line.trim_start_matches("pg_restore: ").trim();
        // `creating TABLE "shop.orders"`, `processing data for table
        // "shop.orders"`, `executing SEQUENCE SET …`: one TOC entry each
        // (`processing item N …` in parallel mode).
        let item = [
            "creating ",
            "processing data for table ",
            "executing ",
            "processing item ",
        ]
        .iter()
        .any(|p| text.starts_with(p));
        if item {
            n += 1;
            let _ = progress.send(format!("[{n}/{total}] {}", crate::util::printable(text)));
        } else if !text.is_empty()
            && !text.starts_with("connecting to database")
            && !text.starts_with("implied data-only restore")
        {
            messages.push(text.to_string());
        }
    }
    let status = child.wait().context("waiting for pg_restore")?;
    if status.success() {
        return Ok(Vec::new());
    }
    if !messages
        .iter()
        .any(|l| l.contains("errors ignored on restore"))
    {
        bail!("pg_restore failed: {}", messages.join("; "));
    }
    Ok(messages)
}

/// Rows per table in the archive's own data: `pg_restore --data-only -f -`
/// read as a stream, one row per line of each `COPY … FROM stdin;` block.
fn archive_rows(pg: &PgTools, archive: &Path) -> Result<Vec<(String, u64)>> {
    let mut child = crate::db::pg_env::isolated_command(&pg.pg_restore)
        .arg("--data-only")
        .arg("--file=-")
        .arg(archive)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", pg.pg_restore.display()))?;
    let stdout = child.stdout.take().context("pg_restore's output")?;
    let mut out = Vec::new();
    let mut current: Option<(String, u64)> = None;
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .context("reading the archive's data")?
            == 0
        {
            break;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        match &mut current {
            Some(_) if text == b"\\." => out.extend(current.take()),
            Some((_, rows)) => *rows += 1,
            None => {
                if let Some(rest) = text.strip_prefix(b"COPY ")
                    && text.ends_with(b" FROM stdin;")
                {
                    let name = qualified_name(&String::from_utf8_lossy(rest));
                    current = Some((name, 0));
                }
            }
        }
    }
    let done = child.wait_with_output().context("waiting for pg_restore")?;
    tools::check(
        &done,
        &format!("pg_restore --data-only of {}", archive.display()),
    )?;
    Ok(out)
}

/// The qualified name at the start of `rest` (`public.t (id, v) FROM stdin;`,
/// `"My Schema"."a ""b""" FROM stdin;`): up to the first space outside quotes.
fn qualified_name(rest: &str) -> String {
    let mut quoted = false;
    for (i, c) in rest.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => return rest[..i].to_string(),
            _ => {}
        }
    }
    rest.to_string()
}

/// The commands that restore `archive` into a new database `into` on the
/// server of `settings`: pgalign's, then the plain `createdb` and `pg_restore`
/// ones (for a machine without pgalign). Printed after every backup, on every
/// failed apply, and in the report.
pub fn commands(settings: &ConnSettings, archive: &Path, into: &str) -> Vec<String> {
    commands_for(
        &settings.redacted_url(),
        &settings.host,
        &settings.port.to_string(),
        &settings.user,
        &archive.display().to_string(),
        into,
    )
}

/// [`commands`] from the parts (the report has only the target's
/// `user@host:port/db` words).
pub fn commands_for(
    url: &str,
    host: &str,
    port: &str,
    user: &str,
    archive: &str,
    into: &str,
) -> Vec<String> {
    let w = crate::apply::progress::shell_word;
    let file = w(archive);
    let conn = format!("-h {} -p {} -U {}", w(host), w(port), w(user));
    let dbname = if into.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        into.to_string()
    } else {
        w(&crate::rehearse::conninfo_dbname(into))
    };
    vec![
        format!(
            "pgalign restore --db {} --backup {file} --into {}",
            w(url),
            w(into)
        ),
        format!("createdb {conn} -T template0 -- {}", w(into)),
        format!("pg_restore {conn} --dbname={dbname} {file}"),
    ]
}

/// The restore commands for the report: `target` is the session's
/// `user@host:port/db`; what cannot be read from it stays a placeholder.
pub fn report_commands(target: &str, archive: &str) -> Vec<String> {
    let parsed = target.split_once('@').and_then(|(user, rest)| {
        let (hostport, db) = rest.rsplit_once('/')?;
        let (host, port) = hostport.rsplit_once(':')?;
        Some((user, host, port, db))
    });
    let (user, host, port, db) = parsed.unwrap_or(("USER", "HOST", "PORT", "DBNAME"));
    let url = if host.starts_with('/') || parsed.is_none() {
        "URL".to_string()
    } else {
        format!("postgres://{user}@{host}:{port}/{db}")
    };
    let mut into = format!("{db}_restored");
    while into.len() > 63 {
        into.remove(0);
    }
    commands_for(&url, host, port, user, archive, &into)
}

/// `<db>_restored`: the default name the printed commands restore into.
pub fn default_into(settings: &ConnSettings) -> String {
    let mut name = format!("{}_restored", settings.dbname);
    while name.len() > 63 {
        name.remove(0);
    }
    name
}

fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_names_are_read_up_to_the_first_unquoted_space() {
        assert_eq!(qualified_name("public.t (id) FROM stdin;"), "public.t");
        assert_eq!(
            qualified_name("\"My Schema\".\"a \"\"b\"\"\" (x) FROM stdin;"),
            "\"My Schema\".\"a \"\"b\"\"\""
        );
        assert_eq!(qualified_name("public.empty  FROM stdin;"), "public.empty");
    }

    #[test]
    fn report_commands_read_the_target_words() {
        let c = report_commands("app@db.example.com:5432/shop", "/b/shop.dump");
        assert_eq!(
            c,
            [
                "pgalign restore --db postgres://app@db.example.com:5432/shop --backup /b/shop.dump --into shop_restored",
                "createdb -h db.example.com -p 5432 -U app -T template0 -- shop_restored",
                "pg_restore -h db.example.com -p 5432 -U app --dbname=shop_restored /b/shop.dump",
            ]
        );
        let c = report_commands("garbled", "x y.dump");
        assert!(
            c[0].starts_with("pgalign restore --db URL --backup 'x y.dump'"),
            "{c:?}"
        );
    }

    #[test]
    fn names_are_checked_but_never_parsed() {
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(64)).is_err());
        assert!(check_name("a\0b").is_err());
        check_name("dbname=postgres host=evil -c x").unwrap();
    }
}
