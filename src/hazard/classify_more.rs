//! Classification of the statements that are not about table structure:
//! transactions, settings, functions, privileges, types, sequences.

use super::action::*;
use super::ast::*;
use super::classify::{constraint, lock_mode, option_value};
use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, ObjectType as Ot, TransactionStmtKind as Tk};

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

fn words_of(node: &NodeEnum) -> String {
    let debug = format!("{node:?}");
    let name = debug
        .split('(')
        .next()
        .unwrap_or("")
        .trim_end_matches("Stmt");
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn rename_kind(t: i32) -> ObjKind {
    match Ot::try_from(t).unwrap_or(Ot::Undefined) {
        Ot::ObjectTable | Ot::ObjectForeignTable => ObjKind::Table,
        Ot::ObjectColumn => ObjKind::Column,
        Ot::ObjectIndex => ObjKind::Index,
        Ot::ObjectView => ObjKind::View,
        Ot::ObjectMatview => ObjKind::MatView,
        Ot::ObjectSequence => ObjKind::Sequence,
        Ot::ObjectSchema => ObjKind::Schema,
        Ot::ObjectType | Ot::ObjectDomain => ObjKind::Type,
        Ot::ObjectFunction | Ot::ObjectProcedure | Ot::ObjectRoutine => ObjKind::Function,
        Ot::ObjectTrigger => ObjKind::Trigger,
        Ot::ObjectPolicy => ObjKind::Policy,
        _ => ObjKind::Other,
    }
}

fn object_name(n: Option<&pb::Node>) -> String {
    match n.and_then(|n| n.node.as_ref()) {
        Some(NodeEnum::List(l)) => strings(&l.items).join("."),
        Some(NodeEnum::String(s)) => s.sval.clone(),
        Some(NodeEnum::ObjectWithArgs(f)) => strings(&f.objname).join("."),
        Some(NodeEnum::TypeName(t)) => strings(&t.names).join("."),
        _ => "?".into(),
    }
}

pub fn classify_more(node: &NodeEnum, sql: &str) -> (String, Vec<Action>) {
    use NodeEnum as N;
    let one = |k: &str, a: Action| (k.to_string(), vec![a]);
    match node {
        N::RenameStmt(s) => {
            let kind = rename_kind(s.rename_type);
            let rel = s.relation.as_ref().map(Rel::from_range);
            let object = if !s.subname.is_empty() {
                s.subname.clone()
            } else if let Some(r) = &rel {
                r.to_string()
            } else {
                object_name(s.object.as_deref())
            };
            let k = match kind {
                ObjKind::Column | ObjKind::Table => "ALTER TABLE".to_string(),
                other => format!("ALTER {}", other.word().to_ascii_uppercase()),
            };
            one(
                &k,
                Action::Rename {
                    kind,
                    rel,
                    object,
                    new: s.newname.clone(),
                },
            )
        }
        N::TransactionStmt(s) => {
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
        N::VariableSetStmt(s) => {
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
        N::CreateFunctionStmt(s) => {
            let lang = option_value(&s.options, "language")
                .unwrap_or_default()
                .to_ascii_lowercase();
            let security_definer =
                option_value(&s.options, "security").is_some_and(|v| v == "true");
            let trigger = s
                .return_type
                .as_ref()
                .is_some_and(|t| TypeSpec::from(t).name == "trigger");
            let body_error = if lang == "plpgsql" {
                super::parse::check_plpgsql(sql).err()
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
        N::AlterFunctionStmt(s) => {
            let security_definer =
                option_value(&s.actions, "security").is_some_and(|v| v == "true");
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
        N::DoStmt(_) => one("DO", Action::Do),
        N::CallStmt(s) => {
            let name = s
                .funccall
                .as_ref()
                .map(|f| strings(&f.funcname).join("."))
                .unwrap_or_default();
            one("CALL", Action::Call { name })
        }
        N::ExecuteStmt(_) => one("EXECUTE", Action::Execute),
        N::SelectStmt(s) => {
            let funcs: Vec<String> = called_functions(s.as_ref())
                .into_iter()
                .filter(|f| {
                    !HARMLESS.contains(&f.to_ascii_lowercase().as_str())
                        && !f.starts_with("pg_catalog.")
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
        N::AlterEnumStmt(s) => {
            let typ = Rel::from_names(&s.type_name);
            if s.old_val.is_empty() {
                one(
                    "ALTER TYPE",
                    Action::AddEnumValue {
                        typ,
                        value: s.new_val.clone(),
                    },
                )
            } else {
                let object = format!("{typ} value '{}'", s.old_val);
                one(
                    "ALTER TYPE",
                    Action::Rename {
                        kind: ObjKind::Type,
                        rel: None,
                        object,
                        new: s.new_val.clone(),
                    },
                )
            }
        }
        N::CreateEnumStmt(s) => one(
            "CREATE TYPE",
            Action::CreateEnum {
                typ: Rel::from_names(&s.type_name),
                values: strings(&s.vals),
            },
        ),
        N::GrantStmt(s) => one(
            if s.is_grant { "GRANT" } else { "REVOKE" },
            Action::Grant {
                grant: s.is_grant,
                what: "privileges".into(),
            },
        ),
        N::GrantRoleStmt(s) => one(
            if s.is_grant { "GRANT" } else { "REVOKE" },
            Action::Grant {
                grant: s.is_grant,
                what: "role membership".into(),
            },
        ),
        N::AlterDefaultPrivilegesStmt(_) => one(
            "ALTER DEFAULT PRIVILEGES",
            Action::Grant {
                grant: true,
                what: "default privileges".into(),
            },
        ),
        N::AlterOwnerStmt(s) => one(
            "ALTER OWNER",
            Action::AlterOwner {
                what: object_name(s.object.as_deref()),
            },
        ),
        N::CreatePolicyStmt(s) => one(
            "CREATE POLICY",
            Action::Policy {
                rel: s
                    .table
                    .as_ref()
                    .map(Rel::from_range)
                    .unwrap_or(Rel::new(None, "?")),
                verb: "creates",
                name: s.policy_name.clone(),
            },
        ),
        N::AlterPolicyStmt(s) => one(
            "ALTER POLICY",
            Action::Policy {
                rel: s
                    .table
                    .as_ref()
                    .map(Rel::from_range)
                    .unwrap_or(Rel::new(None, "?")),
                verb: "changes",
                name: s.policy_name.clone(),
            },
        ),
        N::CreateTrigStmt(s) => one(
            "CREATE TRIGGER",
            Action::CreateTrigger {
                rel: s
                    .relation
                    .as_ref()
                    .map(Rel::from_range)
                    .unwrap_or(Rel::new(None, "?")),
                name: s.trigname.clone(),
            },
        ),
        N::AlterDomainStmt(s) if s.subtype == "C" => {
            let not_valid = matches!(s.def.as_deref().and_then(|d| d.node.as_ref()), Some(N::Constraint(c)) if constraint(c, None).is_some_and(|c| c.not_valid));
            one(
                "ALTER DOMAIN",
                Action::DomainConstraint {
                    domain: Rel::from_names(&s.type_name),
                    not_valid,
                },
            )
        }
        N::AlterSeqStmt(s) => one(
            "ALTER SEQUENCE",
            Action::AlterSequence {
                rel: s
                    .sequence
                    .as_ref()
                    .map(Rel::from_range)
                    .unwrap_or(Rel::new(None, "?")),
                restart: option_value(&s.options, "restart").is_some(),
            },
        ),
        N::LockStmt(s) => {
            let rels = s.relations.iter().filter_map(|n| match n.node.as_ref()? {
                N::RangeVar(r) => Some(Rel::from_range(r)),
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
        N::ViewStmt(s) => one(
            "CREATE VIEW",
            Action::CreateView {
                name: s
                    .view
                    .as_ref()
                    .map(Rel::from_range)
                    .unwrap_or(Rel::new(None, "?")),
            },
        ),
        N::CreateRoleStmt(_)
        | N::AlterRoleStmt(_)
        | N::DropRoleStmt(_)
        | N::AlterRoleSetStmt(_) => {
            let k = words_of(node);
            one(
                &k,
                Action::Role {
                    what: k.to_ascii_lowercase(),
                },
            )
        }
        N::CreatedbStmt(_)
        | N::DropdbStmt(_)
        | N::AlterSystemStmt(_)
        | N::CreateTableSpaceStmt(_) => {
            let k = words_of(node);
            one(&k, Action::NoTransaction { what: k.clone() })
        }
        N::CommentStmt(s) => {
            let rel = (s.objtype == Ot::ObjectTable as i32 || s.objtype == Ot::ObjectColumn as i32)
                .then(|| {
                    let mut r = match s.object.as_deref().and_then(|o| o.node.as_ref()) {
                        Some(N::List(l)) => Rel::from_names(&l.items),
                        _ => Rel::new(None, "?"),
                    };
                    if s.objtype == Ot::ObjectColumn as i32
                        && let Some(Some(N::List(l))) = s.object.as_deref().map(|o| o.node.as_ref())
                    {
                        r = Rel::from_names(&l.items[..l.items.len().saturating_sub(1)]);
                    }
                    r
                });
            one("COMMENT", Action::Comment { rel })
        }
        N::CopyStmt(s) => match (&s.relation, s.is_from) {
            (Some(r), true) => one(
                "COPY",
                Action::Insert {
                    rel: Rel::from_range(r),
                },
            ),
            _ => one("COPY", Action::Other),
        },
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
