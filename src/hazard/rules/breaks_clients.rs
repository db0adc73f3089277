//! `breaks-clients`: application versions still running may break.

use super::Found;
use crate::hazard::action::{Action, ObjKind, TableCmd};
use crate::hazard::context::Cx;
use crate::hazard::{HazardId::BreaksClients, Severity};

const EXPAND: &str = "expand and contract: ship application code that no longer uses it first, change the schema in a later release";

pub fn check(action: &Action, cx: &Cx) -> Vec<Found> {
    let w = |d: String| Found::new(BreaksClients, Severity::Warning, d);
    match action {
        Action::Drop {
            kind:
                kind @ (ObjKind::Table
                | ObjKind::View
                | ObjKind::MatView
                | ObjKind::Function
                | ObjKind::Type
                | ObjKind::Schema),
            objects,
            ..
        } => objects
            .iter()
            .filter(|r| !cx.is_new(r))
            .map(|r| {
                w(format!(
                    "drops {} {}: running application versions that use it fail",
                    kind.word(),
                    cx.name(r)
                ))
                .help(EXPAND)
            })
            .collect(),
        Action::SetSchema {
            kind:
                kind @ (ObjKind::Table
                | ObjKind::View
                | ObjKind::MatView
                | ObjKind::Sequence
                | ObjKind::Function
                | ObjKind::Type
                | ObjKind::Domain),
            rel,
            object,
            schema,
        } => {
            if rel.as_ref().is_some_and(|r| cx.is_new(r)) {
                return vec![];
            }
            let name = rel.as_ref().map(|r| cx.name(r)).unwrap_or(object.clone());
            vec![w(format!("moves {} {name} to schema {schema}: running application versions that name it by its old schema, or find it through search_path, fail", kind.word()))
                .help(EXPAND)]
        }
        Action::CreateRule {
            rel,
            name,
            event,
            instead: true,
            nothing: false,
            ..
        } => vec![w(format!(
            "rule {name}: {event} on {} runs the rule's statements instead, so clients' {} redirected",
            cx.name(rel),
            if *event == "SELECT" { "reads are" } else { "writes are" }
        ))],
        Action::Rename {
            kind:
                kind @ (ObjKind::Table
                | ObjKind::Column
                | ObjKind::View
                | ObjKind::MatView
                | ObjKind::Function
                | ObjKind::Type
                | ObjKind::Schema
                | ObjKind::Database),
            rel,
            object,
            new,
        } => {
            if rel.as_ref().is_some_and(|r| cx.is_new(r)) {
                return vec![];
            }
            let on = match (kind, rel) {
                (ObjKind::Column, Some(r)) => format!(" of {}", cx.name(r)),
                _ => String::new(),
            };
            vec![w(format!("renames {} {object}{on} to {new}: running application versions still use the old name", kind.word()))
                .help("add the new name beside the old (a view, or a new column kept in sync), move clients over, then drop the old")]
        }
        Action::AlterTable {
            rel,
            cmd: TableCmd::DropAttribute { attribute, cascade: true },
        } => vec![w(format!(
            "drops column {attribute} of {}: running application versions that read or write it fail",
            cx.name(&crate::hazard::context::Reach::TypedTables(rel.clone()).rel())
        ))
        .help(EXPAND)],
        Action::AlterTable { rel, cmd } if !cx.is_new(rel) => match cmd {
            TableCmd::DropColumn { column, .. } => {
                vec![w(format!("drops column {}.{column}: running application versions that read or write it fail", cx.name(rel))).help(EXPAND)]
            }
            TableCmd::AlterType { column, to, .. } => {
                vec![w(format!("changes the type of {}.{column} to {to}: clients may read or bind it differently", cx.name(rel))).help(EXPAND)]
            }
            TableCmd::DropDefault { column } => match cx.column_not_null(rel, column) {
                Some(false) => vec![],
                Some(true) => vec![w(format!(
                    "drops the default of NOT NULL column {}.{column}: inserts that omit it fail",
                    cx.name(rel)
                ))],
                None => vec![w(format!(
                    "drops the default of {}.{column}: if it is NOT NULL, inserts that omit it fail",
                    cx.name(rel)
                ))],
            },
            _ => vec![],
        },
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::ids;
    use super::*;

    #[test]
    fn drops_renames_and_type_changes_break_clients() {
        for sql in [
            "DROP TABLE t",
            "ALTER TABLE t DROP COLUMN c",
            "ALTER TABLE t RENAME COLUMN a TO b",
            "ALTER TABLE t RENAME TO u",
            "DROP FUNCTION f(int)",
            "ALTER TABLE t ALTER COLUMN c TYPE bigint",
            "ALTER TABLE t ALTER COLUMN c DROP DEFAULT",
            "ALTER TABLE t SET SCHEMA archive",
            "ALTER FUNCTION f(int) SET SCHEMA archive",
            "ALTER DATABASE shop RENAME TO shop_old",
            "CREATE RULE r AS ON INSERT TO t DO INSTEAD INSERT INTO u VALUES (NEW.id)",
        ] {
            assert_eq!(
                ids(check, sql),
                vec![(BreaksClients, Severity::Warning)],
                "{sql}"
            );
        }
    }

    #[test]
    fn additions_do_not() {
        assert!(ids(check, "ALTER TABLE t ADD COLUMN c int").is_empty());
        assert!(ids(check, "DROP INDEX i").is_empty());
    }
}
