//! Set-based introspection: a fixed number of catalog queries, all inside one
//! `REPEATABLE READ READ ONLY` transaction, with `search_path` set to
//! `pg_catalog` so every deparsed name comes back schema-qualified. No query runs
//! per object, and no lock is taken on user tables.

mod sql;

use super::model::*;
use crate::db::{ConnSettings, connect, describe_error};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashMap};
use tokio_postgres::{Client, Row, Transaction};

/// Connects to `settings` and introspects its schema.
pub async fn inspect(settings: &ConnSettings) -> Result<Inspected> {
    let mut client = connect(settings).await?;
    introspect(&mut client)
        .await
        .with_context(|| format!("inspecting the schema of {settings}"))
}

/// Runs one catalog query, timing it when `PGALIGN_TIMINGS` is set.
async fn query(tx: &Transaction<'_>, what: &str, sql: &str) -> Result<Vec<Row>> {
    let started = std::time::Instant::now();
    let rows = tx
        .query(sql, &[])
        .await
        .map_err(|e| anyhow::anyhow!("catalog query for {what} failed: {}", describe_error(&e)));
    if std::env::var_os("PGALIGN_TIMINGS").is_some() {
        eprintln!(
            "pgalign: catalog query {:>7.1} ms  {what}",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    rows
}

fn qname(r: &Row, schema: usize, name: usize) -> QName {
    QName::new(r.get::<_, String>(schema), r.get::<_, String>(name))
}

/// Introspects the database `client` is connected to, in one snapshot.
pub async fn introspect(client: &mut Client) -> Result<Inspected> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| anyhow::anyhow!("starting a read-only snapshot: {}", describe_error(&e)))?;
    // JIT compiling the catalog joins cost most of a query's time at 5,000
    // tables (measured: 0.9 s of 1 s), and the queries are short-lived.
    tx.batch_execute(
        "SET LOCAL search_path = pg_catalog; SET LOCAL lock_timeout = '10s'; SET LOCAL jit = off",
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", describe_error(&e)))?;

    let mut out = Inspected::default();
    let meta = query(&tx, "server", sql::META).await?;
    out.server_version_num = meta[0].get(0);
    out.server_version = meta[0].get(1);
    out.database = meta[0].get(2);
    out.database_bytes = meta[0].get(3);
    out.current_user = meta[0].get(4);

    let tables = read_tables(&tx, &mut out).await?;
    let m = &mut out.model;
    read_types(&tx, m).await?;
    read_columns_and_constraints(&tx, m, &tables).await?;
    read_indexes_and_sequences(&tx, m).await?;
    read_views(&tx, m).await?;
    read_routines(&tx, m).await?;
    read_more(&tx, m).await?;
    for r in query(&tx, "owners and privileges", &sql::acls()).await? {
        let target: String = r.get(0);
        if let Some(owner) = r.get::<_, Option<String>>(1) {
            m.owners.insert(target.clone(), owner);
        }
        let entries: Vec<String> = r.get(2);
        if !entries.is_empty() {
            m.privileges.insert(target, entries);
        }
    }
    for r in query(&tx, "unmanaged objects", &sql::unmanaged()).await? {
        let value: Option<String> = r.get(1);
        m.unmanaged.insert(r.get(0), value.unwrap_or_default());
    }
    tx.commit()
        .await
        .map_err(|e| anyhow::anyhow!("ending the snapshot: {}", describe_error(&e)))?;
    Ok(out)
}

async fn read_tables(tx: &Transaction<'_>, out: &mut Inspected) -> Result<HashMap<u32, QName>> {
    for r in query(tx, "schemas", &sql::schemas()).await? {
        let name: String = r.get(0);
        let comment = r.get(1);
        out.model
            .schemas
            .insert(name.clone(), SchemaDef { name, comment });
    }
    for r in query(tx, "extensions", sql::EXTENSIONS).await? {
        let name: String = r.get(0);
        out.model.extensions.insert(
            name.clone(),
            Extension {
                name,
                schema: r.get(1),
                version: r.get(2),
            },
        );
    }
    let mut tables = HashMap::new();
    for r in query(tx, "tables", &sql::tables()).await? {
        let oid: u32 = r.get(0);
        let name = qname(&r, 1, 2);
        let reltuples: f64 = r.get(4);
        let relpages: i32 = r.get(5);
        let live: i64 = r.get(7);
        let heap_bytes: i64 = r.get(8);
        // reltuples is -1 (PG 14+) or 0 with no pages (PG 13) before the first
        // ANALYZE, and a restored or copied database has no statistics at all:
        // then a table only counts as empty when its heap file has no pages
        // (sizes come from the catalog when it has them; the file is only
        // looked at for tables never vacuumed or analysed).
        let rows = if reltuples > 0.0 || (reltuples == 0.0 && relpages > 0) {
            Some(reltuples.max(live as f64))
        } else if live > 0 {
            Some(live as f64)
        } else if heap_bytes == 0 {
            Some(0.0)
        } else {
            None
        };
        out.stats.insert(
            name.clone(),
            TableStats {
                rows,
                bytes: r.get(6),
            },
        );
        out.model.tables.insert(
            name.clone(),
            Table {
                name: name.clone(),
                unlogged: r.get(3),
                columns: Vec::new(),
                constraints: BTreeMap::new(),
                options: r.get(9),
                rls: r.get(10),
                comment: r.get(11),
                partition_key: r.get(12),
                partition_of: None,
                inherits: Vec::new(),
            },
        );
        let bound: Option<String> = r.get(13);
        let parents: Vec<QName> = r
            .get::<_, Vec<String>>(14)
            .iter()
            .filter_map(|p| p.split_once('\t'))
            .map(|(s, n)| QName::new(s, n))
            .collect();
        if let Some(t) = out.model.tables.get_mut(&name) {
            match bound {
                Some(b) => t.partition_of = parents.into_iter().next().map(|p| (p, b)),
                None => t.inherits = parents,
            }
        }
        tables.insert(oid, name);
    }
    roll_up_partition_sizes(out);
    Ok(tables)
}

/// A partitioned table stores nothing itself: its size is the sum of its
/// partitions' (unknown when any partition's row count is unknown).
fn roll_up_partition_sizes(out: &mut Inspected) {
    let leaves: Vec<(QName, TableStats)> = out
        .model
        .tables
        .values()
        .filter(|t| t.partition_key.is_none())
        .filter_map(|t| Some((t.name.clone(), *out.stats.get(&t.name)?)))
        .collect();
    for t in out
        .model
        .tables
        .values()
        .filter(|t| t.partition_key.is_some())
    {
        out.stats.insert(
            t.name.clone(),
            TableStats {
                rows: Some(0.0),
                bytes: 0,
            },
        );
    }
    for (leaf, stats) in leaves {
        let mut current = leaf;
        let mut guard = 0;
        while let Some((parent, _)) = out
            .model
            .tables
            .get(&current)
            .and_then(|t| t.partition_of.clone())
        {
            if let Some(ps) = out.stats.get_mut(&parent) {
                ps.bytes += stats.bytes;
                ps.rows = match (ps.rows, stats.rows) {
                    (Some(a), Some(b)) => Some(a + b),
                    _ => None,
                };
            }
            current = parent;
            guard += 1;
            if guard > 32 {
                break;
            }
        }
    }
}

async fn read_types(tx: &Transaction<'_>, m: &mut Model) -> Result<()> {
    for r in query(tx, "enums", &sql::enums()).await? {
        let name = qname(&r, 0, 1);
        m.enums.insert(
            name.clone(),
            EnumType {
                name,
                labels: r.get(2),
                comment: r.get(3),
            },
        );
    }
    for r in query(tx, "domains", &sql::domains()).await? {
        let name = qname(&r, 0, 1);
        let checks: Vec<String> = r.get(6);
        let checks = checks
            .iter()
            .filter_map(|c| c.split_once('\t'))
            .map(|(n, d)| (n.to_string(), d.to_string()))
            .collect();
        m.domains.insert(
            name.clone(),
            Domain {
                name,
                base_type: r.get(2),
                collation: r.get(3),
                default: r.get(4),
                not_null: r.get(5),
                checks,
                comment: r.get(7),
            },
        );
    }
    for r in query(tx, "composite types", &sql::composites()).await? {
        let name = qname(&r, 0, 1);
        let names: Vec<String> = r.get(2);
        let types: Vec<String> = r.get(3);
        let colls: Vec<String> = r.get(4);
        let attributes = names
            .into_iter()
            .zip(types)
            .zip(colls)
            .map(|((n, t), c)| (n, t, (!c.is_empty()).then_some(c)))
            .collect();
        m.composites.insert(
            name.clone(),
            Composite {
                name,
                attributes,
                comment: r.get(5),
            },
        );
    }
    Ok(())
}

async fn read_columns_and_constraints(
    tx: &Transaction<'_>,
    m: &mut Model,
    tables: &HashMap<u32, QName>,
) -> Result<()> {
    for r in query(tx, "columns", &sql::columns()).await? {
        let Some(table) = tables.get(&r.get::<_, u32>(0)) else {
            continue;
        };
        let expr: Option<String> = r.get(4);
        let identity: String = r.get(5);
        let generated: String = r.get(6);
        let generated_virtual = generated == "v";
        let (default, generated) = match generated.as_str() {
            "" => (expr, None),
            _ => (None, expr),
        };
        let col = Column {
            name: r.get(1),
            data_type: r.get(2),
            not_null: r.get(3),
            default,
            identity: match identity.as_str() {
                "a" => Some("always".into()),
                "d" => Some("by default".into()),
                _ => None,
            },
            generated,
            collation: r.get(7),
            comment: r.get(8),
            generated_virtual,
            identity_options: r.get(9),
        };
        if let Some(t) = m.tables.get_mut(table) {
            t.columns.push(col);
        }
    }
    for r in query(tx, "constraints", &sql::constraints()).await? {
        let Some(table) = tables.get(&r.get::<_, u32>(0)) else {
            continue;
        };
        let kind = match r.get::<_, String>(2).as_str() {
            "p" => ConstraintKind::PrimaryKey,
            "u" => ConstraintKind::Unique,
            "f" => ConstraintKind::ForeignKey,
            "c" => ConstraintKind::Check,
            _ => ConstraintKind::Exclusion,
        };
        let references = match (r.get::<_, Option<String>>(4), r.get::<_, Option<String>>(5)) {
            (Some(s), Some(n)) => Some(QName::new(s, n)),
            _ => None,
        };
        let c = Constraint {
            name: r.get(1),
            kind,
            definition: r.get(3),
            references,
            columns: r.get(6),
            comment: r.get(7),
        };
        if let Some(t) = m.tables.get_mut(table) {
            t.constraints.insert(c.name.clone(), c);
        }
    }
    Ok(())
}

async fn read_indexes_and_sequences(tx: &Transaction<'_>, m: &mut Model) -> Result<()> {
    for r in query(tx, "indexes", &sql::indexes()).await? {
        let schema: String = r.get(0);
        let name = QName::new(schema.clone(), r.get::<_, String>(1));
        let valid: bool = r.get(5);
        if !valid {
            m.unmanaged.insert(
                format!("invalid index {name}"),
                "left by a failed CREATE INDEX CONCURRENTLY; drop it or rebuild it".into(),
            );
            continue;
        }
        m.indexes.insert(
            name.clone(),
            Index {
                name,
                table: QName::new(schema, r.get::<_, String>(2)),
                definition: r.get(3),
                unique: r.get(4),
                columns: r.get(6),
                comment: r.get(7),
            },
        );
    }
    for r in query(tx, "sequences", &sql::sequences()).await? {
        let name = qname(&r, 0, 1);
        let owned_by = match (
            r.get::<_, Option<String>>(9),
            r.get::<_, Option<String>>(10),
            r.get::<_, Option<String>>(11),
        ) {
            (Some(s), Some(t), Some(c)) => Some((QName::new(s, t), c)),
            _ => None,
        };
        m.sequences.insert(
            name.clone(),
            Sequence {
                name,
                data_type: r.get(2),
                start: r.get(3),
                increment: r.get(4),
                min: r.get(5),
                max: r.get(6),
                cache: r.get(7),
                cycle: r.get(8),
                owned_by,
                comment: r.get(12),
            },
        );
    }
    Ok(())
}

async fn read_views(tx: &Transaction<'_>, m: &mut Model) -> Result<()> {
    let mut by_oid: HashMap<u32, QName> = HashMap::new();
    for r in query(tx, "views", &sql::views()).await? {
        let name = qname(&r, 1, 2);
        let definition: String = r.get(4);
        by_oid.insert(r.get(0), name.clone());
        m.views.insert(
            name.clone(),
            View {
                name,
                materialized: r.get(3),
                definition: definition.trim().trim_end_matches(';').to_string(),
                options: r.get(5),
                populated: r.get(6),
                comment: r.get(7),
                depends_on: Vec::new(),
            },
        );
    }
    for r in query(tx, "view dependencies", &sql::view_deps()).await? {
        let Some(view) = by_oid.get(&r.get::<_, u32>(0)) else {
            continue;
        };
        let dep = match (
            r.get::<_, Option<String>>(1),
            r.get::<_, Option<String>>(2),
            r.get::<_, Option<String>>(3),
            r.get::<_, Option<String>>(4),
            r.get::<_, Option<String>>(5),
            r.get::<_, Option<String>>(6),
        ) {
            (Some(s), Some(t), Some(c), _, _, _) => Dep::Column {
                table: QName::new(s, t),
                column: c,
            },
            (Some(s), Some(t), None, _, _, _) => Dep::Relation {
                name: QName::new(s, t),
            },
            (_, _, _, Some(key), _, _) => Dep::Function { key },
            (_, _, _, _, Some(s), Some(t)) => Dep::Type {
                name: QName::new(s, t),
            },
            _ => continue,
        };
        if let Some(v) = m.views.get_mut(view) {
            v.depends_on.push(dep);
        }
    }
    for v in m.views.values_mut() {
        v.depends_on.sort();
        v.depends_on.dedup();
    }
    Ok(())
}

async fn read_routines(tx: &Transaction<'_>, m: &mut Model) -> Result<()> {
    for r in query(tx, "functions", &sql::functions()).await? {
        let key: String = r.get(0);
        let deps: Vec<String> = r.get(8);
        let mut depends_on: Vec<Dep> = deps
            .iter()
            .filter_map(|d| {
                let mut parts = d.splitn(3, '\t');
                let (kind, schema, name) = (parts.next()?, parts.next()?, parts.next()?);
                let name = QName::new(schema, name);
                Some(match kind {
                    "r" => Dep::Relation { name },
                    _ => Dep::Type { name },
                })
            })
            .collect();
        depends_on.sort();
        m.functions.insert(
            key,
            Function {
                schema: r.get(1),
                name: r.get(2),
                kind: r.get(3),
                arguments: r.get(4),
                result: r.get(5),
                definition: r.get(6),
                comment: r.get(7),
                depends_on,
            },
        );
    }
    for r in query(tx, "triggers", &sql::triggers()).await? {
        let table = qname(&r, 0, 1);
        let name: String = r.get(2);
        m.triggers.insert(
            member_key(&table, &name),
            Trigger {
                table,
                name,
                definition: r.get(3),
                enabled: r.get(4),
                function: r.get(5),
                comment: r.get(6),
            },
        );
    }
    for r in query(tx, "policies", &sql::policies()).await? {
        let table = qname(&r, 0, 1);
        let name: String = r.get(2);
        m.policies.insert(
            member_key(&table, &name),
            Policy {
                table,
                name,
                permissive: r.get(3),
                command: r.get(4),
                roles: r.get(5),
                using: r.get(6),
                with_check: r.get(7),
            },
        );
    }
    Ok(())
}

/// Extended statistics, rules and collations.
async fn read_more(tx: &Transaction<'_>, m: &mut Model) -> Result<()> {
    for r in query(tx, "statistics objects", &sql::statistics()).await? {
        let name = qname(&r, 0, 1);
        m.statistics.insert(
            name.clone(),
            Statistics {
                name,
                table: qname(&r, 2, 3),
                definition: r.get(4),
                comment: r.get(5),
            },
        );
    }
    for r in query(tx, "rules", &sql::rules()).await? {
        let table = qname(&r, 1, 2);
        let name: String = r.get(3);
        let deps: Vec<String> = r.get(5);
        let mut depends_on: Vec<Dep> = deps
            .iter()
            .filter_map(|d| {
                let mut p = d.splitn(3, '\t');
                let (s, t, c) = (p.next()?, p.next()?, p.next().unwrap_or(""));
                let rel = QName::new(s, t);
                Some(if c.is_empty() {
                    Dep::Relation { name: rel }
                } else {
                    Dep::Column {
                        table: rel,
                        column: c.to_string(),
                    }
                })
            })
            .collect();
        depends_on.sort();
        m.rules.insert(
            member_key(&table, &name),
            Rule {
                table,
                name,
                definition: r.get(4),
                depends_on,
            },
        );
    }
    for r in query(tx, "collations", &sql::collations()).await? {
        let name = qname(&r, 0, 1);
        let provider = match r.get::<_, String>(2).as_str() {
            "i" => "icu",
            "b" => "builtin",
            _ => "libc",
        }
        .to_string();
        m.collations.insert(
            name.clone(),
            Collation {
                name,
                provider,
                deterministic: r.get(3),
                locale: r.get(4),
                lc_collate: r.get(5),
                lc_ctype: r.get(6),
            },
        );
    }
    Ok(())
}
