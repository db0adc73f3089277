//! Types: enums (`CREATE TYPE … AS ENUM`, `ALTER TYPE … ADD|RENAME VALUE`) and
//! domains (`ALTER DOMAIN`).

use super::nodes::*;
use crate::hazard::action::*;
use crate::hazard::ast::*;
use pg_query::NodeEnum;
use pg_query::protobuf as pb;

pub(super) fn create_enum(s: &pb::CreateEnumStmt) -> Classified {
    one(
        "CREATE TYPE",
        Action::CreateEnum {
            typ: Rel::from_names(&s.type_name),
            values: strings(&s.vals),
        },
    )
}

/// `ADD VALUE`, or `RENAME VALUE` (a rename of the type's value).
pub(super) fn alter_enum(s: &pb::AlterEnumStmt) -> Classified {
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

/// `ALTER DOMAIN`: `ADD CONSTRAINT` (subtype `C`), `SET NOT NULL` (`O`),
/// `VALIDATE CONSTRAINT` (`V`); the others change no stored value.
pub(super) fn alter_domain(s: &pb::AlterDomainStmt) -> Classified {
    let op = match s.subtype.as_str() {
        "C" => DomainOp::AddConstraint {
            not_valid: matches!(
                s.def.as_deref().and_then(|d| d.node.as_ref()),
                Some(NodeEnum::Constraint(c)) if constraint(c, None).is_some_and(|c| c.not_valid)
            ),
        },
        "O" => DomainOp::SetNotNull,
        "V" => DomainOp::Validate {
            name: s.name.clone(),
        },
        _ => DomainOp::Other,
    };
    one(
        "ALTER DOMAIN",
        Action::AlterDomain {
            domain: Rel::from_names(&s.type_name),
            op,
        },
    )
}
