//! Rehearsal: copy the target into a scratch database (on the same server or on
//! `--scratch`), from this session's backup when given, apply the plan there with
//! the apply engine itself, every statement measured (locks per relation and
//! mode, rewrites, WAL, rows, how long the strongest lock was held), compare
//! what was measured with what the static analysis predicted, and check that
//! the copy converged to the desired fingerprint. The scratch database is
//! dropped afterwards, also on error and Ctrl-C, unless asked to keep it.

mod figures;

pub use figures::{Predicted, human_duration, measured_line};

use crate::apply::{self, ApplyOptions, Event, Measured, Refusal};
use crate::backup::tools::{self, PgTools};
use crate::db::{ConnSettings, connect};
use crate::hazard::{Hazard, HazardId};
use crate::journal::{Entry, StatementError};
use crate::plan::PlanFile;
use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// How to rehearse.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Restore the scratch copy from this `pg_dump -Fc` file (the session's
    /// verified backup) instead of cloning the target.
    pub from_backup: Option<PathBuf>,
    /// The server for the scratch database (its `dbname` is only used to
    /// connect for CREATE/DROP DATABASE); `None`: the target's server.
    pub scratch: Option<ConnSettings>,
    /// Restore the schema only: fast, but the figures are on empty tables.
    pub schema_only: bool,
    /// Leave the scratch database in place afterwards.
    pub keep: bool,
    /// Flips to `true` when the operator asks to stop: the running statement
    /// is abandoned and the scratch database dropped (unless `keep`).
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
}

/// One statement as it ran on the scratch copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timing {
    pub step: usize,
    pub title: String,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    pub rows: u64,
    /// What the server showed; `None` when it could not be measured.
    pub measured: Option<Measured>,
    /// What the static analysis said it would do.
    pub predicted: Predicted,
    /// Where the measurement contradicts the prediction (`warning`s).
    pub findings: Vec<Hazard>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// What a rehearsal measured and found.
#[derive(Debug, Clone)]
pub struct Rehearsal {
    /// The scratch database's name.
    pub scratch: String,
    /// Where the scratch database lives (`user@host:port`).
    pub server: String,
    /// `true` when it was left in place (`keep`).
    pub kept: bool,
    /// `clone of user@host:port/db` or `backup file …`.
    pub source: String,
    /// Only the schema was restored: the figures are on empty tables.
    pub schema_only: bool,
    pub plan_sha256: String,
    pub desired_fingerprint: String,
    /// The scratch copy's fingerprint after the plan ran.
    pub fingerprint: String,
    pub converged: bool,
    pub steps: Vec<Timing>,
    pub failed: Option<(usize, StatementError)>,
    /// Warnings of the restore (pg_restore errors it continued past) and of
    /// checks that could not be made (free space).
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

    /// Everything to journal: the rehearsal, each statement's measured line
    /// and each finding (the lock-facts table was wrong).
    pub fn entries(&self) -> Vec<Entry> {
        let mut out = vec![self.entry()];
        for t in &self.steps {
            out.push(Entry::Note {
                text: format!(
                    "rehearsed step {}: {}{}",
                    t.step,
                    measured_line(t),
                    if self.schema_only {
                        " (schema-only copy: empty tables)"
                    } else {
                        ""
                    }
                ),
            });
            for f in &t.findings {
                out.push(Entry::Note {
                    text: format!("rehearsal finding, step {}: {}", t.step, f.detail),
                });
            }
        }
        out
    }

    /// The statement's measured line, by step number.
    pub fn line(&self, step: usize) -> Option<String> {
        self.steps
            .iter()
            .find(|t| t.step == step)
            .map(measured_line)
    }

    /// All findings, with their step.
    pub fn findings(&self) -> impl Iterator<Item = (usize, &Hazard)> {
        self.steps
            .iter()
            .flat_map(|t| t.findings.iter().map(move |f| (t.step, f)))
    }

    /// One sentence: converged, or why not.
    pub fn verdict(&self) -> String {
        if self.converged {
            "converged: the scratch copy matches the desired schema".into()
        } else if let Some((step, e)) = &self.failed {
            format!("NOT converged: step {step} failed on the scratch copy: {e}")
        } else {
            format!(
                "NOT converged: the scratch copy's schema ({}) differs from the desired schema ({})",
                self.fingerprint, self.desired_fingerprint
            )
        }
    }
}

