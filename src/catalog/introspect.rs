//! Set-based introspection: a fixed number of catalog queries, all inside one
//! `REPEATABLE READ READ ONLY` transaction, with `search_path` set to
//! `pg_catalog` so every deparsed name comes back schema-qualified. No query runs
//! per table, and no lock is taken on user tables.

use super::model::*;
use crate::db::{ConnSettings, connect, describe_error};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashMap};
use tokio_postgres::Client;

/// Managed schemas: not system, toast or temp schemas, not owned by an extension.
const NS: &str = "ns AS (
    SELECT n.oid, n.nspname FROM pg_namespace n
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e'))";

/// Managed tables: ordinary tables that are not partitions, not partitioned and
/// not part of an inheritance tree (those are reported as unmanaged for now),
/// and not owned by an extension.
const TBL: &str = "tbl AS (
    SELECT c.oid, ns.nspname, c.relname, c.relpersistence, c.reltuples, c.relpages
    FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
    WHERE c.relkind = 'r' AND NOT c.relispartition
      AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid)
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))";

fn q(body: &str) -> String {
    format!("WITH {NS}, {TBL} {body}")
}

/// Connects to `settings` and introspects its schema.
pub async fn inspect(settings: &ConnSettings) -> Result<Inspected> {
    let mut client = connect(settings).await?;
    introspect(&mut client)
        .await
        .with_context(|| format!("inspecting the schema of {settings}"))
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
    tx.batch_execute("SET LOCAL search_path = pg_catalog; SET LOCAL lock_timeout = '10s'")
        .await
        .map_err(|e| anyhow::anyhow!("{}", describe_error(&e)))?;
    let timings = std::env::var_os("PGALIGN_TIMINGS").is_some();
    let query = |sql: String| {
        let tx = &tx;
        async move {
            let started = std::time::Instant::now();
            let rows = tx
                .query(&sql, &[])
                .await
                .map_err(|e| anyhow::anyhow!("catalog query failed: {}", describe_error(&e)));
            if timings {
                let head: String = sql
                    .split_whitespace()
                    .skip(30)
                    .take(8)
                    .collect::<Vec<_>>()
                    .join(" ");
                eprintln!(
                    "pgalign: catalog query {:>7.1} ms: {head}",
                    started.elapsed().as_secs_f64() * 1e3
                );
            }
            rows
        }
    };

    let mut out = Inspected::default();
    let meta = query(
        "SELECT current_setting('server_version_num')::int, current_setting('server_version'),
                current_database()::text, pg_database_size(current_database())"
            .into(),
    )
    .await?;
    out.server_version_num = meta[0].get(0);
    out.server_version = meta[0].get(1);
    out.database = meta[0].get(2);
    out.database_bytes = meta[0].get(3);
    let model = &mut out.model;

    for r in query(q("SELECT nspname::text FROM ns")).await? {
        let name: String = r.get(0);
        model.schemas.insert(name.clone(), SchemaDef { name });
    }

    for r in query(q(
        "SELECT ns.nspname::text, t.typname::text, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
         FROM pg_type t JOIN ns ON ns.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
         WHERE NOT EXISTS (SELECT 1 FROM pg_depend d
                           WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
         GROUP BY 1, 2",
    ))
    .await?
    {
        let name = QName::new(r.get::<_, String>(0), r.get::<_, String>(1));
        model.enums.insert(
            name.clone(),
            EnumType {
                name,
                labels: r.get(2),
            },
        );
    }

    let mut tables: HashMap<u32, QName> = HashMap::new();
    for r in query(q(
        "SELECT tbl.oid, tbl.nspname::text, tbl.relname::text, tbl.relpersistence = 'u',
                tbl.reltuples::float8, tbl.relpages, pg_total_relation_size(tbl.oid),
                coalesce(s.n_live_tup, 0), pg_relation_size(tbl.oid)
         FROM tbl LEFT JOIN pg_stat_user_tables s ON s.relid = tbl.oid",
    ))
    .await?
    {
        let oid: u32 = r.get(0);
        let name = QName::new(r.get::<_, String>(1), r.get::<_, String>(2));
        let reltuples: f64 = r.get(4);
        let relpages: i32 = r.get(5);
        let live: i64 = r.get(7);
        let heap_bytes: i64 = r.get(8);
        // reltuples is -1 (PG 14+) or 0 with no pages (PG 13) before the first
        // ANALYZE, and a restored or copied database has no statistics at all:
        // then a table only counts as empty when its heap has no pages.
        let rows = if reltuples > 0.0 || (reltuples == 0.0 && relpages > 0) {
            Some(reltuples)
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
        model.tables.insert(
            name.clone(),
            Table {
                name: name.clone(),
                unlogged: r.get(3),
                columns: Vec::new(),
                constraints: BTreeMap::new(),
            },
        );
        tables.insert(oid, name);
    }

    for r in query(q(
        "SELECT a.attrelid, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text,
                CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                     THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
         FROM pg_attribute a
         JOIN tbl ON tbl.oid = a.attrelid
         JOIN pg_type t ON t.oid = a.atttypid
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         LEFT JOIN pg_collation co ON co.oid = a.attcollation
         LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
         WHERE a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attrelid, a.attnum",
    ))
    .await?
    {
        let Some(table) = tables.get(&r.get::<_, u32>(0)) else {
            continue;
        };
        let expr: Option<String> = r.get(4);
        let identity: String = r.get(5);
        let generated: String = r.get(6);
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
        };
        if let Some(t) = model.tables.get_mut(table) {
            t.columns.push(col);
        }
    }

    for r in query(q(
        "SELECT co.conrelid, co.conname::text, co.contype::text, pg_get_constraintdef(co.oid),
                rn.nspname::text, rc.relname::text,
                ARRAY(SELECT a.attname::text FROM unnest(co.conkey) WITH ORDINALITY k(num, ord)
                      JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.num
                      ORDER BY k.ord)
         FROM pg_constraint co
         JOIN tbl ON tbl.oid = co.conrelid
         LEFT JOIN pg_class rc ON rc.oid = co.confrelid
         LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
         WHERE co.contype IN ('p', 'u', 'f', 'c', 'x')",
    ))
    .await?
    {
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
        };
        if let Some(t) = model.tables.get_mut(table) {
            t.constraints.insert(c.name.clone(), c);
        }
    }

    for r in query(q(
        "SELECT tbl.nspname::text, ic.relname::text, tbl.relname::text, pg_get_indexdef(i.indexrelid),
                i.indisunique, i.indisvalid,
                ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) k(num)
                      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num)
         FROM pg_index i
         JOIN tbl ON tbl.oid = i.indrelid
         JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE NOT EXISTS (SELECT 1 FROM pg_constraint co
                           WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid
                             AND co.contype IN ('p', 'u', 'x'))",
    ))
    .await?
    {
        let schema: String = r.get(0);
        let name = QName::new(schema.clone(), r.get::<_, String>(1));
        let valid: bool = r.get(5);
        if !valid {
            model.unmanaged.insert(
                format!("invalid index {name}"),
                "left by a failed CREATE INDEX CONCURRENTLY; drop it or rebuild it".into(),
            );
            continue;
        }
        model.indexes.insert(
            name.clone(),
            Index {
                name,
                table: QName::new(schema, r.get::<_, String>(2)),
                definition: r.get(3),
                unique: r.get(4),
                columns: r.get(6),
            },
        );
    }

    for r in query(q(
        "SELECT ns.nspname::text, c.relname::text, format_type(s.seqtypid, NULL),
                s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                tn.nspname::text, tc.relname::text, ta.attname::text
         FROM pg_sequence s
         JOIN pg_class c ON c.oid = s.seqrelid
         JOIN ns ON ns.oid = c.relnamespace
         LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
              AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
         LEFT JOIN pg_class tc ON tc.oid = d.refobjid
         LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
         LEFT JOIN pg_attribute ta ON ta.attrelid = d.refobjid AND ta.attnum = d.refobjsubid
         WHERE d.deptype IS DISTINCT FROM 'i'
           AND NOT EXISTS (SELECT 1 FROM pg_depend e
                           WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')",
    ))
    .await?
    {
        let name = QName::new(r.get::<_, String>(0), r.get::<_, String>(1));
        let owned_by = match (
            r.get::<_, Option<String>>(9),
            r.get::<_, Option<String>>(10),
            r.get::<_, Option<String>>(11),
        ) {
            (Some(s), Some(t), Some(c)) => Some((QName::new(s, t), c)),
            _ => None,
        };
        model.sequences.insert(
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
            },
        );
    }

    for r in query(q(UNMANAGED)).await? {
        let key: String = r.get(0);
        let value: Option<String> = r.get(1);
        model.unmanaged.insert(key, value.unwrap_or_default());
    }

    tx.commit()
        .await
        .map_err(|e| anyhow::anyhow!("ending the snapshot: {}", describe_error(&e)))?;
    Ok(out)
}

