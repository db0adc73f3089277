//! `lossy-cast`: a type change can lose or reject values.

use super::Found;
use crate::hazard::action::{Action, TableCmd};
use crate::hazard::context::Cx;
use crate::hazard::types::{canon, lossy};
use crate::hazard::{HazardId::LossyCast, Severity};

const HELP: &str = "add a new column of the new type, backfill and check it, then switch over";

/// Targets that accept every value of any type (text) or of any smaller type.
fn widest(name: &str, mods: &[i64]) -> bool {
    mods.is_empty()
        && matches!(
            canon(name),
            "text" | "varchar" | "int8" | "numeric" | "float8" | "jsonb" | "timestamptz" | "citext"
        )
}

pub fn check(action: &Action, cx: &Cx) -> Vec<Found> {
    match action {
        Action::AlterTable { rel, cmd: TableCmd::AlterType { column, to, using } } => {
            let name = format!("{}.{column}", cx.name(rel));
            if using.is_some() {
                return vec![Found::new(
                    LossyCast,
                    Severity::Danger,
                    format!("converts {name} to {to} with a USING expression: it decides every stored value"),
                )
                .help(HELP)];
            }
            match cx.column_type(rel, column) {
                Some(from) => match lossy(&from, to) {
                    Some(why) => vec![Found::new(LossyCast, Severity::Danger, format!("changes {name} from {from} to {to}: {why}")).help(HELP)],
                    None => vec![],
                },
                None if widest(&to.name, &to.mods) => vec![],
                None => vec![Found::new(
                    LossyCast,
                    Severity::Warning,
                    format!("changes {name} to {to}: values of a wider current type would be rejected or cut (current type unknown; lint with --db)"),
                )
                .help(HELP)],
            }
        }
        Action::AlterSequence { rel, restart: true } => vec![Found::new(
            LossyCast,
            Severity::Danger,
            format!("restarts sequence {rel}: values below the current maximum are handed out again and collide"),
        )
        .help("restart above the largest id in use: SELECT setval('seq', (SELECT max(id) FROM t))")],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::ids;
    use super::*;

    #[test]
    fn using_and_narrowing_targets_are_flagged() {
        assert_eq!(
            ids(check, "ALTER TABLE t ALTER COLUMN c TYPE int USING c::int"),
            vec![(LossyCast, Severity::Danger)]
        );
        assert_eq!(
            ids(check, "ALTER TABLE t ALTER COLUMN c TYPE varchar(10)"),
            vec![(LossyCast, Severity::Warning)]
        );
        assert_eq!(
            ids(check, "ALTER SEQUENCE s RESTART WITH 1"),
            vec![(LossyCast, Severity::Danger)]
        );
    }

    #[test]
    fn widening_targets_are_not() {
        assert!(ids(check, "ALTER TABLE t ALTER COLUMN c TYPE text").is_empty());
        assert!(ids(check, "ALTER TABLE t ALTER COLUMN c TYPE bigint").is_empty());
    }

    #[test]
    fn a_type_known_from_the_file_decides() {
        let sql = "CREATE TABLE t (c varchar(20)); ALTER TABLE t ALTER COLUMN c TYPE varchar(10);";
        let report = crate::hazard::lint::lint_sql(sql, &Default::default()).unwrap();
        let h = &report.statements[1].hazards;
        assert!(
            h.iter()
                .any(|h| h.id == LossyCast && h.severity == Severity::Danger),
            "{h:?}"
        );
    }
}
