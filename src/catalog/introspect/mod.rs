//! Set-based introspection: a fixed number of catalog queries, all inside one
//! `REPEATABLE READ READ ONLY` snapshot (shared by two connections through
//! `pg_export_snapshot`, see [`introspect_pair`]), with `search_path` set to
//! `pg_catalog` so every deparsed name comes back schema-qualified. No query runs
//! per object, and no lock is taken on user tables.

mod kinds;
mod notnull;
mod partitions;
mod reparse;
mod settings;
mod sql;
mod unmanaged;

use super::model::*;
use crate::db::{ConnSettings, connect, describe_error};
use anyhow::{Context, Result, anyhow};
use futures_util::TryStreamExt;
use std::collections::{BTreeMap, HashMap};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Transaction};

tokio::task_local! {
    /// Set around work that inspects two databases at once (see
    /// [`one_connection_each`]).
    static ONE_CONNECTION: ();
    /// Set around the inspection of a desired schema (see [`without_sizes`]).
    static NO_SIZES: ();
}

/// Runs `f` with every [`inspect`] in it leaving out the database and table
/// sizes (`Inspected::database_bytes` 0, no `stats`). The desired side of a
/// diff needs neither, and at 10,000 tables they cost about a fifth of its
/// server time, on a machine where both sides share the cores.
pub async fn without_sizes<F: std::future::Future>(f: F) -> F::Output {
    NO_SIZES.scope((), f).await
}

/// Runs `f` with every [`inspect`] in it on one connection. When two schemas
/// are read at the same time (a diff), each already keeps a server core busy:
/// a second connection per side then only adds the cost of a second backend's
/// cold catalog caches (measured at 10,000 tables: diff 4.1 s with one
/// connection per side, 4.5 s with two).
pub async fn one_connection_each<F: std::future::Future>(f: F) -> F::Output {
    ONE_CONNECTION.scope((), f).await
}

/// Connects to `settings` and introspects its schema, on two connections that
/// share one snapshot when the server lets us (see [`introspect_pair`]).
pub async fn inspect(settings: &ConnSettings) -> Result<Inspected> {
    let mut client;
    let mut second = None;
    if ONE_CONNECTION.try_with(|_| ()).is_ok() {
        client = connect(settings).await?;
    } else {
        let (first, other) = tokio::join!(connect(settings), connect(settings));
        client = first?;
        // A second connection is an optimisation: when the server refuses it
        // (too many connections), everything runs on the first.
        second = other.ok();
    }
    introspect_pair(&mut client, second.as_mut())
        .await
        .with_context(|| format!("inspecting the schema of {settings}"))
}

/// Runs one catalog query and hands each row to `each` as it arrives (rows are
/// not collected), timing it when `PGALIGN_TIMINGS` is set.
async fn query(
    tx: &Transaction<'_>,
    what: &str,
    sql: &str,
    mut each: impl FnMut(Row) -> Result<()>,
) -> Result<()> {
    let started = std::time::Instant::now();
    let failed = |e: tokio_postgres::Error| {
        anyhow!("catalog query for {what} failed: {}", describe_error(&e))
    };
    let rows = tx
        .query_raw(sql, std::iter::empty::<&(dyn ToSql + Sync)>())
        .await
        .map_err(failed)?;
    let mut rows = std::pin::pin!(rows);
    while let Some(row) = rows.try_next().await.map_err(failed)? {
        each(row)?;
    }
    if std::env::var_os("PGALIGN_TIMINGS").is_some() {
        eprintln!(
            "pgalign: catalog query {:>7.1} ms  {what}",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(())
}

fn qname(r: &Row, schema: usize, name: usize) -> QName {
    QName::new(r.get::<_, String>(schema), r.get::<_, String>(name))
}

/// Starts the read-only snapshot transaction on `client`, importing the
/// exported snapshot `snapshot` when given.
async fn begin<'a>(client: &'a mut Client, snapshot: Option<&str>) -> Result<Transaction<'a>> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| anyhow!("starting a read-only snapshot: {}", describe_error(&e)))?;
    let import = snapshot
        .map(|s| format!("SET TRANSACTION SNAPSHOT {}; ", quote_literal(s)))
        .unwrap_or_default();
    // JIT compiling the catalog joins cost most of a query's time at 5,000
    // tables (measured: 0.9 s of 1 s), and the queries are short-lived.
    tx.batch_execute(&format!(
        "{import}SET LOCAL search_path = pg_catalog; SET LOCAL lock_timeout = '10s'; SET LOCAL jit = off"
    ))
    .await
    .map_err(|e| anyhow!("{}", describe_error(&e)))?;
    Ok(tx)
}

