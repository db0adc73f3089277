//! From a parsed statement to its kind (`ALTER TABLE`) and actions.

use super::action::*;
use super::ast::*;
use super::locks::LockMode;
use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, AlterTableType as At, ConstrType, ObjectType as Ot};

fn cascade(behavior: i32) -> bool {
    behavior == pb::DropBehavior::DropCascade as i32
}

fn obj_kind(t: i32) -> ObjKind {
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
        _ => ObjKind::Other,
    }
}

fn kind_words(t: i32) -> String {
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

/// Reads a constraint node.
pub fn constraint(c: &pb::Constraint, column: Option<&str>) -> Option<Con> {
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
    })
}

pub fn column(d: &pb::ColumnDef) -> ColumnInfo {
    let mut info = ColumnInfo {
        name: d.colname.clone(),
        typ: d
            .type_name
            .as_ref()
            .map(TypeSpec::from)
            .unwrap_or(TypeSpec::with_mods("?", &[])),
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

fn default_kind(expr: &pb::Node) -> Default {
    if is_volatile(expr) {
        Default::Volatile
    } else {
        Default::NonVolatile
    }
}

fn table_cmd(c: &pb::AlterTableCmd) -> TableCmd {
    let col = || c.name.clone();
    let def = c.def.as_deref().and_then(|d| d.node.as_ref());
    match At::try_from(c.subtype).unwrap_or(At::Undefined) {
        At::AtAddColumn => match def {
            Some(NodeEnum::ColumnDef(d)) => TableCmd::AddColumn(column(d)),
            _ => TableCmd::Other("ADD COLUMN".into()),
        },
        At::AtDropColumn => TableCmd::DropColumn {
            column: col(),
            cascade: cascade(c.behavior),
        },
        At::AtAlterColumnType => match def {
            Some(NodeEnum::ColumnDef(d)) => {
                let to = d
                    .type_name
                    .as_ref()
                    .map(TypeSpec::from)
                    .unwrap_or(TypeSpec::with_mods("?", &[]));
                let plain_cast = d
                    .raw_default
                    .as_deref()
                    .is_some_and(|e| is_plain_cast_of(e, &c.name, &to));
                TableCmd::AlterType {
                    column: col(),
                    to,
                    using: d.raw_default.is_some(),
                    plain_cast,
                }
            }
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
                Some(NodeEnum::PartitionCmd(p)) => {
                    (p.name.as_ref().map(Rel::from_range), p.concurrent)
                }
                _ => (None, false),
            };
            let part = part.unwrap_or(Rel::new(None, "?"));
            if c.subtype == At::AtAttachPartition as i32 {
                TableCmd::AttachPartition { part }
            } else {
                TableCmd::DetachPartition { part, concurrent }
            }
        }
        t @ (At::AtDisableTrig | At::AtDisableTrigAll | At::AtDisableTrigUser) => {
            TableCmd::Trigger {
                disable: true,
                name: if t == At::AtDisableTrig {
                    col()
                } else {
                    "ALL".into()
                },
            }
        }
        At::AtEnableTrig
        | At::AtEnableTrigAll
        | At::AtEnableTrigUser
        | At::AtEnableAlwaysTrig
        | At::AtEnableReplicaTrig => TableCmd::Trigger {
            disable: false,
            name: col(),
        },
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

fn rels(nodes: &[pb::Node]) -> Vec<Rel> {
    nodes
        .iter()
        .filter_map(|n| match n.node.as_ref()? {
            NodeEnum::RangeVar(r) => Some(Rel::from_range(r)),
            NodeEnum::VacuumRelation(v) => v.relation.as_ref().map(Rel::from_range),
            _ => None,
        })
        .collect()
}

pub(super) fn option_value(opts: &[pb::Node], name: &str) -> Option<String> {
    opts.iter().find_map(|o| match o.node.as_ref()? {
        NodeEnum::DefElem(d) if d.defname == name => {
            Some(d.arg.as_deref().and_then(const_text).unwrap_or_default())
        }
        _ => None,
    })
}

/// The statement's kind and actions. `sql` is the statement text (for PL/pgSQL checks).
pub fn classify(node: &NodeEnum, sql: &str) -> (String, Vec<Action>) {
    use NodeEnum as N;
    let one = |k: &str, a: Action| (k.to_string(), vec![a]);
    match node {
        N::CreateStmt(s) => {
            let rel = s
                .relation
                .as_ref()
                .map(Rel::from_range)
                .unwrap_or(Rel::new(None, "?"));
            let mut columns = vec![];
            let mut references = vec![];
            for e in &s.table_elts {
                match e.node.as_ref() {
                    Some(N::ColumnDef(d)) => columns.push(column(d)),
                    Some(N::Constraint(c)) => {
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
        N::DropStmt(s) => {
            let kind = obj_kind(s.remove_type);
            let mut objects: Vec<Rel> = s
                .objects
                .iter()
                .map(|o| match o.node.as_ref() {
                    Some(N::List(l)) => Rel::from_names(&l.items),
                    Some(N::TypeName(t)) => Rel::from_names(&t.names),
                    Some(N::ObjectWithArgs(f)) => Rel::from_names(&f.objname),
                    Some(N::String(s)) => Rel::new(None, &s.sval),
                    _ => Rel::new(None, "?"),
                })
                .collect();
            // DROP TRIGGER/POLICY x ON t: the list is [schema.]table.name.
            let mut on = None;
            if matches!(kind, ObjKind::Trigger | ObjKind::Policy)
                && let Some(Some(N::List(l))) = s.objects.first().map(|o| o.node.as_ref())
            {
                let parts = strings(&l.items);
                if parts.len() >= 2 {
                    on = Some(Rel::from_names(&l.items[..l.items.len() - 1]));
                    objects = vec![Rel::new(None, &parts[parts.len() - 1])];
                }
            }
            let k = format!("DROP {}", kind_words(s.remove_type));
            one(
                &k,
                Action::Drop {
                    kind,
                    objects,
                    cascade: cascade(s.behavior),
                    concurrent: s.concurrent,
                    on,
                },
            )
        }
        N::TruncateStmt(s) => one(
            "TRUNCATE",
            Action::Truncate {
                rels: rels(&s.relations),
                cascade: cascade(s.behavior),
            },
        ),
        N::AlterTableStmt(s) => {
            let rel = s
                .relation
                .as_ref()
                .map(Rel::from_range)
                .unwrap_or(Rel::new(None, "?"));
            let kind = format!("ALTER {}", kind_words(s.objtype));
            let actions = s
                .cmds
                .iter()
                .filter_map(|c| match c.node.as_ref() {
                    Some(N::AlterTableCmd(c)) => Some(Action::AlterTable {
                        rel: rel.clone(),
                        cmd: table_cmd(c),
                    }),
                    _ => None,
                })
                .collect();
            (kind, actions)
        }
        N::IndexStmt(s) => one(
            if s.unique {
                "CREATE UNIQUE INDEX"
            } else {
                "CREATE INDEX"
            },
            Action::CreateIndex {
                rel: s
                    .relation
                    .as_ref()
                    .map(Rel::from_range)
                    .unwrap_or(Rel::new(None, "?")),
                name: s.idxname.clone(),
                unique: s.unique || s.primary,
                concurrent: s.concurrent,
                columns: s
                    .index_params
                    .iter()
                    .filter_map(|p| match p.node.as_ref()? {
                        N::IndexElem(e) if !e.name.is_empty() => Some(e.name.clone()),
                        _ => None,
                    })
                    .collect(),
            },
        ),
        N::ReindexStmt(s) => {
            let concurrent = s.params.iter().any(
                |p| matches!(p.node.as_ref(), Some(N::DefElem(d)) if d.defname == "concurrently"),
            );
            let k =
                pb::ReindexObjectType::try_from(s.kind).unwrap_or(pb::ReindexObjectType::Undefined);
            let r = s.relation.as_ref().map(Rel::from_range);
            let (rel, index) = match k {
                pb::ReindexObjectType::ReindexObjectIndex => (None, r),
                _ => (r, None),
            };
            let wide = !matches!(
                k,
                pb::ReindexObjectType::ReindexObjectIndex
                    | pb::ReindexObjectType::ReindexObjectTable
            );
            one(
                "REINDEX",
                Action::Reindex {
                    rel,
                    index,
                    concurrent,
                    wide,
                },
            )
        }
        N::VacuumStmt(s) => {
            let full = s
                .options
                .iter()
                .any(|o| matches!(o.node.as_ref(), Some(N::DefElem(d)) if d.defname == "full"));
            let k = if s.is_vacuumcmd { "VACUUM" } else { "ANALYZE" };
            if s.is_vacuumcmd {
                one(
                    k,
                    Action::Vacuum {
                        rels: rels(&s.rels),
                        full,
                    },
                )
            } else {
                one(k, Action::Other)
            }
        }
        N::ClusterStmt(s) => one(
            "CLUSTER",
            Action::Cluster {
                rel: s.relation.as_ref().map(Rel::from_range),
            },
        ),
        N::RefreshMatViewStmt(s) => one(
            "REFRESH MATERIALIZED VIEW",
            Action::Refresh {
                rel: s
                    .relation
                    .as_ref()
                    .map(Rel::from_range)
                    .unwrap_or(Rel::new(None, "?")),
                concurrent: s.concurrent,
            },
        ),
        N::UpdateStmt(s) => one(
            "UPDATE",
            Action::Update {
                rel: s
                    .relation
                    .as_ref()
                    .map(Rel::from_range)
                    .unwrap_or(Rel::new(None, "?")),
                has_where: s.where_clause.is_some(),
            },
        ),
        N::DeleteStmt(s) => one(
            "DELETE",
            Action::Delete {
                rel: s
                    .relation
                    .as_ref()
                    .map(Rel::from_range)
                    .unwrap_or(Rel::new(None, "?")),
                has_where: s.where_clause.is_some(),
            },
        ),
        N::InsertStmt(s) => one(
            "INSERT",
            Action::Insert {
                rel: s
                    .relation
                    .as_ref()
                    .map(Rel::from_range)
                    .unwrap_or(Rel::new(None, "?")),
            },
        ),
        _ => super::classify_more::classify_more(node, sql),
    }
}

pub(super) fn lock_mode(mode: i32) -> LockMode {
    LockMode::ALL
        .get((mode.max(1) - 1) as usize)
        .copied()
        .unwrap_or(LockMode::AccessExclusive)
}
