//! Reads what `--db` adds: server version and TimeZone, and for every relation
//! the file names (resolved through `search_path`): size, rows, columns,
//! constraints, foreign keys pointing at it, index usage. A fixed number of
//! set-based queries, read-only, no locks on user tables.

use super::action::{Action, TableCmd};
use super::ast::{Rel, TypeSpec};
use super::context::{ColFacts, DbFacts, TableFacts};
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
                if let TableCmd::AttachPartition { part } | TableCmd::DetachPartition { part, .. } =
                    cmd
                {
                    out.insert(part.clone());
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
            Action::Policy { rel, .. } | Action::CreateTrigger { rel, .. } => {
                out.insert(rel.clone());
            }
            _ => {}
        }
    }
    out
}

fn err(e: tokio_postgres::Error) -> anyhow::Error {
    anyhow!("{}", describe_error(&e))
}

/// Reads the facts of `rels` from the database `client` is connected to.
pub async fn gather(client: &Client, rels: &BTreeSet<Rel>) -> Result<DbFacts> {
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
    let names: Vec<String> = rels.iter().map(|r| r.sql()).collect();
    let rows = client
        .query(
            "SELECT x, c.oid, n.nspname || '.' || c.relname, c.relkind::text, c.reltuples::float8,
                    pg_total_relation_size(c.oid), pg_relation_size(c.oid), s.n_live_tup::float8,
                    (SELECT i.indrelid::regclass::text FROM pg_index i WHERE i.indexrelid = c.oid),
                    (SELECT si.idx_scan FROM pg_stat_user_indexes si WHERE si.indexrelid = c.oid)
             FROM unnest($1::text[]) AS x
             JOIN pg_class c ON c.oid = to_regclass(x)
             JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid",
            &[&names],
        )
        .await
        .map_err(err)
        .context("reading table sizes")?;
    let mut by_oid: HashMap<u32, Rel> = HashMap::new();
    // By name as sent: a plan names thousands of relations.
    let by_name: HashMap<&str, &Rel> = names.iter().map(String::as_str).zip(rels).collect();
    for r in rows {
        let x: String = r.get(0);
        let Some(&rel) = by_name.get(x.as_str()) else {
            continue;
        };
        let oid: u32 = r.get(1);
        let reltuples: f64 = r.get(4);
        let live: Option<f64> = r.get(7);
        let heap: i64 = r.get(6);
        let kind = r.get::<_, String>(3).chars().next().unwrap_or('r');
        let rows = if reltuples >= 0.0 && !(reltuples == 0.0 && live.unwrap_or(0.0) > 0.0) {
            Some(reltuples)
        } else {
            live
        };
        facts.tables.insert(
            rel.clone(),
            TableFacts {
                name: r.get(2),
                kind,
                rows,
                bytes: r.get(5),
                empty: heap == 0 && kind != 'p' && kind != 'i' && kind != 'v',
                index_of: r.get(8),
                index_scans: r.get(9),
                ..Default::default()
            },
        );
        by_oid.insert(oid, rel.clone());
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
    let rels = named_relations(&super::lint::file_actions(text));
    let mut facts = gather(client, &rels).await?;
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