/// Introspects the database `client` is connected to, in one snapshot.
pub async fn introspect(client: &mut Client) -> Result<Inspected> {
    introspect_pair(client, None).await
}

/// Introspects in one snapshot. With a `second` connection to the same
/// database, the first exports its snapshot (`pg_export_snapshot`), the second
/// imports it, and the catalog queries are split between them so that the
/// server's deparse functions run on two cores; both see exactly the same
/// catalog. Without one (or when the server refuses to share its snapshot),
/// every query runs on `client`.
pub async fn introspect_pair(
    client: &mut Client,
    second: Option<&mut Client>,
) -> Result<Inspected> {
    let tx = begin(client, None).await?;
    let mut tx2 = None;
    if let Some(second) = second {
        let snapshot = tx
            .query_one("SELECT pg_export_snapshot()", &[])
            .await
            .ok()
            .map(|r| r.get::<_, String>(0));
        if let Some(snapshot) = snapshot {
            tx2 = begin(second, Some(&snapshot)).await.ok();
        }
    }
    let other = tx2.as_ref().unwrap_or(&tx);
    let (a, b) = tokio::join!(first_half(&tx), second_half(other));
    let (mut model, tables, column_settings) = a?;
    let (mut out, more, sizes, not_nulls, table_settings) = b?;
    if let Some(tx2) = tx2 {
        tx2.commit()
            .await
            .map_err(|e| anyhow!("ending the snapshot: {}", describe_error(&e)))?;
    }
    tx.commit()
        .await
        .map_err(|e| anyhow!("ending the snapshot: {}", describe_error(&e)))?;

    model.indexes = more.indexes;
    model.sequences = more.sequences;
    model.functions = more.functions;
    model.triggers = more.triggers;
    model.policies = more.policies;
    model.statistics = more.statistics;
    model.rules = more.rules;
    model.collations = more.collations;
    model.ranges = more.ranges;
    model.aggregates = more.aggregates;
    model.event_triggers = more.event_triggers;
    model.unmanaged = more.unmanaged;
    notnull::apply(&mut model, &tables, not_nulls);
    out.model = model;
    settings::merge(table_settings.and(column_settings), &tables, &mut out);
    for (oid, stats) in sizes {
        if let Some(name) = tables.get(&oid) {
            out.stats.insert(name.clone(), stats);
        }
    }
    roll_up_partition_sizes(&mut out);
    reparse::normalise(client, &mut out.model).await;
    Ok(out)
}

/// Schemas, extensions, types, tables with their columns and constraints,
/// views, owners and privileges, and column settings.
async fn first_half(
    tx: &Transaction<'_>,
) -> Result<(Model, HashMap<u32, QName>, settings::Settings)> {
    let mut m = Model::default();
    // Tables are keyed by oid while their columns and constraints are added
    // (a hash lookup per row rather than a search by qualified name).
    let mut tables = read_tables(tx, &mut m).await?;
    read_types(tx, &mut m).await?;
    read_columns_and_constraints(tx, &mut tables).await?;
    partitions::read(tx, &mut tables).await?;
    let names: HashMap<u32, QName> = tables
        .iter()
        .map(|(oid, t)| (*oid, t.name.clone()))
        .collect();
    m.tables = tables.into_values().map(|t| (t.name.clone(), t)).collect();
    read_views(tx, &mut m).await?;
    query(tx, "owners and privileges", &sql::acls(), |r| {
        let target: String = r.get(0);
        if let Some(owner) = r.get::<_, Option<String>>(1) {
            m.owners.insert(target.clone(), owner);
        }
        let entries: Vec<String> = r.get(2);
        // A role-wide default-privileges entry replaces PostgreSQL's own
        // defaults: an empty one (EXECUTE revoked from PUBLIC) is kept.
        if !entries.is_empty() || target.starts_with("DEFAULT PRIVILEGES ") {
            m.privileges.insert(target, entries);
        }
        Ok(())
    })
    .await?;
    let column_settings = settings::read_columns(tx).await?;
    Ok((m, names, column_settings))
}

