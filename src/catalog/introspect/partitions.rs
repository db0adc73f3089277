//! The names of partitions' indexes: for each index of a partitioned table,
//! the index of each partition attached to it (`pg_inherits` between index
//! relations), constraint indexes included. They are kept on the partition
//! ([`Table::partition_indexes`]), not as indexes of their own: PostgreSQL
//! creates and drops them with the parent's index.

use super::sql::q;
use super::{Transaction, query};
use crate::catalog::model::*;
use anyhow::Result;
use std::collections::HashMap;

fn sql() -> String {
    q(
        "SELECT x.indrelid, ic.relname::text, pn.nspname::text, pc.relname::text
       FROM pg_inherits ih
       JOIN pg_index x ON x.indexrelid = ih.inhrelid
       JOIN pg_class ic ON ic.oid = ih.inhrelid
       JOIN pg_class pc ON pc.oid = ih.inhparent AND pc.relkind = 'I'
       JOIN pg_namespace pn ON pn.oid = pc.relnamespace
       WHERE x.indrelid IN (SELECT oid FROM tbl)",
    )
}

/// Reads the partitions' index names into `tables` (by oid).
pub async fn read(tx: &Transaction<'_>, tables: &mut HashMap<u32, Table>) -> Result<()> {
    query(tx, "partition index names", &sql(), |r| {
        if let Some(t) = tables.get_mut(&r.get::<_, u32>(0)) {
            t.partition_indexes.insert(
                QName::new(r.get::<_, String>(2), r.get::<_, String>(3)),
                r.get(1),
            );
        }
        Ok(())
    })
    .await
}
