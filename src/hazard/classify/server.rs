//! Statements about the server rather than the database: `CREATE|DROP
//! DATABASE`, `ALTER SYSTEM`, `CREATE TABLESPACE`. None runs in a transaction block.

use super::nodes::*;
use crate::hazard::action::*;
use pg_query::NodeEnum;
use pg_query::protobuf as pb;

/// `node` names the statement: `ALTER SYSTEM`, `CREATE TABLE SPACE`.
pub(super) fn no_transaction(node: &NodeEnum) -> Classified {
    let k = words_of(node);
    one(&k, Action::NoTransaction { what: k.clone() })
}

pub(super) fn create_database() -> Classified {
    let k = "CREATE DATABASE";
    one(k, Action::NoTransaction { what: k.into() })
}

/// `DROP DATABASE`: outside a transaction, and everything in it is gone.
pub(super) fn drop_database(s: &pb::DropdbStmt) -> Classified {
    let k = "DROP DATABASE";
    (
        k.into(),
        vec![
            Action::NoTransaction { what: k.into() },
            Action::DropDatabase {
                name: s.dbname.clone(),
            },
        ],
    )
}
