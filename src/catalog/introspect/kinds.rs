//! Range types, aggregates and event triggers: one set-based query each, in
//! the same snapshot as the others (extension members left out).

use super::sql::{comment_join, not_ext, q};
use super::{qname, query};
use crate::catalog::model::*;
use anyhow::Result;
use tokio_postgres::Transaction;

/// Range types in managed schemas. `server_version_num` decides whether
/// `pg_range.rngmultitypid` (PostgreSQL 14+) exists.
pub fn ranges(server_version_num: i32) -> String {
    let multirange = if server_version_num >= 140000 {
        "rg.rngmultitypid"
    } else {
        "0::oid"
    };
    q(&format!(
        "SELECT ns.nspname::text, t.typname::text, format_type(rg.rngsubtype, NULL),
                CASE WHEN NOT opc.opcdefault THEN quote_ident(opn.nspname) || '.' || quote_ident(opc.opcname) END,
                CASE WHEN rg.rngcollation <> 0 AND rg.rngcollation <> st.typcollation
                     THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END,
                nullif(rg.rngcanonical::oid, 0)::regprocedure::text,
                nullif(rg.rngsubdiff::oid, 0)::regprocedure::text,
                mn.nspname::text, mt.typname::text, dsc.description
         FROM pg_range rg
         JOIN pg_type t ON t.oid = rg.rngtypid
         JOIN ns ON ns.oid = t.typnamespace
         JOIN pg_type st ON st.oid = rg.rngsubtype
         JOIN pg_opclass opc ON opc.oid = rg.rngsubopc
         JOIN pg_namespace opn ON opn.oid = opc.opcnamespace
         LEFT JOIN pg_collation co ON co.oid = rg.rngcollation
         LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
         LEFT JOIN pg_type mt ON mt.oid = {multirange}
         LEFT JOIN pg_namespace mn ON mn.oid = mt.typnamespace {}
         WHERE {}",
        comment_join("pg_type", "t", "dsc"),
        not_ext("pg_type", "t")
    ))
}

/// Aggregates in managed schemas with every `pg_aggregate` property, and the
/// types in managed schemas their signature and state use.
pub fn aggregates() -> String {
    let f = |col: &str| format!("nullif(a.{col}::oid, 0)::regprocedure::text");
    q(&format!(
        "SELECT p.oid::regprocedure::text, ns.nspname::text, p.proname::text,
                pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
                a.aggkind::text, a.aggnumdirectargs,
                a.aggtransfn::oid::regprocedure::text, format_type(a.aggtranstype, NULL), a.aggtransspace,
                {final_}, a.aggfinalextra, a.aggfinalmodify::text,
                {combine}, {serial}, {deserial}, a.agginitval,
                {msfunc}, {minv},
                CASE WHEN a.aggmtranstype <> 0 THEN format_type(a.aggmtranstype, NULL) END, a.aggmtransspace,
                {mfinal}, a.aggmfinalextra, a.aggmfinalmodify::text, a.aggminitval,
                (SELECT quote_ident(opn.nspname) || '.' || o.oprname FROM pg_operator o
                 JOIN pg_namespace opn ON opn.oid = o.oprnamespace WHERE o.oid = a.aggsortop),
                p.proparallel::text, dsc.description,
                ARRAY(SELECT DISTINCT CASE WHEN t.typrelid <> 0 THEN 'r' ELSE 't' END || E'\\t'
                             || tn.nspname || E'\\t' || t.typname
                      FROM pg_depend d JOIN pg_type t ON t.oid = d.refobjid
                      JOIN ns tn ON tn.oid = t.typnamespace
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                        AND d.refclassid = 'pg_type'::regclass AND d.deptype = 'n')
         FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
         JOIN ns ON ns.oid = p.pronamespace {}
         WHERE {}",
        comment_join("pg_proc", "p", "dsc"),
        not_ext("pg_proc", "p"),
        final_ = f("aggfinalfn"),
        combine = f("aggcombinefn"),
        serial = f("aggserialfn"),
        deserial = f("aggdeserialfn"),
        msfunc = f("aggmtransfn"),
        minv = f("aggminvtransfn"),
        mfinal = f("aggmfinalfn"),
    ))
}

/// Event triggers that no extension owns.
pub fn event_triggers() -> String {
    format!(
        "SELECT et.evtname::text, et.evtevent::text,
                ARRAY(SELECT tag FROM unnest(coalesce(et.evttags, '{{}}')) tag ORDER BY tag),
                et.evtfoid::regprocedure::text, et.evtenabled::text, dsc.description
         FROM pg_event_trigger et {}
         WHERE {}",
        comment_join("pg_event_trigger", "et", "dsc"),
        not_ext("pg_event_trigger", "et")
    )
}

fn modify(c: &str) -> String {
    match c {
        "s" => "shareable",
        "w" => "read_write",
        _ => "read_only",
    }
    .into()
}

/// Reads range types, aggregates and event triggers into `m`.
pub async fn read(tx: &Transaction<'_>, m: &mut Model, server_version_num: i32) -> Result<()> {
    query(tx, "range types", &ranges(server_version_num), |r| {
        let name = qname(&r, 0, 1);
        let multirange = match (r.get::<_, Option<String>>(7), r.get::<_, Option<String>>(8)) {
            (Some(s), Some(n)) => Some(QName::new(s, n)),
            _ => None,
        };
        m.ranges.insert(
            name.clone(),
            RangeType {
                name,
                subtype: r.get(2),
                subtype_opclass: r.get(3),
                collation: r.get(4),
                canonical: r.get(5),
                subtype_diff: r.get(6),
                multirange,
                comment: r.get(9),
            },
        );
        Ok(())
    })
    .await?;
    query(tx, "aggregates", &aggregates(), |r| {
        let key: String = r.get(0);
        let depends_on = super::signature_deps(&r.get::<_, Vec<String>>(28));
        let kind = match r.get::<_, String>(5).as_str() {
            "o" => "ordered-set",
            "h" => "hypothetical",
            _ => "normal",
        };
        let parallel = match r.get::<_, String>(26).as_str() {
            "s" => "safe",
            "r" => "restricted",
            _ => "unsafe",
        };
        m.aggregates.insert(
            key,
            Aggregate {
                schema: r.get(1),
                name: r.get(2),
                arguments: r.get(3),
                result: r.get(4),
                kind: kind.into(),
                direct_args: r.get(6),
                sfunc: r.get(7),
                stype: r.get(8),
                sspace: r.get(9),
                finalfunc: r.get(10),
                finalfunc_extra: r.get(11),
                finalfunc_modify: modify(&r.get::<_, String>(12)),
                combinefunc: r.get(13),
                serialfunc: r.get(14),
                deserialfunc: r.get(15),
                initcond: r.get(16),
                msfunc: r.get(17),
                minvfunc: r.get(18),
                mstype: r.get(19),
                msspace: r.get(20),
                mfinalfunc: r.get(21),
                mfinalfunc_extra: r.get(22),
                mfinalfunc_modify: modify(&r.get::<_, String>(23)),
                minitcond: r.get(24),
                sortop: r.get(25),
                parallel: parallel.into(),
                comment: r.get(27),
                depends_on,
            },
        );
        Ok(())
    })
    .await?;
    query(tx, "event triggers", &event_triggers(), |r| {
        let name: String = r.get(0);
        m.event_triggers.insert(
            name.clone(),
            EventTrigger {
                name,
                event: r.get(1),
                tags: r.get(2),
                function: r.get(3),
                enabled: r.get(4),
                comment: r.get(5),
            },
        );
        Ok(())
    })
    .await?;
    Ok(())
}
