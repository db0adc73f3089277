//! Readers of parse-tree nodes shared by the statement families: relations,
//! constraints, columns, options, object kinds.

use crate::hazard::action::*;
use crate::hazard::ast::*;
use crate::hazard::locks::LockMode;
use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, ConstrType, ObjectType as Ot};

/// A statement's kind as shown (`ALTER TABLE`) and its actions.
pub type Classified = (String, Vec<Action>);

/// A statement of kind `kind` with the one action `a`.
pub(super) fn one(kind: &str, a: Action) -> Classified {
    (kind.to_string(), vec![a])
}

/// The name that stands for a relation or object the parse tree does not name.
///
/// The grammar fills every field read with it (a statement without its table
/// does not parse), so it appears only if pg_query's tree changes shape: the
/// findings then say `?` where the name would be, rather than lint failing.
pub(super) fn unknown() -> Rel {
    Rel::new(None, "?")
}

/// The relation a statement names (`CREATE TABLE t`, `UPDATE t`, `CREATE
/// TRIGGER … ON t`); [`unknown`] when the parse tree has none.
pub(super) fn rel_of(r: Option<&pb::RangeVar>) -> Rel {
    r.map(Rel::from_range).unwrap_or_else(unknown)
}

/// The relations of a `TRUNCATE` or `VACUUM` list.
pub(super) fn rels(nodes: &[pb::Node]) -> Vec<Rel> {
    nodes
        .iter()
        .filter_map(|n| match n.node.as_ref()? {
            NodeEnum::RangeVar(r) => Some(Rel::from_range(r)),
            NodeEnum::VacuumRelation(v) => v.relation.as_ref().map(Rel::from_range),
            _ => None,
        })
        .collect()
}

pub(super) fn cascade(behavior: i32) -> bool {
    behavior == pb::DropBehavior::DropCascade as i32
}

pub(super) fn obj_kind(t: i32) -> ObjKind {
    match Ot::try_from(t).unwrap_or(Ot::Undefined) {
        Ot::ObjectTable | Ot::ObjectForeignTable => ObjKind::Table,
        Ot::ObjectView => ObjKind::View,
        Ot::ObjectMatview => ObjKind::MatView,
        Ot::ObjectIndex => ObjKind::Index,
        Ot::ObjectSequence => ObjKind::Sequence,
        Ot::ObjectSchema => ObjKind::Schema,
        Ot::ObjectType => ObjKind::Type,
        Ot::ObjectDomain => ObjKind::Domain,
        Ot::ObjectFunction | Ot::ObjectProcedure | Ot::ObjectRoutine | Ot::ObjectAggregate => {
            ObjKind::Function
        }
        Ot::ObjectColumn => ObjKind::Column,
        Ot::ObjectTrigger => ObjKind::Trigger,
        Ot::ObjectPolicy => ObjKind::Policy,
        Ot::ObjectExtension => ObjKind::Extension,
        Ot::ObjectDatabase => ObjKind::Database,
        _ => ObjKind::Other,
    }
}

/// A role as written: its name, or `CURRENT_USER`, `CURRENT_ROLE`, `SESSION_USER`, `PUBLIC`.
pub(super) fn role_name(n: &pb::Node) -> Option<String> {
    use pb::RoleSpecType as R;
    match n.node.as_ref()? {
        NodeEnum::RoleSpec(r) => Some(match R::try_from(r.roletype).unwrap_or(R::Undefined) {
            R::RolespecCurrentRole => "CURRENT_ROLE".into(),
            R::RolespecCurrentUser => "CURRENT_USER".into(),
            R::RolespecSessionUser => "SESSION_USER".into(),
            R::RolespecPublic => "PUBLIC".into(),
            _ => r.rolename.clone(),
        }),
        _ => None,
    }
}

/// An object type in words: `MATERIALIZED VIEW`, `TABLE`.
pub(super) fn kind_words(t: i32) -> String {
    let name = format!("{:?}", Ot::try_from(t).unwrap_or(Ot::Undefined));
    let base = name.trim_start_matches("Object");
    match base {
        "Matview" => "MATERIALIZED VIEW".into(),
        "Tabconstraint" => "CONSTRAINT".into(),
        "ForeignTable" => "FOREIGN TABLE".into(),
        "EventTrigger" => "EVENT TRIGGER".into(),
        other => other.to_ascii_uppercase(),
    }
}

