//! `rewrite`: the whole table is rewritten under ACCESS EXCLUSIVE.

use super::{Found, Sizing};
use crate::hazard::action::{Action, TableCmd, Using};
use crate::hazard::context::Cx;
use crate::hazard::effects::effect;
use crate::hazard::locks::Op;
use crate::hazard::{HazardId::Rewrite, Severity};

fn help(op: Op) -> Option<&'static str> {
    Some(match op {
        Op::AlterColumnType => {
            "add a new column, backfill it in batches, then swap names in one short transaction"
        }
        Op::TimestampToTimestamptzUtc => {
            "on PostgreSQL 12+ run it with SET timezone = 'UTC' (if the stored values are UTC): no rewrite"
        }
        Op::AddColumnVolatileDefault | Op::AddColumnIdentity => {
            "add the column without a default, SET DEFAULT for new rows, backfill old rows in batches"
        }
        Op::AddColumnStoredGenerated => {
            "add a plain column, backfill it in batches, keep it current with a trigger"
        }
        Op::VacuumFull | Op::Cluster | Op::ClusterAll => {
            "use pg_repack or pg_squeeze: they hold the strong lock only briefly"
        }
        Op::AddColumn => "upgrade to PostgreSQL 11+ where a constant default needs no rewrite",
        Op::SetAccessMethod | Op::SetTablespace => {
            "in a maintenance window, or copy the rows into a new table in batches and swap names"
        }
        _ => return None,
    })
}

pub fn check(action: &Action, cx: &Cx) -> Vec<Found> {
    let Some(e) = effect(action, cx) else {
        return vec![];
    };
    let Some(op) = e.op else { return vec![] };
    if !e.rewrite
        || matches!(op, Op::Truncate | Op::RefreshMatview | Op::AlterSequence)
        || cx.is_new(&e.table)
    {
        return vec![];
    }
    let computed = match action {
        Action::AlterTable {
            cmd:
                TableCmd::AlterType {
                    using: Some(Using::AtTimeZone(_) | Using::Expr),
                    ..
                },
            ..
        } => "; the USING expression is computed for every row",
        _ => "",
    };
    let mut f = Found::new(
        Rewrite,
        Severity::Warning,
        format!(
            "rewrites {} under {} ({} for the whole rewrite){computed}",
            cx.name(&e.table),
            e.mode,
            e.mode.blocks()
        ),
    )
    .sized(&e.table, Sizing::BySize);
    if let Some(h) = help(op) {
        f = f.help(h);
    }
    vec![f]
}

#[cfg(test)]
mod tests {
    use super::super::testing::ids;
    use super::*;

    #[test]
    fn rewriting_statements() {
        for sql in [
            "ALTER TABLE t ALTER COLUMN c TYPE bigint",
            "ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid()",
            "ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS (a * 2) STORED",
            "ALTER TABLE t ADD COLUMN id2 bigserial",
            "ALTER TABLE t SET LOGGED",
            "VACUUM FULL t",
            "CLUSTER t USING t_pkey",
            "CLUSTER",
            "VACUUM (FULL) t",
            "VACUUM (FULL true) t",
        ] {
            assert_eq!(ids(check, sql), vec![(Rewrite, Severity::Warning)], "{sql}");
        }
    }

    #[test]
    fn a_using_expression_rewrites_even_where_the_cast_would_not() {
        use crate::hazard::ast::{Rel, TypeSpec};
        use crate::hazard::context::{ColFacts, DbFacts, FileState, LintContext, TableFacts};
        let col = |name: &str, mods: &[i64]| ColFacts {
            typ: TypeSpec::with_mods(name, mods),
            not_null: false,
            enum_labels: None,
        };
        let mut db = DbFacts {
            major: 15,
            ..Default::default()
        };
        db.tables.insert(
            Rel::new(None, "t"),
            TableFacts {
                name: "public.t".into(),
                kind: 'r',
                columns: [
                    ("ts".into(), col("timestamp", &[])),
                    ("v".into(), col("varchar", &[5])),
                ]
                .into(),
                ..Default::default()
            },
        );
        let ctx = LintContext {
            db: Some(db),
            ..Default::default()
        };
        let utc = FileState {
            timezone_utc: Some(true),
            ..Default::default()
        };
        // Measured on 15: under UTC the plain conversion and `USING v::text`
        // keep the table's file; `AT TIME ZONE` rewrites it.
        let found = |sql| super::super::testing::findings_with(check, sql, &ctx, &utc);
        let at_zone =
            found("ALTER TABLE t ALTER COLUMN ts TYPE timestamptz USING ts AT TIME ZONE 'UTC'");
        assert!(
            at_zone[0].detail.contains("computed for every row"),
            "{at_zone:?}"
        );
        assert!(found("ALTER TABLE t ALTER COLUMN ts TYPE timestamptz").is_empty());
        assert!(found("ALTER TABLE t ALTER COLUMN v TYPE text USING v::text").is_empty());
        assert_eq!(
            found("ALTER TABLE t ALTER COLUMN v TYPE text USING lower(v)").len(),
            1
        );
    }

    #[test]
    fn options_turned_off_are_off() {
        assert!(ids(check, "VACUUM (FULL false) t").is_empty());
        assert!(ids(check, "VACUUM (FULL off, ANALYZE) t").is_empty());
    }

    #[test]
    fn constant_defaults_do_not_rewrite_since_11() {
        assert!(ids(check, "ALTER TABLE t ADD COLUMN c int DEFAULT 0").is_empty());
        assert!(
            ids(
                check,
                "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()"
            )
            .is_empty()
        );
        let ctx = crate::hazard::context::LintContext {
            server_major: 10,
            ..Default::default()
        };
        let f = super::super::testing::findings_with(
            check,
            "ALTER TABLE t ADD COLUMN c int DEFAULT 0",
            &ctx,
            &Default::default(),
        );
        assert_eq!(f.len(), 1);
    }
}
