//! `ops`: side effects on the server (disk, WAL, replicas, unused indexes).

use super::Found;
use crate::hazard::action::{Action, ObjKind};
use crate::hazard::context::Cx;
use crate::hazard::effects::effect;
use crate::hazard::locks::Op;
use crate::hazard::{HazardId::Ops, Severity};

pub fn check(action: &Action, cx: &Cx) -> Vec<Found> {
    let i = |d: String| vec![Found::new(Ops, Severity::Info, d)];
    if let Action::Drop {
        kind: ObjKind::Index,
        objects,
        ..
    } = action
    {
        if let Some(scans) = objects
            .first()
            .and_then(|o| cx.table(o))
            .and_then(|t| t.index_scans)
            .filter(|s| *s > 0)
        {
            return i(format!(
                "index {} was used {scans} times since statistics were reset: queries may slow down",
                objects[0]
            ));
        }
        return vec![];
    }
    if let Action::CopyProgram { from, command } = action {
        return vec![Found::new(
            Ops,
            Severity::Blocker,
            format!(
                "COPY … {} PROGRAM runs the shell command '{command}' on the database server, as its operating-system user: a migration must not",
                if *from { "FROM" } else { "TO" }
            ),
        )
        .help("load or export the data from the client (psql \\copy), outside the migration")];
    }
    if let Action::Update {
        rel,
        has_where: false,
    } = action
    {
        return i(format!(
            "updating every row of {} writes a new version of each: WAL, replica lag and bloat",
            cx.name(rel)
        ));
    }
    let Some(e) = effect(action, cx) else {
        return vec![];
    };
    match e.op {
        Some(op)
            if e.rewrite
                && !matches!(op, Op::Truncate | Op::AlterSequence)
                && !cx.is_new(&e.table) =>
        {
            i(format!(
                "a rewrite of {} needs free disk for a second copy and writes it all to WAL (replica lag)",
                cx.name(&e.table)
            ))
        }
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::ids;
    use super::*;

    #[test]
    fn rewrites_cost_disk_and_wal() {
        assert_eq!(ids(check, "VACUUM FULL t"), vec![(Ops, Severity::Info)]);
        assert_eq!(
            ids(check, "UPDATE t SET a = 1"),
            vec![(Ops, Severity::Info)]
        );
        assert!(ids(check, "ALTER TABLE t ADD COLUMN c int").is_empty());
    }

    #[test]
    fn copy_program_runs_a_shell_command() {
        for sql in [
            "COPY t FROM PROGRAM 'curl https://example.com/t.csv'",
            "COPY (SELECT 1) TO PROGRAM 'gzip > /tmp/x.gz'",
        ] {
            assert_eq!(ids(check, sql), vec![(Ops, Severity::Blocker)], "{sql}");
        }
        assert!(ids(check, "COPY t FROM '/tmp/t.csv'").is_empty());
    }
}
