//! `blocking-index`: an index is built or dropped while writes are blocked.

use super::{Found, Sizing};
use crate::hazard::action::{Action, ConKind, ObjKind, TableCmd};
use crate::hazard::context::Cx;
use crate::hazard::effects::effect;
use crate::hazard::{HazardId::BlockingIndex, Severity};

fn found(detail: String, table: &crate::hazard::ast::Rel, help: &str) -> Found {
    Found::new(BlockingIndex, Severity::Warning, detail)
        .sized(table, Sizing::BySize)
        .help(help)
}

pub fn check(action: &Action, cx: &Cx) -> Vec<Found> {
    let lock = || {
        effect(action, cx)
            .map(|e| format!("{} ({})", e.describe(cx), e.strongest().blocks()))
            .unwrap_or_default()
    };
    match action {
        Action::CreateIndex {
            rel,
            name,
            concurrent: false,
            ..
        } if !cx.is_new(rel) => vec![found(
            format!("builds index {name} on {} under {}", cx.name(rel), lock()),
            rel,
            "CREATE INDEX CONCURRENTLY, outside a transaction block",
        )],
        Action::Drop {
            kind: ObjKind::Index,
            objects,
            concurrent: false,
            ..
        } => {
            let e = effect(action, cx);
            let table = e
                .as_ref()
                .map(|e| e.table.clone())
                .unwrap_or_else(|| objects[0].clone());
            let names: Vec<String> = objects.iter().map(|o| o.to_string()).collect();
            vec![found(
                format!(
                    "drops index {} under ACCESS EXCLUSIVE on its table (blocks reads and writes while it waits)",
                    names.join(", ")
                ),
                &table,
                "DROP INDEX CONCURRENTLY, outside a transaction block",
            )]
        }
        Action::AlterTable { rel, cmd } if !cx.is_new(rel) => {
            let cons: Vec<_> = match cmd {
                TableCmd::AddConstraint(c) => vec![c.clone()],
                TableCmd::AddColumn(c) => c.constraints.clone(),
                _ => vec![],
            };
            cons.iter()
                .filter(|c| matches!(c.kind, ConKind::Unique | ConKind::PrimaryKey | ConKind::Exclude) && c.using_index.is_none())
                .map(|c| {
                    found(
                        format!("ADD {} builds an index on {} under ACCESS EXCLUSIVE (blocks reads and writes)", c.label(), cx.name(rel)),
                        rel,
                        "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … USING INDEX",
                    )
                })
                .collect()
        }
        Action::Reindex {
            concurrent: false,
            rel,
            index,
            ..
        } => {
            let target = rel
                .as_ref()
                .or(index.as_ref())
                .cloned()
                .unwrap_or(crate::hazard::ast::Rel::new(None, "?"));
            let what = if rel.is_some() {
                "every index of"
            } else {
                "index"
            };
            let e = effect(action, cx);
            let table = e
                .as_ref()
                .map(|e| e.table.clone())
                .unwrap_or(target.clone());
            vec![found(
                format!(
                    "REINDEX rebuilds {what} {target} under {}",
                    if e.is_some() {
                        lock()
                    } else {
                        "SHARE on the table (blocks writes)".into()
                    }
                ),
                &table,
                "REINDEX … CONCURRENTLY (PostgreSQL 12+), outside a transaction block",
            )]
        }
        Action::Refresh {
            rel,
            concurrent: false,
        } => vec![found(
            format!(
                "REFRESH MATERIALIZED VIEW {} under ACCESS EXCLUSIVE (blocks reads)",
                cx.name(rel)
            ),
            rel,
            "REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view)",
        )],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::ids;
    use super::*;

    #[test]
    fn blocking_index_builds_and_drops() {
        for sql in [
            "CREATE INDEX i ON t (a)",
            "CREATE UNIQUE INDEX i ON t (a)",
            "DROP INDEX i",
            "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)",
            "ALTER TABLE t ADD PRIMARY KEY (id)",
            "REINDEX TABLE t",
            "REINDEX INDEX i",
            "REFRESH MATERIALIZED VIEW mv",
            "REINDEX (CONCURRENTLY false) TABLE t",
            "REINDEX (VERBOSE) INDEX i",
        ] {
            assert_eq!(
                ids(check, sql),
                vec![(BlockingIndex, Severity::Warning)],
                "{sql}"
            );
        }
    }

    #[test]
    fn concurrent_forms_do_not_block() {
        for sql in [
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            "DROP INDEX CONCURRENTLY i",
            "REINDEX INDEX CONCURRENTLY i",
            "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
            "ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX i",
        ] {
            assert!(ids(check, sql).is_empty(), "{sql}");
        }
    }
}
