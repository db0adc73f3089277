//! Migration ledgers (DESIGN.md §7): the tables in which a migration tool
//! keeps its bookkeeping. Their rows are part of the schema's state: after
//! an alignment the tool must see the version it expects. This module
//! recognises them on both sides of a diff (known tools' tables, the tables
//! `pgalign.toml` lists under `ledgers`, and tables named like a version
//! ledger that the desired source itself fills), reads their rows, and turns
//! the differences into explicit data steps that run after the schema steps.
//!
//! Every other data statement of a desired source is listed as not planned
//! ([`statements`]).

pub mod alembic;
pub mod statements;

use crate::catalog::ident::{quote_ident, quote_literal};
use crate::catalog::model::QName;
use crate::db::ConnSettings;
use crate::hazard::{Hazard, HazardId, Severity};
use crate::plan::Step;
use anyhow::{Result, bail};
use statements::DataStatement;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// What the operator told pgalign about ledgers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerOptions {
    /// `ledgers = ["schema.table", …]` of `pgalign.toml`.
    pub tables: Vec<String>,
    /// An Alembic migrations directory (`--alembic-dir`): the expected head is
    /// read from its revision files.
    pub alembic_dir: Option<PathBuf>,
}

impl LedgerOptions {
    /// The configured tables as names (`table` alone is `public.table`).
    pub fn configured(&self) -> Vec<QName> {
        self.tables
            .iter()
            .map(|t| match t.split_once('.') {
                Some((s, n)) => QName::new(s, n),
                None => QName::new("public", t.as_str()),
            })
            .collect()
    }
}

/// Which tool a ledger belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Alembic,
    Prisma,
    Flyway,
    Diesel,
    /// Rails, golang-migrate, dbmate, Ecto.
    SchemaMigrations,
    /// A table of sqitch's registry (`sqitch.changes`, `sqitch.tags`…).
    Sqitch,
    /// Listed under `ledgers` in `pgalign.toml`.
    Configured,
    /// Named like a version ledger and filled by the desired source.
    Version,
}

impl Kind {
    /// Alembic's table holds the current position (its rows are replaced);
    /// every other ledger is a history that only grows.
    fn is_state(self) -> bool {
        self == Kind::Alembic
    }
}

/// One ledger table as read on one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: QName,
    pub kind: Kind,
    /// Why it was recognised, in words.
    pub reason: String,
    pub columns: Vec<String>,
    /// The columns a row is identified by.
    pub key: Vec<String>,
    /// The columns the data steps write (the others keep their defaults).
    pub insert: Vec<String>,
    /// Every row, each value as text (NULL is `None`), sorted.
    pub rows: Vec<Vec<Option<String>>>,
}

impl Table {
    fn key_of(&self, row: &[Option<String>]) -> Vec<Option<String>> {
        self.key
            .iter()
            .map(|k| {
                let i = self
                    .columns
                    .iter()
                    .position(|c| c == k)
                    .expect("key is a column");
                row[i].clone()
            })
            .collect()
    }

    fn value(&self, row: &[Option<String>], column: &str) -> Option<String> {
        let i = self.columns.iter().position(|c| c == column)?;
        row[i].clone()
    }
}

/// The desired side's ledgers and data statements (read from the shadow
/// database right after the source was loaded).
#[derive(Debug, Clone, Default)]
pub struct DesiredLedgers {
    pub tables: Vec<Table>,
    pub statements: Vec<DataStatement>,
}

/// What the comparison found, for `diff`, `verify` and the wizard.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// `cm.schema_version: named like a version ledger; the desired source inserts its rows (f.sql:31)`.
    pub recognised: Vec<String>,
    /// Data statements of the desired source that are not ledger rows.
    pub not_planned: Vec<DataStatement>,
    /// Differences the plan cannot carry (a failed migration row on live).
    pub problems: Vec<String>,
    /// The data steps, in order (to run after the schema steps).
    pub steps: Vec<Step>,
}