/// Rehearses `plan` against a scratch copy of `settings`' database, filled from
/// `opts.from_backup` (a `pg_dump -Fc` file) when given, else cloned with
/// `pg_dump -Fc | pg_restore`. Progress goes to `events`.
pub async fn run(
    settings: &ConnSettings,
    plan: &PlanFile,
    opts: &Options,
    events: Option<UnboundedSender<Event>>,
) -> Result<Rehearsal> {
    let from_backup = opts.from_backup.as_deref();
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
    let predicted = figures::predict(&admin, plan).await?;
    let num = server_version(&admin, settings).await?;
    let tools =
        PgTools::find((num / 10000) as u32).with_context(|| format!("rehearsing on {settings}"))?;
    // A connection of its own: the lint's probes leave theirs read-only.
    drop(admin);
    let server = opts.scratch.as_ref().unwrap_or(settings);
    let scratch_admin = connect(server)
        .await
        .with_context(|| format!("connecting to the scratch server {server}"))?;
    let mut warnings = Vec::new();
    if let Some(w) = check_space(&scratch_admin, settings, server, opts).await? {
        warnings.push(w);
    }
    let scratch = scratch_name()?;
    scratch_admin
        .batch_execute(&format!(
            "CREATE DATABASE {} TEMPLATE template0",
            quote(&scratch)
        ))
        .await
        .map_err(|e| {
            anyhow!(
                "creating scratch database {scratch} on {server}: {}",
                crate::db::describe_error(&e)
            )
        })?;
    let scratch_settings = server.with_dbname(&scratch);
    let mut cancel = opts.cancel.clone();
    let result = tokio::select! {
        r = rehearse_in(settings, &scratch_settings, &tools, plan, opts, &predicted, events) => r,
        _ = cancelled(&mut cancel) => Err(anyhow!("cancelled by the operator")),
    };
    let dropped = if opts.keep {
        Ok(())
    } else {
        scratch_admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote(&scratch)
            ))
            .await
            .map_err(|e| {
                anyhow!(
                    "dropping scratch database {scratch} on {server}: {}",
                    crate::db::describe_error(&e)
                )
            })
    };
    let kept = if opts.keep { ", kept" } else { "" };
    // Every failure names the scratch database, so nobody has to guess what
    // to look for (or drop by hand, should the drop itself fail).
    let mut rehearsal =
        result.with_context(|| format!("rehearsing on scratch database {scratch}{kept}"))?;
    dropped?;
    rehearsal.kept = opts.keep;
    rehearsal.server = format!("{}@{}:{}", server.user, server.host, server.port);
    warnings.append(&mut rehearsal.warnings);
    rehearsal.warnings = warnings;
    Ok(rehearsal)
}

/// Resolves when the operator asks to stop; never when there is no signal.
async fn cancelled(cancel: &mut Option<tokio::sync::watch::Receiver<bool>>) {
    if let Some(rx) = cancel {
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                break;
            }
        }
        if *rx.borrow() {
            return;
        }
    }
    std::future::pending::<()>().await
}

async fn server_version(client: &tokio_postgres::Client, settings: &ConnSettings) -> Result<i32> {
    Ok(client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .map_err(|e| {
            anyhow!(
                "reading the server version of {settings}: {}",
                crate::db::describe_error(&e)
            )
        })?
        .get(0))
}

/// The scratch copy needs about the source database's size (its schema only:
/// a few MB) on the scratch server's file system, plus a margin. Checked when
/// the server's data directory is readable from here (a local server and a
/// role allowed to read `data_directory`); otherwise a warning says it was not.
async fn check_space(
    scratch_admin: &tokio_postgres::Client,
    source: &ConnSettings,
    server: &ConnSettings,
    opts: &Options,
) -> Result<Option<String>> {
    let source_bytes: i64 = match connect(source).await {
        Ok(c) => c
            .query_one("SELECT pg_database_size(current_database())", &[])
            .await
            .map(|r| r.get(0))
            .unwrap_or(0),
        Err(_) => 0,
    };
    let needed = space_needed(source_bytes.max(0) as u64, opts.schema_only);
    let dir: Option<String> = scratch_admin
        .query_one("SELECT current_setting('data_directory')", &[])
        .await
        .ok()
        .map(|r| r.get(0));
    let free = dir
        .as_deref()
        .map(Path::new)
        .filter(|d| d.is_dir())
        .and_then(|d| tools::free_bytes(d).ok());
    match free {
        Some(free) => {
            enough_space(free, needed, server)?;
            Ok(None)
        }
        None => Ok(Some(format!(
            "the free space on {server} was not checked (its data directory is not readable from here): the scratch copy needs about {}",
            crate::util::human_bytes(needed as i64)
        ))),
    }
}

