//! Reads what `--db` adds: server version and TimeZone, and for every relation
//! the file names (resolved through `search_path`): size, rows, columns,
//! constraints, foreign keys pointing at it, index usage and columns; and for
//! what statements reach without naming it (the tables using a domain …) their
//! summed sizes. A fixed number of set-based queries (one more per reach),
//! read-only, no locks on user tables.

use super::action::{Action, DomainOp, ObjKind, TableCmd};
use super::ast::{Rel, TypeSpec};
use super::context::{ColFacts, DbFacts, Reach, TableFacts};
use crate::db::describe_error;
use anyhow::{Context, Result, anyhow};
use std::collections::{BTreeSet, HashMap};
use tokio_postgres::Client;

/// Every relation named by the actions of a file.
pub fn named_relations(actions: &[Action]) -> BTreeSet<Rel> {
    let mut out = BTreeSet::new();
    for a in actions {
        match a {
            Action::Drop { objects, on, .. } => {
                out.extend(objects.iter().cloned());
                out.extend(on.iter().cloned());
            }
            Action::Truncate { rels, .. }
            | Action::Vacuum { rels, .. }
            | Action::Lock { rels, .. } => out.extend(rels.iter().cloned()),
            Action::AlterTable { rel, cmd } => {
                out.insert(rel.clone());
                match cmd {
                    TableCmd::AttachPartition { part } | TableCmd::DetachPartition { part, .. } => {
                        out.insert(part.clone());
                    }
                    // The index lives in its table's schema.
                    TableCmd::AddConstraint(c) => {
                        if let Some(i) = &c.using_index {
                            out.insert(Rel::new(rel.schema.as_deref(), i));
                        }
                    }
                    _ => {}
                }
            }
            Action::CreateIndex { rel, .. }
            | Action::Refresh { rel, .. }
            | Action::Update { rel, .. }
            | Action::Delete { rel, .. } => {
                out.insert(rel.clone());
            }
            Action::Reindex { rel, index, .. } => {
                out.extend(rel.iter().chain(index.iter()).cloned())
            }
            Action::Cluster { rel: Some(r) } | Action::Rename { rel: Some(r), .. } => {
                out.insert(r.clone());
            }
            Action::Policy { rel, .. }
            | Action::CreateTrigger { rel, .. }
            | Action::CreateRule { rel, .. }
            | Action::SetSchema { rel: Some(rel), .. } => {
                out.insert(rel.clone());
            }
            _ => {}
        }
    }
    out
}

/// What the actions of a file reach without naming it (see [`Reach`]).
pub fn named_reaches(actions: &[Action]) -> BTreeSet<Reach> {
    let mut out = BTreeSet::new();
    for a in actions {
        match a {
            Action::AlterDomain { domain, op } if *op != DomainOp::Other => {
                out.insert(Reach::DomainUsers(domain.clone()));
            }
            Action::AlterTable {
                rel,
                cmd: TableCmd::DropAttribute { cascade: true, .. },
            } => {
                out.insert(Reach::TypedTables(rel.clone()));
            }
            Action::Drop {
                kind: ObjKind::Extension,
                objects,
                cascade: true,
                ..
            } => out.extend(
                objects
                    .iter()
                    .map(|o| Reach::ExtensionColumns(o.name.clone())),
            ),
            Action::DropOwned { roles, .. } => {
                out.insert(Reach::OwnedBy(roles.clone()));
            }
            Action::DropDatabase { name } => {
                out.insert(Reach::Database(name.clone()));
            }
            Action::Cluster { rel: None } => {
                out.insert(Reach::Clustered);
            }
            _ => {}
        }
    }
    out
}