const SQITCH_TABLES: [(&str, &[&str]); 6] = [
    ("changes", &["change_id"]),
    ("tags", &["tag_id"]),
    ("projects", &["project"]),
    ("releases", &["version"]),
    ("dependencies", &["change_id", "dependency"]),
    ("events", &["event", "change_id", "committed_at"]),
];

/// The tool a table's name says it belongs to, with the reason.
fn known_kind(name: &QName) -> Option<(Kind, String)> {
    let k = match name.name.as_str() {
        "alembic_version" => (Kind::Alembic, "Alembic's version table"),
        "_prisma_migrations" => (Kind::Prisma, "Prisma Migrate's ledger"),
        "flyway_schema_history" => (Kind::Flyway, "Flyway's schema history"),
        "__diesel_schema_migrations" => (Kind::Diesel, "Diesel's migrations table"),
        "schema_migrations" => (
            Kind::SchemaMigrations,
            "a schema_migrations ledger (Rails, golang-migrate, dbmate, Ecto)",
        ),
        n if name.schema == "sqitch" && SQITCH_TABLES.iter().any(|(t, _)| *t == n) => {
            (Kind::Sqitch, "part of sqitch's registry")
        }
        _ => return None,
    };
    Some((k.0, k.1.to_string()))
}

/// Named like a version ledger: `schema_version`, `*_schema_version`, `*_migrations`.
pub fn named_like_ledger(name: &str) -> bool {
    name == "schema_version" || name.ends_with("_schema_version") || name.ends_with("_migrations")
}

/// The columns each known tool's ledger has: (required, also allowed).
fn expected_columns(
    kind: Kind,
    table: &str,
) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match kind {
        Kind::Alembic => (&["version_num"], &[]),
        Kind::Prisma => (
            &[
                "id",
                "checksum",
                "finished_at",
                "migration_name",
                "logs",
                "rolled_back_at",
                "started_at",
                "applied_steps_count",
            ],
            &[],
        ),
        Kind::Flyway => (
            &[
                "installed_rank",
                "version",
                "description",
                "type",
                "script",
                "checksum",
                "installed_by",
                "installed_on",
                "execution_time",
                "success",
            ],
            &[],
        ),
        Kind::Diesel => (&["version", "run_on"], &[]),
        Kind::SchemaMigrations => (&["version"], &["dirty", "inserted_at"]),
        Kind::Sqitch => {
            let (_, key) = SQITCH_TABLES.iter().find(|(t, _)| *t == table)?;
            return Some((key, &[]));
        }
        Kind::Configured | Kind::Version => return None,
    })
}

/// A candidate table as found in the catalog.
#[derive(Debug, Clone)]
struct Found {
    name: QName,
    columns: Vec<String>,
    primary_key: Vec<String>,
}

/// The tables of `client`'s database that could be ledgers (by name, or listed).
async fn candidates(client: &tokio_postgres::Client, configured: &[QName]) -> Result<Vec<Found>> {
    let listed: Vec<String> = configured
        .iter()
        .map(|q| format!("{}.{}", q.schema, q.name))
        .collect();
    let rows = client
        .query(
            "SELECT n.nspname::text, c.relname::text,
                    ARRAY(SELECT a.attname::text FROM pg_attribute a
                           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                           ORDER BY a.attnum),
                    ARRAY(SELECT a.attname::text FROM pg_index i
                           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
                           WHERE i.indrelid = c.oid AND i.indisprimary ORDER BY a.attnum)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p')
               AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
               AND (c.relname IN ('alembic_version', 'schema_version')
                    OR c.relname LIKE '%migrations' OR c.relname LIKE '%\\_schema\\_version'
                    OR n.nspname = 'sqitch'
                    OR (n.nspname || '.' || c.relname) = ANY($1))
             ORDER BY 1, 2",
            &[&listed],
        )
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "looking for migration ledgers: {}",
                crate::db::describe_error(&e)
            )
        })?;
    Ok(rows
        .iter()
        .map(|r| Found {
            name: QName::new(r.get::<_, String>(0), r.get::<_, String>(1)),
            columns: r.get(2),
            primary_key: r.get(3),
        })
        .collect())
}

