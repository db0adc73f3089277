//! PostgreSQL 18's NOT NULL constraints (`contype = 'n'`), read by one
//! set-based query on servers that have them and folded into the columns.

use super::{Transaction, query, sql};
use crate::catalog::model::{Model, QName};
use crate::catalog::notnull::model_name;
use anyhow::Result;
use std::collections::HashMap;

/// NOT NULL constraints of the managed tables' own columns (inherited columns
/// are not in the model) that are not plain: not validated, `NO INHERIT`, or
/// maybe not named by default (the SQL compares with the uncut default name;
/// [`model_name`] decides, cutting as PostgreSQL does).
pub fn query_sql() -> String {
    sql::q(
        "SELECT co.conrelid, a.attname::text, co.conname::text, co.convalidated, co.connoinherit
         FROM pg_constraint co
         JOIN tbl ON tbl.oid = co.conrelid
         JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1]
         WHERE co.contype = 'n' AND a.attinhcount = 0
           AND NOT (co.convalidated AND NOT co.connoinherit
                    AND co.conname = tbl.relname || '_' || a.attname || '_not_null')",
    )
}

/// One NOT NULL constraint: table oid, column, name, validated, no inherit.
pub type Row = (u32, String, String, bool, bool);

/// Reads them on PostgreSQL 18 and later; nothing before.
pub async fn read(tx: &Transaction<'_>, server_version_num: i32) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    if server_version_num < 180000 {
        return Ok(out);
    }
    query(tx, "not-null constraints", &query_sql(), |r| {
        out.push((r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)));
        Ok(())
    })
    .await?;
    Ok(out)
}

/// Puts what [`read`] found on the model's columns.
pub fn apply(model: &mut Model, tables: &HashMap<u32, QName>, rows: Vec<Row>) {
    for (oid, column, conname, validated, no_inherit) in rows {
        let Some(t) = tables.get(&oid).and_then(|n| model.tables.get_mut(n)) else {
            continue;
        };
        let table = t.name.name.clone();
        if let Some(c) = t.columns.iter_mut().find(|c| c.name == column) {
            c.not_null_name = model_name(&table, &column, &conname);
            c.not_null_not_valid = !validated;
            c.not_null_no_inherit = no_inherit;
        }
    }
}