/// Server facts, table sizes, indexes, sequences, routines, triggers,
/// policies, statistics, rules, collations, table settings, what is not
/// managed, and PostgreSQL 18's NOT NULL constraints (put on the columns
/// afterwards).
async fn second_half(
    tx: &Transaction<'_>,
) -> Result<(
    Inspected,
    Model,
    Vec<(u32, TableStats)>,
    Vec<notnull::Row>,
    settings::Settings,
)> {
    let mut out = Inspected::default();
    let sizes_wanted = NO_SIZES.try_with(|_| ()).is_err();
    let meta = if sizes_wanted {
        sql::META
    } else {
        sql::META_WITHOUT_SIZE
    };
    query(tx, "server", meta, |r| {
        out.server_version_num = r.get(0);
        out.server_version = r.get(1);
        out.database = r.get(2);
        out.database_bytes = r.get(3);
        out.current_user = r.get(4);
        Ok(())
    })
    .await?;
    let sizes = if sizes_wanted {
        read_table_sizes(tx, out.server_version_num).await?
    } else {
        Vec::new()
    };
    let not_nulls = notnull::read(tx, out.server_version_num).await?;
    let mut m = Model::default();
    read_indexes_and_sequences(tx, &mut m).await?;
    read_routines(tx, &mut m).await?;
    read_more(tx, &mut m).await?;
    kinds::read(tx, &mut m, out.server_version_num).await?;
    query(tx, "unmanaged objects", &sql::unmanaged(), |r| {
        let value: Option<String> = r.get(1);
        m.unmanaged.insert(r.get(0), value.unwrap_or_default());
        Ok(())
    })
    .await?;
    unmanaged::read(tx, &mut m).await?;
    let settings = settings::read_tables(tx).await?;
    Ok((out, m, sizes, not_nulls, settings))
}

async fn read_tables(tx: &Transaction<'_>, m: &mut Model) -> Result<HashMap<u32, Table>> {
    query(tx, "schemas", &sql::schemas(), |r| {
        let name: String = r.get(0);
        let comment = r.get(1);
        m.schemas.insert(name.clone(), SchemaDef { name, comment });
        Ok(())
    })
    .await?;
    query(tx, "extensions", sql::EXTENSIONS, |r| {
        let name: String = r.get(0);
        m.extensions.insert(
            name.clone(),
            Extension {
                name,
                schema: r.get(1),
                version: r.get(2),
            },
        );
        Ok(())
    })
    .await?;
    let mut tables = HashMap::new();
    query(tx, "tables", &sql::tables(), |r| {
        let oid: u32 = r.get(0);
        let name = qname(&r, 1, 2);
        let bound: Option<String> = r.get(8);
        let parents: Vec<QName> = r
            .get::<_, Vec<String>>(9)
            .iter()
            .filter_map(|p| p.split_once('\t'))
            .map(|(s, n)| QName::new(s, n))
            .collect();
        let (partition_of, inherits) = match bound {
            Some(b) => (parents.into_iter().next().map(|p| (p, b)), Vec::new()),
            None => (None, parents),
        };
        tables.insert(
            oid,
            Table {
                name,
                unlogged: r.get(3),
                columns: Vec::new(),
                constraints: BTreeMap::new(),
                options: r.get(4),
                rls: r.get(5),
                comment: r.get(6),
                partition_key: r.get(7),
                partition_of,
                inherits,
                replica_identity: None,
                access_method: None,
                tablespace: None,
                of_type: None,
                cluster_on: None,
                inherited_column_settings: BTreeMap::new(),
                partition_indexes: BTreeMap::new(),
            },
        );
        Ok(())
    })
    .await?;
    Ok(tables)
}

/// Row counts and sizes of managed tables, by oid.
async fn read_table_sizes(
    tx: &Transaction<'_>,
    server_version_num: i32,
) -> Result<Vec<(u32, TableStats)>> {
    let mut sizes = Vec::new();
    query(tx, "table sizes", &sql::table_sizes(), |r| {
        let reltuples: f64 = r.get(1);
        let relpages: i32 = r.get(2);
        let live: i64 = r.get(4);
        // reltuples is -1 (PG 14+) or 0 with no pages (PG 13) before the first
        // ANALYZE, and a restored or copied database may have no statistics at
        // all: a table then counts as empty only when the statistics say so,
        // never by default (unknown keeps hazards at their full severity).
        let rows = if reltuples > 0.0 || (reltuples == 0.0 && relpages > 0) {
            Some(reltuples.max(live as f64))
        } else if live > 0 {
            Some(live as f64)
        } else if reltuples == 0.0 && server_version_num >= 140000 {
            // PG 14+: 0 (not -1) means analysed, and nothing was inserted since.
            Some(0.0)
        } else {
            None
        };
        sizes.push((
            r.get(0),
            TableStats {
                rows,
                bytes: r.get(3),
            },
        ));
        Ok(())
    })
    .await?;
    Ok(sizes)
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
    query(tx, "enums", &sql::enums(), |r| {
        let name = qname(&r, 0, 1);
        m.enums.insert(
            name.clone(),
            EnumType {
                name,
                labels: r.get(2),
                comment: r.get(3),
            },
        );
        Ok(())
    })
    .await?;
    query(tx, "domains", &sql::domains(), |r| {
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
                check_functions: r.get(8),
            },
        );
        Ok(())
    })
    .await?;
    query(tx, "composite types", &sql::composites(), |r| {
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
        Ok(())
    })
    .await?;
    Ok(())
}