/// Reads every row of `table` (values as text, UTC timestamps), sorted.
async fn read_rows(
    client: &tokio_postgres::Client,
    table: &QName,
    columns: &[String],
) -> Result<Vec<Vec<Option<String>>>> {
    let select: Vec<String> = columns
        .iter()
        .map(|c| format!("{}::text", quote_ident(c)))
        .collect();
    let sql = format!("SELECT {} FROM {}", select.join(", "), table.sql());
    let rows = client.query(&sql, &[]).await.map_err(|e| {
        anyhow::anyhow!(
            "reading the rows of ledger {table}: {}",
            crate::db::describe_error(&e)
        )
    })?;
    let mut out: Vec<Vec<Option<String>>> = rows
        .iter()
        .map(|r| {
            (0..columns.len())
                .map(|i| r.get::<_, Option<String>>(i))
                .collect()
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Whether `stmt` writes into `table` (an unqualified name matches any schema).
fn writes(stmt: &DataStatement, table: &QName) -> bool {
    stmt.table == table.name && (stmt.schema.is_empty() || stmt.schema == table.schema)
}

/// Turns a found table into a ledger (or `None` when it is not one), checking
/// a known tool's columns.
fn recognise(
    found: Found,
    configured: &[QName],
    statements: &[DataStatement],
    also: &[QName],
) -> Result<Option<Table>> {
    let filled: Vec<&DataStatement> = statements
        .iter()
        .filter(|s| matches!(s.verb, "insert" | "copy") && writes(s, &found.name))
        .collect();
    let (kind, reason) = if let Some(k) = known_kind(&found.name) {
        k
    } else if configured.contains(&found.name) {
        (
            Kind::Configured,
            "listed under `ledgers` in pgalign.toml".to_string(),
        )
    } else if named_like_ledger(&found.name.name) && !filled.is_empty() {
        (
            Kind::Version,
            format!(
                "named like a version ledger, and the desired source inserts its rows ({}:{})",
                filled[0].file, filled[0].line
            ),
        )
    } else if also.contains(&found.name) {
        (
            Kind::Version,
            "recognised as a version ledger in the desired schema".to_string(),
        )
    } else {
        return Ok(None);
    };
    let name = &found.name;
    if let Some((required, allowed)) = expected_columns(kind, &name.name) {
        let unexpected: Vec<&String> = found
            .columns
            .iter()
            .filter(|c| !required.contains(&c.as_str()) && !allowed.contains(&c.as_str()))
            .collect();
        let missing: Vec<&&str> = required
            .iter()
            .filter(|r| !found.columns.iter().any(|c| c == *r))
            .collect();
        // Sqitch's tables grow columns between releases: only their keys are required.
        let strict = kind != Kind::Sqitch && !unexpected.is_empty();
        if strict || !missing.is_empty() {
            let mut what = Vec::new();
            if strict {
                let u: Vec<&str> = unexpected.iter().map(|s| s.as_str()).collect();
                what.push(format!("unexpected column(s) {}", u.join(", ")));
            }
            if !missing.is_empty() {
                let m: Vec<&str> = missing.iter().map(|s| **s).collect();
                what.push(format!("no column(s) {}", m.join(", ")));
            }
            bail!(
                "ledger table {name} ({reason}) has {}: expected the columns {}; leave it out with --exclude {name} if another tool owns it",
                what.join(" and "),
                required.join(", ")
            );
        }
    }
    let key: Vec<String> = match kind {
        Kind::Alembic => vec!["version_num".into()],
        Kind::Prisma => vec!["id".into()],
        Kind::Flyway => vec!["installed_rank".into()],
        Kind::Diesel | Kind::SchemaMigrations => vec!["version".into()],
        Kind::Sqitch => expected_columns(kind, &name.name)
            .map(|(k, _)| k.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
        Kind::Configured | Kind::Version => {
            if !found.primary_key.is_empty() {
                found.primary_key.clone()
            } else if found.columns.iter().any(|c| c == "version") {
                vec!["version".into()]
            } else {
                found.columns.clone()
            }
        }
    };
    // The columns the source's INSERTs name (plus the key); all of them when
    // an INSERT names none.
    let insert = if kind == Kind::Alembic {
        vec!["version_num".to_string()]
    } else if filled.is_empty() || filled.iter().any(|s| s.columns.is_empty()) {
        found.columns.clone()
    } else {
        let named: BTreeSet<&str> = filled
            .iter()
            .flat_map(|s| s.columns.iter().map(String::as_str))
            .chain(key.iter().map(String::as_str))
            .collect();
        found
            .columns
            .iter()
            .filter(|c| named.contains(c.as_str()))
            .cloned()
            .collect()
    };
    Ok(Some(Table {
        name: found.name,
        kind,
        reason,
        columns: found.columns,
        key,
        insert,
        rows: vec![],
    }))
}

/// Reads the ledgers of one side. `statements`: the desired source's data
/// statements (desired side); `also`: tables recognised on the other side.
pub async fn read_side(
    settings: &ConnSettings,
    opts: &LedgerOptions,
    statements: &[DataStatement],
    also: &[QName],
) -> Result<Vec<Table>> {
    let client = crate::db::connect(settings).await?;
    client
        .batch_execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET extra_float_digits = 3")
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "setting up the ledger reader: {}",
                crate::db::describe_error(&e)
            )
        })?;
    let configured = opts.configured();
    let mut out = Vec::new();
    for found in candidates(&client, &configured).await? {
        if let Some(mut t) = recognise(found, &configured, statements, also)? {
            t.rows = read_rows(&client, &t.name, &t.columns).await?;
            out.push(t);
        }
    }
    Ok(out)
}

/// Reads the desired side's ledgers from the database the source was loaded
/// into; `command_output` is a `cmd:` source's SQL, `files` a file source's.
pub async fn read_desired(
    settings: &ConnSettings,
    opts: &LedgerOptions,
    files: &[PathBuf],
    command_output: Option<&[u8]>,
) -> Result<DesiredLedgers> {
    let mut statements = Vec::new();
    for f in files {
        let bytes =
            std::fs::read(f).map_err(|e| anyhow::anyhow!("reading {}: {e}", f.display()))?;
        let name = f.display().to_string();
        let text = crate::hazard::prepass::decode(&bytes, &name)?;
        statements.extend(statements::scan(&text, &name));
    }
    if let Some(out) = command_output {
        let name = "the desired-schema command's output";
        let text = crate::hazard::prepass::decode(out, name)?;
        statements.extend(statements::scan(&text, name));
    }
    let tables = read_side(settings, opts, &statements, &[]).await?;
    Ok(DesiredLedgers { tables, statements })
}

/// Compares both sides' ledgers and plans the data steps.
pub fn compare(
    live: &[Table],
    desired: &DesiredLedgers,
    opts: &LedgerOptions,
    alembic_head: Option<&str>,
) -> Result<Outcome> {
    let mut out = Outcome::default();
    for t in &desired.tables {
        out.recognised.push(format!("{}: {}", t.name, t.reason));
    }
    for t in live {
        if !desired.tables.iter().any(|d| d.name == t.name) {
            out.recognised
                .push(format!("{} (live only): {}", t.name, t.reason));
        }
    }
    let all: Vec<&QName> = live
        .iter()
        .chain(&desired.tables)
        .map(|t| &t.name)
        .collect();
    for c in opts.configured() {
        if !all.contains(&&c) {
            bail!(
                "pgalign.toml lists the ledger {c}, which is neither in the live database nor in the desired schema"
            );
        }
    }
    // Statements that fill a ledger are carried by its rows; the rest are listed.
    out.not_planned = desired
        .statements
        .iter()
        .filter(|s| !all.iter().any(|t| writes(s, t)))
        .cloned()
        .collect();
    for t in live {
        out.problems.extend(failed_rows(t));
    }
    let mut alembic_done = false;
    for d in &desired.tables {
        let l = live.iter().find(|l| l.name == d.name);
        let mut d = d.clone();
        if d.kind == Kind::Alembic
            && let Some(head) = alembic_head
        {
            let rows = vec![vec![Some(head.to_string())]];
            if d.rows != rows && !d.rows.is_empty() {
                out.problems.push(format!(
                    "the desired source sets {} to {}, but the alembic directory's head is {head}: the directory wins",
                    d.name,
                    values(&d, &d.rows)
                ));
            }
            d.rows = rows;
            alembic_done = true;
        }
        out.steps.extend(steps_for(l, &d));
    }
    if let Some(head) = alembic_head
        && !alembic_done
    {
        let Some(l) = live.iter().find(|l| l.kind == Kind::Alembic) else {
            bail!(
                "--alembic-dir: neither the live database nor the desired schema has an alembic_version table to hold revision {head}"
            );
        };
        let mut d = l.clone();
        d.rows = vec![vec![Some(head.to_string())]];
        out.steps.extend(steps_for(Some(l), &d));
    }
    Ok(out)
}

/// Rows a tool left failed or half-applied on the live side.
fn failed_rows(t: &Table) -> Vec<String> {
    let mut out = Vec::new();
    for row in &t.rows {
        let failed = match t.kind {
            Kind::Prisma => {
                t.value(row, "finished_at").is_none() && t.value(row, "rolled_back_at").is_none()
            }
            Kind::Flyway => t.value(row, "success").as_deref() == Some("false"),
            Kind::SchemaMigrations => t.value(row, "dirty").as_deref() == Some("true"),
            _ => false,
        };
        if failed {
            let what = match t.kind {
                Kind::Prisma => t.value(row, "migration_name"),
                _ => t.value(row, "version"),
            }
            .unwrap_or_default();
            out.push(format!(
                "ledger {} on the live database has a failed or unfinished migration {what}: resolve it with the tool first",
                t.name
            ));
        }
    }
    out
}

/// `4` or `4, 5` or `(a, b)`: the keys of `rows`, at most five shown.
fn values(t: &Table, rows: &[Vec<Option<String>>]) -> String {
    let keys: Vec<String> = rows
        .iter()
        .map(|r| {
            let k: Vec<String> = t
                .key_of(r)
                .into_iter()
                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                .collect();
            if k.len() == 1 {
                k[0].clone()
            } else {
                format!("({})", k.join(", "))
            }
        })
        .collect();
    if keys.is_empty() {
        return "nothing".into();
    }
    let mut s = keys.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if keys.len() > 5 {
        s.push_str(&format!(" … ({} in all)", keys.len()));
    }
    crate::util::printable(&s)
}

fn literal(v: &Option<String>) -> String {
    v.as_deref().map_or("NULL".into(), quote_literal)
}

fn step(title: String, sql: String, hazard: Hazard) -> Step {
    Step {
        number: 0,
        title,
        sql,
        hazards: vec![hazard],
        transactional: true,
        group: 0,
    }
}

/// The data steps that bring the live ledger `l` (absent: the plan creates
/// it) to the desired one.
fn steps_for(l: Option<&Table>, d: &Table) -> Vec<Step> {
    let live_rows: &[Vec<Option<String>>] = l.map_or(&[], |l| &l.rows);
    let live_keys: BTreeSet<Vec<Option<String>>> =
        live_rows.iter().map(|r| d.key_of_live(l, r)).collect();
    let want_keys: BTreeSet<Vec<Option<String>>> = d.rows.iter().map(|r| d.key_of(r)).collect();
    let missing: Vec<Vec<Option<String>>> = d
        .rows
        .iter()
        .filter(|r| !live_keys.contains(&d.key_of(r)))
        .cloned()
        .collect();
    let extra: Vec<Vec<Option<String>>> = live_rows
        .iter()
        .filter(|r| !want_keys.contains(&d.key_of_live(l, r)))
        .cloned()
        .collect();
    let mut out = Vec::new();
    let name = &d.name;
    let live_desc = match (l, live_rows.is_empty()) {
        (None, _) => "the plan creates the table".to_string(),
        (Some(_), true) => "live has no rows".to_string(),
        (Some(l), false) => format!("live has {}", values(l, live_rows)),
    };
    if d.kind.is_state() {
        if missing.is_empty() && extra.is_empty() {
            return out;
        }
        // Rows to replace are on a live table; without one the plan creates
        // the table and the rows are only inserted.
        if let Some(l) = l
            && missing.len() == 1
            && extra.len() == 1
        {
            let (old, new) = (&extra[0][0], &missing[0][0]);
            out.push(step(
                format!("ledger {name}: set revision to {} (live: {})", values(d, &missing), values(l, &extra)),
                format!(
                    "UPDATE {} SET version_num = {} WHERE version_num = {};",
                    name.sql(),
                    literal(new),
                    literal(old)
                ),
                Hazard::new(
                    HazardId::Ops,
                    Severity::Warning,
                    format!(
                        "moves the migration ledger {name} from {} to {}: alembic will take {} as the current revision",
                        values(l, &extra),
                        values(d, &missing),
                        values(d, &missing)
                    ),
                ),
            ));
            return out;
        }
        if let Some(l) = l
            && !extra.is_empty()
        {
            let list: Vec<String> = extra.iter().map(|r| literal(&r[0])).collect();
            out.push(step(
                format!(
                    "ledger {name}: remove revision(s) {} (not desired)",
                    values(l, &extra)
                ),
                format!(
                    "DELETE FROM {} WHERE version_num IN ({});",
                    name.sql(),
                    list.join(", ")
                ),
                Hazard::new(
                    HazardId::DataLoss,
                    Severity::Warning,
                    format!(
                        "removes revision(s) {} from the migration ledger {name}",
                        values(l, &extra)
                    ),
                ),
            ));
        }
    } else if missing.is_empty() {
        return out;
    }
    if missing.is_empty() {
        return out;
    }
    let idx: Vec<usize> = d
        .insert
        .iter()
        .map(|c| {
            d.columns
                .iter()
                .position(|x| x == c)
                .expect("insert column")
        })
        .collect();
    let cols: Vec<String> = d.insert.iter().map(|c| quote_ident(c)).collect();
    let rows: Vec<String> = missing
        .iter()
        .map(|r| {
            let v: Vec<String> = idx.iter().map(|&i| literal(&r[i])).collect();
            format!("  ({})", v.join(", "))
        })
        .collect();
    let what = if d.kind.is_state() {
        "revision"
    } else {
        "version"
    };
    out.push(step(
        format!("ledger {name}: insert {what}(s) {} ({live_desc})", values(d, &missing)),
        format!("INSERT INTO {} ({}) VALUES\n{};", name.sql(), cols.join(", "), rows.join(",\n")),
        Hazard::new(
            HazardId::Ops,
            Severity::Warning,
            format!(
                "writes {} row(s) into the migration ledger {name}: its tool will take {} as applied",
                missing.len(),
                values(d, &missing)
            ),
        ),
    ));
    out
}

impl Table {
    /// The key of a live row, by the live table's columns (they may be in
    /// another order than the desired table's).
    fn key_of_live(&self, live: Option<&Table>, row: &[Option<String>]) -> Vec<Option<String>> {
        let Some(l) = live else {
            return self.key_of(row);
        };
        self.key
            .iter()
            .map(|k| {
                l.columns
                    .iter()
                    .position(|c| c == k)
                    .and_then(|i| row[i].clone())
            })
            .collect()
    }
}

/// Lines for stderr: what was recognised, what is not planned, the problems.
pub fn describe(o: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    for r in &o.recognised {
        out.push(format!("ledger recognised: {}", crate::util::printable(r)));
    }
    for s in &o.not_planned {
        out.push(format!(
            "not planned ({}): {}",
            what(s),
            crate::util::printable(&s.line_text())
        ));
    }
    for p in &o.problems {
        out.push(format!("ledger: {}", crate::util::printable(p)));
    }
    out
}

/// Why a data statement is not planned, in a few words.
pub fn what(s: &DataStatement) -> &'static str {
    match s.verb {
        "insert" | "copy" => "seed rows",
        "update" | "merge" => "a backfill",
        "delete" | "truncate" => "a row removal",
        "setval" => "a sequence position",
        _ => "a data statement",
    }
}