/// A node's statement name in words: `CreateRoleStmt` → `CREATE ROLE`.
pub(super) fn words_of(node: &NodeEnum) -> String {
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

/// The dotted name of the object an `ALTER … OWNER TO` or `RENAME` names.
pub(super) fn object_name(n: Option<&pb::Node>) -> String {
    match n.and_then(|n| n.node.as_ref()) {
        Some(NodeEnum::List(l)) => strings(&l.items).join("."),
        Some(NodeEnum::String(s)) => s.sval.clone(),
        Some(NodeEnum::ObjectWithArgs(f)) => strings(&f.objname).join("."),
        Some(NodeEnum::TypeName(t)) => strings(&t.names).join("."),
        _ => "?".into(),
    }
}

/// Reads a constraint node.
pub(super) fn constraint(c: &pb::Constraint, column: Option<&str>) -> Option<Con> {
    let kind = match ConstrType::try_from(c.contype).ok()? {
        ConstrType::ConstrCheck => ConKind::Check,
        ConstrType::ConstrForeign => ConKind::ForeignKey,
        ConstrType::ConstrUnique => ConKind::Unique,
        ConstrType::ConstrPrimary => ConKind::PrimaryKey,
        ConstrType::ConstrExclusion => ConKind::Exclude,
        ConstrType::ConstrNotnull => ConKind::NotNull,
        _ => return None,
    };
    let mut columns = strings(&c.keys);
    columns.extend(strings(&c.fk_attrs));
    if columns.is_empty() {
        columns.extend(column.map(str::to_string));
    }
    Some(Con {
        kind,
        name: (!c.conname.is_empty()).then(|| c.conname.clone()),
        not_valid: c.skip_validation,
        using_index: (!c.indexname.is_empty()).then(|| c.indexname.clone()),
        columns,
        references: c.pktable.as_ref().map(Rel::from_range),
        not_null_of: c.raw_expr.as_deref().and_then(is_not_null_check),
        check: match kind {
            ConKind::Check => c.raw_expr.as_deref().and_then(deparse_expr),
            _ => None,
        },
    })
}

/// An expression as SQL, printed by PostgreSQL's own deparser (as the
/// condition of an otherwise empty `SELECT`).
pub(super) fn deparse_expr(expr: &pb::Node) -> Option<String> {
    let stmt = pb::SelectStmt {
        where_clause: Some(Box::new(expr.clone())),
        op: pb::SetOperation::SetopNone as i32,
        limit_option: pb::LimitOption::Default as i32,
        ..std::default::Default::default()
    };
    let text = NodeEnum::SelectStmt(Box::new(stmt))
        .deparse(std::default::Default::default())
        .ok()?;
    text.strip_prefix("SELECT WHERE ").map(str::to_string)
}

/// Reads a column definition (of `CREATE TABLE` or `ADD COLUMN`).
pub(super) fn column(d: &pb::ColumnDef) -> ColumnInfo {
    let mut info = ColumnInfo {
        name: d.colname.clone(),
        typ: type_of(d),
        not_null: d.is_not_null,
        default: d.raw_default.as_deref().map(default_kind),
        generated_stored: d.generated == "s",
        identity: !d.identity.is_empty(),
        constraints: vec![],
    };
    if matches!(
        info.typ.name.as_str(),
        "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "serial2"
    ) {
        info.default = Some(Default::Volatile);
        info.not_null = true;
    }
    for n in &d.constraints {
        let Some(NodeEnum::Constraint(c)) = n.node.as_ref() else {
            continue;
        };
        match ConstrType::try_from(c.contype) {
            Ok(ConstrType::ConstrNotnull) => info.not_null = true,
            Ok(ConstrType::ConstrDefault) => info.default = c.raw_expr.as_deref().map(default_kind),
            Ok(ConstrType::ConstrIdentity) => info.identity = true,
            Ok(ConstrType::ConstrGenerated) => info.generated_stored = true,
            Ok(ConstrType::ConstrPrimary) => {
                info.not_null = true;
                info.constraints.extend(constraint(c, Some(&d.colname)));
            }
            _ => info.constraints.extend(constraint(c, Some(&d.colname))),
        }
    }
    info
}

/// A column definition's type; `?` when it has none.
pub(super) fn type_of(d: &pb::ColumnDef) -> TypeSpec {
    d.type_name
        .as_ref()
        .map(TypeSpec::from)
        .unwrap_or(TypeSpec::with_mods("?", &[]))
}

fn default_kind(expr: &pb::Node) -> Default {
    if is_volatile(expr) {
        Default::Volatile
    } else {
        Default::NonVolatile
    }
}

/// The value of option `name` in a `DefElem` list (`LANGUAGE`, `SECURITY`, `RESTART`).
pub(super) fn option_value(opts: &[pb::Node], name: &str) -> Option<String> {
    opts.iter().find_map(|o| match o.node.as_ref()? {
        NodeEnum::DefElem(d) if d.defname == name => {
            Some(d.arg.as_deref().and_then(const_text).unwrap_or_default())
        }
        _ => None,
    })
}

/// Whether the flag `name` (`CONCURRENTLY`, `FULL`) of a `DefElem` list is on:
/// given alone or with a true value, not as `(FULL false)` or `(FULL off)`.
pub(super) fn has_option(opts: &[pb::Node], name: &str) -> bool {
    opts.iter().any(|o| match o.node.as_ref() {
        Some(NodeEnum::DefElem(d)) if d.defname == name => match d.arg.as_deref() {
            None => true,
            Some(arg) => !const_text(arg).is_some_and(|v| {
                matches!(
                    v.to_ascii_lowercase().as_str(),
                    "false" | "off" | "0" | "no"
                )
            }),
        },
        _ => false,
    })
}

/// A `LOCK` statement's mode (1-based in the parse tree, weakest first).
pub(super) fn lock_mode(mode: i32) -> LockMode {
    LockMode::ALL
        .get((mode.max(1) - 1) as usize)
        .copied()
        .unwrap_or(LockMode::AccessExclusive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_expressions_deparse_to_sql() {
        let parsed = pg_query::parse(
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0 AND b IN ('x', 'y''z'))",
            0,
        )
        .unwrap();
        let Some(NodeEnum::AlterTableStmt(s)) =
            parsed.protobuf.stmts[0].stmt.as_ref().unwrap().node.clone()
        else {
            panic!()
        };
        let Some(NodeEnum::AlterTableCmd(c)) = s.cmds[0].node.clone() else {
            panic!()
        };
        let Some(NodeEnum::Constraint(k)) = c.def.unwrap().node else {
            panic!()
        };
        let con = constraint(&k, None).unwrap();
        assert_eq!(con.check.as_deref(), Some("a > 0 AND b IN ('x', 'y''z')"));
    }
}
