//! Rebuilds and maintenance of existing relations: `REINDEX`, `VACUUM`,
//! `ANALYZE`, `CLUSTER`, `REFRESH MATERIALIZED VIEW`.

use super::nodes::*;
use crate::hazard::action::*;
use crate::hazard::ast::*;
use pg_query::protobuf::{self as pb, ReindexObjectType as Rk};

/// `REINDEX INDEX|TABLE` of one relation, or a wide one (`SCHEMA`, `DATABASE`, `SYSTEM`).
pub(super) fn reindex(s: &pb::ReindexStmt) -> Classified {
    let concurrent = has_option(&s.params, "concurrently");
    let k = Rk::try_from(s.kind).unwrap_or(Rk::Undefined);
    let r = s.relation.as_ref().map(Rel::from_range);
    let (rel, index) = match k {
        Rk::ReindexObjectIndex => (None, r),
        _ => (r, None),
    };
    let wide = !matches!(k, Rk::ReindexObjectIndex | Rk::ReindexObjectTable);
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

/// `VACUUM [FULL]`; `ANALYZE` alone does nothing to lint.
pub(super) fn vacuum(s: &pb::VacuumStmt) -> Classified {
    if s.is_vacuumcmd {
        one(
            "VACUUM",
            Action::Vacuum {
                rels: rels(&s.rels),
                full: has_option(&s.options, "full"),
            },
        )
    } else {
        one("ANALYZE", Action::Other)
    }
}

pub(super) fn cluster(s: &pb::ClusterStmt) -> Classified {
    one(
        "CLUSTER",
        Action::Cluster {
            rel: s.relation.as_ref().map(Rel::from_range),
        },
    )
}

pub(super) fn refresh(s: &pb::RefreshMatViewStmt) -> Classified {
    one(
        "REFRESH MATERIALIZED VIEW",
        Action::Refresh {
            rel: rel_of(s.relation.as_ref()),
            concurrent: s.concurrent,
        },
    )
}
