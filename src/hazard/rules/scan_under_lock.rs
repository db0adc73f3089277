//! `scan-under-lock`: a validating scan of the whole table while writes wait.

use super::{Found, Sizing};
use crate::hazard::action::{Action, DomainOp, TableCmd};
use crate::hazard::context::Cx;
use crate::hazard::effects::effect;
use crate::hazard::locks::Op;
use crate::hazard::{HazardId::ScanUnderLock, Severity};

pub fn check(action: &Action, cx: &Cx) -> Vec<Found> {
    if let Some(f) = validate_under_held_lock(action, cx) {
        return vec![f];
    }
    let Some(e) = effect(action, cx) else {
        return vec![];
    };
    let Some(op) = e.op else { return vec![] };
    if !e.scan || !e.strongest().blocks_writes() || cx.is_new(&e.table) {
        return vec![];
    }
    let name = cx.name(&e.table);
    let (what, help) = match (op, action) {
        (Op::SetNotNull, Action::AlterTable { cmd: TableCmd::SetNotNull { column }, .. })
            if cx.major >= 18 =>
        (
            format!("SET NOT NULL on {name}.{column} scans the table"),
            format!(
                "ADD CONSTRAINT {column}_not_null NOT NULL {column} NOT VALID, then VALIDATE CONSTRAINT {column}_not_null (takes only SHARE UPDATE EXCLUSIVE; PostgreSQL 18+)"
            ),
        ),
        (Op::SetNotNull, Action::AlterTable { cmd: TableCmd::SetNotNull { column }, .. }) => (
            format!("SET NOT NULL on {name}.{column} scans the table"),
            format!(
                "ADD CONSTRAINT {column}_not_null CHECK ({column} IS NOT NULL) NOT VALID; VALIDATE it; then SET NOT NULL skips the scan (PostgreSQL 12+)"
            ),
        ),
        (Op::SetNotNull, _) if cx.major >= 18 => (
            format!("adding NOT NULL scans {name}"),
            "add it NOT VALID, then VALIDATE CONSTRAINT (takes only SHARE UPDATE EXCLUSIVE; PostgreSQL 18+)".into(),
        ),
        (Op::SetNotNull, _) => (format!("adding NOT NULL scans {name}"), "add a CHECK (c IS NOT NULL) NOT VALID and VALIDATE it first".into()),
        (Op::AddCheck, _) => (format!("ADD CHECK scans {name}"), "ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT (takes only SHARE UPDATE EXCLUSIVE)".into()),
        (Op::AddColumnForeignKeyDefault, Action::AlterTable { cmd: TableCmd::AddColumn(c), .. }) => (
            format!("ADD COLUMN {} with a DEFAULT and REFERENCES checks every row of {name}", c.name),
            "add the column with its default, then ADD CONSTRAINT … FOREIGN KEY … NOT VALID and VALIDATE CONSTRAINT in a later transaction".into(),
        ),
        (Op::AddColumnCheck, Action::AlterTable { cmd: TableCmd::AddColumn(c), .. }) => (
            format!("ADD COLUMN {} with a CHECK checks every row of {name}", c.name),
            "add the column without the CHECK, then ADD CONSTRAINT … CHECK (…) NOT VALID and VALIDATE CONSTRAINT in a later transaction".into(),
        ),
        (Op::AddPrimaryKeyUsingIndex, Action::AlterTable { rel, cmd: TableCmd::AddConstraint(c) }) => {
            let index = c.using_index.clone().unwrap_or_default();
            let what = match cx.index_columns(rel, &index) {
                Some(cols) => format!("sets NOT NULL on {}", cols.join(", ")),
                None => "sets NOT NULL on the index's columns unless they are NOT NULL already".into(),
            };
            (
                format!("ADD PRIMARY KEY USING INDEX {index} {what}: it scans {name}"),
                "make the columns NOT NULL first without the scan (CHECK (c IS NOT NULL) NOT VALID, VALIDATE it, SET NOT NULL), then ADD PRIMARY KEY USING INDEX".into(),
            )
        }
        (
            Op::DomainAddConstraint | Op::DomainSetNotNull | Op::DomainValidateConstraint,
            Action::AlterDomain { domain, op },
        ) => {
            let what = match op {
                DomainOp::SetNotNull => "SET NOT NULL",
                DomainOp::Validate { .. } => "VALIDATE CONSTRAINT",
                _ => "ADD CONSTRAINT",
            };
            (
                format!("ALTER DOMAIN {domain} {what} checks every stored value of the domain"),
                "a domain has no online form (its VALIDATE CONSTRAINT takes SHARE too): run it while writes can wait, or check each column with a table CHECK … NOT VALID and VALIDATE that".into(),
            )
        }
        (Op::AddForeignKey, _) => (
            format!("ADD FOREIGN KEY scans {name}"),
            "ADD CONSTRAINT … FOREIGN KEY … NOT VALID, then VALIDATE CONSTRAINT in a separate statement".into(),
        ),
        (Op::AttachPartition, _) => (
            format!("ATTACH PARTITION scans the partition of {name}"),
            "first add a validated CHECK on the partition matching its bounds: the scan is skipped".into(),
        ),
        _ => return vec![],
    };
    vec![
        Found::new(
            ScanUnderLock,
            Severity::Warning,
            format!(
                "{what} under {} ({})",
                e.describe(cx),
                e.strongest().blocks()
            ),
        )
        .sized(&e.table, Sizing::BySize)
        .help(help),
    ]
}

