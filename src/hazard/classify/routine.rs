//! Code that runs in the server: functions and procedures, `DO`, `CALL`,
//! `EXECUTE`, triggers.

use super::nodes::*;
use crate::hazard::action::*;
use crate::hazard::ast::*;
use pg_query::protobuf as pb;

/// `CREATE FUNCTION|PROCEDURE`; a PL/pgSQL body is checked here (`sql` is the
/// statement's text).
pub(super) fn create_function(s: &pb::CreateFunctionStmt, sql: &str) -> Classified {
    let lang = option_value(&s.options, "language")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let security_definer = option_value(&s.options, "security").is_some_and(|v| v == "true");
    let trigger = s
        .return_type
        .as_ref()
        .is_some_and(|t| TypeSpec::from(t).name == "trigger");
    let body_error = if lang == "plpgsql" {
        crate::hazard::parse::check_plpgsql(sql).err()
    } else {
        None
    };
    let name = strings(&s.funcname).join(".");
    let k = if s.is_procedure {
        "CREATE PROCEDURE"
    } else {
        "CREATE FUNCTION"
    };
    one(
        k,
        Action::CreateFunction {
            name,
            security_definer,
            trigger,
            body_error,
        },
    )
}

pub(super) fn alter_function(s: &pb::AlterFunctionStmt) -> Classified {
    let security_definer = option_value(&s.actions, "security").is_some_and(|v| v == "true");
    let name = s
        .func
        .as_ref()
        .map(|f| strings(&f.objname).join("."))
        .unwrap_or_default();
    one(
        "ALTER FUNCTION",
        Action::AlterFunction {
            name,
            security_definer,
        },
    )
}

pub(super) fn call(s: &pb::CallStmt) -> Classified {
    let name = s
        .funccall
        .as_ref()
        .map(|f| strings(&f.funcname).join("."))
        .unwrap_or_default();
    one("CALL", Action::Call { name })
}

pub(super) fn create_trigger(s: &pb::CreateTrigStmt) -> Classified {
    one(
        "CREATE TRIGGER",
        Action::CreateTrigger {
            rel: rel_of(s.relation.as_ref()),
            name: s.trigname.clone(),
        },
    )
}