/// The tables (by oid) a reach stands for.
async fn reach_members(client: &Client, reach: &Reach) -> Result<Vec<u32>> {
    let (sql, args): (&str, Vec<String>) = match reach {
        Reach::DomainUsers(d) => (
            "SELECT DISTINCT a.attrelid FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             WHERE a.atttypid = to_regtype(($1::text[])[1]) AND c.relkind IN ('r', 'm')
               AND a.attnum > 0 AND NOT a.attisdropped",
            vec![d.sql()],
        ),
        Reach::TypedTables(t) => (
            "SELECT c.oid FROM pg_class c WHERE c.reloftype = to_regtype(($1::text[])[1]) AND c.relkind IN ('r', 'p')",
            vec![t.sql()],
        ),
        Reach::ExtensionColumns(e) => (
            "SELECT DISTINCT a.attrelid FROM pg_extension e
             JOIN pg_depend d ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
                             AND d.classid = 'pg_type'::regclass AND d.deptype = 'e'
             JOIN pg_type ty ON ty.oid = d.objid
             JOIN pg_attribute a ON a.atttypid IN (ty.oid, ty.typarray) AND a.attnum > 0 AND NOT a.attisdropped
             JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'm')
             WHERE e.extname = ($1::text[])[1]",
            vec![e.clone()],
        ),
        Reach::OwnedBy(roles) => (
            "SELECT c.oid FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
             WHERE c.relkind IN ('r', 'm')
               AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace, 'pg_toast'::regnamespace)
               AND (r.rolname = ANY($1)
                    OR (r.rolname = current_user AND ('CURRENT_USER' = ANY($1) OR 'CURRENT_ROLE' = ANY($1)))
                    OR (r.rolname = session_user AND 'SESSION_USER' = ANY($1)))",
            roles.clone(),
        ),
        Reach::Clustered => (
            "SELECT DISTINCT i.indrelid FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
             WHERE i.indisclustered AND c.relkind IN ('r', 'm')",
            vec![],
        ),
        Reach::Database(_) => return Ok(vec![]),
    };
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        if args.is_empty() { vec![] } else { vec![&args] };
    let rows = client
        .query(sql, &params)
        .await
        .map_err(err)
        .with_context(|| format!("reading {}", reach.words()))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Names, kinds and sizes (the one sizing function) of relations by oid.
async fn sizes(client: &Client, oids: &[u32]) -> Result<HashMap<u32, TableFacts>> {
    if oids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = client
        .query(
            "SELECT c.oid, n.nspname || '.' || c.relname, c.relkind::text
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.oid = ANY($1)",
            &[&oids],
        )
        .await
        .map_err(err)
        .context("reading relation names")?;
    let mut measured = super::size::measure(client, oids).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let oid: u32 = r.get(0);
            (
                oid,
                TableFacts {
                    name: r.get(1),
                    kind: r.get::<_, String>(2).chars().next().unwrap_or('r'),
                    size: measured.remove(&oid).unwrap_or_default(),
                    ..Default::default()
                },
            )
        })
        .collect())
}

/// The facts of a reach: its tables' sizes summed, named by their names (a
/// database: its size, when the role may see it).
async fn reach_facts(client: &Client, reach: &Reach) -> Result<Option<TableFacts>> {
    if let Reach::Database(name) = reach {
        let row = client
            .query_opt(
                "SELECT pg_database_size(oid) FROM pg_database WHERE datname = $1 AND has_database_privilege(oid, 'CONNECT')",
                &[name],
            )
            .await
            .map_err(err)
            .with_context(|| format!("reading the size of database {name}"))?;
        return Ok(row.map(|r| TableFacts {
            name: reach.words(),
            kind: 'd',
            size: super::size::TableSize {
                bytes: r.get(0),
                ..Default::default()
            },
            ..Default::default()
        }));
    }
    let members = reach_members(client, reach).await?;
    let sized = sizes(client, &members).await?;
    let mut names: Vec<String> = sized.values().map(|t| t.name.clone()).collect();
    names.sort();
    Ok(Some(TableFacts {
        name: if names.is_empty() {
            "no table".into()
        } else {
            names.join(", ")
        },
        kind: 'r',
        size: super::size::TableSize::sum(sized.values().map(|t| &t.size)),
        members: names,
        ..Default::default()
    }))
}

fn err(e: tokio_postgres::Error) -> anyhow::Error {
    anyhow!("{}", describe_error(&e))
}