/// `VALIDATE CONSTRAINT` in an explicit transaction that already holds a
/// write-blocking lock on the table (typically from the `ADD … NOT VALID`
/// just before it): the validating scan runs under that lock until COMMIT.
fn validate_under_held_lock(action: &Action, cx: &Cx) -> Option<Found> {
    let Action::AlterTable {
        rel,
        cmd: TableCmd::ValidateConstraint { name },
    } = action
    else {
        return None;
    };
    cx.file.in_tx?;
    let table = cx.name(rel);
    let (mode, line) = cx
        .file
        .tx_locks
        .get(&table)
        .filter(|(m, _)| m.blocks_writes())?;
    Some(
        Found::new(
            ScanUnderLock,
            Severity::Warning,
            format!(
                "VALIDATE CONSTRAINT {name} scans {table} while the {mode} lock taken at line {line} in this transaction is still held ({} until COMMIT)",
                mode.blocks()
            ),
        )
        .sized(rel, Sizing::BySize)
        .help("COMMIT before validating: VALIDATE CONSTRAINT in a transaction of its own takes only SHARE UPDATE EXCLUSIVE"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{findings_with, ids};
    use super::*;

    #[test]
    fn validating_statements_scan() {
        for sql in [
            "ALTER TABLE t ALTER COLUMN c SET NOT NULL",
            "ALTER TABLE t ADD CONSTRAINT c_nn NOT NULL c",
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)",
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p (id)",
            "ALTER TABLE p ATTACH PARTITION p1 FOR VALUES FROM (1) TO (2)",
            "ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0)",
            "ALTER DOMAIN d SET NOT NULL",
            "ALTER DOMAIN d VALIDATE CONSTRAINT c",
            "ALTER TABLE t ADD COLUMN c int CHECK (c > 0)",
            "ALTER TABLE t ADD COLUMN c int DEFAULT 1 REFERENCES p",
            "ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY USING INDEX t_id_key",
        ] {
            assert_eq!(
                ids(check, sql),
                vec![(ScanUnderLock, Severity::Warning)],
                "{sql}"
            );
        }
    }

    #[test]
    fn not_valid_and_validate_do_not() {
        for sql in [
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID",
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p (id) NOT VALID",
            "ALTER TABLE t VALIDATE CONSTRAINT c",
            "ALTER TABLE t ADD CONSTRAINT c_nn NOT NULL c NOT VALID",
            "ALTER TABLE t VALIDATE CONSTRAINT t_c_not_null",
            "ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0) NOT VALID",
            "ALTER DOMAIN d DROP NOT NULL",
            "ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX t_id_key",
            "ALTER TABLE t ADD COLUMN c int REFERENCES p",
        ] {
            assert!(ids(check, sql).is_empty(), "{sql}");
        }
    }

    #[test]
    fn postgresql_18_is_told_its_own_form() {
        let help = |major| {
            let ctx = crate::hazard::context::LintContext {
                server_major: major,
                ..Default::default()
            };
            findings_with(
                check,
                "ALTER TABLE t ALTER COLUMN c SET NOT NULL",
                &ctx,
                &Default::default(),
            )[0]
            .help
            .clone()
            .unwrap()
        };
        assert!(help(18).contains("NOT NULL c NOT VALID"), "{}", help(18));
        assert!(help(17).contains("CHECK (c IS NOT NULL)"), "{}", help(17));
    }

    #[test]
    fn a_validated_not_null_check_skips_the_scan() {
        let mut file = crate::hazard::context::FileState::default();
        file.not_null_checks.insert(("t".into(), "c".into()));
        let f = findings_with(
            check,
            "ALTER TABLE t ALTER COLUMN c SET NOT NULL",
            &Default::default(),
            &file,
        );
        assert!(f.is_empty());
    }
}
