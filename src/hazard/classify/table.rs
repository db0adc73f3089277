//! Tables and their indexes: `CREATE TABLE`, `ALTER TABLE` (each subcommand an
//! action), `CREATE INDEX`.

use super::nodes::*;
use crate::hazard::action::*;
use crate::hazard::ast::{TypeSpec, strings};
use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, AlterTableType as At, ObjectType as Ot};

/// `CREATE TABLE`, with the tables its foreign keys reference.
pub(super) fn create(s: &pb::CreateStmt) -> Classified {
    let rel = rel_of(s.relation.as_ref());
    let mut columns = vec![];
    let mut references = vec![];
    for e in &s.table_elts {
        match e.node.as_ref() {
            Some(NodeEnum::ColumnDef(d)) => columns.push(column(d)),
            Some(NodeEnum::Constraint(c)) => {
                references.extend(constraint(c, None).and_then(|c| c.references))
            }
            _ => {}
        }
    }
    references.extend(
        columns
            .iter()
            .flat_map(|c| c.constraints.iter().filter_map(|k| k.references.clone())),
    );
    one(
        "CREATE TABLE",
        Action::CreateTable {
            rel,
            columns,
            references,
        },
    )
}

/// `ALTER TABLE` (or `ALTER INDEX`, `ALTER MATERIALIZED VIEW` …): one action per subcommand.
pub(super) fn alter(s: &pb::AlterTableStmt) -> Classified {
    let rel = rel_of(s.relation.as_ref());
    let kind = format!("ALTER {}", kind_words(s.objtype));
    let of_type = s.objtype == Ot::ObjectType as i32;
    let actions = s
        .cmds
        .iter()
        .filter_map(|c| match c.node.as_ref() {
            Some(NodeEnum::AlterTableCmd(c)) => Some(Action::AlterTable {
                rel: rel.clone(),
                cmd: table_cmd(c, of_type),
            }),
            _ => None,
        })
        .collect();
    (kind, actions)
}

/// One subcommand; `of_type` for `ALTER TYPE` of a composite type (whose
/// columns are attributes).
fn table_cmd(c: &pb::AlterTableCmd, of_type: bool) -> TableCmd {
    let col = || c.name.clone();
    let def = c.def.as_deref().and_then(|d| d.node.as_ref());
    match At::try_from(c.subtype).unwrap_or(At::Undefined) {
        At::AtDropColumn if of_type => TableCmd::DropAttribute {
            attribute: col(),
            cascade: cascade(c.behavior),
        },
        At::AtAddColumn => match def {
            Some(NodeEnum::ColumnDef(d)) => TableCmd::AddColumn(column(d)),
            _ => TableCmd::Other("ADD COLUMN".into()),
        },
        At::AtDropColumn => TableCmd::DropColumn {
            column: col(),
            cascade: cascade(c.behavior),
        },
        At::AtAlterColumnType => match def {
            Some(NodeEnum::ColumnDef(d)) => TableCmd::AlterType {
                column: col(),
                to: type_of(d),
                using: d.raw_default.as_deref().map(|e| using(e, &c.name)),
            },
            _ => TableCmd::Other("ALTER COLUMN TYPE".into()),
        },
        At::AtSetNotNull => TableCmd::SetNotNull { column: col() },
        At::AtDropNotNull => TableCmd::DropNotNull { column: col() },
        At::AtColumnDefault if def.is_some() => TableCmd::SetDefault { column: col() },
        At::AtColumnDefault => TableCmd::DropDefault { column: col() },
        At::AtAddConstraint => match def {
            Some(NodeEnum::Constraint(k)) => match constraint(k, None) {
                Some(con) => TableCmd::AddConstraint(con),
                None => TableCmd::Other("ADD CONSTRAINT".into()),
            },
            _ => TableCmd::Other("ADD CONSTRAINT".into()),
        },
        At::AtValidateConstraint => TableCmd::ValidateConstraint { name: col() },
        At::AtDropConstraint => TableCmd::DropConstraint {
            name: col(),
            cascade: cascade(c.behavior),
        },
        At::AtSetLogged => TableCmd::SetLogged { logged: true },
        At::AtSetUnLogged => TableCmd::SetLogged { logged: false },
        At::AtSetTableSpace => TableCmd::SetTablespace,
        At::AtEnableRowSecurity => TableCmd::RowSecurity {
            what: "ENABLE ROW LEVEL SECURITY",
        },
        At::AtDisableRowSecurity => TableCmd::RowSecurity {
            what: "DISABLE ROW LEVEL SECURITY",
        },
        At::AtForceRowSecurity => TableCmd::RowSecurity {
            what: "FORCE ROW LEVEL SECURITY",
        },
        At::AtNoForceRowSecurity => TableCmd::RowSecurity {
            what: "NO FORCE ROW LEVEL SECURITY",
        },
        At::AtChangeOwner => TableCmd::OwnerTo,
        At::AtAttachPartition | At::AtDetachPartition => {
            let (part, concurrent) = match def {
                Some(NodeEnum::PartitionCmd(p)) => (rel_of(p.name.as_ref()), p.concurrent),
                _ => (unknown(), false),
            };
            if c.subtype == At::AtAttachPartition as i32 {
                TableCmd::AttachPartition { part }
            } else {
                TableCmd::DetachPartition { part, concurrent }
            }
        }
        t @ (At::AtDisableTrig
        | At::AtDisableTrigAll
        | At::AtDisableTrigUser
        | At::AtEnableTrig
        | At::AtEnableTrigAll
        | At::AtEnableTrigUser
        | At::AtEnableAlwaysTrig
        | At::AtEnableReplicaTrig) => TableCmd::Trigger {
            mode: match t {
                At::AtDisableTrig | At::AtDisableTrigAll | At::AtDisableTrigUser => {
                    TriggerMode::Disable
                }
                At::AtEnableAlwaysTrig => TriggerMode::Always,
                At::AtEnableReplicaTrig => TriggerMode::Replica,
                _ => TriggerMode::Enable,
            },
            name: match t {
                At::AtDisableTrigAll | At::AtEnableTrigAll => "ALL".into(),
                At::AtDisableTrigUser | At::AtEnableTrigUser => "USER".into(),
                _ => col(),
            },
        },
        At::AtSetIdentity
            if def.is_some_and(|d| option_value(&list_of(d), "restart").is_some()) =>
        {
            TableCmd::RestartIdentity { column: col() }
        }
        At::AtSetStatistics => TableCmd::SetStatistics,
        At::AtSetRelOptions | At::AtResetRelOptions => TableCmd::SetOptions,
        At::AtReplicaIdentity => TableCmd::ReplicaIdentity,
        At::AtSetStorage => TableCmd::SetStorage,
        At::AtSetCompression => TableCmd::SetCompression,
        At::AtSetOptions | At::AtResetOptions => TableCmd::SetColumnOptions,
        At::AtClusterOn | At::AtDropCluster => TableCmd::ClusterOn,
        At::AtSetAccessMethod => TableCmd::SetAccessMethod,
        At::AtAddOf | At::AtDropOf => TableCmd::TypedTable,
        other => TableCmd::Other(format!("{other:?}")),
    }
}

