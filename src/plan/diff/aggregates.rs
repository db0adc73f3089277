//! Aggregates: created after their support functions, changed in place with
//! `CREATE OR REPLACE AGGREGATE` when the signature, result type and kind stay,
//! dropped and created again otherwise. The drops (for good or to recreate)
//! run with the dropped views and functions, in dependency order (see
//! `deps::drop_order`): views that call an aggregate go first, the support
//! functions it names after it.

use super::*;
use crate::catalog::kinds::{self, Aggregate};

fn same_definition(a: &Aggregate, b: &Aggregate) -> bool {
    Aggregate {
        comment: None,
        ..a.clone()
    } == Aggregate {
        comment: None,
        ..b.clone()
    }
}

impl Builder<'_> {
    /// The phase of an aggregate's create: after every support function the
    /// plan creates, after the types and relations its signature and state use.
    fn aggregate_phase(&self, a: &Aggregate) -> Phase {
        let mut phase = Phase::CreateFunction;
        for key in a.functions() {
            if let Some(f) = self.desired.functions.get(key) {
                phase = phase.max(self.function_phase(f));
            }
        }
        for d in &a.depends_on {
            let p = match d {
                Dep::Relation { name } if self.desired.views.contains_key(name) => {
                    Phase::ViewFunction
                }
                Dep::Relation { .. } => Phase::LateFunction,
                _ => continue,
            };
            phase = phase.max(p);
        }
        phase
    }

    pub(super) fn aggregates(&mut self) {
        let live = &self.live.model.aggregates;
        for (key, a) in &self.desired.aggregates {
            let (title, replace) = match live.get(key) {
                None => (format!("create aggregate {key}"), false),
                // Dropped in `views()`, in dependency order.
                Some(_) if self.deps.aggregates.contains(key) => {
                    (format!("create aggregate {key}"), false)
                }
                Some(old) if !same_definition(old, a) => (format!("replace aggregate {key}"), true),
                Some(_) => continue,
            };
            let phase = self.aggregate_phase(a);
            self.push(phase, title, kinds::create_aggregate(a, replace), vec![]);
        }
        let mut comments = Vec::new();
        for (key, a) in &self.desired.aggregates {
            let have = live
                .get(key)
                .filter(|_| !self.deps.aggregates.contains(key))
                .and_then(|o| o.comment.as_deref());
            if have != a.comment.as_deref() {
                let target = format!("AGGREGATE {}", a.signature());
                comments.push((
                    format!("comment on aggregate {key}"),
                    ddl::comment_on(&target, a.comment.as_deref()),
                ));
            }
        }
        for (title, sql) in comments {
            self.push(Phase::Comment, title, sql, vec![]);
        }
    }

    /// The drop of live aggregate `key`, for good or to create it again.
    pub(super) fn drop_aggregate(&mut self, key: &str) {
        let old = &self.live.model.aggregates[key];
        let sql = format!("DROP AGGREGATE {};", old.signature());
        if self.desired.aggregates.contains_key(key) {
            self.push(
                Phase::DropView,
                format!("drop aggregate {key} (created again below)"),
                sql,
                vec![h(
                    HazardId::BreaksClients,
                    Severity::Info,
                    format!("{key} is missing until it is created again later in this plan"),
                )],
            );
        } else {
            self.destructive(
                Phase::DropView,
                format!("drop aggregate {key}"),
                sql,
                vec![h(
                    HazardId::BreaksClients,
                    Severity::Warning,
                    format!("queries that call aggregate {key} break"),
                )],
            );
        }
    }
}
