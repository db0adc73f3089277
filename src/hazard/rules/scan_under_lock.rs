//! `scan-under-lock`: a validating scan of the whole table while writes wait.

use super::{Found, Sizing};
use crate::hazard::action::{Action, TableCmd};
use crate::hazard::context::Cx;
use crate::hazard::effects::effect;
use crate::hazard::locks::Op;
use crate::hazard::{HazardId::ScanUnderLock, Severity};

pub fn check(action: &Action, cx: &Cx) -> Vec<Found> {
    if let Action::DomainConstraint {
        domain,
        not_valid: false,
    } = action
    {
        return vec![Found::new(
            ScanUnderLock,
            Severity::Warning,
            format!("ALTER DOMAIN {domain} ADD CONSTRAINT scans every column of that type while writes wait"),
        )
        .help("ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT")];
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
