//! Rehearsal: clone the target into a scratch database on the same server (or
//! restore a backup there), apply the plan to the clone with every statement
//! measured, and check that the clone converged to the desired fingerprint.
//! The scratch database is always dropped afterwards, also on error.

use crate::apply::{self, ApplyOptions, Event, Refusal};
use crate::backup::tools::{self, PgTools};
use crate::db::{ConnSettings, connect};
use crate::hazard::HazardId;
use crate::journal::{Entry, StatementError};
use crate::plan::PlanFile;
use anyhow::{Context, Result, anyhow, bail};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// One statement as it ran on the scratch copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub step: usize,
    pub title: String,
    pub duration: Duration,
    pub rows: u64,
}

/// What a rehearsal measured and found.
#[derive(Debug, Clone)]
pub struct Rehearsal {
    /// The scratch database's name (already dropped).
    pub scratch: String,
    /// `clone of user@host:port/db` or `backup file …`.
    pub source: String,
    pub plan_sha256: String,
    pub desired_fingerprint: String,
    /// The scratch copy's fingerprint after the plan ran.
    pub fingerprint: String,
    pub converged: bool,
    pub steps: Vec<Timing>,
    pub failed: Option<(usize, StatementError)>,
    /// Warnings of the restore (pg_restore errors it continued past).
    pub warnings: Vec<String>,
    pub total: Duration,
}

impl Rehearsal {
    /// The journal entry of this rehearsal.
    pub fn entry(&self) -> Entry {
        Entry::Rehearsed(crate::journal::Rehearsed {
            plan_sha256: self.plan_sha256.clone(),
            source: self.source.clone(),
            converged: self.converged,
            fingerprint: self.fingerprint.clone(),
            failed_step: self.failed.as_ref().map(|(s, _)| *s),
            statements: self.steps.len(),
            total_ms: self.total.as_millis() as u64,
        })
    }
}

/// Rehearses `plan` against a scratch copy of `settings`' database, filled from
/// `from_backup` (a `pg_dump -Fc` file) when given, else cloned with
/// `pg_dump -Fc | pg_restore`. Progress goes to `events`.
pub async fn run(
    settings: &ConnSettings,
    plan: &PlanFile,
    from_backup: Option<&Path>,
    events: Option<UnboundedSender<Event>>,
) -> Result<Rehearsal> {
    if let Some(f) = from_backup.filter(|f| !f.is_file()) {
        bail!("backup file {} does not exist", f.display());
    }
    let admin = connect(settings).await?;
    // The gate of `apply`, on the hazards of the plan's SQL against the live
    // database (every danger allowed: the copy is thrown away), before any copy.
    let derived = apply::derive(&admin, plan).await?;
    let all = ApplyOptions {
        allowed: HazardId::ALL.into_iter().collect(),
        ..ApplyOptions::default()
    };
    if let Err(r) = apply::check_derived(plan, &derived, &all, &Default::default()) {
        match r {
            Refusal::Blocker { step, detail } => bail!(
                "step {step} has a blocker hazard and cannot be rehearsed or applied: {detail}"
            ),
            r => bail!("the plan cannot be rehearsed: {r}"),
        }
    }
    let num: i32 = admin
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .map_err(|e| {
            anyhow!(
                "reading the server version of {settings}: {}",
                crate::db::describe_error(&e)
            )
        })?
        .get(0);
    let tools =
        PgTools::find((num / 10000) as u32).with_context(|| format!("rehearsing on {settings}"))?;
    let scratch = scratch_name()?;
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {} TEMPLATE template0",
            quote(&scratch)
        ))
        .await
        .map_err(|e| {
            anyhow!(
                "creating scratch database {scratch} on {settings}: {}",
                crate::db::describe_error(&e)
            )
        })?;
    let scratch_settings = settings.with_dbname(&scratch);
    let result = rehearse_in(
        settings,
        &scratch_settings,
        &tools,
        plan,
        from_backup,
        events,
    )
    .await;
    let dropped = admin
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote(&scratch)
        ))
        .await
        .map_err(|e| {
            anyhow!(
                "dropping scratch database {scratch} on {settings}: {}",
                crate::db::describe_error(&e)
            )
        });
    // Every failure names the scratch database, so nobody has to guess what
    // to look for (or drop by hand, should the drop itself fail).
    let rehearsal = result.with_context(|| format!("rehearsing on scratch database {scratch}"))?;
    dropped?;
    Ok(rehearsal)
}

