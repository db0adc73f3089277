//! Statements on rows: `UPDATE`, `DELETE`, `INSERT`, `COPY … FROM`, and
//! `SELECT` (for the functions it calls).

use super::nodes::*;
use crate::hazard::action::*;
use crate::hazard::ast::*;
use pg_query::protobuf as pb;

/// Builtins a migration may call in a SELECT without hidden effects.
const HARMLESS: &[&str] = &[
    "setval",
    "nextval",
    "currval",
    "set_config",
    "current_setting",
    "now",
    "count",
    "max",
    "min",
    "coalesce",
    "format",
    "to_regclass",
    "pg_sleep",
    "version",
    "current_database",
    "lower",
    "upper",
    "pg_advisory_lock",
    "pg_advisory_unlock",
    "pg_advisory_xact_lock",
    "pg_try_advisory_lock",
    "pg_get_serial_sequence",
    "concat",
    "length",
    "exists",
    "gen_random_uuid",
    "jsonb_build_object",
    "pg_catalog.setval",
    "pg_catalog.set_config",
    "pg_catalog.pg_get_serial_sequence",
    "sum",
    "row_number",
    "array_agg",
    "string_agg",
    "json_agg",
    "jsonb_agg",
    "replace",
    "substring",
    "trim",
    "nullif",
];

pub(super) fn update(s: &pb::UpdateStmt) -> Classified {
    one(
        "UPDATE",
        Action::Update {
            rel: rel_of(s.relation.as_ref()),
            has_where: s.where_clause.is_some(),
        },
    )
}

pub(super) fn delete(s: &pb::DeleteStmt) -> Classified {
    one(
        "DELETE",
        Action::Delete {
            rel: rel_of(s.relation.as_ref()),
            has_where: s.where_clause.is_some(),
        },
    )
}

pub(super) fn insert(s: &pb::InsertStmt) -> Classified {
    one(
        "INSERT",
        Action::Insert {
            rel: rel_of(s.relation.as_ref()),
        },
    )
}

/// `COPY t FROM …` writes rows like an `INSERT`; `COPY … TO` only reads;
/// either with `PROGRAM` runs a shell command on the server.
pub(super) fn copy(s: &pb::CopyStmt) -> Classified {
    let mut actions = vec![];
    if s.is_program {
        actions.push(Action::CopyProgram {
            from: s.is_from,
            command: s.filename.clone(),
        });
    }
    if let (Some(r), true) = (&s.relation, s.is_from) {
        actions.push(Action::Insert {
            rel: Rel::from_range(r),
        });
    }
    if actions.is_empty() {
        actions.push(Action::Other);
    }
    ("COPY".into(), actions)
}

/// `SELECT [INTO]`, with the functions it calls that are not [`HARMLESS`].
pub(super) fn select(s: &pb::SelectStmt) -> Classified {
    let funcs: Vec<String> = called_functions(s)
        .into_iter()
        .filter(|f| {
            !HARMLESS.contains(&f.to_ascii_lowercase().as_str()) && !f.starts_with("pg_catalog.")
        })
        .collect();
    let k = if s.into_clause.is_some() {
        "SELECT INTO"
    } else {
        "SELECT"
    };
    if funcs.is_empty() {
        one(k, Action::Other)
    } else {
        one(k, Action::SelectCalls { funcs })
    }
}
