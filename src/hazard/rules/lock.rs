//! `lock`: a strong lock, however brief, queues behind long transactions and
//! everything else queues behind it. `info` under a `lock_timeout`, `warning`
//! without one.

use super::Found;
use crate::hazard::action::Action;
use crate::hazard::context::Cx;
use crate::hazard::effects::effect;
use crate::hazard::locks::Op;
use crate::hazard::{HazardId::Lock, Severity};

pub const HELP: &str = "SET lock_timeout = '5s' first and retry on timeout, so a long transaction cannot stall the table";

pub fn check(action: &Action, cx: &Cx) -> Vec<Found> {
    let Some(e) = effect(action, cx) else {
        return vec![];
    };
    if !e.strongest().blocks_writes() || (cx.is_new(&e.table) && e.others.is_empty()) {
        return vec![];
    }
    let mut detail = format!("takes {} ({})", e.describe(cx), e.strongest().blocks());
    match e.op {
        Some(Op::DropForeignKey) => detail.push_str("; dropping a foreign key locks both tables"),
        Some(Op::DropTable) if !e.others.is_empty() => {
            detail.push_str("; dropping a table locks the tables its foreign keys point to")
        }
        Some(
            Op::CreateTableWithFk
            | Op::AddForeignKey
            | Op::AddForeignKeyNotValid
            | Op::AddColumnForeignKey
            | Op::AddColumnForeignKeyDefault,
        ) => detail.push_str("; a foreign key locks the referenced table too"),
        _ => {}
    }
    let f = if cx.lock_timeout() {
        Found::new(Lock, Severity::Info, detail)
    } else {
        Found::new(
            Lock,
            Severity::Warning,
            format!("{detail}; no lock_timeout is set"),
        )
        .help(HELP)
    };
    vec![f]
}

#[cfg(test)]
mod tests {
    use super::super::testing::{findings, findings_with, ids};
    use super::*;

    #[test]
    fn strong_locks_warn_without_a_lock_timeout() {
        assert_eq!(
            ids(check, "ALTER TABLE t ADD COLUMN c int"),
            vec![(Lock, Severity::Warning)]
        );
        let file = crate::hazard::context::FileState {
            lock_timeout: true,
            ..Default::default()
        };
        let f = findings_with(
            check,
            "ALTER TABLE t ADD COLUMN c int",
            &Default::default(),
            &file,
        );
        assert_eq!(f[0].severity, Severity::Info);
    }

    #[test]
    fn dropping_a_foreign_key_locks_both_tables() {
        let f = findings(check, "ALTER TABLE t DROP CONSTRAINT t_p_fkey");
        assert!(f[0].detail.contains("both tables"), "{}", f[0].detail);
        assert!(
            f[0].detail
                .contains("ACCESS EXCLUSIVE on t and ACCESS EXCLUSIVE on")
        );
    }

    #[test]
    fn a_column_with_a_foreign_key_takes_access_exclusive() {
        let f = findings(check, "ALTER TABLE t ADD COLUMN pid int REFERENCES p");
        assert!(
            f[0].detail
                .starts_with("takes ACCESS EXCLUSIVE on t and SHARE ROW EXCLUSIVE on p"),
            "{}",
            f[0].detail
        );
    }

    #[test]
    fn weak_locks_are_not_flagged() {
        for sql in [
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            "UPDATE t SET a = 1 WHERE id = 1",
            "ALTER TABLE t SET (fillfactor = 90)",
            "ALTER TABLE t VALIDATE CONSTRAINT c",
        ] {
            assert!(ids(check, sql).is_empty(), "{sql}");
        }
        assert_eq!(
            ids(check, "CREATE INDEX i ON t (a)"),
            vec![(Lock, Severity::Warning)]
        );
    }
}