/// Everything in managed schemas that the model does not cover yet, with a hash of
/// its definition so that a change to it still shows as a difference.
const UNMANAGED: &str = "
SELECT CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view '
                      WHEN 'f' THEN 'foreign table ' WHEN 'p' THEN 'partitioned table '
                      ELSE CASE WHEN c.relispartition THEN 'partition ' ELSE 'inheritance table ' END END
       || quote_ident(ns.nspname) || '.' || quote_ident(c.relname),
       CASE WHEN c.relkind IN ('v', 'm') THEN md5(pg_get_viewdef(c.oid)) END
FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
WHERE (c.relkind IN ('v', 'm', 'f', 'p')
       OR (c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM tbl WHERE tbl.oid = c.oid)))
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END
       || p.oid::regprocedure::text,
       md5(coalesce(p.prosrc, '') || format_type(p.prorettype, NULL) || p.provolatile::text || p.prosecdef::text)
FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'trigger ' || quote_ident(tg.tgname) || ' on ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname),
       md5(pg_get_triggerdef(tg.oid) || tg.tgenabled::text)
FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN ns ON ns.oid = c.relnamespace
WHERE NOT tg.tgisinternal
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'domain ' WHEN 'r' THEN 'range type ' WHEN 'm' THEN 'multirange type ' ELSE 'type ' END
       || quote_ident(ns.nspname) || '.' || quote_ident(t.typname),
       md5(format_type(t.typbasetype, t.typtypmod) || t.typnotnull::text
           || coalesce((SELECT string_agg(pg_get_constraintdef(co.oid), ',' ORDER BY co.conname)
                        FROM pg_constraint co WHERE co.contypid = t.oid), ''))
FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
WHERE (t.typtype IN ('d', 'r')
       OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c')))
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
UNION ALL
SELECT 'policy ' || quote_ident(pol.polname) || ' on ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname),
       md5(coalesce(pg_get_expr(pol.polqual, pol.polrelid), '') || coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid), '')
           || pol.polcmd::text || pol.polpermissive::text)
FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN ns ON ns.oid = c.relnamespace
UNION ALL
SELECT 'row level security on ' || quote_ident(tbl.nspname) || '.' || quote_ident(c.relname),
       CASE WHEN c.relforcerowsecurity THEN 'forced' ELSE 'enabled' END
FROM pg_class c JOIN tbl ON tbl.oid = c.oid WHERE c.relrowsecurity
UNION ALL
SELECT 'extension ' || quote_ident(e.extname), e.extversion FROM pg_extension e WHERE e.extname <> 'plpgsql'
";
