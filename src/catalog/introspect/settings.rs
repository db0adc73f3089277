//! Table and column settings that most schemas leave at their defaults: replica
//! identity, access method, tablespace, typed tables (`OF type`), `CLUSTER ON`,
//! TOAST storage parameters, index tablespaces, and per-column storage,
//! compression, statistics target and attribute options.
//!
//! Each query returns only the rows that differ from the defaults, so a schema
//! that uses none of these costs a scan and no rows; the results are merged
//! into the tables read by the other half of the introspection, by oid.

use super::sql::{NS, not_ext, q};
use super::{Row, Transaction, query};
use crate::catalog::model::*;
use anyhow::Result;
use std::collections::HashMap;

/// Relation-level settings of one table, by oid.
#[derive(Debug, Default)]
pub struct TableSettings {
    replica_identity: Option<ReplicaIdentity>,
    access_method: Option<String>,
    tablespace: Option<String>,
    of_type: Option<QName>,
    cluster_on: Option<String>,
    toast_options: Vec<String>,
}

/// What [`read`] found, to merge with [`merge`].
#[derive(Debug, Default)]
pub struct Settings {
    tables: Vec<(u32, TableSettings)>,
    /// `(table oid, column, inherited, settings)`.
    columns: Vec<(u32, String, bool, ColumnSettings)>,
    /// `(schema, index, table oid, tablespace)`.
    index_tablespaces: Vec<(String, String, u32, String)>,
}

/// Tables whose replica identity, access method, tablespace, row type,
/// clustering index or TOAST storage parameters are not the defaults. The
/// managed-table conditions of `tbl` are checked on these candidates only
/// (building all of `tbl` for a handful of rows cost more than the rest).
fn tables_sql() -> String {
    format!(
        "WITH {NS}
         SELECT c.oid, c.relreplident::text,
                (SELECT ic.relname::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                 WHERE i.indrelid = c.oid AND i.indisreplident),
                CASE WHEN am.amname <> 'heap' THEN am.amname::text END,
                ts.spcname::text, otn.nspname::text, ot.typname::text,
                (SELECT ic.relname::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                 WHERE i.indrelid = c.oid AND i.indisclustered),
                ARRAY(SELECT 'toast.' || o FROM unnest(coalesce(tc.reloptions, '{{}}')) o ORDER BY o)
         FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
         LEFT JOIN pg_am am ON am.oid = c.relam
         LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
         LEFT JOIN pg_type ot ON ot.oid = c.reloftype
         LEFT JOIN pg_namespace otn ON otn.oid = ot.typnamespace
         LEFT JOIN pg_class tc ON tc.oid = nullif(c.reltoastrelid, 0)
         WHERE c.relkind IN ('r', 'p')
           AND (c.relreplident <> 'd' OR c.reltablespace <> 0 OR c.reloftype <> 0 OR am.amname <> 'heap'
                OR c.oid IN (SELECT indrelid FROM pg_index WHERE indisclustered)
                OR c.reltoastrelid IN (SELECT oid FROM pg_class WHERE relkind = 't' AND reloptions IS NOT NULL))
           AND {}",
        not_ext("pg_class", "c")
    )
}

/// Columns of managed tables (their own and inherited ones) whose storage,
/// compression (PostgreSQL 14+), statistics target or options are set. The
/// statistics target is -1 by default before PostgreSQL 17 and NULL from 17.
/// The storage test probes a hash of `pg_type` (a join made the planner sort
/// every column of every table).
fn columns_sql(server_version_num: i32) -> String {
    let (compression, compressed) = if server_version_num >= 140000 {
        (
            "CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END",
            " OR a.attcompression <> ''",
        )
    } else {
        ("NULL::text", "")
    };
    q(&format!(
        "SELECT a.attrelid, a.attname::text, a.attinhcount > 0,
                CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END,
                {compression},
                CASE WHEN a.attstattarget >= 0 THEN a.attstattarget::int END,
                ARRAY(SELECT o FROM unnest(coalesce(a.attoptions, '{{}}')) o ORDER BY o),
                t.typstorage::text
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
         WHERE a.attnum > 0 AND NOT a.attisdropped
           AND (a.attstattarget >= 0 OR a.attoptions IS NOT NULL{compressed}
                OR (a.atttypid, a.attstorage) NOT IN (SELECT oid, typstorage FROM pg_type))
           AND a.attrelid IN (SELECT oid FROM tbl)"
    ))
}

/// Indexes of managed tables and materialized views outside the default
/// tablespace (those that back constraints included).
fn index_tablespaces_sql() -> String {
    q(
        "SELECT ns.nspname::text, ic.relname::text, i.indrelid, ts.spcname::text
       FROM pg_class ic JOIN pg_index i ON i.indexrelid = ic.oid
       JOIN pg_tablespace ts ON ts.oid = ic.reltablespace
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN ns ON ns.oid = t.relnamespace
       WHERE ic.reltablespace <> 0
         AND (t.relkind = 'm' OR EXISTS (SELECT 1 FROM tbl WHERE tbl.oid = t.oid))",
    )
}

