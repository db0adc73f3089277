//! Other schema objects: `ALTER … RENAME`, `ALTER … SET SCHEMA`, `CREATE
//! VIEW`, `CREATE RULE`, `ALTER SEQUENCE`, `COMMENT ON`.

use super::nodes::*;
use crate::hazard::action::*;
use crate::hazard::ast::*;
use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, ObjectType as Ot};

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
        Ot::ObjectDatabase => ObjKind::Database,
        _ => ObjKind::Other,
    }
}

/// `ALTER <kind> … RENAME [COLUMN …] TO …`; tables and columns show as `ALTER TABLE`.
pub(super) fn rename(s: &pb::RenameStmt) -> Classified {
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

/// `ALTER <kind> … SET SCHEMA schema`.
pub(super) fn set_schema(s: &pb::AlterObjectSchemaStmt) -> Classified {
    let kind = obj_kind(s.object_type);
    let rel = s.relation.as_ref().map(Rel::from_range);
    let object = match &rel {
        Some(r) => r.to_string(),
        None => object_name(s.object.as_deref()),
    };
    one(
        &format!("ALTER {}", kind_words(s.object_type)),
        Action::SetSchema {
            kind,
            rel,
            object,
            schema: s.newschema.clone(),
        },
    )
}

/// `CREATE [OR REPLACE] RULE … ON event TO t DO [ALSO|INSTEAD] …`.
pub(super) fn create_rule(s: &pb::RuleStmt) -> Classified {
    use pb::CmdType as C;
    let event = match C::try_from(s.event).unwrap_or(C::Undefined) {
        C::CmdSelect => "SELECT",
        C::CmdUpdate => "UPDATE",
        C::CmdInsert => "INSERT",
        C::CmdDelete => "DELETE",
        _ => "?",
    };
    one(
        "CREATE RULE",
        Action::CreateRule {
            rel: rel_of(s.relation.as_ref()),
            name: s.rulename.clone(),
            event,
            instead: s.instead,
            nothing: s.actions.is_empty(),
            conditional: s.where_clause.is_some(),
        },
    )
}

pub(super) fn create_view(s: &pb::ViewStmt) -> Classified {
    one(
        "CREATE VIEW",
        Action::CreateView {
            name: rel_of(s.view.as_ref()),
        },
    )
}

pub(super) fn alter_sequence(s: &pb::AlterSeqStmt) -> Classified {
    one(
        "ALTER SEQUENCE",
        Action::AlterSequence {
            rel: rel_of(s.sequence.as_ref()),
            restart: option_value(&s.options, "restart").is_some(),
        },
    )
}

/// `COMMENT ON`, with the table for a comment on a table or one of its columns.
pub(super) fn comment(s: &pb::CommentStmt) -> Classified {
    let rel =
        (s.objtype == Ot::ObjectTable as i32 || s.objtype == Ot::ObjectColumn as i32).then(|| {
            let mut r = match s.object.as_deref().and_then(|o| o.node.as_ref()) {
                Some(NodeEnum::List(l)) => Rel::from_names(&l.items),
                _ => unknown(),
            };
            if s.objtype == Ot::ObjectColumn as i32
                && let Some(Some(NodeEnum::List(l))) = s.object.as_deref().map(|o| o.node.as_ref())
            {
                r = Rel::from_names(&l.items[..l.items.len().saturating_sub(1)]);
            }
            r
        });
    one("COMMENT", Action::Comment { rel })
}
