//! Definitions that do not survive a round trip through the server.
//!
//! The model holds what PostgreSQL's deparsers print, and a plan re-creates an
//! object from that text. For some expressions the text parses into another
//! tree than the one it was printed from, which prints differently again: a
//! cast around an array constructor (`(ARRAY['a'::varchar, 'b'::varchar])::text[]`,
//! what `kind IN ('a', 'b')` over a `varchar` column reads back as) is pushed
//! into the elements (`ARRAY[('a'::varchar)::text, …]`). An object re-created
//! from the first form then always differs from it, and every re-diff would
//! re-create it again.
//!
//! So the definitions of views, checks (of tables and domains), exclusion
//! constraints, indexes and policies that hold such a cast are normalised through the server: each is
//! re-created as a temporary object in a transaction that is rolled back, and
//! what the server prints for it replaces it, until it prints what it was
//! given. Both sides of a diff are normalised the same way, so a definition
//! compares equal to the one a plan re-created from it.
//!
//! Only definitions that hold `])::` are sent (almost always none: nothing
//! runs then). The round trips take `ACCESS SHARE` locks on the tables they
//! name, under a short `lock_timeout`; a definition whose round trip fails
//! (a read-only server, a lock that is not granted) is kept as printed.

use super::{Client, describe_error};
use crate::catalog::model::*;

/// What marks a definition as one that may read back differently.
const MARK: &str = "])::";

/// How many round trips a definition gets to reach a form that prints as
/// itself (one has been enough for every known case).
const ROUNDS: usize = 3;

/// One definition to normalise, and where it goes back.
enum Job {
    View(QName),
    /// A check or exclusion constraint of a table.
    Check(QName, String),
    DomainCheck(QName, String),
    Index(QName),
    Policy(String),
}

/// Normalises the definitions of `m` that may not survive a round trip (see
/// the module's documentation), on `client` (outside the snapshot).
pub(super) async fn normalise(client: &mut Client, m: &mut Model) {
    let jobs = jobs(m);
    if jobs.is_empty() {
        return;
    }
    let Ok(tx) = client.transaction().await else {
        return;
    };
    if tx
        .batch_execute(
            "SET LOCAL search_path = pg_catalog, pg_temp; SET LOCAL lock_timeout = '2s'; \
             SET LOCAL statement_timeout = '30s'; SAVEPOINT pgalign_reparse",
        )
        .await
        .is_err()
    {
        return;
    }
    for job in jobs {
        for _ in 0..ROUNDS {
            let Some(given) = current(m, &job) else {
                break;
            };
            match round_trip(&tx, m, &job, &given).await {
                Some(printed) if printed != given => {
                    // Without the mark it prints as itself: no need to check.
                    let done = !printed.contains(MARK);
                    set(m, &job, printed);
                    if done {
                        break;
                    }
                }
                _ => break,
            }
        }
    }
    let _ = tx.rollback().await;
}

fn jobs(m: &Model) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (name, v) in &m.views {
        if v.definition.contains(MARK) {
            jobs.push(Job::View(name.clone()));
        }
    }
    for (name, t) in &m.tables {
        for c in t.constraints.values() {
            let expressions = matches!(c.kind, ConstraintKind::Check | ConstraintKind::Exclusion);
            if expressions && c.definition.contains(MARK) {
                jobs.push(Job::Check(name.clone(), c.name.clone()));
            }
        }
    }
    for (name, d) in &m.domains {
        for (check, def) in &d.checks {
            if def.contains(MARK) {
                jobs.push(Job::DomainCheck(name.clone(), check.clone()));
            }
        }
    }
    for (name, i) in &m.indexes {
        if i.definition.contains(MARK) && m.tables.contains_key(&i.table) {
            jobs.push(Job::Index(name.clone()));
        }
    }
    for (key, p) in &m.policies {
        let marked = |e: &Option<String>| e.as_deref().is_some_and(|e| e.contains(MARK));
        if marked(&p.using) || marked(&p.with_check) {
            jobs.push(Job::Policy(key.clone()));
        }
    }
    jobs
}

/// The definition `job` names, as the model holds it now (a policy's two
/// expressions joined by a tab).
fn current(m: &Model, job: &Job) -> Option<String> {
    Some(match job {
        Job::View(v) => m.views.get(v)?.definition.clone(),
        Job::Check(t, c) => m.tables.get(t)?.constraints.get(c)?.definition.clone(),
        Job::DomainCheck(d, c) => m.domains.get(d)?.checks.get(c)?.clone(),
        Job::Index(i) => m.indexes.get(i)?.definition.clone(),
        Job::Policy(key) => {
            let p = m.policies.get(key)?;
            format!(
                "{}\t{}",
                p.using.as_deref().unwrap_or_default(),
                p.with_check.as_deref().unwrap_or_default()
            )
        }
    })
}

fn set(m: &mut Model, job: &Job, printed: String) {
    match job {
        Job::View(v) => {
            if let Some(v) = m.views.get_mut(v) {
                v.definition = printed;
            }
        }
        Job::Check(t, c) => {
            if let Some(c) = m.tables.get_mut(t).and_then(|t| t.constraints.get_mut(c)) {
                c.definition = printed;
            }
        }
        Job::DomainCheck(d, c) => {
            if let Some(c) = m.domains.get_mut(d).and_then(|d| d.checks.get_mut(c)) {
                *c = printed;
            }
        }
        Job::Index(i) => {
            if let Some(i) = m.indexes.get_mut(i) {
                i.definition = printed;
            }
        }
        Job::Policy(key) => {
            if let Some(p) = m.policies.get_mut(key) {
                let (using, check) = printed.split_once('\t').unwrap_or((&printed, ""));
                let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
                p.using = opt(using);
                p.with_check = opt(check);
            }
        }
    }
}