/// The plan's notes for the not-planned section (kept in the body: the
/// body's SHA-256 covers them, so a reviewer's list cannot be edited away).
pub fn notes(o: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    if !o.not_planned.is_empty() {
        out.push(format!(
            "not planned: {} data statement(s) of the desired source that are not migration-ledger rows (pgalign plans the schema; run them yourself if they are needed):",
            o.not_planned.len()
        ));
        for s in &o.not_planned {
            out.push(format!("not planned ({}): {}", what(s), s.line_text()));
        }
    }
    for p in &o.problems {
        out.push(format!("ledger: {p}"));
    }
    out
}

/// `[[post_check]] ledger = "alembic" | "schema_version" | "prisma"`: the
/// live ledger of that tool, checked on its own (verify compares it with the
/// desired side besides). Alembic: one `alembic_version` row (several are
/// unmerged heads, none is an unstamped database), equal to `alembic_head`
/// when a migrations directory is known; schema_version: a `schema_version`
/// or `*_schema_version` table with rows; Prisma: `_prisma_migrations` with
/// no failed or unfinished migration.
pub async fn post_check(
    tool: &str,
    target: &ConnSettings,
    alembic_head: Option<&str>,
) -> std::result::Result<String, String> {
    let client = crate::db::connect(target)
        .await
        .map_err(|e| format!("connecting to {target}: {e:#}"))?;
    let found = candidates(&client, &[])
        .await
        .map_err(|e| format!("{e:#}"))?;
    let wanted = |f: &&Found| match tool {
        "alembic" => f.name.name == "alembic_version",
        "prisma" => f.name.name == "_prisma_migrations",
        _ => f.name.name == "schema_version" || f.name.name.ends_with("_schema_version"),
    };
    let Some(f) = found.iter().find(wanted) else {
        return Err(format!("no {tool} ledger table on {target}"));
    };
    let kind = known_kind(&f.name).map_or(Kind::Version, |k| k.0);
    let t = recognise(f.clone(), std::slice::from_ref(&f.name), &[], &[])
        .map_err(|e| format!("{e:#}"))?
        .map(|mut t| {
            t.kind = kind;
            t
        })
        .ok_or_else(|| format!("{} is not a ledger", f.name))?;
    let rows = read_rows(&client, &t.name, &t.columns)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let t = Table { rows, ..t };
    match tool {
        "alembic" => match t.rows.as_slice() {
            [] => Err(format!("{} is empty: the database is not stamped", t.name)),
            [one] => {
                let at = one[0].clone().unwrap_or_default();
                match alembic_head {
                    Some(head) if head != at => Err(format!(
                        "{} is at {at}, the migrations directory's head is {head}",
                        t.name
                    )),
                    _ => Ok(format!("{} at {at}", t.name)),
                }
            }
            many => Err(format!(
                "{} holds {} heads ({}): merge them",
                t.name,
                many.len(),
                values(&t, many)
            )),
        },
        "prisma" => {
            let failed = failed_rows(&t);
            if let Some(first) = failed.first() {
                Err(first.clone())
            } else {
                Ok(format!(
                    "{}: {} migration(s), none failed",
                    t.name,
                    t.rows.len()
                ))
            }
        }
        _ => {
            if t.rows.is_empty() {
                return Err(format!("{} has no version rows", t.name));
            }
            // Numeric versions by number (10 after 9), others as text.
            let last = t
                .rows
                .iter()
                .map(|r| t.key_of(r))
                .max_by_key(|k| {
                    let n: Vec<Option<i128>> = k
                        .iter()
                        .map(|v| v.as_deref().and_then(|v| v.parse().ok()))
                        .collect();
                    (n, k.clone())
                })
                .unwrap_or_default();
            let last: Vec<String> = last.into_iter().map(|v| v.unwrap_or_default()).collect();
            Ok(format!(
                "{}: {} version row(s), the last {}",
                t.name,
                t.rows.len(),
                last.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(kind: Kind, key: &str, rows: &[&str]) -> Table {
        Table {
            name: QName::new("cm", "schema_version"),
            kind,
            reason: String::new(),
            columns: vec![key.into(), "description".into()],
            key: vec![key.into()],
            insert: vec![key.into(), "description".into()],
            rows: rows
                .iter()
                .map(|r| vec![Some(r.to_string()), Some(format!("d{r}"))])
                .collect(),
        }
    }

    #[test]
    fn a_history_ledger_gets_only_the_missing_rows() {
        let live = table(Kind::Version, "version", &["1", "2", "3"]);
        let desired = table(Kind::Version, "version", &["4"]);
        let steps = steps_for(Some(&live), &desired);
        assert_eq!(steps.len(), 1);
        assert_eq!(
            steps[0].sql,
            "INSERT INTO cm.schema_version (version, description) VALUES\n  ('4', 'd4');"
        );
        assert_eq!(
            steps[0].title,
            "ledger cm.schema_version: insert version(s) 4 (live has 1, 2, 3)"
        );
        let done = table(Kind::Version, "version", &["1", "2", "3", "4"]);
        assert!(steps_for(Some(&done), &desired).is_empty());
    }

    #[test]
    fn alembic_moves_its_revision_or_replaces_heads() {
        let mk = |rows: &[&str]| Table {
            name: QName::new("public", "alembic_version"),
            kind: Kind::Alembic,
            reason: String::new(),
            columns: vec!["version_num".into()],
            key: vec!["version_num".into()],
            insert: vec!["version_num".into()],
            rows: rows.iter().map(|r| vec![Some(r.to_string())]).collect(),
        };
        let s = steps_for(Some(&mk(&["a1"])), &mk(&["b2"]));
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0].sql,
            "UPDATE public.alembic_version SET version_num = 'b2' WHERE version_num = 'a1';"
        );
        assert_eq!(s[0].hazards[0].id, HazardId::Ops);
        let s = steps_for(Some(&mk(&["x", "y"])), &mk(&["m"]));
        assert_eq!(s.len(), 2);
        assert!(
            s[0].sql
                .starts_with("DELETE FROM public.alembic_version WHERE version_num IN ('x', 'y')")
        );
        assert_eq!(s[0].hazards[0].id, HazardId::DataLoss);
        assert!(
            s[1].sql
                .starts_with("INSERT INTO public.alembic_version (version_num) VALUES")
        );
        assert!(steps_for(Some(&mk(&["m"])), &mk(&["m"])).is_empty());
        // The plan creates the table: the revision is inserted.
        let s = steps_for(None, &mk(&["m"]));
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0].title,
            "ledger public.alembic_version: insert revision(s) m (the plan creates the table)"
        );
    }

    #[test]
    fn a_known_ledger_with_unexpected_columns_is_an_error_naming_it() {
        let found = Found {
            name: QName::new("public", "alembic_version"),
            columns: vec!["version_num".into(), "applied_by".into()],
            primary_key: vec![],
        };
        let e = recognise(found, &[], &[], &[]).unwrap_err().to_string();
        assert!(e.starts_with("ledger table public.alembic_version (Alembic's version table) has unexpected column(s) applied_by"), "{e}");
    }

    #[test]
    fn a_version_named_table_is_a_ledger_only_when_the_source_fills_it() {
        let found = || Found {
            name: QName::new("cm", "schema_version"),
            columns: vec!["version".into(), "applied_at".into(), "description".into()],
            primary_key: vec!["version".into()],
        };
        assert!(recognise(found(), &[], &[], &[]).unwrap().is_none());
        let stmts = statements::scan(
            "INSERT INTO cm.schema_version (version, description) VALUES (4, 'x');",
            "f.sql",
        );
        let t = recognise(found(), &[], &stmts, &[]).unwrap().unwrap();
        assert_eq!(t.kind, Kind::Version);
        assert_eq!(t.insert, vec!["version", "description"]);
        assert!(t.reason.contains("f.sql:1"), "{}", t.reason);
        let t = recognise(found(), &[QName::new("cm", "schema_version")], &[], &[])
            .unwrap()
            .unwrap();
        assert_eq!(t.kind, Kind::Configured);
    }
}
