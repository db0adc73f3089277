//! `lossy-cast`: a type change can lose or reject values.

use super::Found;
use crate::hazard::action::{Action, TableCmd, Using};
use crate::hazard::ast::TypeSpec;
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
            let from = cx.column_type(rel, column);
            match using {
                None => plain(&name, from.as_ref(), to),
                Some(Using::Cast(casts)) => through(&name, from.as_ref(), casts, to),
                Some(Using::AtTimeZone(casts)) => {
                    // The zone conversion keeps every value; what is left is
                    // the column's own casts and the result's assignment to `to`.
                    let before = casts.last().cloned().or(from.clone());
                    match zone_result(before.as_ref(), to) {
                        Some(result) => {
                            let mut found = through(&name, from.as_ref(), casts, &result);
                            if found.is_empty() {
                                found = step(&name, &result, to, "AT TIME ZONE");
                            }
                            found
                        }
                        None => expression(&name, to),
                    }
                }
                Some(Using::Expr) => expression(&name, to),
            }
        }
        Action::AlterTable { rel, cmd: TableCmd::RestartIdentity { column } } => vec![Found::new(
            LossyCast,
            Severity::Danger,
            format!("restarts the identity sequence of {}.{column}: values below the current maximum are handed out again and collide", cx.name(rel)),
        )
        .help(format!("restart above the largest value in use: ALTER TABLE … ALTER COLUMN {column} RESTART WITH (max + 1)"))],
        Action::AlterSequence { rel, restart: true } => vec![Found::new(
            LossyCast,
            Severity::Danger,
            format!("restarts sequence {rel}: values below the current maximum are handed out again and collide"),
        )
        .help("restart above the largest id in use: SELECT setval('seq', (SELECT max(id) FROM t))")],
        _ => vec![],
    }
}

/// A type change without `USING`: the assignment cast from the current type.
fn plain(name: &str, from: Option<&TypeSpec>, to: &TypeSpec) -> Vec<Found> {
    match from {
        Some(from) => step(name, from, to, ""),
        None if widest(&to.name, &to.mods) => vec![],
        None => vec![Found::new(
            LossyCast,
            Severity::Warning,
            format!("changes {name} to {to}: values of a wider current type would be rejected or cut (current type unknown; lint with --db)"),
        )
        .help(HELP)],
    }
}

/// `USING col::a::b`: the column through its casts, then assigned to `to`;
/// lossy where any step is. An identity or widening cast is not.
fn through(name: &str, from: Option<&TypeSpec>, casts: &[TypeSpec], to: &TypeSpec) -> Vec<Found> {
    let mut chain: Vec<TypeSpec> = casts.to_vec();
    if chain.last() != Some(to) {
        chain.push(to.clone());
    }
    let Some(first) = chain.first() else {
        return vec![];
    };
    let mut found = match from {
        Some(from) => step(name, from, first, "USING"),
        // Without the current type only a target that takes every value is
        // known to keep them; an explicit cast to anything narrower is what
        // USING is there for (no assignment cast exists).
        None if widest(&first.name, &first.mods) => vec![],
        None => vec![Found::new(
            LossyCast,
            Severity::Danger,
            format!("converts {name} to {to} with USING …::{first}: values that do not convert are rejected (current type unknown; lint with --db)"),
        )
        .help(HELP)],
    };
    for w in chain.windows(2) {
        if found.is_empty() {
            found = step(name, &w[0], &w[1], "USING");
        }
    }
    found
}

/// One conversion `a → b` of `name`.
fn step(name: &str, a: &TypeSpec, b: &TypeSpec, how: &str) -> Vec<Found> {
    match lossy(a, b) {
        Some(why) => {
            let how = if how.is_empty() {
                String::new()
            } else {
                format!(" ({how})")
            };
            vec![
                Found::new(
                    LossyCast,
                    Severity::Danger,
                    format!("changes {name} from {a} to {b}{how}: {why}"),
                )
                .help(HELP),
            ]
        }
        None => vec![],
    }
}