fn storage_word(letter: &str) -> String {
    match letter {
        "p" => "plain",
        "e" => "external",
        "m" => "main",
        _ => "extended",
    }
    .to_string()
}

/// Relation-level settings and index tablespaces (two queries, whatever the
/// schema's size).
pub async fn read_tables(tx: &Transaction<'_>) -> Result<Settings> {
    let mut out = Settings::default();
    query(tx, "table settings", &tables_sql(), |r: Row| {
        let replica_identity = match r.get::<_, String>(1).as_str() {
            "f" => Some(ReplicaIdentity::Full),
            "n" => Some(ReplicaIdentity::Nothing),
            // `i` without an index (it was dropped) replicates as `nothing`.
            "i" => Some(match r.get::<_, Option<String>>(2) {
                Some(index) => ReplicaIdentity::Index(index),
                None => ReplicaIdentity::Nothing,
            }),
            _ => None,
        };
        let of_type = match (r.get::<_, Option<String>>(5), r.get::<_, Option<String>>(6)) {
            (Some(s), Some(n)) => Some(QName::new(s, n)),
            _ => None,
        };
        out.tables.push((
            r.get(0),
            TableSettings {
                replica_identity,
                access_method: r.get(3),
                tablespace: r.get(4),
                of_type,
                cluster_on: r.get(7),
                toast_options: r.get(8),
            },
        ));
        Ok(())
    })
    .await?;
    query(
        tx,
        "index tablespaces",
        &index_tablespaces_sql(),
        |r: Row| {
            out.index_tablespaces
                .push((r.get(0), r.get(1), r.get(2), r.get(3)));
            Ok(())
        },
    )
    .await?;
    Ok(out)
}

/// Column settings (two queries: the server version, which decides the
/// columns the query may name, and the settings).
pub async fn read_columns(tx: &Transaction<'_>) -> Result<Settings> {
    let mut out = Settings::default();
    let mut server_version_num = 0;
    query(
        tx,
        "server version",
        "SELECT current_setting('server_version_num')::int",
        |r: Row| {
            server_version_num = r.get(0);
            Ok(())
        },
    )
    .await?;
    query(
        tx,
        "column settings",
        &columns_sql(server_version_num),
        |r: Row| {
            let storage: Option<String> = r.get(3);
            out.columns.push((
                r.get(0),
                r.get(1),
                r.get(2),
                ColumnSettings {
                    type_storage: storage
                        .is_some()
                        .then(|| storage_word(&r.get::<_, String>(7))),
                    storage: storage.as_deref().map(storage_word),
                    compression: r.get(4),
                    statistics: r.get(5),
                    options: r.get(6),
                },
            ));
            Ok(())
        },
    )
    .await?;
    Ok(out)
}

impl Settings {
    /// The settings of both halves of the introspection together.
    pub fn and(mut self, other: Settings) -> Settings {
        self.tables.extend(other.tables);
        self.columns.extend(other.columns);
        self.index_tablespaces.extend(other.index_tablespaces);
        self
    }
}

/// Puts the settings into the model, whose tables are named by oid in `names`.
pub fn merge(s: Settings, names: &HashMap<u32, QName>, out: &mut Inspected) {
    let m = &mut out.model;
    for (oid, ts) in s.tables {
        let Some(t) = names.get(&oid).and_then(|n| m.tables.get_mut(n)) else {
            continue;
        };
        t.replica_identity = ts.replica_identity;
        t.access_method = ts.access_method;
        t.tablespace = ts.tablespace;
        t.of_type = ts.of_type;
        t.cluster_on = ts.cluster_on;
        if !ts.toast_options.is_empty() {
            t.options.extend(ts.toast_options);
            t.options.sort();
        }
    }
    for (oid, column, inherited, settings) in s.columns {
        let Some(t) = names.get(&oid).and_then(|n| m.tables.get_mut(n)) else {
            continue;
        };
        match t.columns.iter_mut().find(|c| c.name == column) {
            Some(c) if !inherited => c.settings = settings,
            _ => {
                t.inherited_column_settings.insert(column, settings);
            }
        }
    }
    for (schema, index, table, tablespace) in s.index_tablespaces {
        let name = QName::new(schema, index);
        if let Some(i) = m.indexes.get_mut(&name) {
            i.tablespace = Some(tablespace);
        } else if let Some(c) = names
            .get(&table)
            .and_then(|n| m.tables.get_mut(n))
            .and_then(|t| t.constraints.get_mut(&name.name))
        {
            // A constraint's index carries the constraint's name.
            c.tablespace = Some(tablespace);
        }
    }
}