/// Reads the facts of `rels` from the database `client` is connected to.
/// The session's settings are as they were afterwards: the counts run under
/// the probes' timeouts and read only, and the client may be `apply`'s own.
pub async fn gather(
    client: &Client,
    rels: &BTreeSet<Rel>,
    reaches: &BTreeSet<Reach>,
) -> Result<DbFacts> {
    let saved = super::probe::Saved::read(client)
        .await
        .map_err(|e| anyhow!("{e}"))
        .context("reading the session's timeouts")?;
    let facts = gather_prepared(client, rels, reaches).await;
    let restored = saved
        .restore(client)
        .await
        .map_err(|e| anyhow!("{e}"))
        .context("restoring the session's timeouts after sizing");
    let facts = facts?;
    restored?;
    Ok(facts)
}

async fn gather_prepared(
    client: &Client,
    rels: &BTreeSet<Rel>,
    reaches: &BTreeSet<Reach>,
) -> Result<DbFacts> {
    let row = client
        .query_one("SELECT current_setting('server_version'), current_setting('server_version_num')::int, current_setting('TimeZone')", &[])
        .await
        .map_err(err)
        .context("reading the server version")?;
    let version: String = row.get(0);
    let num: i32 = row.get(1);
    let tz: String = row.get(2);
    let mut facts = DbFacts {
        version,
        major: (num / 10000) as u32,
        timezone_utc: matches!(
            tz.to_ascii_uppercase().as_str(),
            "UTC" | "ETC/UTC" | "GMT" | "UCT" | "ZULU" | "ETC/UCT"
        ),
        ..Default::default()
    };
    // Counts (of tables never analysed) run under the probes' timeouts.
    super::probe::prepare(client)
        .await
        .map_err(|e| anyhow!("{e}"))
        .context("setting up the session for sizing")?;
    let names: Vec<String> = rels.iter().map(|r| r.sql()).collect();
    let rows = client
        .query(
            "SELECT x, c.oid,
                    (SELECT i.indrelid::regclass::text FROM pg_index i WHERE i.indexrelid = c.oid),
                    (SELECT si.idx_scan FROM pg_stat_user_indexes si WHERE si.indexrelid = c.oid),
                    (SELECT array_agg(a.attname::text ORDER BY k.n)
                       FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                      WHERE i.indexrelid = c.oid)
             FROM unnest($1::text[]) AS x
             JOIN pg_class c ON c.oid = to_regclass(x)",
            &[&names],
        )
        .await
        .map_err(err)
        .context("resolving relation names")?;
    let resolved: Vec<u32> = rows.iter().map(|r| r.get(1)).collect();
    let mut sized = sizes(client, &resolved).await?;
    let mut by_oid: HashMap<u32, Rel> = HashMap::new();
    // By name as sent: a plan names thousands of relations.
    let by_name: HashMap<&str, &Rel> = names.iter().map(String::as_str).zip(rels).collect();
    for r in rows {
        let x: String = r.get(0);
        let Some(&rel) = by_name.get(x.as_str()) else {
            continue;
        };
        let oid: u32 = r.get(1);
        let Some(mut t) = sized.remove(&oid) else {
            continue;
        };
        t.index_of = r.get(2);
        t.index_scans = r.get(3);
        t.index_columns = r.get::<_, Option<Vec<String>>>(4).unwrap_or_default();
        facts.tables.insert(rel.clone(), t);
        by_oid.insert(oid, rel.clone());
    }
    for reach in reaches {
        if let Some(t) = reach_facts(client, reach).await? {
            facts.tables.insert(reach.rel(), t);
        }
    }
    let oids: Vec<u32> = by_oid.keys().copied().collect();
    if oids.is_empty() {
        return Ok(facts);
    }
    let cols = client
        .query(
            "SELECT a.attrelid, a.attname, t.typname, a.atttypmod, a.attnotnull,
                    (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e
                      WHERE e.enumtypid = CASE WHEN t.typelem <> 0 THEN t.typelem ELSE t.oid END)
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
             WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped",
            &[&oids],
        )
        .await
        .map_err(err)
        .context("reading columns")?;
    for r in cols {
        let Some(t) = by_oid
            .get(&r.get::<_, u32>(0))
            .and_then(|rel| facts.tables.get_mut(rel))
        else {
            continue;
        };
        let typname: String = r.get(2);
        let typ = type_spec(&typname, r.get(3));
        t.columns.insert(
            r.get(1),
            ColFacts {
                typ,
                not_null: r.get(4),
                enum_labels: r.get(5),
            },
        );
    }
    let cons = client
        .query(
            "SELECT c.conrelid, c.conname::text, c.contype::text, c.convalidated,
                    c.confrelid::regclass::text, pg_get_constraintdef(c.oid), c.confrelid, c.conrelid::regclass::text
             FROM pg_constraint c WHERE c.conrelid = ANY($1) OR c.confrelid = ANY($1)",
            &[&oids],
        )
        .await
        .map_err(err)
        .context("reading constraints")?;
    for r in cons {
        let contype = r.get::<_, String>(2).chars().next().unwrap_or('?');
        if let Some(t) = by_oid
            .get(&r.get::<_, u32>(0))
            .and_then(|rel| facts.tables.get_mut(rel))
        {
            let target: Option<String> = (contype == 'f').then(|| r.get(4));
            t.constraints.insert(r.get(1), (contype, target));
            let def: String = r.get(5);
            if contype == 'c' {
                let mut expr = def.strip_prefix("CHECK ").unwrap_or(&def).trim();
                for suffix in [" NOT VALID", " NO INHERIT"] {
                    expr = expr.strip_suffix(suffix).unwrap_or(expr).trim();
                }
                t.check_exprs.insert(r.get(1), expr.to_string());
            }
            if contype == 'c'
                && r.get::<_, bool>(3)
                && let Some(col) = def
                    .strip_prefix("CHECK ((")
                    .and_then(|d| d.strip_suffix(" IS NOT NULL))"))
            {
                t.not_null_checks.insert(col.trim_matches('"').to_string());
            }
        }
        if contype == 'f'
            && r.get::<_, u32>(0) != r.get::<_, u32>(6)
            && let Some(t) = by_oid
                .get(&r.get::<_, u32>(6))
                .and_then(|rel| facts.tables.get_mut(rel))
        {
            let from: String = r.get(7);
            t.foreign_keys_in.push((from.clone(), r.get(1)));
            if !t.referenced_by.contains(&from) {
                t.referenced_by.push(from);
            }
        }
    }
    Ok(facts)
}

