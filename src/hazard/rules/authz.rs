//! `authz`: changes who may see or do what, or bypasses integrity checks.

use super::Found;
use crate::hazard::action::{Action, ObjKind, TableCmd, TriggerMode};
use crate::hazard::context::Cx;
use crate::hazard::{HazardId::Authz, Severity};

pub fn check(action: &Action, cx: &Cx) -> Vec<Found> {
    let w = |d: String| vec![Found::new(Authz, Severity::Warning, d)];
    match action {
        Action::Grant { grant, what } => w(format!(
            "{} {what}: changes who may see or do what",
            if *grant { "grants" } else { "revokes" }
        )),
        Action::AlterOwner { what } => w(format!(
            "changes the owner of {what}: the owner bypasses grants and row security"
        )),
        Action::Role { what } => w(format!("{what}: changes roles and their rights")),
        Action::ReassignOwned { roles, to } => w(format!(
            "gives every object {} own in this database (and the databases they own) to {to}: the owner bypasses grants and row security",
            roles.join(", ")
        )),
        Action::Policy { rel, verb, name } => w(format!(
            "{verb} row-security policy {name} on {}: changes which rows users see",
            cx.name(rel)
        )),
        Action::Drop {
            kind: ObjKind::Policy,
            objects,
            on,
            ..
        } => {
            let on = on
                .as_ref()
                .map(|r| format!(" on {}", cx.name(r)))
                .unwrap_or_default();
            w(format!(
                "drops row-security policy {}{on}: changes which rows users see",
                objects[0]
            ))
        }
        Action::CreateFunction {
            name,
            security_definer: true,
            ..
        }
        | Action::AlterFunction {
            name,
            security_definer: true,
        } => {
            let mut f = w(format!(
                "function {name} is SECURITY DEFINER: it runs with its owner's rights"
            ));
            f[0].help = Some("set a safe search_path on it (SET search_path = pg_catalog, pg_temp) and grant EXECUTE narrowly".into());
            f
        }
        Action::AlterTable { rel, cmd } => match cmd {
            TableCmd::RowSecurity { what } => w(format!(
                "{what} on {}: changes which rows users see",
                cx.name(rel)
            )),
            TableCmd::OwnerTo => w(format!(
                "changes the owner of {}: the owner bypasses grants and row security",
                cx.name(rel)
            )),
            TableCmd::Trigger {
                mode: TriggerMode::Replica,
                name,
            } => w(format!(
                "trigger {name} on {} now fires only where session_replication_role = replica (replication apply): ordinary writes stop firing it",
                cx.name(rel)
            )),
            TableCmd::Trigger {
                mode: TriggerMode::Always,
                name,
            } => w(format!(
                "trigger {name} on {} now fires in every session, replication apply included (session_replication_role = replica no longer skips it)",
                cx.name(rel)
            )),
            TableCmd::Trigger {
                mode: TriggerMode::Disable,
                name,
            } => {
                let t = cx.name(rel);
                let mut f = w(match name.as_str() {
                    "ALL" => format!(
                        "disables every trigger on {t}, the foreign-key checks included: rows written meanwhile are not checked and fire nothing"
                    ),
                    "USER" => format!(
                        "disables the user-defined triggers on {t} (not the foreign-key checks): rows written meanwhile skip them"
                    ),
                    _ => format!("disables trigger {name} on {t}: rows written meanwhile skip it"),
                });
                f[0].help = Some("re-enable it in the same transaction; prefer a batched backfill that keeps triggers".into());
                f
            }
            _ => vec![],
        },
        Action::Set { name, value, .. }
            if name == "session_replication_role" && value.eq_ignore_ascii_case("replica") =>
        {
            w(
                "session_replication_role = replica: triggers and foreign key checks are skipped"
                    .into(),
            )
        }
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::ids;
    use super::*;

    #[test]
    fn disabling_triggers_says_which() {
        let detail = |sql| {
            super::super::testing::findings(check, sql)[0]
                .detail
                .clone()
        };
        assert!(
            detail("ALTER TABLE t DISABLE TRIGGER USER").contains("not the foreign-key checks")
        );
        assert!(
            detail("ALTER TABLE t DISABLE TRIGGER ALL").contains("foreign-key checks included")
        );
        assert!(detail("ALTER TABLE t DISABLE TRIGGER tr").contains("trigger tr on t"));
    }

    #[test]
    fn privilege_and_integrity_changes() {
        for sql in [
            "GRANT SELECT ON t TO app",
            "REVOKE ALL ON t FROM PUBLIC",
            "ALTER TABLE t OWNER TO admin",
            "ALTER TABLE t ENABLE ROW LEVEL SECURITY",
            "CREATE POLICY p ON t USING (owner = current_user)",
            "ALTER TABLE t DISABLE TRIGGER ALL",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'",
            "SET session_replication_role = replica",
            "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO app",
            "REASSIGN OWNED BY old_app TO new_app",
            "ALTER TABLE t ENABLE REPLICA TRIGGER tr",
            "ALTER TABLE t ENABLE ALWAYS TRIGGER tr",
        ] {
            assert_eq!(ids(check, sql), vec![(Authz, Severity::Warning)], "{sql}");
        }
        assert!(
            ids(
                check,
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'"
            )
            .is_empty()
        );
    }
}
