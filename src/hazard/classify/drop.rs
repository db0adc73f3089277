//! What removes objects or rows wholesale: `DROP …`, `DROP OWNED`, `TRUNCATE`.

use super::nodes::*;
use crate::hazard::action::*;
use crate::hazard::ast::*;
use pg_query::NodeEnum;
use pg_query::protobuf as pb;

/// `DROP <kind> …`, with the table of a dropped trigger or policy.
pub(super) fn drop(s: &pb::DropStmt) -> Classified {
    let kind = obj_kind(s.remove_type);
    let mut objects: Vec<Rel> = s
        .objects
        .iter()
        .map(|o| match o.node.as_ref() {
            Some(NodeEnum::List(l)) => Rel::from_names(&l.items),
            Some(NodeEnum::TypeName(t)) => Rel::from_names(&t.names),
            Some(NodeEnum::ObjectWithArgs(f)) => Rel::from_names(&f.objname),
            Some(NodeEnum::String(s)) => Rel::new(None, &s.sval),
            _ => unknown(),
        })
        .collect();
    // DROP TRIGGER/POLICY x ON t: the list is [schema.]table.name.
    let mut on = None;
    if matches!(kind, ObjKind::Trigger | ObjKind::Policy)
        && let Some(Some(NodeEnum::List(l))) = s.objects.first().map(|o| o.node.as_ref())
    {
        let parts = strings(&l.items);
        if parts.len() >= 2 {
            on = Some(Rel::from_names(&l.items[..l.items.len() - 1]));
            objects = vec![Rel::new(None, &parts[parts.len() - 1])];
        }
    }
    one(
        &format!("DROP {}", kind_words(s.remove_type)),
        Action::Drop {
            kind,
            objects,
            cascade: cascade(s.behavior),
            concurrent: s.concurrent,
            on,
        },
    )
}

pub(super) fn truncate(s: &pb::TruncateStmt) -> Classified {
    one(
        "TRUNCATE",
        Action::Truncate {
            rels: rels(&s.relations),
            cascade: cascade(s.behavior),
        },
    )
}

/// `DROP OWNED BY roles`: every object they own in this database.
pub(super) fn drop_owned(s: &pb::DropOwnedStmt) -> Classified {
    one(
        "DROP OWNED",
        Action::DropOwned {
            roles: s.roles.iter().filter_map(role_name).collect(),
            cascade: cascade(s.behavior),
        },
    )
}