async fn rehearse_in(
    source: &ConnSettings,
    scratch: &ConnSettings,
    tools: &PgTools,
    plan: &PlanFile,
    from_backup: Option<&Path>,
    events: Option<UnboundedSender<Event>>,
) -> Result<Rehearsal> {
    let started = Instant::now();
    let origin = match from_backup {
        Some(f) => format!("backup file {}", f.display()),
        None => format!("clone of {source}"),
    };
    let warnings = {
        let (source, scratch, tools) = (source.clone(), scratch.clone(), tools.clone());
        let backup = from_backup.map(Path::to_path_buf);
        tokio::task::spawn_blocking(move || fill(&source, &scratch, &tools, backup))
            .await
            .context("the restore task stopped unexpectedly")??
    };
    let opts = ApplyOptions {
        allowed: HazardId::ALL.into_iter().collect(),
        ..ApplyOptions::default()
    };
    let outcome = apply::run(scratch, plan, &opts, events, None)
        .await
        .map_err(|e| match e.downcast_ref::<Refusal>() {
            // A plain error, not a refusal: rehearse's exit codes are 0, 2 and 1.
            Some(Refusal::Drift { .. }) => anyhow!(
                "the scratch copy ({origin}) is not the schema the plan was made for: {e}{}",
                if from_backup.is_some() {
                    " (is the backup older than the plan?)"
                } else {
                    ""
                }
            ),
            _ => anyhow!(
                "applying the plan to scratch database {}: {e:#}",
                scratch.dbname
            ),
        })?;
    let fingerprint = plan.header.scope.fingerprint(
        &crate::catalog::inspect(scratch)
            .await
            .with_context(|| format!("inspecting scratch database {}", scratch.dbname))?
            .model,
    );
    let steps = outcome
        .finished
        .iter()
        .map(|(step, duration, rows)| Timing {
            step: *step,
            title: plan
                .steps
                .get(step - 1)
                .map(|s| s.title.clone())
                .unwrap_or_default(),
            duration: *duration,
            rows: *rows,
        })
        .collect();
    Ok(Rehearsal {
        scratch: scratch.dbname.clone(),
        source: origin,
        plan_sha256: plan.actual_sha256.clone(),
        desired_fingerprint: plan.header.desired_fingerprint.clone(),
        converged: outcome.failed.is_none() && fingerprint == plan.header.desired_fingerprint,
        fingerprint,
        steps,
        failed: outcome.failed,
        warnings,
        total: started.elapsed(),
    })
}

/// Fills the scratch database: `pg_restore` of the backup, or `pg_dump -Fc` of
/// the source piped into `pg_restore`. pg_restore errors it continued past
/// (roles missing…) come back as warnings: the drift check catches any that matter.
fn fill(
    source: &ConnSettings,
    scratch: &ConnSettings,
    tools: &PgTools,
    backup: Option<PathBuf>,
) -> Result<Vec<String>> {
    // pg_restore's messages go to a file: a full stderr pipe would stall the
    // dump → restore pipe while pg_dump is being waited for.
    let mut log =
        tempfile::tempfile().context("creating a temporary file for pg_restore's messages")?;
    let mut restore = tools.restore_cmd(scratch);
    // pg_restore connects only when given --dbname, and libpq reads its value
    // as a connection string: the name travels quoted inside one pgalign builds.
    restore
        .arg("--dbname")
        .arg(conninfo_dbname(&scratch.dbname))
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            log.try_clone()
                .context("sharing pg_restore's message file")?,
        ));
    let restored = match &backup {
        Some(file) => restore
            .arg(file)
            .output()
            .with_context(|| format!("running {}", tools.pg_restore.display()))?,
        None => {
            let mut dump = tools.dump_cmd(source);
            dump.arg("--format=custom")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut dumping = dump
                .spawn()
                .with_context(|| format!("running {}", tools.pg_dump.display()))?;
            let pipe = dumping.stdout.take().context("pg_dump's output")?;
            let restoring = restore.stdin(Stdio::from(pipe)).spawn();
            let dumped = dumping.wait_with_output().context("waiting for pg_dump")?;
            let restored = restoring
                .with_context(|| format!("running {}", tools.pg_restore.display()))?
                .wait_with_output()
                .context("waiting for pg_restore")?;
            tools::check(
                &dumped,
                &format!("pg_dump of {source} for the scratch copy"),
            )?;
            restored
        }
    };
    if restored.status.success() {
        return Ok(Vec::new());
    }
    let mut messages = String::new();
    {
        use std::io::{Read, Seek};
        let _ = log.rewind().and_then(|_| log.read_to_string(&mut messages));
    }
    let warnings: Vec<String> = messages
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    // pg_restore says "errors ignored on restore: N" when it went on to the end.
    if !warnings
        .iter()
        .any(|l| l.contains("errors ignored on restore"))
    {
        bail!(
            "pg_restore into scratch database {} failed: {}",
            scratch.dbname,
            warnings.join("; ")
        );
    }
    Ok(warnings)
}

/// `pgalign_scratch_<UTC timestamp>_<random>`: only `[a-z0-9_]`, whatever the
/// source database is called (a name such as `dbname=other host=…` must never
/// reach a client program), and well within the 63-byte identifier limit.
pub fn scratch_name() -> Result<String> {
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
    let mut random = [0u8; 5];
    {
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut random))
            .context("reading /dev/urandom for the scratch database's name")?;
    }
    Ok(format!("pgalign_scratch_{stamp}_{}", hex::encode(random)))
}

/// `dbname='…'`: a connection string holding only the database name, quoted
/// the way libpq reads it (`\` and `'` escaped by a backslash), for a client
/// program whose `--dbname` is parsed as a connection string.
pub fn conninfo_dbname(dbname: &str) -> String {
    let escaped = dbname.replace('\\', "\\\\").replace('\'', "\\'");
    format!("dbname='{escaped}'")
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    #[test]
    fn scratch_names_come_from_a_safe_alphabet_and_differ() {
        let a = super::scratch_name().unwrap();
        let b = super::scratch_name().unwrap();
        assert!(a.len() <= 63 && a.starts_with("pgalign_scratch_2"), "{a}");
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'),
            "{a}"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn database_names_are_quoted_inside_a_conninfo() {
        assert_eq!(super::conninfo_dbname("shop"), "dbname='shop'");
        assert_eq!(
            super::conninfo_dbname("dbname=x host=evil"),
            "dbname='dbname=x host=evil'"
        );
        assert_eq!(
            super::conninfo_dbname(r"it's a \ name"),
            r"dbname='it\'s a \\ name'"
        );
    }
}