/// What `x AT TIME ZONE z` yields for `x` of type `before` (the other one of
/// timestamp and timestamptz); unknown `before`: assumed to fit `to`.
fn zone_result(before: Option<&TypeSpec>, to: &TypeSpec) -> Option<TypeSpec> {
    let flip = |t: &str| match t {
        "timestamp" => Some("timestamptz"),
        "timestamptz" => Some("timestamp"),
        _ => None,
    };
    let name = match before {
        Some(b) => flip(canon(&b.name))?,
        None => flip(canon(&to.name)).and(Some(canon(&to.name)))?,
    };
    Some(TypeSpec::with_mods(name, &[]))
}

/// A `USING` expression pgalign cannot read as a cast.
fn expression(name: &str, to: &TypeSpec) -> Vec<Found> {
    vec![
        Found::new(
            LossyCast,
            Severity::Danger,
            format!(
                "converts {name} to {to} with a USING expression: it decides every stored value"
            ),
        )
        .help(HELP),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::testing::ids;
    use super::*;

    #[test]
    fn using_and_narrowing_targets_are_flagged() {
        assert_eq!(
            ids(
                check,
                "ALTER TABLE t ALTER COLUMN c TYPE int USING c::text::int"
            ),
            vec![(LossyCast, Severity::Danger)]
        );
        assert_eq!(
            ids(check, "ALTER TABLE t ALTER COLUMN c TYPE int USING c * 2"),
            vec![(LossyCast, Severity::Danger)]
        );
        // `USING c::int` of an unknown current type: as any USING.
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
        assert_eq!(
            ids(check, "ALTER TABLE t ALTER COLUMN id RESTART WITH 1"),
            vec![(LossyCast, Severity::Danger)]
        );
    }

    #[test]
    fn using_is_read_by_what_it_does() {
        assert!(
            ids(
                check,
                "ALTER TABLE t ALTER COLUMN c TYPE text USING c::text"
            )
            .is_empty()
        );
        assert!(
            ids(
                check,
                "ALTER TABLE t ALTER COLUMN c TYPE bigint USING c::bigint"
            )
            .is_empty()
        );
        assert!(
            ids(
                check,
                "ALTER TABLE t ALTER COLUMN c TYPE timestamptz USING c AT TIME ZONE 'UTC'"
            )
            .is_empty()
        );
        assert_eq!(
            ids(
                check,
                "ALTER TABLE t ALTER COLUMN c TYPE text USING lower(c)"
            ),
            vec![(LossyCast, Severity::Danger)]
        );
        let sql = "CREATE TABLE t (c varchar(20)); ALTER TABLE t ALTER COLUMN c TYPE text USING c::varchar(5)::text;";
        let report = crate::hazard::lint::lint_sql(sql, &Default::default()).unwrap();
        assert!(
            report.statements[1]
                .hazards
                .iter()
                .any(|h| h.id == LossyCast && h.severity == Severity::Danger),
            "a narrowing step inside the chain is lossy"
        );
        let sql =
            "CREATE TABLE t (c varchar(20)); ALTER TABLE t ALTER COLUMN c TYPE text USING c::text;";
        let report = crate::hazard::lint::lint_sql(sql, &Default::default()).unwrap();
        assert!(
            !report.statements[1]
                .hazards
                .iter()
                .any(|h| h.id == LossyCast)
        );
    }

    #[test]
    fn widening_targets_are_not() {
        assert!(ids(check, "ALTER TABLE t ALTER COLUMN c TYPE text").is_empty());
        assert!(ids(check, "ALTER TABLE t ALTER COLUMN c TYPE bigint").is_empty());
    }

    #[test]
    fn a_type_known_from_the_file_decides() {
        let lossy = |sql: &str| {
            let report = crate::hazard::lint::lint_sql(sql, &Default::default()).unwrap();
            report.statements[1]
                .hazards
                .iter()
                .any(|h| h.id == LossyCast && h.severity == Severity::Danger)
        };
        assert!(lossy(
            "CREATE TABLE t (c text); ALTER TABLE t ALTER COLUMN c TYPE int USING c::int;"
        ));
        assert!(!lossy(
            "CREATE TABLE t (c int); ALTER TABLE t ALTER COLUMN c TYPE bigint USING c::bigint;"
        ));
        assert!(!lossy(
            "CREATE TABLE t (c int); ALTER TABLE t ALTER COLUMN c TYPE text USING c::text;"
        ));
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
