//! `non-transactional`: cannot run in, or be rolled back with, a transaction.

use super::Found;
use crate::hazard::action::{Action, ObjKind, TableCmd};
use crate::hazard::context::Cx;
use crate::hazard::{HazardId::NonTransactional, Severity};

fn outside_tx(what: String, cx: &Cx, leftover: &str) -> Found {
    match cx.file.in_tx {
        Some(line) => Found::new(
            NonTransactional,
            Severity::Blocker,
            format!(
                "{what} cannot run inside a transaction block (BEGIN at line {line}): it will fail"
            ),
        )
        .help("move it after the COMMIT, as a statement of its own"),
        None => Found::new(
            NonTransactional,
            Severity::Warning,
            format!("{what} runs outside any transaction; {leftover}"),
        ),
    }
}

pub fn check(action: &Action, cx: &Cx) -> Vec<Found> {
    let invalid = "if it fails or is cancelled it leaves an INVALID index to drop and retry";
    let f = match action {
        Action::CreateIndex {
            name,
            concurrent: true,
            ..
        } => outside_tx(format!("CREATE INDEX CONCURRENTLY {name}"), cx, invalid),
        Action::Drop {
            kind: ObjKind::Index,
            objects,
            concurrent: true,
            ..
        } => {
            let names: Vec<String> = objects.iter().map(|o| o.to_string()).collect();
            outside_tx(
                format!("DROP INDEX CONCURRENTLY {}", names.join(", ")),
                cx,
                "it cannot be rolled back",
            )
        }
        Action::Reindex {
            concurrent: true, ..
        } => outside_tx("REINDEX CONCURRENTLY".into(), cx, invalid),
        Action::Reindex { wide: true, .. } => outside_tx(
            "REINDEX SCHEMA/DATABASE/SYSTEM".into(),
            cx,
            "it cannot be rolled back",
        ),
        Action::AlterTable {
            rel,
            cmd:
                TableCmd::DetachPartition {
                    part,
                    concurrent: true,
                },
        } => outside_tx(
            format!("DETACH PARTITION {part} CONCURRENTLY from {rel}"),
            cx,
            "if interrupted, finish it with DETACH PARTITION … FINALIZE",
        ),
        Action::Vacuum { .. } => outside_tx("VACUUM".into(), cx, "it cannot be rolled back"),
        Action::Cluster { rel: None } => outside_tx(
            "CLUSTER without a table".into(),
            cx,
            "each table is clustered and committed in a transaction of its own",
        ),
        Action::NoTransaction { what } => outside_tx(what.clone(), cx, "it cannot be rolled back"),
        Action::AddEnumValue { typ, value } => {
            if cx.file.in_tx.is_some() && cx.major < 12 {
                Found::new(
                    NonTransactional,
                    Severity::Blocker,
                    format!(
                        "ALTER TYPE {typ} ADD VALUE cannot run inside a transaction block before PostgreSQL 12"
                    ),
                )
            } else if cx.file.in_tx.is_some() {
                Found::new(
                    NonTransactional,
                    Severity::Warning,
                    format!("adds '{value}' to {typ}: the value cannot be used until this transaction commits"),
                )
                .help("add enum values in their own transaction, before the statements that use them")
            } else {
                Found::new(
                    NonTransactional,
                    Severity::Info,
                    format!(
                        "adds '{value}' to {typ}: takes effect at once, it cannot be removed again"
                    ),
                )
            }
        }
        _ => return vec![],
    };
    vec![f]
}

/// A later statement in the same transaction uses an enum value added in it.
pub fn uses_new_enum_value(sql: &str, cx: &Cx) -> Vec<Found> {
    cx.file
        .tx_enum_values
        .iter()
        .filter(|(_, v)| sql.contains(&format!("'{v}'")))
        .map(|(t, v)| {
            Found::new(
                NonTransactional,
                Severity::Blocker,
                format!("uses '{v}', added to {t} in this same transaction: fails with \"unsafe use of new value\""),
            )
            .help("commit the ALTER TYPE … ADD VALUE first")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{findings_with, ids};
    use super::*;
    use crate::hazard::context::{FileState, LintContext};

    #[test]
    fn concurrently_is_a_warning_alone_and_a_blocker_in_a_transaction() {
        assert_eq!(
            ids(check, "CREATE INDEX CONCURRENTLY i ON t (a)"),
            vec![(NonTransactional, Severity::Warning)]
        );
        let file = FileState {
            in_tx: Some(1),
            ..Default::default()
        };
        let f = findings_with(
            check,
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            &LintContext::default(),
            &file,
        );
        assert_eq!(f[0].severity, Severity::Blocker);
        assert!(f[0].detail.contains("line 1"));
    }

    #[test]
    fn vacuum_and_drop_concurrently() {
        assert_eq!(ids(check, "VACUUM t").len(), 1);
        assert_eq!(ids(check, "DROP INDEX CONCURRENTLY i").len(), 1);
        assert!(ids(check, "CREATE INDEX i ON t (a)").is_empty());
    }
}