/// Bytes a scratch copy of a database of `source_bytes` needs: its size (the
/// copy has the same tables and indexes) plus a quarter for what the plan
/// writes (a rewrite doubles a table until it commits), plus 64 MB; a
/// schema-only copy needs the margin only.
pub fn space_needed(source_bytes: u64, schema_only: bool) -> u64 {
    const MARGIN: u64 = 64 << 20;
    if schema_only {
        MARGIN
    } else {
        source_bytes + source_bytes / 4 + MARGIN
    }
}

/// Refuses a scratch copy that would not fit.
pub fn enough_space(free: u64, needed: u64, server: &ConnSettings) -> Result<()> {
    if free < needed {
        bail!(
            "not enough free space on {server} for the scratch copy: {} free, about {} needed (rehearse with --schema-only, or on another server with --scratch URL)",
            crate::util::human_bytes(free as i64),
            crate::util::human_bytes(needed as i64)
        );
    }
    Ok(())
}

async fn rehearse_in(
    source: &ConnSettings,
    scratch: &ConnSettings,
    tools: &PgTools,
    plan: &PlanFile,
    opts: &Options,
    predicted: &[Predicted],
    events: Option<UnboundedSender<Event>>,
) -> Result<Rehearsal> {
    let started = Instant::now();
    let from_backup = opts.from_backup.as_deref();
    let origin = match from_backup {
        Some(f) => format!("backup file {}", f.display()),
        None => format!("clone of {source}"),
    };
    let warnings = {
        let (source, scratch, tools) = (source.clone(), scratch.clone(), tools.clone());
        let backup = from_backup.map(Path::to_path_buf);
        let schema_only = opts.schema_only;
        tokio::task::spawn_blocking(move || fill(&source, &scratch, &tools, backup, schema_only))
            .await
            .context("the restore task stopped unexpectedly")??
    };
    let apply_opts = ApplyOptions {
        allowed: HazardId::ALL.into_iter().collect(),
        measure: true,
        ..ApplyOptions::default()
    };
    let outcome = apply::run(scratch, plan, &apply_opts, events, None)
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
        .map(|(step, duration, rows)| {
            let measured = outcome.measured.iter().find(|m| m.step == *step).cloned();
            let predicted = predicted.get(step - 1).cloned().unwrap_or_default();
            let findings = figures::findings(*step, &predicted, measured.as_ref());
            Timing {
                step: *step,
                title: plan
                    .steps
                    .get(step - 1)
                    .map(|s| s.title.clone())
                    .unwrap_or_default(),
                duration: *duration,
                rows: *rows,
                measured,
                predicted,
                findings,
            }
        })
        .collect();
    Ok(Rehearsal {
        scratch: scratch.dbname.clone(),
        server: String::new(),
        kept: false,
        source: origin,
        schema_only: opts.schema_only,
        plan_sha256: plan.actual_sha256.clone(),
        desired_fingerprint: plan.header.desired_fingerprint.clone(),
        converged: outcome.failed.is_none()
            && outcome.stop.is_none()
            && fingerprint == plan.header.desired_fingerprint,
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
    schema_only: bool,
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
        .args(schema_only.then_some("--schema-only"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            log.try_clone()
                .context("sharing pg_restore's message file")?,
        ));
    let restored = match &backup {
        Some(file) => restore
            .arg(format!("--jobs={}", restore_jobs()))
            .arg(file)
            .output()
            .with_context(|| format!("running {}", tools.pg_restore.display()))?,
        None => {
            let mut dump = tools.dump_cmd(source);
            dump.arg("--format=custom")
                .args(schema_only.then_some("--schema-only"))
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

/// Parallel restore jobs for an archive file: the machine's cores, 1 to 4.
fn restore_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
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
