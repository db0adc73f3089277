//! Statements about the server rather than the database: `CREATE|DROP
//! DATABASE`, `ALTER SYSTEM`, `CREATE TABLESPACE`. None runs in a transaction block.

use super::nodes::*;
use crate::hazard::action::*;
use pg_query::NodeEnum;

/// `node` names the statement: `CREATEDB`, `DROPDB`, `ALTER SYSTEM`, `CREATE TABLE SPACE`.
pub(super) fn no_transaction(node: &NodeEnum) -> Classified {
    let k = words_of(node);
    one(&k, Action::NoTransaction { what: k.clone() })
}
