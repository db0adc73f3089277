//! Indexes built or dropped `CONCURRENTLY`: which index a statement names, and
//! the INVALID index an interrupted build leaves behind, dropped before the
//! build runs again (on a retry or a resume).

use super::exec::{FailKind, Failure};
use super::run::Runner;
use crate::catalog::model::quote_ident;
use crate::hazard::action::{Action, ObjKind};
use crate::journal::{Entry, StatementError};
use crate::plan::Step;
use anyhow::Result;
use std::time::Duration;

/// The index a `CREATE/DROP INDEX CONCURRENTLY` statement names, read with
/// the SQL parser (never by splitting words), by the schema written in the
/// statement (never through `search_path`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexTarget {
    pub create: bool,
    /// `None` when the statement does not write the schema: then the index
    /// cannot be told apart from others of the same name, and is left alone.
    pub schema: Option<String>,
    pub name: String,
    /// The table a `CREATE INDEX` builds on (the index lives in its schema).
    pub table: Option<String>,
}

impl IndexTarget {
    /// `"My Schema".idx`, quoted as SQL; the bare name when no schema is known.
    pub fn qualified(&self) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", quote_ident(s), quote_ident(&self.name)),
            None => quote_ident(&self.name),
        }
    }
}

/// The index of a `CREATE [UNIQUE] INDEX CONCURRENTLY name ON [ONLY]
/// schema.table …` or `DROP INDEX CONCURRENTLY [IF EXISTS] schema.name`.
pub(crate) fn index_target(sql: &str) -> Option<IndexTarget> {
    let actions = crate::hazard::lint::file_actions(sql);
    match actions.as_slice() {
        [
            Action::CreateIndex {
                rel,
                name,
                concurrent: true,
                ..
            },
        ] if !name.is_empty() => Some(IndexTarget {
            create: true,
            schema: rel.schema.clone(),
            name: name.clone(),
            table: Some(rel.name.clone()),
        }),
        [
            Action::Drop {
                kind: ObjKind::Index,
                objects,
                concurrent: true,
                ..
            },
        ] if objects.len() == 1 => Some(IndexTarget {
            create: false,
            schema: objects[0].schema.clone(),
            name: objects[0].name.clone(),
            table: None,
        }),
        _ => None,
    }
}

/// `Some(valid)` when the index exists in its schema (and, for a `CREATE`, on
/// its table), looked up by name as values: no `search_path`, no regclass
/// text. `None` also when the schema is not known.
pub(crate) async fn index_state(
    client: &tokio_postgres::Client,
    index: &IndexTarget,
) -> Result<Option<bool>> {
    let Some(schema) = &index.schema else {
        return Ok(None);
    };
    let row = client
        .query_opt(
            "SELECT i.indisvalid FROM pg_catalog.pg_index i
               JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
              WHERE n.nspname = $1 AND c.relname = $2
                AND ($3::text IS NULL OR t.relname = $3)",
            &[schema, &index.name, &index.table],
        )
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "looking up index {}: {}",
                index.qualified(),
                crate::db::describe_error(&e)
            )
        })?;
    Ok(row.map(|r| r.get(0)))
}

impl Runner<'_> {
    /// Drops the INVALID index an interrupted build of `step` left behind.
    pub(crate) async fn drop_invalid_index(&mut self, step: &Step) -> Result<(), Failure> {
        let Some(index) = index_target(&step.sql).filter(|i| i.create) else {
            return Ok(());
        };
        let fail = |message: String| Failure {
            error: StatementError {
                message,
                ..Default::default()
            },
            kind: FailKind::Other,
            elapsed: Duration::ZERO,
            blockers: Vec::new(),
        };
        match index_state(&self.client, &index).await {
            Ok(Some(false)) => {}
            Ok(_) => return Ok(()),
            Err(e) => return Err(fail(format!("{e:#}"))),
        }
        let sql = format!("DROP INDEX CONCURRENTLY {};", index.qualified());
        self.client.batch_execute(&sql).await.map_err(|e| {
            fail(format!(
                "dropping the INVALID index {} before building it again: {}",
                index.qualified(),
                crate::db::describe_error(&e)
            ))
        })?;
        self.journal(Entry::Note {
            text: format!(
                "dropped the INVALID index {} left by an interrupted CREATE INDEX CONCURRENTLY (step {}); it is built again",
                index.qualified(),
                step.number
            ),
        })
        .map_err(|e| fail(format!("{e:#}")))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_are_read_from_concurrent_statements() {
        let t = index_target(
            "CREATE UNIQUE INDEX CONCURRENTLY orders_ref ON shop.orders USING btree (ref);",
        )
        .unwrap();
        assert_eq!(
            t,
            IndexTarget {
                create: true,
                schema: Some("shop".into()),
                name: "orders_ref".into(),
                table: Some("orders".into()),
            }
        );
        // Quoted names with spaces, dots and quotes are read as the parser reads them.
        let t = index_target(
            "CREATE INDEX CONCURRENTLY \"the idx\" ON ONLY \"My Schema\".\"a.\"\"b\" (x);",
        )
        .unwrap();
        assert_eq!(t.schema.as_deref(), Some("My Schema"));
        assert_eq!(t.name, "the idx");
        assert_eq!(t.table.as_deref(), Some("a.\"b"));
        assert_eq!(t.qualified(), "\"My Schema\".\"the idx\"");
        let t = index_target("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);").unwrap();
        assert_eq!((t.schema, t.name.as_str()), (None, "i"));
        let t = index_target("DROP INDEX CONCURRENTLY IF EXISTS shop.i;").unwrap();
        assert_eq!(
            t,
            IndexTarget {
                create: false,
                schema: Some("shop".into()),
                name: "i".into(),
                table: None,
            }
        );
        assert!(index_target("CREATE INDEX i ON t (a);").is_none());
    }
}