/// A column type from `pg_type.typname` and `atttypmod`.
fn type_spec(typname: &str, typmod: i32) -> TypeSpec {
    let (array, base) = match typname.strip_prefix('_') {
        Some(b) => (true, b),
        None => (false, typname),
    };
    let mods = match (base, typmod) {
        (_, m) if m < 0 => vec![],
        ("varchar" | "bpchar", m) => vec![(m - 4) as i64],
        ("numeric", m) => vec![(((m - 4) >> 16) & 0xffff) as i64, ((m - 4) & 0xffff) as i64],
        ("timestamp" | "timestamptz" | "time" | "timetz" | "varbit" | "bit", m) => vec![m as i64],
        _ => vec![],
    };
    TypeSpec {
        name: base.to_string(),
        mods,
        array,
    }
}

/// Lints `text` against a live database: reads the facts of the relations it
/// names, lints, runs the probes the rules asked for (unless `probes` is
/// false), and lints again with their results.
pub async fn lint_live(
    text: &str,
    file: &str,
    client: &Client,
    probes: bool,
) -> Result<super::LintReport> {
    let actions = super::lint::file_actions(text);
    let rels = named_relations(&actions);
    let mut facts = gather(client, &rels, &named_reaches(&actions)).await?;
    let mut ctx = super::LintContext {
        file: file.to_string(),
        server_major: facts.major,
        db: Some(facts.clone()),
    };
    let report = super::lint_sql(text, &ctx)?;
    if !probes || report.wanted_probes.is_empty() {
        return Ok(report);
    }
    super::probe::run(client, &mut facts, &report.wanted_probes).await;
    ctx.db = Some(facts);
    super::lint_sql(text, &ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typmods_decode() {
        assert_eq!(type_spec("varchar", 24).mods, vec![20]);
        assert_eq!(type_spec("numeric", ((12 << 16) | 2) + 4).mods, vec![12, 2]);
        assert!(type_spec("_int4", -1).array);
    }
}
