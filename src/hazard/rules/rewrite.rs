//! `rewrite`: the whole table is rewritten under ACCESS EXCLUSIVE.

use super::{Found, Sizing};
use crate::hazard::action::Action;
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
        Op::VacuumFull | Op::Cluster => {
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
    let mut f = Found::new(
        Rewrite,
        Severity::Warning,
        format!(
            "rewrites {} under {} ({} for the whole rewrite)",
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
        ] {
            assert_eq!(ids(check, sql), vec![(Rewrite, Severity::Warning)], "{sql}");
        }
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