async fn read_columns_and_constraints(
    tx: &Transaction<'_>,
    tables: &mut HashMap<u32, Table>,
) -> Result<()> {
    query(tx, "columns", &sql::columns(), |r| {
        let Some(t) = tables.get_mut(&r.get::<_, u32>(0)) else {
            return Ok(());
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
            // PostgreSQL 18's NOT NULL constraints come from their own query.
            not_null_name: None,
            not_null_not_valid: false,
            not_null_no_inherit: false,
            settings: ColumnSettings::default(),
        };
        t.columns.push(col);
        Ok(())
    })
    .await?;
    query(tx, "constraints", &sql::constraints(), |r| {
        let Some(t) = tables.get_mut(&r.get::<_, u32>(0)) else {
            return Ok(());
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
            tablespace: None,
        };
        t.constraints.insert(c.name.clone(), c);
        Ok(())
    })
    .await?;
    Ok(())
}

async fn read_indexes_and_sequences(tx: &Transaction<'_>, m: &mut Model) -> Result<()> {
    query(tx, "indexes", &sql::indexes(), |r| {
        let schema: String = r.get(0);
        let name = QName::new(schema.clone(), r.get::<_, String>(1));
        let valid: bool = r.get(5);
        if !valid {
            m.unmanaged.insert(
                format!("invalid index {name}"),
                "left by a failed CREATE INDEX CONCURRENTLY; drop it or rebuild it".into(),
            );
            return Ok(());
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
                tablespace: None,
            },
        );
        Ok(())
    })
    .await?;
    query(tx, "sequences", &sql::sequences(), |r| {
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
        Ok(())
    })
    .await?;
    Ok(())
}

async fn read_views(tx: &Transaction<'_>, m: &mut Model) -> Result<()> {
    let mut by_oid: HashMap<u32, QName> = HashMap::new();
    query(tx, "views", &sql::views(), |r| {
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
        Ok(())
    })
    .await?;
    query(tx, "view dependencies", &sql::view_deps(), |r| {
        let Some(view) = by_oid.get(&r.get::<_, u32>(0)) else {
            return Ok(());
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
            _ => return Ok(()),
        };
        if let Some(v) = m.views.get_mut(view) {
            v.depends_on.push(dep);
        }
        Ok(())
    })
    .await?;
    for v in m.views.values_mut() {
        v.depends_on.sort();
        v.depends_on.dedup();
    }
    Ok(())
}

/// The relations and types a routine's signature uses, from `kind\tschema\tname`
/// entries (`r` a relation's row type, anything else a type), sorted.
fn signature_deps(entries: &[String]) -> Vec<Dep> {
    let mut deps: Vec<Dep> = entries
        .iter()
        .filter_map(|d| {
            let mut parts = d.splitn(3, '\t');
            let (kind, schema) = (parts.next()?, parts.next()?);
            if kind == "f" {
                // `f<TAB>regprocedure`: a routine a SQL-standard body calls.
                let rest = parts.next().map(|r| format!("\t{r}")).unwrap_or_default();
                return Some(Dep::Function {
                    key: format!("{schema}{rest}"),
                });
            }
            let name = QName::new(schema, parts.next()?);
            Some(match kind {
                "r" => Dep::Relation { name },
                _ => Dep::Type { name },
            })
        })
        .collect();
    deps.sort();
    deps
}

async fn read_routines(tx: &Transaction<'_>, m: &mut Model) -> Result<()> {
    query(tx, "functions", &sql::functions(), |r| {
        let key: String = r.get(0);
        let depends_on = signature_deps(&r.get::<_, Vec<String>>(8));
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
        Ok(())
    })
    .await?;
    query(tx, "triggers", &sql::triggers(), |r| {
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
        Ok(())
    })
    .await?;
    query(tx, "policies", &sql::policies(), |r| {
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
        Ok(())
    })
    .await?;
    Ok(())
}

/// Extended statistics, rules and collations.
async fn read_more(tx: &Transaction<'_>, m: &mut Model) -> Result<()> {
    query(tx, "statistics objects", &sql::statistics(), |r| {
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
        Ok(())
    })
    .await?;
    query(tx, "rules", &sql::rules(), |r| {
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
        Ok(())
    })
    .await?;
    query(tx, "collations", &sql::collations(), |r| {
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
        Ok(())
    })
    .await?;
    Ok(())
}
