//! From a parsed statement to its kind (`ALTER TABLE`) and actions.
//!
//! [`classify`] is the table of contents: one line per kind of statement,
//! sending it to the file of its family. The readers of nodes the families
//! share (relations, constraints, columns, options) are in `nodes.rs`.
//!
//! | file | statements |
//! |---|---|
//! | `table.rs` | `CREATE TABLE`, `ALTER TABLE` and its subcommands, `CREATE INDEX` |
//! | `maintenance.rs` | `REINDEX`, `VACUUM`, `ANALYZE`, `CLUSTER`, `REFRESH MATERIALIZED VIEW` |
//! | `drop.rs` | `DROP …`, `DROP OWNED`, `TRUNCATE` |
//! | `data.rs` | `UPDATE`, `DELETE`, `INSERT`, `COPY`, `SELECT` |
//! | `routine.rs` | functions and procedures, `DO`, `CALL`, `EXECUTE`, `CREATE TRIGGER` |
//! | `session.rs` | `BEGIN`/`COMMIT`/`ROLLBACK`/savepoints, `SET`/`RESET`, `LOCK` |
//! | `privilege.rs` | `GRANT`/`REVOKE`, default privileges, `OWNER TO`, `REASSIGN OWNED`, roles, policies |
//! | `types.rs` | enums, `ALTER DOMAIN` |
//! | `objects.rs` | `ALTER … RENAME`, `ALTER … SET SCHEMA`, `CREATE VIEW`, `CREATE RULE`, `ALTER SEQUENCE`, `COMMENT ON` |
//! | `server.rs` | `CREATE`/`DROP DATABASE`, `ALTER SYSTEM`, `CREATE TABLESPACE` |
//!
//! Everything else is its node's name in words (`CREATE SCHEMA`) with
//! [`Action::Other`]: nothing to lint.

mod data;
mod drop;
mod maintenance;
mod nodes;
mod objects;
mod privilege;
mod routine;
mod server;
mod session;
mod table;
mod types;

pub use nodes::Classified;

use crate::hazard::action::Action;
use nodes::{one, words_of};
use pg_query::NodeEnum;
use pg_query::protobuf::ObjectType as Ot;

/// The statement's kind and actions. `sql` is the statement text (for PL/pgSQL checks).
pub fn classify(node: &NodeEnum, sql: &str) -> Classified {
    use NodeEnum as N;
    match node {
        N::CreateStmt(s) => table::create(s),
        N::AlterTableStmt(s) => table::alter(s),
        N::IndexStmt(s) => table::create_index(s),

        N::ReindexStmt(s) => maintenance::reindex(s),
        N::VacuumStmt(s) => maintenance::vacuum(s),
        N::ClusterStmt(s) => maintenance::cluster(s),
        N::RefreshMatViewStmt(s) => maintenance::refresh(s),

        N::DropStmt(s) => drop::drop(s),
        N::DropOwnedStmt(s) => drop::drop_owned(s),
        N::TruncateStmt(s) => drop::truncate(s),

        N::UpdateStmt(s) => data::update(s),
        N::DeleteStmt(s) => data::delete(s),
        N::InsertStmt(s) => data::insert(s),
        N::CopyStmt(s) => data::copy(s),
        N::SelectStmt(s) => data::select(s),

        N::CreateFunctionStmt(s) => routine::create_function(s, sql),
        N::AlterFunctionStmt(s) => routine::alter_function(s),
        N::DoStmt(_) => one("DO", Action::Do),
        N::CallStmt(s) => routine::call(s),
        N::ExecuteStmt(_) => one("EXECUTE", Action::Execute),
        N::CreateTrigStmt(s) => routine::create_trigger(s),

        N::TransactionStmt(s) => session::transaction(s),
        N::VariableSetStmt(s) => session::set(s),
        N::LockStmt(s) => session::lock(s),

        N::GrantStmt(s) => privilege::grant(s),
        N::GrantRoleStmt(s) => privilege::grant_role(s),
        N::AlterDefaultPrivilegesStmt(_) => privilege::default_privileges(),
        N::AlterOwnerStmt(s) => privilege::owner(s),
        N::ReassignOwnedStmt(s) => privilege::reassign_owned(s),
        N::CreateRoleStmt(_) | N::AlterRoleStmt(_) | N::DropRoleStmt(_) => privilege::role(node),
        N::AlterRoleSetStmt(_) => privilege::role(node),
        N::CreatePolicyStmt(s) => privilege::create_policy(s),
        N::AlterPolicyStmt(s) => privilege::alter_policy(s),

        N::CreateEnumStmt(s) => types::create_enum(s),
        N::AlterEnumStmt(s) => types::alter_enum(s),
        N::AlterDomainStmt(s) => types::alter_domain(s),

        N::RenameStmt(s) => objects::rename(s),
        N::AlterObjectSchemaStmt(s) => objects::set_schema(s),
        N::RuleStmt(s) => objects::create_rule(s),
        N::ViewStmt(s) => objects::create_view(s),
        N::AlterSeqStmt(s) => objects::alter_sequence(s),
        N::CommentStmt(s) => objects::comment(s),

        N::CreatedbStmt(_) => server::create_database(),
        N::DropdbStmt(s) => server::drop_database(s),
        N::AlterSystemStmt(_) | N::CreateTableSpaceStmt(_) => server::no_transaction(node),

        N::CreateTableAsStmt(s) if s.objtype == Ot::ObjectMatview as i32 => {
            one("CREATE MATERIALIZED VIEW", Action::Other)
        }
        N::CreateTableAsStmt(_) => one("CREATE TABLE AS", Action::Other),
        N::CreateSeqStmt(_) => one("CREATE SEQUENCE", Action::Other),
        N::CreateSchemaStmt(_) => one("CREATE SCHEMA", Action::Other),
        N::CreateExtensionStmt(_) => one("CREATE EXTENSION", Action::Other),
        N::CompositeTypeStmt(_) => one("CREATE TYPE", Action::Other),
        N::CreateDomainStmt(_) => one("CREATE DOMAIN", Action::Other),
        _ => (words_of(node), vec![Action::Other]),
    }
}