/// The items of a `List` node (the options of `ALTER COLUMN … SET GENERATED … RESTART`).
fn list_of(n: &NodeEnum) -> Vec<pb::Node> {
    match n {
        NodeEnum::List(l) => l.items.clone(),
        _ => vec![],
    }
}

/// Peels the casts off an expression: the casts (outermost first) and what they cast.
fn strip_casts(mut n: &pb::Node) -> (Vec<TypeSpec>, &pb::Node) {
    let mut casts = vec![];
    while let Some(NodeEnum::TypeCast(c)) = n.node.as_ref() {
        let Some(arg) = c.arg.as_deref() else { break };
        if let Some(t) = &c.type_name {
            casts.push(TypeSpec::from(t));
        }
        n = arg;
    }
    (casts, n)
}

fn is_column(n: &pb::Node, column: &str) -> bool {
    matches!(n.node.as_ref(), Some(NodeEnum::ColumnRef(r))
        if strings(&r.fields).last().map(String::as_str) == Some(column))
}

/// What the `USING` expression of `ALTER COLUMN column TYPE` does to the column.
fn using(expr: &pb::Node, column: &str) -> Using {
    let (mut outer, core) = strip_casts(expr);
    if is_column(core, column) {
        outer.reverse();
        return Using::Cast(outer);
    }
    // `x AT TIME ZONE z` is `pg_catalog.timezone(z, x)` (`x AT LOCAL`: `timezone(x)`).
    if let Some(NodeEnum::FuncCall(f)) = core.node.as_ref()
        && outer.is_empty()
        && strings(&f.funcname).last().map(String::as_str) == Some("timezone")
        && let Some(arg) = f.args.last()
    {
        let (mut inner, core) = strip_casts(arg);
        if is_column(core, column) {
            inner.reverse();
            return Using::AtTimeZone(inner);
        }
    }
    Using::Expr
}

/// `CREATE [UNIQUE] INDEX [CONCURRENTLY]`, with the columns it names.
pub(super) fn create_index(s: &pb::IndexStmt) -> Classified {
    one(
        if s.unique {
            "CREATE UNIQUE INDEX"
        } else {
            "CREATE INDEX"
        },
        Action::CreateIndex {
            rel: rel_of(s.relation.as_ref()),
            name: s.idxname.clone(),
            unique: s.unique || s.primary,
            concurrent: s.concurrent,
            columns: s
                .index_params
                .iter()
                .filter_map(|p| match p.node.as_ref()? {
                    NodeEnum::IndexElem(e) if !e.name.is_empty() => Some(e.name.clone()),
                    _ => None,
                })
                .collect(),
        },
    )
}
