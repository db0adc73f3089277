//! Indexes built or dropped `CONCURRENTLY`: which index a statement names, and
//! the INVALID index an interrupted build leaves behind, dropped before the
//! build runs again (on a retry or a resume).

use super::exec::{FailKind, Failure};
use super::run::Runner;
use crate::plan::Step;
use crate::session::journal::{Entry, StatementError};
use anyhow::Result;
use std::time::Duration;

/// The index a `CREATE/DROP INDEX CONCURRENTLY` statement names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexTarget {
    pub create: bool,
    /// `schema.name` as written (quotes kept), for `to_regclass`.
    pub qualified: String,
}

/// Reads the index name of `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS]
/// name ON [ONLY] schema.table …` or `DROP INDEX CONCURRENTLY [IF EXISTS] name`.
pub(crate) fn index_target(sql: &str) -> Option<IndexTarget> {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let at = |i: usize, w: &str| upper.get(i).is_some_and(|u| u == w);
    if at(0, "DROP") && at(1, "INDEX") && at(2, "CONCURRENTLY") {
        let i = if at(3, "IF") { 5 } else { 3 };
        let name = words.get(i)?.trim_end_matches(';');
        return Some(IndexTarget {
            create: false,
            qualified: name.to_string(),
        });
    }
    let mut i = 1;
    if !at(0, "CREATE") {
        return None;
    }
    if at(i, "UNIQUE") {
        i += 1;
    }
    if !(at(i, "INDEX") && at(i + 1, "CONCURRENTLY")) {
        return None;
    }
    i += 2;
    if at(i, "IF") {
        i += 3;
    }
    let name = *words.get(i)?;
    if !at(i + 1, "ON") {
        return None;
    }
    let mut t = i + 2;
    if at(t, "ONLY") {
        t += 1;
    }
    let table = words.get(t)?.split('(').next()?;
    let qualified = match table.rsplit_once('.') {
        Some((schema, _)) if !name.contains('.') => format!("{schema}.{name}"),
        _ => name.to_string(),
    };
    Some(IndexTarget {
        create: true,
        qualified,
    })
}

/// `Some(valid)` when the index exists.
pub(crate) async fn index_state(
    client: &tokio_postgres::Client,
    qualified: &str,
) -> Result<Option<bool>> {
    let row = client
        .query_opt(
            "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass($1)",
            &[&qualified],
        )
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "looking up index {qualified}: {}",
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
        match index_state(&self.client, &index.qualified).await {
            Ok(Some(false)) => {}
            Ok(_) => return Ok(()),
            Err(e) => return Err(fail(format!("{e:#}"))),
        }
        let sql = format!("DROP INDEX CONCURRENTLY {};", index.qualified);
        self.client.batch_execute(&sql).await.map_err(|e| {
            fail(format!(
                "dropping the INVALID index {} before building it again: {}",
                index.qualified,
                crate::db::describe_error(&e)
            ))
        })?;
        self.journal(Entry::Note {
            text: format!(
                "dropped the INVALID index {} left by an interrupted CREATE INDEX CONCURRENTLY (step {}); it is built again",
                index.qualified, step.number
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
                qualified: "shop.orders_ref".into()
            }
        );
        let t = index_target("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);").unwrap();
        assert_eq!(t.qualified, "i");
        let t = index_target("DROP INDEX CONCURRENTLY IF EXISTS shop.i;").unwrap();
        assert_eq!(
            t,
            IndexTarget {
                create: false,
                qualified: "shop.i".into()
            }
        );
        assert!(index_target("CREATE INDEX i ON t (a);").is_none());
    }
}
