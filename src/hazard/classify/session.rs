//! The session and its transaction: `BEGIN`/`COMMIT`/`ROLLBACK`/savepoints,
//! `SET`/`RESET`, `LOCK`.

use super::nodes::*;
use crate::hazard::action::*;
use crate::hazard::ast::*;
use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, TransactionStmtKind as Tk};

pub(super) fn transaction(s: &pb::TransactionStmt) -> Classified {
    let (k, tx) = match Tk::try_from(s.kind).unwrap_or(Tk::Undefined) {
        Tk::TransStmtBegin | Tk::TransStmtStart => ("BEGIN", Tx::Begin),
        Tk::TransStmtCommit => ("COMMIT", Tx::Commit),
        Tk::TransStmtRollback => ("ROLLBACK", Tx::Rollback),
        Tk::TransStmtSavepoint | Tk::TransStmtRelease | Tk::TransStmtRollbackTo => {
            ("SAVEPOINT", Tx::Savepoint)
        }
        _ => ("TRANSACTION", Tx::Other),
    };
    one(k, Action::Tx(tx))
}

/// `SET [LOCAL] name = value`, `SET … TO DEFAULT`, `RESET name`.
pub(super) fn set(s: &pb::VariableSetStmt) -> Classified {
    let value = if s.kind == pb::VariableSetKind::VarSetValue as i32 {
        s.args
            .iter()
            .filter_map(const_text)
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        "DEFAULT".into()
    };
    let k = if s.kind == pb::VariableSetKind::VarReset as i32 {
        "RESET"
    } else {
        "SET"
    };
    one(
        k,
        Action::Set {
            name: s.name.to_ascii_lowercase(),
            value,
            local: s.is_local,
        },
    )
}

pub(super) fn lock(s: &pb::LockStmt) -> Classified {
    let rels = s.relations.iter().filter_map(|n| match n.node.as_ref()? {
        NodeEnum::RangeVar(r) => Some(Rel::from_range(r)),
        _ => None,
    });
    one(
        "LOCK",
        Action::Lock {
            rels: rels.collect(),
            mode: lock_mode(s.mode),
        },
    )
}
