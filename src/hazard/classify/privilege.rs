//! Who may see or do what: `GRANT`/`REVOKE` (privileges and role membership),
//! `ALTER DEFAULT PRIVILEGES`, `ALTER … OWNER TO`, `REASSIGN OWNED`, roles,
//! row-security policies.

use super::nodes::*;
use crate::hazard::action::*;
use pg_query::NodeEnum;
use pg_query::protobuf as pb;

fn grant_or_revoke(is_grant: bool) -> &'static str {
    if is_grant { "GRANT" } else { "REVOKE" }
}

pub(super) fn grant(s: &pb::GrantStmt) -> Classified {
    one(
        grant_or_revoke(s.is_grant),
        Action::Grant {
            grant: s.is_grant,
            what: "privileges".into(),
        },
    )
}

pub(super) fn grant_role(s: &pb::GrantRoleStmt) -> Classified {
    one(
        grant_or_revoke(s.is_grant),
        Action::Grant {
            grant: s.is_grant,
            what: "role membership".into(),
        },
    )
}

pub(super) fn default_privileges() -> Classified {
    one(
        "ALTER DEFAULT PRIVILEGES",
        Action::Grant {
            grant: true,
            what: "default privileges".into(),
        },
    )
}

/// `ALTER <kind> … OWNER TO` of anything but a table (that is an `ALTER TABLE` subcommand).
pub(super) fn owner(s: &pb::AlterOwnerStmt) -> Classified {
    one(
        "ALTER OWNER",
        Action::AlterOwner {
            what: object_name(s.object.as_deref()),
        },
    )
}

/// `REASSIGN OWNED BY roles TO role`.
pub(super) fn reassign_owned(s: &pb::ReassignOwnedStmt) -> Classified {
    let to = s
        .newrole
        .as_ref()
        .map(|r| {
            role_name(&pb::Node {
                node: Some(NodeEnum::RoleSpec(r.clone())),
            })
            .unwrap_or_default()
        })
        .unwrap_or_default();
    one(
        "REASSIGN OWNED",
        Action::ReassignOwned {
            roles: s.roles.iter().filter_map(role_name).collect(),
            to,
        },
    )
}

/// `CREATE|ALTER|DROP ROLE`, `ALTER ROLE … SET`: `node` names the statement.
pub(super) fn role(node: &NodeEnum) -> Classified {
    let k = words_of(node);
    one(
        &k,
        Action::Role {
            what: k.to_ascii_lowercase(),
        },
    )
}

pub(super) fn create_policy(s: &pb::CreatePolicyStmt) -> Classified {
    one(
        "CREATE POLICY",
        Action::Policy {
            rel: rel_of(s.table.as_ref()),
            verb: "creates",
            name: s.policy_name.clone(),
        },
    )
}

pub(super) fn alter_policy(s: &pb::AlterPolicyStmt) -> Classified {
    one(
        "ALTER POLICY",
        Action::Policy {
            rel: rel_of(s.table.as_ref()),
            verb: "changes",
            name: s.policy_name.clone(),
        },
    )
}