/// Re-creates `given` as a temporary object and returns what the server
/// prints for it; `None` when that fails. Everything is rolled back to the
/// savepoint taken at the start either way (which stays for the next one).
async fn round_trip(
    tx: &tokio_postgres::Transaction<'_>,
    m: &Model,
    job: &Job,
    given: &str,
) -> Option<String> {
    let printed = print(tx, m, job, given).await;
    if let Err(e) = &printed
        && std::env::var_os("PGALIGN_TIMINGS").is_some()
    {
        eprintln!("pgalign: a definition kept as printed: {e}");
    }
    tx.batch_execute("ROLLBACK TO SAVEPOINT pgalign_reparse")
        .await
        .ok()?;
    printed.ok().flatten()
}

/// The temporary copy of table `t` (its columns, types and collations) that
/// checks, indexes and policies are re-created on.
fn copy_of(t: &QName) -> String {
    format!(
        "CREATE TEMP TABLE pgalign_reparse_t (LIKE {}) ON COMMIT DROP",
        t.sql()
    )
}

async fn print(
    tx: &tokio_postgres::Transaction<'_>,
    m: &Model,
    job: &Job,
    given: &str,
) -> Result<Option<String>, String> {
    let run =
        |sql: String| async move { tx.batch_execute(&sql).await.map_err(|e| describe_error(&e)) };
    let one = |sql: &'static str| async move {
        tx.query_opt(sql, &[])
            .await
            .map(|r| r.map(|r| r.get::<_, String>(0)))
            .map_err(|e| describe_error(&e))
    };
    match job {
        Job::View(_) => {
            run(format!("CREATE TEMP VIEW pgalign_reparse_v AS {given}")).await?;
            let out = one("SELECT pg_get_viewdef('pg_temp.pgalign_reparse_v'::regclass)").await?;
            Ok(out.map(|d| d.trim().trim_end_matches(';').to_string()))
        }
        Job::Check(t, _) => {
            run(format!(
                "{}; ALTER TABLE pg_temp.pgalign_reparse_t ADD CONSTRAINT pgalign_reparse {given}",
                copy_of(t)
            ))
            .await?;
            one("SELECT pg_get_constraintdef(oid) FROM pg_constraint
                 WHERE conrelid = 'pg_temp.pgalign_reparse_t'::regclass AND conname = 'pgalign_reparse'")
                .await
        }
        Job::DomainCheck(d, _) => {
            let Some(domain) = m.domains.get(d) else {
                return Ok(None);
            };
            run(format!(
                "CREATE DOMAIN pg_temp.pgalign_reparse_d AS {} CONSTRAINT pgalign_reparse {given}",
                domain.base_type
            ))
            .await?;
            one("SELECT pg_get_constraintdef(oid) FROM pg_constraint
                 WHERE contypid = 'pg_temp.pgalign_reparse_d'::regtype AND conname = 'pgalign_reparse'")
                .await
        }
        Job::Index(i) => {
            let Some(index) = m.indexes.get(i) else {
                return Ok(None);
            };
            // `CREATE [UNIQUE] INDEX name ON [ONLY] table USING …`: the part
            // from ` USING ` on is what the server prints anew.
            let Some((head, _)) = given.split_once(" USING ") else {
                return Ok(None);
            };
            let Some(tail) = given.get(head.len()..) else {
                return Ok(None);
            };
            let unique = if head.starts_with("CREATE UNIQUE ") {
                "UNIQUE "
            } else {
                ""
            };
            run(format!(
                "{}; CREATE {unique}INDEX pgalign_reparse_i ON pg_temp.pgalign_reparse_t{tail}",
                copy_of(&index.table)
            ))
            .await?;
            let out = one("SELECT pg_get_indexdef('pg_temp.pgalign_reparse_i'::regclass)").await?;
            Ok(out.and_then(|d| {
                d.split_once(" USING ")
                    .map(|(_, rest)| format!("{head} USING {rest}"))
            }))
        }
        Job::Policy(key) => {
            let Some(p) = m.policies.get(key) else {
                return Ok(None);
            };
            let using = p
                .using
                .as_ref()
                .map(|e| format!(" USING ({e})"))
                .unwrap_or_default();
            let check = p
                .with_check
                .as_ref()
                .map(|e| format!(" WITH CHECK ({e})"))
                .unwrap_or_default();
            let kind = if p.permissive {
                "PERMISSIVE"
            } else {
                "RESTRICTIVE"
            };
            run(format!(
                "{}; CREATE POLICY pgalign_reparse ON pg_temp.pgalign_reparse_t AS {kind} FOR {}{using}{check}",
                copy_of(&p.table),
                p.command
            ))
            .await?;
            let row = tx
                .query_opt(
                    "SELECT coalesce(pg_get_expr(polqual, polrelid), ''), coalesce(pg_get_expr(polwithcheck, polrelid), '')
                     FROM pg_policy WHERE polrelid = 'pg_temp.pgalign_reparse_t'::regclass",
                    &[],
                )
                .await
                .map_err(|e| describe_error(&e))?;
            Ok(row.map(|r| format!("{}\t{}", r.get::<_, String>(0), r.get::<_, String>(1))))
        }
    }
}
